/* mock.c - the mock provider: pretends to send, for development and tests
 *
 * This is also the template for a new provider: copy this file, rename
 * "mock", and replace mock_send() (or drop it and fill build_request and
 * parse_response instead, for an HTTP API). Rules it shows:
 *   - include only <wadispatch/provider.h> from wadispatch and link nothing
 *     of the daemon: everything you may call comes through wa_host;
 *   - everything is static except the entry point, which is marked
 *     WA_PROVIDER_EXPORT (build with -fvisibility=hidden -Wl,-z,defs);
 *   - read and validate all configuration in init(), failing with one
 *     sentence that names the variable; afterwards the state is read-only
 *     (send() runs on many threads at once);
 *   - fill only the host's result struct: nothing is allocated for the host.
 *
 * What it does: logs the message like the original prototype did, sleeps
 * MOCK_DELAY_MS and answers OK with "mock-<epoch ms>". Knobs let tests make
 * it answer RETRY, REJECT or CONFIG deterministically.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wadispatch/provider.h>

/* The keys this provider reads, with their defaults: the host shows them in
 * --help and warns about MOCK_* keys that are not in this list. */
static const wa_config_key mock_keys[] = {
    {"MOCK_DELAY_MS", "100", 0, "Milliseconds each send sleeps, 0 to 60000."},
    {"MOCK_RETRY_RATE", "0", 0,
     "Fraction (0 to 1) of attempts answered RETRY."},
    {"MOCK_REJECT_RATE", "0", 0,
     "Fraction (0 to 1) of attempts answered REJECT."},
    {"MOCK_SEED", "1", 0,
     "Seed making the two rates deterministic (same seed, same answers)."},
    {"MOCK_FAIL_FIRST", "0", 0,
     "The first N attempts of every message answer RETRY."},
    {"MOCK_RETRY_AFTER_MS", "0", 0,
     "Retry-after hint on RETRY answers, in ms (0: the host decides)."},
    {"MOCK_CONFIG_FAIL_FILE", NULL, 0,
     "While this file exists every send answers CONFIG (tests)."},
    {"MOCK_REJECT_FILE", NULL, 0,
     "While this file exists every send answers REJECT (tests)."},
    {"MOCK_RECORD_FILE", NULL, 0,
     "Append \"<message_id> <external_id> <mock_id>\" per delivery, then \" "
     "<content JSON>\" when the message has rich content (tests)."},
    {"MOCK_CALL_FILE", NULL, 0,
     "Append \"<start_ms> <end_ms> <phone> <message_id> <external_id> "
     "<attempt> <class>\" per call, monotonic ms (tests)."},
    {NULL, NULL, 0, NULL},
};

/* Everything init() decided. Read-only afterwards, except last_id_ms. */
typedef struct mock_state {
	const wa_host *host;
	long delay_ms;
	double retry_rate;
	double reject_rate;
	uint64_t seed;
	long fail_first;
	long retry_after_ms;
	char *config_fail_file;     /* NULL: never */
	char *reject_file;          /* NULL: never */
	int record_fd;              /* -1: no record file */
	int call_fd;                /* -1: no call file */
	_Atomic int64_t last_id_ms; /* keeps mock ids unique across threads */
} mock_state;

/* ---- configuration ------------------------------------------------------ */

static const char *get(const wa_host *host, const char *key, const char *def)
{
	const char *v = host->config_get(host, key);
	return v ? v : def;
}

static int get_long(const wa_host *host, const char *key, const char *def,
                    long max, long *out, char *err, size_t err_len)
{
	const char *v = get(host, key, def);
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > max) {
		snprintf(
		    err, err_len,
		    "%s must be a whole number from 0 to %ld, got \"%.40s\".",
		    key, max, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int get_rate(const wa_host *host, const char *key, double *out,
                    char *err, size_t err_len)
{
	const char *v = get(host, key, "0");
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < 0.0 || d > 1.0) {
		snprintf(err, err_len,
		         "%s must be a number from 0 to 1, got \"%.40s\".", key,
		         v);
		return -1;
	}
	*out = d;
	return 0;
}

static int get_seed(const wa_host *host, uint64_t *out, char *err,
                    size_t err_len)
{
	const char *v = get(host, "MOCK_SEED", "1");
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] < '0' || v[0] > '9') {
		snprintf(err, err_len,
		         "MOCK_SEED must be a whole number from 0 to %" PRIu64
		         ", got \"%.40s\".",
		         UINT64_MAX, v);
		return -1;
	}
	*out = (uint64_t)n;
	return 0;
}

static void mock_destroy(void *state)
{
	mock_state *s = state;

	if (!s)
		return;
	if (s->record_fd >= 0)
		close(s->record_fd);
	if (s->call_fd >= 0)
		close(s->call_fd);
	free(s->config_fail_file);
	free(s->reject_file);
	free(s);
}

