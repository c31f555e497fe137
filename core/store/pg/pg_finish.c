/* pg_finish.c - the statements that change a message's status and write
 * its history and outbox rows in the same statement (data-modifying CTEs);
 * shared by the immediate path (pg_write.c) and the pipelined one
 * (pg_batch.c) */
#include "store/pg/pg_impl.h"

#include <stdio.h>

#define FENCED                                                                 \
	" WHERE id = $1 AND status = 'sending'"                                \
	" AND ($3::bigint = 0 OR claim_seq = $3::bigint)"

/* WA_PG_CHANGE_TAIL, and (issue 14) the recipient's next allowed claim
 * moved to at least the outcome's time plus the interval (parameter gap,
 * 0: none), so two calls to one phone are that far apart however long the
 * claim took to reach the provider. */
#define LANE_TAIL(gap) LANE_HEAD(gap) LANE_END
#define LANE_HEAD(gap)                                                         \
	" RETURNING id, external_id, provider, provider_message_id, phone),"   \
	" l AS (INSERT INTO wadispatch_recipients AS r (phone, next_ok_ms)"    \
	"  SELECT phone, $2 + " gap " FROM u WHERE " gap "::bigint > 0"        \
	"  ON CONFLICT (phone) DO UPDATE SET next_ok_ms ="                     \
	"  greatest(r.next_ok_ms, excluded.next_ok_ms)),"
/* sent or failed: the next message of the phone, if it was held for this
 * one, is due again at once (after the interval) */
#define PULL_TAIL(gap)                                                         \
	LANE_HEAD(gap)                                                         \
	" p AS (UPDATE messages AS m SET next_attempt_ms ="                    \
	"  greatest($2 + " gap ", coalesce(m.send_at_ms, 0)),"                 \
	"  held = false FROM (SELECT x.id FROM messages x, u"                  \
	"  WHERE x.phone = u.phone AND x.status IN ('queued','sending')"       \
	"  AND x.status = 'queued' ORDER BY x.seq LIMIT 1) AS f"               \
	"  WHERE m.id = f.id AND m.held)," LANE_END
#define LANE_END                                                               \
	" h AS (INSERT INTO history (message_id, status, at_ms, detail)"       \
	"  SELECT id, $4, $2, $5 FROM u),"                                     \
	" o AS (INSERT INTO outbox (message_id, external_id, status,"          \
	"  provider, provider_message_id, error, occurred_ms)"                 \
	"  SELECT id, external_id, $4, provider, provider_message_id, $6, $2"  \
	"  FROM u WHERE $7::boolean)"                                          \
	" SELECT count(*) FROM u"

static const char *const finish_sql[4] = {
    [WA_OUT_SENT] = "WITH u AS (UPDATE messages SET status = 'sent',"
                    " provider_message_id = $8, upstream_code = $9,"
                    " upstream_status = $10, lease_until_ms = 0,"
                    " updated_ms = $2" FENCED PULL_TAIL("$11"),
    [WA_OUT_RETRY] =
        "WITH u AS (UPDATE messages SET status = 'queued',"
        " next_attempt_ms = $8, last_error = $9,"
        " upstream_code = $10, upstream_status = $11,"
        " lease_until_ms = 0, updated_ms = $2" FENCED LANE_TAIL("$12"),
    [WA_OUT_FAILED] = "WITH u AS (UPDATE messages SET status = 'failed',"
                      " last_error = $8, upstream_code = $9,"
                      " upstream_status = $10, lease_until_ms = 0,"
                      " updated_ms = $2" FENCED PULL_TAIL("$11"),
    [WA_OUT_RELEASE] = "WITH u AS (UPDATE messages SET status = 'queued',"
                       " attempts = greatest(attempts - 1, 0),"
                       " next_attempt_ms = $8, lease_until_ms = 0,"
                       " updated_ms = $2" FENCED WA_PG_CHANGE_TAIL,
};

/* Fill $1..$7 of WA_PG_CHANGE_TAIL. Outbox events only for externally
 * meaningful statuses (store.h). */
void wa_pg_change_params(wa_pg_store *s, wa_pg_params *p, const char *id,
                         int64_t at, int64_t fence, wa_msg_status to,
                         const char *detail)
{
	bool ob = atomic_load(&s->outbox) && to != WA_MSG_QUEUED &&
	          to != WA_MSG_SENDING;

	wa_pg_p_str(p, id);
	wa_pg_p_i64(p, at);
	wa_pg_p_i64(p, fence);
	wa_pg_p_str(p, wa_msg_status_name(to));
	wa_pg_p_str(p, detail ? detail : "");
	wa_pg_p_str(p, detail && *detail ? detail : NULL);
	wa_pg_p_str(p, ob ? "true" : "false");
}

const char *wa_pg_finish_stmt(wa_pg_store *s, const char *id,
                              const wa_outcome *o, wa_pg_params *pp, char *err,
                              size_t err_len)
{
	wa_pg_params *p = pp;
	const char *detail = o->error ? o->error : "";
	const char *pmid = o->provider_message_id && *o->provider_message_id
	                       ? o->provider_message_id
	                       : NULL;
	wa_msg_status to;

	switch (o->kind) {
	case WA_OUT_SENT:
		to = WA_MSG_SENT;
		detail = "";
		break;
	case WA_OUT_RETRY:
		to = WA_MSG_QUEUED;
		break;
	case WA_OUT_FAILED:
		to = WA_MSG_FAILED;
		break;
	case WA_OUT_RELEASE:
		to = WA_MSG_QUEUED;
		detail = "released";
		break;
	default:
		snprintf(err, err_len, "Unknown outcome kind %d.",
		         (int)o->kind);
		return NULL;
	}
	wa_pg_change_params(s, p, id, o->at_ms, o->claim_seq, to, detail);
	switch (o->kind) {
	case WA_OUT_SENT:
		wa_pg_p_str(p, pmid);
		wa_pg_p_str(p, o->upstream_code);
		wa_pg_p_i64(p, o->upstream_status);
		break;
	case WA_OUT_RETRY:
		wa_pg_p_i64(p, o->next_attempt_ms);
		wa_pg_p_str(p, o->error);
		wa_pg_p_str(p, o->upstream_code);
		wa_pg_p_i64(p, o->upstream_status);
		break;
	case WA_OUT_FAILED:
		wa_pg_p_str(p, o->error);
		wa_pg_p_str(p, o->upstream_code);
		wa_pg_p_i64(p, o->upstream_status);
		break;
	default:
		wa_pg_p_i64(p, o->next_attempt_ms);
		break;
	}
	if (o->kind != WA_OUT_RELEASE)
		wa_pg_p_i64(p, s->pace.per_recipient ? s->pace.interval_ms : 0);
	return finish_sql[o->kind];
}
