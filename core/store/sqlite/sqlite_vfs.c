/* sqlite_vfs.c - the store's VFSes: SQLite's default one, except that
 * - for the write connection, the WAL frames of a transaction reach the
 *   file in one write at its sync instead of two system calls per frame;
 * - for the checkpoint connection, the database file reports the pages it
 *   writes and its syncs to the write-back pacer (sqlite_wback.c).
 *
 * SQLite writes each WAL frame with two pwrite calls (its 24-byte header,
 * then the page). A group commit of 64 messages with random external_ids
 * dirties about 130 pages (each message a leaf of the external_id index of
 * its own, besides the right-hand edges every message shares): some 260
 * system calls before the one fdatasync, more than half the writer
 * thread's system calls (tests/bench/README.md, "Random external_ids and
 * big backlogs"). Here the bytes of consecutive writes to the WAL are
 * gathered in memory and written together when SQLite syncs the file (or
 * reads, truncates, sizes or closes it, or the gathered run would not be
 * contiguous or passes WA_VFS_MAX).
 *
 * Why this is safe: other connections (readers, the checkpointer) read a
 * frame only once the wal-index says it is committed, and the writer
 * publishes a commit in the wal-index after sqlite3WalFrames has written
 * every frame and synced the file -- with synchronous=FULL and no padding
 * of the WAL to a sector boundary, which SQLite skips when the file system
 * is power-safe (SQLITE_IOCAP_POWERSAFE_OVERWRITE, the unix VFS's default).
 * So the store opens the write connection through this VFS only with
 * STORE_SYNC=full, and a WAL file whose device characteristics lack that
 * flag is passed through unchanged. A crash before the write loses what a
 * crash before SQLite's own writes would have lost: an uncommitted tail. */
#include "store/sqlite/sqlite_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WA_VFS_NAME "wadispatch-wal"
#define WA_VFS_CKPT_NAME "wadispatch-ckpt"
/* Largest run gathered before it is written anyway. */
#define WA_VFS_MAX (4 << 20)

typedef struct wfile {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, right after this */
	int gather;         /* a WAL file whose writes are gathered */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off; /* file offset of buf[0] */
	wa_sq_wback *wb;   /* a paced database file: its pacer, else NULL */
	bool ckpt;         /* opened by the checkpoint connection's VFS */
} wfile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wa_vfs, wa_ckpt_vfs;
static sqlite3_io_methods wa_io;

static sqlite3_file *R(sqlite3_file *f)
{
	return ((wfile *)f)->real;
}

/* The unix VFS writes at most 128 KiB - 1 per call (seekAndWriteFd
 * masks the length with 0x1ffff): the run goes in pieces of 124 KiB. */
#define WA_VFS_PIECE (124 << 10)

static int flush(wfile *p)
{
	size_t done = 0;
	int rc = SQLITE_OK;

	while (rc == SQLITE_OK && done < p->len) {
		size_t n = p->len - done;

		if (n > WA_VFS_PIECE)
			n = WA_VFS_PIECE;
		rc = p->real->pMethods->xWrite(p->real, p->buf + done, (int)n,
		                               p->off + (sqlite3_int64)done);
		done += n;
	}
	p->len = 0;
	return rc;
}

static int w_close(sqlite3_file *f)
{
	wfile *p = (wfile *)f;
	int rc = flush(p), rc2 = p->real->pMethods->xClose(p->real);

	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
	wfile *p = (wfile *)f;

	if (p->len && off < p->off + (sqlite3_int64)p->len &&
	    off + amt > p->off) {
		int rc = flush(p);

		if (rc != SQLITE_OK)
			return rc;
	}
	return p->real->pMethods->xRead(p->real, out, amt, off);
}

