/* loader.c - find, dlopen and vet a provider plugin, then init it */
#include "provider/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "base/defaults.h"
#include "provider/host.h"

/* Size of the v1.0 table: every field up to and including on_callback.
 * Fields are only ever appended, so any v1 plugin's table is at least
 * this big, and everything past a plugin's struct_size reads as NULL/0. */
#define WA_PROVIDER_V1_0_SIZE                                                  \
	(offsetof(wa_provider, on_callback) + sizeof(void *))

#define NAME_MAX_LEN 64
#define MAX_LISTED 64

bool wa_provider_name_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (const char *p = name; *p; p++, n++) {
		if (n >= NAME_MAX_LEN)
			return false;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return false;
	}
	return n > 0;
}

/* Copy s for a message: at most 80 bytes, non-printables as '?'. */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 1 < len && o < 80; s++)
		buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	buf[o] = 0;
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "(available: a, b)" / "(no providers found in dir)" for a refusal. */
static void list_available(const char *dir, char *out, size_t len)
{
	char *names[MAX_LISTED];
	size_t n = 0, o;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(out, len, "(cannot list %s: %s)", dir,
		         strerror(errno));
		return;
	}
	while ((de = readdir(d)) && n < MAX_LISTED) {
		size_t l = strlen(de->d_name);
		if (l <= 3 || !ends_with(de->d_name, ".so"))
			continue;
		names[n] = strndup(de->d_name, l - 3);
		if (names[n])
			n++;
	}
	closedir(d);
	if (!n) {
		snprintf(out, len, "(no providers found in %s)", dir);
		return;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	o = (size_t)snprintf(out, len, "(available: ");
	for (size_t i = 0; i < n; i++) {
		if (o < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s",
			                      i ? ", " : "", names[i]);
		free(names[i]);
	}
	if (o < len)
		snprintf(out + o, len - o, ")");
}

/* Resolve name_or_path into out->path; 0 or -1 with err filled. */
static int resolve(const char *name_or_path, const char *dir,
                   wa_loaded_provider *out, char *err, size_t err_len)
{
	char shown[96];
	int n;

	if (name_or_path && name_or_path[0] == '/' &&
	    ends_with(name_or_path, ".so") && strlen(name_or_path) > 4) {
		n = snprintf(out->path, sizeof(out->path), "%s", name_or_path);
	} else if (wa_provider_name_valid(name_or_path)) {
		n = snprintf(out->path, sizeof(out->path), "%s/%s.so", dir,
		             name_or_path);
	} else {
		snprintf(
		    err, err_len,
		    "Provider \"%s\" is not valid: WHATSAPP_PROVIDER must be "
		    "a name of 1 to 64 characters from a-z, 0-9, '_' and "
		    "'-', or an absolute path to a .so file.",
		    printable(name_or_path, shown, sizeof(shown)));
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(out->path)) {
		snprintf(err, err_len,
		         "Provider \"%s\" cannot be loaded: its path is longer "
		         "than %zu bytes.",
		         printable(name_or_path, shown, sizeof(shown)),
		         sizeof(out->path) - 1);
		return -1;
	}
	return 0;
}

/* The file must exist and be a regular file. */
static int check_file(const char *name_or_path, const char *dir,
                      const char *path, char *err, size_t err_len)
{
	char shown[96], avail[512];
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode))
			return 0;
		snprintf(
		    err, err_len,
		    "Provider \"%s\" cannot be loaded: %s is not a regular "
		    "file.",
		    printable(name_or_path, shown, sizeof(shown)), path);
		return -1;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		snprintf(err, err_len,
		         "Provider \"%s\" cannot be loaded: %s: %s.",
		         printable(name_or_path, shown, sizeof(shown)), path,
		         strerror(errno));
		return -1;
	}
	list_available(dir, avail, sizeof(avail));
	snprintf(err, err_len,
	         "Provider \"%s\" not found: %s does not exist %s.",
	         printable(name_or_path, shown, sizeof(shown)), path, avail);
	return -1;
}

