/* store_util.c - helpers shared by the store suite and the writer test */
#include "store_util.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <linux/magic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testing.h"

static const char *backend = "sqlite";
static char tmpdir[256];
static int n_opened;
static char last_db[1024]; /* SQLite path or PostgreSQL conninfo */

void su_init(const char *name)
{
	const char *base = getenv("TMPDIR");

	backend = name;
	snprintf(tmpdir, sizeof(tmpdir), "%s/wa-store-XXXXXX",
	         base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
}

void su_cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

const char *su_backend(void)
{
	return backend;
}

bool su_is_sqlite(void)
{
	return strcmp(backend, "sqlite") == 0;
}

bool su_is_pg(void)
{
	return strcmp(backend, "postgresql") == 0;
}

/* A fresh database in the cluster DATABASE_URL names (tests/lib/pgtmp.sh
 * gives a keyword/value string, so a later dbname= overrides its own). */
static wa_store *open_pg(char *err, size_t err_len)
{
	const char *url = getenv("DATABASE_URL");
	char sql[128], conninfo[1024];
	PGconn *c;
	PGresult *r;
	bool ok;

	if (!url || !*url) {
		fprintf(stderr, "DATABASE_URL is not set: run this through "
		                "tests/lib/pgtmp.sh\n");
		exit(2);
	}
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
		exit(2);
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE wa_t%ld_%d", (long)getpid(),
	         ++n_opened);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	if (!ok)
		exit(2);
	snprintf(conninfo, sizeof(conninfo), "%s dbname=wa_t%ld_%d", url,
	         (long)getpid(), n_opened);
	snprintf(last_db, sizeof(last_db), "%s", conninfo);
	return wa_store_open_pg(conninfo, err, err_len);
}

wa_store *su_open(char *path, size_t path_len)
{
	char p[512], err[256] = "";
	wa_store *s;

	if (su_is_pg()) {
		s = open_pg(err, sizeof(err));
	} else if (su_is_sqlite()) {
		snprintf(p, sizeof(p), "%s/store-%d.db", tmpdir, ++n_opened);
		if (path)
			snprintf(path, path_len, "%s", p);
		snprintf(last_db, sizeof(last_db), "%s", p);
		s = wa_store_open_sqlite(p, true, err, sizeof(err));
	} else {
		s = wa_store_open_memory(err, sizeof(err));
	}
	if (!s) {
		fprintf(stderr, "cannot open the %s store: %s\n", backend, err);
		exit(2);
	}
	return s;
}

const char *su_last_db(void)
{
	return last_db;
}

wa_store *su_open_again(void)
{
	char err[256] = "";
	wa_store *s = NULL;

	if (su_is_pg())
		s = wa_store_open_pg(last_db, err, sizeof(err));
	else if (su_is_sqlite())
		s = wa_store_open_sqlite(last_db, true, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "the memory store has one handle");
	if (!s) {
		fprintf(stderr, "cannot open the %s store again: %s\n", backend,
		        err);
		exit(2);
	}
	return s;
}

static void tx_begin(wa_store *s)
{
	char err[256] = "";
	int rc = s->ops->begin(s, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "begin: %s\n", err);
	CHECK_INT(rc, 0);
}

static void tx_commit(wa_store *s)
{
	char err[256] = "";
	int rc = s->ops->commit(s, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "commit: %s\n", err);
	CHECK_INT(rc, 0);
}

void su_new_message(wa_new_message *m, const char *id, const char *ext,
                    const char *phone, const char *body, int64_t created)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->external_id = ext;
	m->phone = phone;
	m->body = body;
	m->provider = "mock";
	m->created_ms = created;
	m->expires_ms = created + 86400000;
}