static int mock_init(const wa_host *host, void **state, char *err,
                     size_t err_len)
{
	mock_state *s = calloc(1, sizeof(*s));
	const char *v;

	if (!s) {
		snprintf(err, err_len, "The mock provider is out of memory.");
		return -1;
	}
	s->host = host;
	s->record_fd = -1;
	s->call_fd = -1;
	if (get_long(host, "MOCK_DELAY_MS", "100", 60000, &s->delay_ms, err,
	             err_len) != 0 ||
	    get_rate(host, "MOCK_RETRY_RATE", &s->retry_rate, err, err_len) !=
	        0 ||
	    get_rate(host, "MOCK_REJECT_RATE", &s->reject_rate, err, err_len) !=
	        0 ||
	    get_seed(host, &s->seed, err, err_len) != 0 ||
	    get_long(host, "MOCK_FAIL_FIRST", "0", 1000000, &s->fail_first, err,
	             err_len) != 0 ||
	    get_long(host, "MOCK_RETRY_AFTER_MS", "0", 86400000,
	             &s->retry_after_ms, err, err_len) != 0)
		goto fail;
	if (s->retry_rate + s->reject_rate > 1.0) {
		snprintf(
		    err, err_len,
		    "MOCK_RETRY_RATE plus MOCK_REJECT_RATE must not exceed 1.");
		goto fail;
	}
	v = host->config_get(host, "MOCK_CONFIG_FAIL_FILE");
	if (v && !(s->config_fail_file = strdup(v))) {
		snprintf(err, err_len, "The mock provider is out of memory.");
		goto fail;
	}
	v = host->config_get(host, "MOCK_REJECT_FILE");
	if (v && !(s->reject_file = strdup(v))) {
		snprintf(err, err_len, "The mock provider is out of memory.");
		goto fail;
	}
	v = host->config_get(host, "MOCK_RECORD_FILE");
	if (v) {
		s->record_fd =
		    open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->record_fd < 0) {
			snprintf(
			    err, err_len,
			    "MOCK_RECORD_FILE %.200s cannot be opened: %s.", v,
			    strerror(errno));
			goto fail;
		}
	}
	v = host->config_get(host, "MOCK_CALL_FILE");
	if (v) {
		s->call_fd =
		    open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->call_fd < 0) {
			snprintf(err, err_len,
			         "MOCK_CALL_FILE %.200s cannot be opened: %s.",
			         v, strerror(errno));
			goto fail;
		}
	}
	*state = s;
	return 0;

fail:
	mock_destroy(s);
	return -1;
}

/* ---- delivery ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A number in [0, 1) from seed, message id and attempt: the same inputs
 * always give the same answer, whatever the thread or the order. FNV-1a
 * over the bytes, then a SplitMix64 finaliser to spread the bits. */
static double draw(uint64_t seed, const char *message_id, uint32_t attempt)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (int i = 0; i < 8; i++)
		h = (h ^ ((seed >> (8 * i)) & 0xff)) * 0x100000001b3u;
	for (const char *p = message_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3u;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((attempt >> (8 * i)) & 0xff)) * 0x100000001b3u;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	h ^= h >> 31;
	return (double)(h >> 11) * (1.0 / 9007199254740992.0); /* 2^53 */
}

/* A millisecond id, strictly increasing so concurrent sends never share
 * one. */
static int64_t next_id_ms(mock_state *s)
{
	int64_t now = now_ms(), last = atomic_load(&s->last_id_ms), id;

	do {
		id = now > last ? now : last + 1;
	} while (!atomic_compare_exchange_weak(&s->last_id_ms, &last, id));
	return id;
}

static void answer(wa_result *res, wa_result_class cls, long status,
                   uint32_t retry_after_ms, const char *code, const char *error)
{
	res->result_class = cls;
	res->upstream_status = status;
	res->retry_after_ms = retry_after_ms;
	snprintf(res->upstream_code, sizeof(res->upstream_code), "%s", code);
	snprintf(res->error, sizeof(res->error), "%s", error);
}

/* The message's rich content (ABI 1.2), or NULL: a field appended in 1.2
 * is read only when the host's struct has it. */
static const char *content_of(const wa_message *msg)
{
	if (msg->struct_size <
	    offsetof(wa_message, content_json) + sizeof(msg->content_json))
		return NULL;
	return msg->content_json;
}

