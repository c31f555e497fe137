#!/usr/bin/env python3
"""warm.py FILE small|large - put FILE into the OS page cache, first dropping
what is cached of it, in one of two shapes (tests/bench/README.md, "Warm is
two states"):

  small  read with readahead off (POSIX_FADV_RANDOM): 4 KiB pages, as the
         daemon's own random reads leave the cache
  large  read in order with readahead on, as cat, cp or a backup leave it:
         the kernel caches large folios, and every 4 KiB write SQLite's
         checkpoint then makes into one costs ext4 a walk of the whole folio
"""
import os
import sys

if len(sys.argv) != 3 or sys.argv[2] not in ("small", "large"):
    sys.exit("usage: warm.py FILE small|large")
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)  # dirty pages cannot be dropped
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM if sys.argv[2] == "small"
                 else os.POSIX_FADV_SEQUENTIAL)
while os.read(fd, 1 << 20):
    pass
os.close(fd)