/* dlopen the file and ask its entry point for the table. */
static const wa_provider *open_plugin(const char *path, void **handle,
                                      char *err, size_t err_len)
{
	wa_provider_entry_fn entry;
	const wa_provider *t;
	const char *why;
	void *sym;

	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		why = dlerror();
		snprintf(err, err_len, "Provider %s could not be loaded: %s.",
		         path, why ? why : "unknown dlopen error");
		return NULL;
	}
	dlerror();
	sym = dlsym(*handle, WA_PROVIDER_ENTRY_SYMBOL);
	if (!sym) {
		snprintf(err, err_len,
		         "Provider %s is not a wadispatch provider for ABI %d: "
		         "it does not export %s.",
		         path, WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ENTRY_SYMBOL);
		return NULL;
	}
	/* POSIX guarantees data and function pointers convert; memcpy keeps
	 * ISO C quiet about it. */
	memcpy(&entry, &sym, sizeof(entry));
	t = entry(WA_PROVIDER_ABI_MAJOR, WA_PROVIDER_ABI_MINOR);
	if (!t) {
		snprintf(
		    err, err_len,
		    "Provider %s refused to load: %s(%d, %d) returned NULL "
		    "(it does not support this host's ABI %d.%d).",
		    path, WA_PROVIDER_ENTRY_SYMBOL, WA_PROVIDER_ABI_MAJOR,
		    WA_PROVIDER_ABI_MINOR, WA_PROVIDER_ABI_MAJOR,
		    WA_PROVIDER_ABI_MINOR);
		return NULL;
	}
	return t;
}

/* Versions and size of the table, before any other field is read. */
static int check_version(const char *path, const wa_provider *t, char *err,
                         size_t err_len)
{
	if (t->abi_major != WA_PROVIDER_ABI_MAJOR) {
		snprintf(
		    err, err_len,
		    "Provider %s was built for provider ABI %u.%u, but this "
		    "wadispatchd speaks ABI %d.%d: the major versions must "
		    "match.",
		    path, t->abi_major, t->abi_minor, WA_PROVIDER_ABI_MAJOR,
		    WA_PROVIDER_ABI_MINOR);
		return -1;
	}
	if (t->abi_minor > WA_PROVIDER_ABI_MINOR) {
		snprintf(
		    err, err_len,
		    "Provider %s was built for provider ABI %u.%u, newer "
		    "than this wadispatchd's %d.%d: upgrade wadispatch or "
		    "rebuild the provider against the installed provider.h.",
		    path, t->abi_major, t->abi_minor, WA_PROVIDER_ABI_MAJOR,
		    WA_PROVIDER_ABI_MINOR);
		return -1;
	}
	if (t->struct_size < WA_PROVIDER_V1_0_SIZE) {
		snprintf(
		    err, err_len,
		    "Provider %s has a table of %zu bytes, smaller than the "
		    "%zu bytes of ABI 1.0: it was not built against "
		    "wadispatch/provider.h.",
		    path, t->struct_size, (size_t)WA_PROVIDER_V1_0_SIZE);
		return -1;
	}
	return 0;
}

/* Mandatory fields and the delivery mode of a normalised table. */
static int check_table(const char *path, const wa_provider *t, char *err,
                       size_t err_len)
{
	const char *missing = NULL;
	char shown[96];
	bool br = t->build_request != NULL, pr = t->parse_response != NULL;

	if (!t->name)
		missing = "name";
	else if (!t->version)
		missing = "version";
	else if (!t->init)
		missing = "init function";
	else if (!t->destroy)
		missing = "destroy function";
	if (missing) {
		snprintf(err, err_len,
		         "Provider %s is incomplete: its table has no %s.",
		         path, missing);
		return -1;
	}
	if (!wa_provider_name_valid(t->name)) {
		snprintf(err, err_len,
		         "Provider %s declares the invalid name \"%s\": names "
		         "are 1 to 64 characters from a-z, 0-9, '_' and '-'.",
		         path, printable(t->name, shown, sizeof(shown)));
		return -1;
	}
	if (br != pr) {
		snprintf(err, err_len,
		         "Provider %s sets %s without %s: the HTTP pair needs "
		         "both.",
		         path, br ? "build_request" : "parse_response",
		         br ? "parse_response" : "build_request");
		return -1;
	}
	if (br && t->send) {
		snprintf(err, err_len,
		         "Provider %s sets both send and the HTTP pair "
		         "(build_request, parse_response): it must set exactly "
		         "one.",
		         path);
		return -1;
	}
	if (!br && !t->send) {
		snprintf(
		    err, err_len,
		    "Provider %s has no way to deliver: it sets neither send "
		    "nor the HTTP pair (build_request, parse_response).",
		    path);
		return -1;
	}
	return 0;
}