static void record(mock_state *s, const wa_message *msg, const char *mock_id)
{
	const char *content = content_of(msg);
	size_t cap = 1024 + (content ? strlen(content) : 0);
	char *line = malloc(cap);
	int n;

	if (!line) {
		s->host->log(s->host, WA_LOG_WARN,
		             "Out of memory; %s not recorded.",
		             msg->message_id);
		return;
	}
	/* Canonical JSON has no raw newline: the line stays one line. */
	n = snprintf(line, cap, "%s %s %s%s%s\n", msg->message_id,
	             msg->external_id ? msg->external_id : "", mock_id,
	             content ? " " : "", content ? content : "");
	if (n < 0 || (size_t)n >= cap) {
		s->host->log(s->host, WA_LOG_WARN,
		             "Record line for %s is too long; not recorded.",
		             msg->message_id);
		free(line);
		return;
	}
	/* One write(2) on an O_APPEND fd: lines from concurrent sends never
	 * interleave, and a line is either in the file or not, even if the
	 * daemon is killed right after. */
	if (write(s->record_fd, line, (size_t)n) != (ssize_t)n)
		s->host->log(s->host, WA_LOG_WARN,
		             "Cannot append to MOCK_RECORD_FILE: %s.",
		             strerror(errno));
	free(line);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mock_answer(mock_state *s, const wa_message *msg, wa_result *res);

/* One line per call in MOCK_CALL_FILE (one write(2): lines never mix). */
static void mock_send(void *state, const wa_message *msg, wa_result *res)
{
	static const char *const cls[] = {"ok", "retry", "reject", "config"};
	mock_state *s = state;
	int64_t start = mono_ms();
	char line[1024];
	int n;

	mock_answer(s, msg, res);
	if (s->call_fd < 0)
		return;
	n = snprintf(
	    line, sizeof(line), "%" PRId64 " %" PRId64 " %s %s %s %u %s\n",
	    start, mono_ms(), msg->recipient_phone ? msg->recipient_phone : "-",
	    msg->message_id ? msg->message_id : "-",
	    msg->external_id && *msg->external_id ? msg->external_id : "-",
	    (unsigned)msg->attempt,
	    (unsigned)res->result_class < 4 ? cls[res->result_class] : "?");
	if (n > 0 && (size_t)n < sizeof(line) &&
	    write(s->call_fd, line, (size_t)n) != (ssize_t)n)
		s->host->log(s->host, WA_LOG_WARN,
		             "Cannot append to MOCK_CALL_FILE: %s.",
		             strerror(errno));
}

static void mock_answer(mock_state *s, const wa_message *msg, wa_result *res)
{
	const char *id = msg->message_id ? msg->message_id : "";
	double u;

	if (s->config_fail_file && access(s->config_fail_file, F_OK) == 0) {
		answer(res, WA_RESULT_CONFIG, 401, 0, "mock_config",
		       "mock credentials rejected (test)");
		return;
	}
	/* The original prototype's line, word for word, full number included:
	 * the mock is a development tool and this line is its whole point.
	 * Real providers never log a full number. */
	s->host->log(s->host, WA_LOG_INFO, "[MOCK] Enviando para %s: \"%s\"",
	             msg->recipient_phone ? msg->recipient_phone : "",
	             msg->message_body ? msg->message_body : "");
	if (s->delay_ms > 0)
		sleep_ms(s->delay_ms);

	if (s->reject_file && access(s->reject_file, F_OK) == 0) {
		answer(res, WA_RESULT_REJECT, 400, 0, "mock_reject",
		       "mock permanent rejection (MOCK_REJECT_FILE)");
		return;
	}
	if ((long)msg->attempt <= s->fail_first) {
		answer(res, WA_RESULT_RETRY, 503, (uint32_t)s->retry_after_ms,
		       "mock_fail_first",
		       "mock transient failure (MOCK_FAIL_FIRST)");
		return;
	}
	u = draw(s->seed, id, msg->attempt);
	if (u < s->retry_rate) {
		answer(res, WA_RESULT_RETRY, 503, (uint32_t)s->retry_after_ms,
		       "mock_retry",
		       "mock transient failure (MOCK_RETRY_RATE)");
		return;
	}
	if (u < s->retry_rate + s->reject_rate) {
		answer(res, WA_RESULT_REJECT, 400, 0, "mock_reject",
		       "mock rejected the message (MOCK_REJECT_RATE)");
		return;
	}
	answer(res, WA_RESULT_OK, 200, 0, "", "");
	snprintf(res->provider_message_id, sizeof(res->provider_message_id),
	         "mock-%" PRId64, next_id_ms(s));
	if (s->record_fd >= 0)
		record(s, msg, res->provider_message_id);
}

/* ---- the table and the one exported symbol --------------------------------
 */

static const wa_provider mock_provider = {
    .abi_major = WA_PROVIDER_ABI_MAJOR,
    .abi_minor = WA_PROVIDER_ABI_MINOR,
    .struct_size = sizeof(wa_provider),
    .name = "mock",
    .version = "1.0.0",
    .description = "Pretends to send: logs the message and answers OK.",
    .config_keys = mock_keys,
    .message_id_name = "mock_id",
    .default_rate = 0, /* unlimited */
    .init = mock_init,
    .destroy = mock_destroy,
    .send = mock_send,
    /* build_request, parse_response, on_callback: NULL */
    /* ABI 1.2: the mock "sends" every kind of content (and records it). */
    .content_kinds = WA_CONTENT_TEXT | WA_CONTENT_TEMPLATE | WA_CONTENT_IMAGE |
                     WA_CONTENT_DOCUMENT | WA_CONTENT_AUDIO | WA_CONTENT_VIDEO |
                     WA_CONTENT_BUTTONS | WA_CONTENT_LIST |
                     WA_CONTENT_TEMPLATE_MEDIA,
};

WA_PROVIDER_EXPORT const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                                           uint32_t host_minor);

const wa_provider *wa_provider_entry_v1(uint32_t host_major,
                                        uint32_t host_minor)
{
	(void)host_minor; /* the host refuses us if its minor is older */
	if (host_major != WA_PROVIDER_ABI_MAJOR)
		return NULL;
	return &mock_provider;
}