static int w_write(sqlite3_file *f, const void *in, int amt, sqlite3_int64 off)
{
	wfile *p = (wfile *)f;
	int rc;

	if (p->wb) {
		rc = p->real->pMethods->xWrite(p->real, in, amt, off);
		if (rc == SQLITE_OK)
			wa_sq_wb_wrote(p->wb, off, amt);
		return rc;
	}
	if (!p->gather || amt <= 0)
		return p->real->pMethods->xWrite(p->real, in, amt, off);
	if (p->len && (off != p->off + (sqlite3_int64)p->len ||
	               p->len + (size_t)amt > WA_VFS_MAX)) {
		rc = flush(p);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)amt > WA_VFS_PIECE)
		return p->real->pMethods->xWrite(p->real, in, amt, off);
	if (p->len + (size_t)amt > p->cap) {
		size_t ncap = p->cap ? p->cap : 256 << 10;
		unsigned char *nb;

		while (ncap < p->len + (size_t)amt)
			ncap *= 2;
		nb = realloc(p->buf, ncap);
		if (!nb) { /* no memory to gather: write through */
			rc = flush(p);
			return rc != SQLITE_OK ? rc
			                       : p->real->pMethods->xWrite(
			                             p->real, in, amt, off);
		}
		p->buf = nb;
		p->cap = ncap;
	}
	if (p->len == 0)
		p->off = off;
	memcpy(p->buf + p->len, in, (size_t)amt);
	p->len += (size_t)amt;
	return SQLITE_OK;
}

static int w_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush((wfile *)f);

	return rc != SQLITE_OK ? rc : R(f)->pMethods->xTruncate(R(f), size);
}

static int w_sync(sqlite3_file *f, int flags)
{
	int rc = flush((wfile *)f);

	if (((wfile *)f)->wb)
		wa_sq_wb_sync(((wfile *)f)->wb);
	return rc != SQLITE_OK ? rc : R(f)->pMethods->xSync(R(f), flags);
}

static int w_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush((wfile *)f);

	return rc != SQLITE_OK ? rc : R(f)->pMethods->xFileSize(R(f), size);
}

static int w_lock(sqlite3_file *f, int l)
{
	return R(f)->pMethods->xLock(R(f), l);
}

static int w_unlock(sqlite3_file *f, int l)
{
	return R(f)->pMethods->xUnlock(R(f), l);
}

static int w_reserved(sqlite3_file *f, int *out)
{
	return R(f)->pMethods->xCheckReservedLock(R(f), out);
}

static int w_fcntl(sqlite3_file *f, int op, void *arg)
{
	int rc = flush((wfile *)f);

	return rc != SQLITE_OK ? rc
	                       : R(f)->pMethods->xFileControl(R(f), op, arg);
}

static int w_sector(sqlite3_file *f)
{
	return R(f)->pMethods->xSectorSize(R(f));
}

static int w_device(sqlite3_file *f)
{
	return R(f)->pMethods->xDeviceCharacteristics(R(f));
}

/* The shared-memory and memory-map methods exist from versions 2 and 3
 * of the methods (the unix VFS has both). */
static int w_shm_map(sqlite3_file *f, int pg, int sz, int extend,
                     void volatile **out)
{
	if (R(f)->pMethods->iVersion < 2)
		return SQLITE_IOERR;
	return R(f)->pMethods->xShmMap(R(f), pg, sz, extend, out);
}

static int w_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	if (R(f)->pMethods->iVersion < 2)
		return SQLITE_IOERR;
	return R(f)->pMethods->xShmLock(R(f), off, n, flags);
}

static void w_shm_barrier(sqlite3_file *f)
{
	if (R(f)->pMethods->iVersion >= 2)
		R(f)->pMethods->xShmBarrier(R(f));
}

static int w_shm_unmap(sqlite3_file *f, int del)
{
	if (R(f)->pMethods->iVersion < 2)
		return SQLITE_OK;
	return R(f)->pMethods->xShmUnmap(R(f), del);
}

static int w_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	int rc = flush((wfile *)f);

	*pp = NULL;
	if (rc != SQLITE_OK || R(f)->pMethods->iVersion < 3)
		return rc;
	return R(f)->pMethods->xFetch(R(f), off, amt, pp);
}