static int check_required_keys(const char *path, const wa_provider *t,
                               char *err, size_t err_len)
{
	for (const wa_config_key *k = t->config_keys; k && k->name; k++) {
		if (!(k->flags & WA_CONFIG_REQUIRED) || wa_config_get(k->name))
			continue;
		snprintf(err, err_len,
		         "Provider \"%s\" (%s) needs %s: set it in the "
		         "environment or the config file.",
		         t->name, path, k->name);
		return -1;
	}
	return 0;
}

static int run_init(wa_loaded_provider *out, char *err, size_t err_len)
{
	const wa_provider *t = out->table;
	char why[WA_ERROR_MAX] = "";
	size_t wl;
	int rc;

	wa_host_setup(&out->host, t->name);
	rc = t->init(&out->host, &out->state, why, sizeof(why));
	if (rc == 0) {
		out->initialized = true;
		return 0;
	}
	/* Like a failed constructor, a failed init cleans up after itself:
	 * destroy() is not called. */
	out->state = NULL;
	why[sizeof(why) - 1] = 0;
	wl = strlen(why);
	if (!wl)
		snprintf(why, sizeof(why),
		         "init() returned %d without a reason", rc);
	else if (why[wl - 1] == '.')
		why[wl - 1] = 0;
	snprintf(err, err_len, "Provider \"%s\" (%s) failed to start: %s.",
	         t->name, out->path, why);
	return -1;
}

int wa_provider_load(const char *name_or_path, const char *dir,
                     wa_loaded_provider *out, char *err, size_t err_len)
{
	const wa_provider *t;
	wa_provider *copy;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		dir = WA_DEFAULT_PROVIDER_DIR;
	if (resolve(name_or_path, dir, out, err, err_len) != 0 ||
	    check_file(name_or_path, dir, out->path, err, err_len) != 0)
		return -1;
	t = open_plugin(out->path, &out->handle, err, err_len);
	if (!t)
		goto fail_close;
	if (check_version(out->path, t, err, err_len) != 0)
		goto fail_close;
	/* Work on a copy as big as the host's table: fields past the
	 * plugin's struct_size (an older minor) read as NULL/0. */
	copy = calloc(1, sizeof(*copy));
	if (!copy) {
		snprintf(err, err_len,
		         "Provider %s cannot be loaded: out of "
		         "memory.",
		         out->path);
		goto fail_close;
	}
	n = t->struct_size < sizeof(*copy) ? t->struct_size : sizeof(*copy);
	memcpy(copy, t, n);
	out->table = copy;
	if (check_table(out->path, copy, err, err_len) != 0 ||
	    check_required_keys(out->path, copy, err, err_len) != 0)
		goto fail_free;
	if (run_init(out, err, err_len) != 0) {
		/* Plugin code ran: it may have left threads or handlers
		 * behind, so the object stays mapped. */
		free(copy);
		out->table = NULL;
		return -1;
	}
	return 0;

fail_free:
	free(copy);
	out->table = NULL;
fail_close:
	/* Only the entry point ran: unmapping is safe. */
	if (out->handle)
		dlclose(out->handle);
	out->handle = NULL;
	return -1;
}

void wa_provider_unload(wa_loaded_provider *p)
{
	if (!p || !p->table)
		return;
	if (p->initialized)
		p->table->destroy(p->state);
	p->initialized = false;
	p->state = NULL;
	free((void *)p->table);
	p->table = NULL;
	/* p->handle stays open: no dlclose, ever. */
}

bool wa_provider_is_http(const wa_loaded_provider *p)
{
	return p && p->table && p->table->build_request &&
	       p->table->parse_response;
}

static const wa_config_key *find_key(const wa_loaded_provider *p,
                                     const char *key)
{
	if (!p || !p->table || !key)
		return NULL;
	for (const wa_config_key *k = p->table->config_keys; k && k->name; k++)
		if (strcmp(k->name, key) == 0)
			return k;
	return NULL;
}

bool wa_provider_key_is_secret(const wa_loaded_provider *p, const char *key)
{
	const wa_config_key *k = find_key(p, key);
	return k && (k->flags & WA_CONFIG_SECRET);
}

bool wa_provider_declares(const wa_loaded_provider *p, const char *key)
{
	return find_key(p, key) != NULL;
}

const char *wa_provider_id_name(const wa_loaded_provider *p)
{
	if (p && p->table && p->table->message_id_name &&
	    *p->table->message_id_name)
		return p->table->message_id_name;
	return "provider_message_id";
}