wa_insert_result su_insert(wa_store *s, const char *id, const char *ext,
                           const char *phone, const char *body,
                           const char *tmpl, const char *media, int64_t created)
{
	wa_new_message m;
	wa_insert_result r;
	char err[256] = "";
	int rc;

	memset(&r, 0, sizeof(r));
	su_new_message(&m, id, ext, phone, body, created);
	m.template_json = tmpl;
	m.media_url = media;
	tx_begin(s);
	rc = s->ops->insert(s, &m, &r, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "insert: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	return r;
}

wa_insert_result su_insert_at(wa_store *s, const char *id, const char *phone,
                              int64_t created, int64_t send_at)
{
	wa_new_message m;
	wa_insert_result r;
	char err[256] = "", ext[64];
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(ext, sizeof(ext), "ext-%s", id);
	su_new_message(&m, id, ext, phone, "hi", created);
	m.send_at_ms = send_at;
	tx_begin(s);
	rc = wa_store_insert_full(s, &m, &r, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "insert_full: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	return r;
}

wa_insert_result su_insert_simple(wa_store *s, const char *id, const char *ext,
                                  int64_t created)
{
	return su_insert(s, id, ext, "+5511999990000", "hi", NULL, NULL,
	                 created);
}

void su_insert_random_group(wa_store *s, int first, int n, unsigned *seed)
{
	wa_new_message m;
	wa_insert_result r;
	char err[256] = "", id[32], ext[48];
	int rc = 0;

	tx_begin(s);
	for (int i = first; i < first + n && rc == 0; i++) {
		*seed = *seed * 1103515245u + 12345u;
		snprintf(id, sizeof(id), "msg-%08d", i);
		snprintf(ext, sizeof(ext), "%08x-%04x-%d", *seed,
		         (*seed >> 7) & 0xffff, i);
		su_new_message(&m, id, ext, "+5511999990000",
		               "a message of a few words, as most are",
		               1700000000000 + i);
		rc = s->ops->insert(s, &m, &r, err, sizeof(err));
	}
	if (rc != 0)
		fprintf(stderr, "insert: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
}

int64_t su_sql_int(struct sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

size_t su_claim(wa_store *s, int64_t now, int64_t lease, size_t max,
                wa_message_rec *out)
{
	char err[256] = "";
	size_t n = 0;
	int rc;

	tx_begin(s);
	rc = s->ops->claim(s, now, lease, max, out, &n, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "claim: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	return n;
}

int su_finish(wa_store *s, const char *id, wa_outcome_kind kind, int64_t at,
              int64_t next, const char *pmid, const char *error)
{
	wa_outcome o;
	char err[256] = "";
	int rc;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.at_ms = at;
	o.next_attempt_ms = next;
	o.provider_message_id = pmid;
	o.error = error;
	o.upstream_code = error ? "E42" : NULL;
	o.upstream_status = error ? 503 : 200;
	tx_begin(s);
	rc = s->ops->finish(s, id, &o, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "finish: %s\n", err);
	CHECK(rc >= 0);
	tx_commit(s);
	return rc;
}

wa_apply_kind su_apply(wa_store *s, const char *provider, const char *pmid,
                       wa_msg_status st, int64_t at, const char *error,
                       char *message_id)
{
	wa_status_change c;
	wa_apply_kind k = WA_APPLY_UNKNOWN;
	char err[256] = "", id[WA_ID_MAX] = "";
	int rc;

	memset(&c, 0, sizeof(c));
	c.provider = provider;
	c.provider_message_id = pmid;
	c.status = st;
	c.at_ms = at;
	c.error = error;
	tx_begin(s);
	rc = s->ops->apply_status(s, &c, &k, id, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "apply_status: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	if (message_id)
		snprintf(message_id, WA_ID_MAX, "%s", id);
	return k;
}

wa_cancel_kind su_cancel(wa_store *s, const char *id, int64_t now,
                         wa_msg_status *status)
{
	wa_cancel_kind k = WA_CANCEL_NOT_FOUND;
	char err[256] = "";
	int rc;

	tx_begin(s);
	rc = s->ops->cancel(s, id, now, &k, status, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "cancel: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	return k;
}

long su_release_all(wa_store *s, int64_t now)
{
	char err[256] = "";
	long n;

	tx_begin(s);
	n = s->ops->release_all(s, now, err, sizeof(err));
	if (n < 0)
		fprintf(stderr, "release_all: %s\n", err);
	CHECK(n >= 0);
	tx_commit(s);
	return n;
}

size_t su_outbox_claim(wa_store *s, int64_t now, int64_t lease, size_t max,
                       wa_outbox_event *out)
{
	char err[256] = "";
	size_t n = 0;
	int rc;

	tx_begin(s);
	rc =
	    s->ops->outbox_claim(s, now, lease, max, out, &n, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "outbox_claim: %s\n", err);
	CHECK_INT(rc, 0);
	tx_commit(s);
	return n;
}

int su_outbox_finish(wa_store *s, int64_t seq, bool delivered, int64_t next,
                     const char *error)
{
	char err[256] = "";
	int rc;

	tx_begin(s);
	rc = s->ops->outbox_finish(s, seq, delivered, next, error, err,
	                           sizeof(err));
	if (rc < 0)
		fprintf(stderr, "outbox_finish: %s\n", err);
	CHECK(rc >= 0);
	tx_commit(s);
	return rc;
}

int su_status(wa_store *s, const char *id)
{
	wa_message_rec r;
	char err[256] = "";
	int rc = s->ops->get(s, id, &r, err, sizeof(err));

	CHECK(rc >= 0);
	if (rc != 0)
		return -1;
	rc = (int)r.status;
	wa_message_rec_free(&r);
	return rc;
}

void su_make_sent(wa_store *s, const char *id, const char *ext,
                  const char *pmid, int64_t t)
{
	wa_message_rec r[4];
	wa_insert_result ir = su_insert_simple(s, id, ext, t);
	size_t n;

	CHECK_INT(ir.kind, WA_INSERT_CREATED);
	n = su_claim(s, t, t + 1000, 1, r);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(r[0].id, id);
	su_free_recs(r, n);
	CHECK_INT(su_finish(s, id, WA_OUT_SENT, t + 1, 0, pmid, NULL), 0);
}

void su_free_recs(wa_message_rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wa_message_rec_free(&r[i]);
}

/* ---- the page cache of a store's file (store_ckpt, store_wback) ---- */

#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same on every architecture */
#endif

struct cs_range {
	uint64_t off, len;
};

struct cs_stat {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

long su_unwritten(int fd, bool writeback)
{
	struct cs_range r = {0, 0}; /* the whole file */
	struct cs_stat c;

	if (syscall(SYS_cachestat, fd, &r, &c, 0) != 0)
		return -1;
	return (long)(c.dirty + (writeback ? c.writeback : 0));
}

const char *su_no_dirty_pages(int fd)
{
	struct statfs fs = {0};

	if (su_unwritten(fd, false) < 0)
		return "no cachestat(2) here: dirty pages cannot be counted";
	if (fstatfs(fd, &fs) != 0 || fs.f_type == TMPFS_MAGIC)
		return "the store is on tmpfs, whose pages are never written "
		       "back";
	return NULL;
}

void su_check_intact(const char *path, long n)
{
	wa_store *s = su_open_again();
	sqlite3 *db;

	CHECK(s != NULL);
	if (s)
		wa_store_close(s);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK_INT(su_sql_int(db, "SELECT count(*) FROM messages"), n);
	CHECK_INT(su_sql_int(db, "SELECT count(*) FROM pragma_integrity_check"
	                         " WHERE integrity_check <> 'ok'"),
	          0);
	sqlite3_close(db);
}

void su_util_counts(int *passed, int *failed)
{
	*passed = wa_t_passed;
	*failed = wa_t_failed;
}
