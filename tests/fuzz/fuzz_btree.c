/* fuzz_btree.c - fuzz the b-tree page parser of the SQLite store's page
 * cache warm-up (core/store/sqlite/sqlite_warm.c). It reads pages of the
 * store file as they are on disk, which may be stale or torn: whatever a
 * page holds, the parser must stay inside it and name only pages of the
 * file.
 *
 * Input: byte 0 picks the page number (even: page 1, whose b-tree header
 * starts at byte 100; odd: page 2 + byte 0), bytes 1-4 the file's page
 * count (big-endian), byte 5 the room given for children; the rest is the
 * page, zero-padded to 512 bytes, cut at 65536. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t pgno, npages, *out;
	size_t psz, cap, n = 12345;
	unsigned char *page;
	int type;

	if (size < 6)
		return 0;
	pgno = data[0] % 2 ? 2u + data[0] : 1u;
	npages = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
	         (uint32_t)data[3] << 8 | data[4];
	cap = data[5];
	data += 6;
	size -= 6;
	psz = size < 512 ? 512 : size > 65536 ? 65536 : size;
	/* exactly psz bytes, so ASan sees a read past the page */
	page = calloc(1, psz);
	out = malloc((cap ? cap : 1) * sizeof(*out));
	FZ_CHECK(page && out);
	memcpy(page, data, size < psz ? size : psz);
	type = wa_sq_btree_children(page, psz, pgno, npages, out, cap, &n);
	FZ_CHECK(type == 0 || type == 2 || type == 5 || type == 10 ||
	         type == 13);
	FZ_CHECK(n <= cap);
	if (type != 2 && type != 5)
		FZ_CHECK(n == 0);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(out[i] >= 2 && out[i] <= npages);
	free(out);
	free(page);
	return 0;
}
