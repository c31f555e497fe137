/* framing.c - is a request's head unambiguous (request smuggling, NULs) */
#include "http/framing.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char NUL_LINE[] = "NUL byte or extra space in the request line";
static const char NUL_HEADER[] = "NUL byte in a header";
static const char MIXED_EOL[] = "line endings mixing CRLF and bare LF";
static const char FOLDED[] = "folded header line (obs-fold)";

/* Walks the head in libmicrohttpd's read buffer, [base, end). */
typedef struct walk {
	uintptr_t base, end;
	const char *pos; /* where the next header line must start */
	size_t eol;      /* 1 (bare LF) or 2 (CRLF), from the request line */
	int n;           /* header lines seen */
	bool unknown;    /* not the layout this knows: no verdict on NULs */
	const char *why;
} walk;

typedef struct scan {
	walk w;
	int content_length; /* how many Content-Length headers */
	int transfer_encoding;
	bool te_not_chunked;
	bool nul;
	bool host;
} scan;

/* p lies in the head (its end included). Compared as integers: p may
 * point elsewhere (libmicrohttpd moves a folded header's name). */
static bool inside(const walk *w, const char *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	return p && a >= w->base && a <= w->end && len <= w->end - a;
}

static bool zeros(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* One header line: its name must start where the last line ended, and
 * between name and value only the colon (a NUL now) and blanks. */
static void walk_header(walk *w, const char *key, size_t key_size,
                        const char *value, size_t value_size)
{
	const char *p;

	if (w->unknown || w->why)
		return;
	if (!inside(w, key, key_size + 1) || !value) {
		/* The first name elsewhere: a layout this does not know (a
		 * later libmicrohttpd); a later one: 0.9.75 moved it to join
		 * a folded line. */
		if (w->n == 0)
			w->unknown = true;
		else
			w->why = FOLDED;
		return;
	}
	w->n++;
	if (key != w->pos) {
		/* the line before went on after a NUL, or ended otherwise */
		w->why = (uintptr_t)key < (uintptr_t)w->pos ? MIXED_EOL
		         : w->n == 1                        ? NUL_LINE
		                                            : NUL_HEADER;
		return;
	}
	if (!inside(w, value, value_size + w->eol) ||
	    (uintptr_t)value <= (uintptr_t)(key + key_size)) {
		w->why = NUL_HEADER;
		return;
	}
	for (p = key + key_size + 1; p < value; p++)
		if (*p && *p != ' ' && *p != '\t') {
			w->why = NUL_HEADER;
			return;
		}
	if (!zeros(value + value_size, w->eol)) {
		w->why = NUL_HEADER;
		return;
	}
	w->pos = value + value_size + w->eol;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind,
                                   const char *key, size_t key_size,
                                   const char *value, size_t value_size)
{
	scan *f = cls;

	(void)kind;
	/* A libmicrohttpd that hands over a whole value with its NUL. */
	if (!key || strlen(key) != key_size ||
	    (value && strlen(value) != value_size))
		f->nul = true;
	if (!key)
		return MHD_YES;
	walk_header(&f->w, key, key_size, value, value_size);
	if (!strcasecmp(key, "Content-Length"))
		f->content_length++;
	else if (!strcasecmp(key, "Host"))
		f->host = true;
	else if (!strcasecmp(key, "Transfer-Encoding")) {
		f->transfer_encoding++;
		if (!value || strcasecmp(value, "chunked") != 0)
			f->te_not_chunked = true;
	}
	return MHD_YES;
}

/* The request line: method SP target SP version, then its line end. Sets
 * w->pos to where the first header line must start. */
static void walk_request_line(walk *w, struct MHD_Connection *c,
                              const wa_head *h)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	size_t ml, vl;
	const char *ve;

	w->unknown = true;
	if (!ci || !ci->header_size || !h->method || !h->url || !h->version)
		return;
	w->base = (uintptr_t)h->method;
	w->end = w->base + ci->header_size;
	ml = strlen(h->method);
	vl = strlen(h->version);
	if (!inside(w, h->url, 0) || !inside(w, h->version, vl))
		return; /* not where 0.9.75 keeps them: no verdict */
	w->unknown = false;
	if (h->url != h->method + ml + 1 ||
	    h->version != h->url + h->raw_uri_len + 1) {
		w->why = NUL_LINE;
		return;
	}
	ve = h->version + vl;
	/* The line ends in CRLF or LF: the first header follows, or the
	 * empty line that ends the head. */
	w->eol = (uintptr_t)w->end - (uintptr_t)ve == 2 ? 1 : 2;
	if (inside(w, ve, 2) && ve[0] == 0 && ve[1] != 0)
		w->eol = 1;
	if (!inside(w, ve, w->eol) || !zeros(ve, w->eol)) {
		w->why = NUL_LINE;
		return;
	}
	w->pos = ve + w->eol;
}

const char *wa_framing_check(struct MHD_Connection *c, const wa_head *h)
{
	scan f = {0};

	walk_request_line(&f.w, c, h);
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &f);
	/* after the last line, an empty one, and the head ends */
	if (!f.w.unknown && !f.w.why && (uintptr_t)f.w.pos + f.w.eol != f.w.end)
		f.w.why = (uintptr_t)f.w.pos + f.w.eol > f.w.end ? MIXED_EOL
		          : f.w.n                                ? NUL_HEADER
		                                                 : NUL_LINE;
	if (!f.w.unknown && !f.w.why && !zeros(f.w.pos, f.w.eol))
		f.w.why = NUL_HEADER;
	if (f.nul)
		return NUL_HEADER;
	if (!f.w.unknown && f.w.why)
		return f.w.why;
	if (f.content_length > 1)
		return "more than one Content-Length header";
	if (f.transfer_encoding > 1 || f.te_not_chunked)
		return "Transfer-Encoding other than chunked";
	if (f.transfer_encoding && f.content_length)
		return "both Transfer-Encoding and Content-Length";
	if (!f.host && h->version &&
	    strcmp(h->version, MHD_HTTP_VERSION_1_0) != 0)
		return "HTTP/1.1 request without a Host header";
	return NULL;
}