static int w_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	if (R(f)->pMethods->iVersion < 3)
		return SQLITE_OK;
	return R(f)->pMethods->xUnfetch(R(f), off, p);
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                  int flags, int *out_flags)
{
	wfile *p = (wfile *)f;
	int rc;

	memset(p, 0, sizeof(*p));
	p->ckpt = vfs == &wa_ckpt_vfs;
	p->real = (sqlite3_file *)(p + 1);
	rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
	if (rc != SQLITE_OK || !p->real->pMethods) {
		/* SQLite calls no method of a file whose pMethods is NULL */
		p->base.pMethods = NULL;
		return rc;
	}
	p->base.pMethods = &wa_io;
	p->gather = !p->ckpt && (flags & SQLITE_OPEN_WAL) &&
	            (p->real->pMethods->xDeviceCharacteristics(p->real) &
	             SQLITE_IOCAP_POWERSAFE_OVERWRITE);
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *n, int sync)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, n, sync);
}

static int v_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, n, flags, out);
}

static int v_full(sqlite3_vfs *v, const char *n, int len, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, n, len, out);
}

static void *v_dlopen(sqlite3_vfs *v, const char *n)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, n);
}

static void v_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, s);
}

static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static int v_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
static int vfs_rc = SQLITE_ERROR;

static void vfs_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	/* iVersion 2 (xCurrentTimeInt64) and 3 (system-call overrides,
	 * left out: nothing here needs them) */
	if (!real_vfs || real_vfs->iVersion < 2)
		return;
	wa_io = (sqlite3_io_methods){
	    .iVersion = 3,
	    .xClose = w_close,
	    .xRead = w_read,
	    .xWrite = w_write,
	    .xTruncate = w_truncate,
	    .xSync = w_sync,
	    .xFileSize = w_size,
	    .xLock = w_lock,
	    .xUnlock = w_unlock,
	    .xCheckReservedLock = w_reserved,
	    .xFileControl = w_fcntl,
	    .xSectorSize = w_sector,
	    .xDeviceCharacteristics = w_device,
	    .xShmMap = w_shm_map,
	    .xShmLock = w_shm_lock,
	    .xShmBarrier = w_shm_barrier,
	    .xShmUnmap = w_shm_unmap,
	    .xFetch = w_fetch,
	    .xUnfetch = w_unfetch,
	};
	wa_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(wfile) + real_vfs->szOsFile,
	    .mxPathname = real_vfs->mxPathname,
	    .zName = WA_VFS_NAME,
	    .xOpen = v_open,
	    .xDelete = v_delete,
	    .xAccess = v_access,
	    .xFullPathname = v_full,
	    .xDlOpen = v_dlopen,
	    .xDlError = v_dlerror,
	    .xDlSym = v_dlsym,
	    .xDlClose = v_dlclose,
	    .xRandomness = v_random,
	    .xSleep = v_sleep,
	    .xCurrentTime = v_time,
	    .xGetLastError = v_lasterr,
	    .xCurrentTimeInt64 = v_time64,
	};
	wa_ckpt_vfs = wa_vfs;
	wa_ckpt_vfs.zName = WA_VFS_CKPT_NAME;
	vfs_rc = sqlite3_vfs_register(&wa_vfs, 0);
	if (vfs_rc == SQLITE_OK)
		vfs_rc = sqlite3_vfs_register(&wa_ckpt_vfs, 0);
}

const char *wa_sq_wal_vfs(void)
{
	pthread_once(&vfs_once, vfs_register);
	return vfs_rc == SQLITE_OK ? WA_VFS_NAME : NULL;
}

const char *wa_sq_ckpt_vfs(void)
{
	pthread_once(&vfs_once, vfs_register);
	return vfs_rc == SQLITE_OK ? WA_VFS_CKPT_NAME : NULL;
}

bool wa_sq_vfs_pace(sqlite3_file *f, wa_sq_wback *wb)
{
	if (!f || f->pMethods != &wa_io || !((wfile *)f)->ckpt)
		return false;
	((wfile *)f)->wb = wb;
	return true;
}
