#include "server/config.h"

#include "base/log.h"
#include "vmm-driver/vmm.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_CONFIG = 256,
	OPT_LISTEN,
	OPT_DB,
	OPT_STATE_DIR,
	OPT_DRIVER,
	OPT_MAX_VCPUS,
	OPT_MAX_MEMORY,
	OPT_HTTP_THREADS,
	OPT_HTTP_MODEL,
	OPT_ACCESS_LOG,
	OPT_CONN_LIMIT,
	OPT_CONN_TIMEOUT,
	OPT_CONN_RESERVE,
	OPT_CONNS_PER_CALLER,
	OPT_STREAMS_PER_CALLER,
	OPT_HEADER_TIMEOUT,
	OPT_RESPONSE_BUDGET,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_WORKERS,
	OPT_PIDFILE,
	OPT_UPLOAD_MAX,
	OPT_DISK_RESERVE,
	OPT_VMM_GROUP,
	OPT_MAX_RUNNING,
	OPT_SPARE_VMS,
	OPT_SYSFS_ROOT,
	OPT_PPT_BIND,
	OPT_CORS_ORIGIN,
	OPT_METRICS_ANONYMOUS,
	OPT_METRICS_TOKEN_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_ALLOW_PLAIN_TCP,
	OPT_LOG_LEVEL,
	OPT_EVENTS_KEEP,
	OPT_EVENTS_MAX_AGE,
	OPT_EVENTS_BUFFER,
	OPT_EVENTS_KEEPALIVE,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"db", required_argument, NULL, OPT_DB},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"driver", required_argument, NULL, OPT_DRIVER},
    {"max-vcpus", required_argument, NULL, OPT_MAX_VCPUS},
    {"max-memory-mib", required_argument, NULL, OPT_MAX_MEMORY},
    {"http-threads", required_argument, NULL, OPT_HTTP_THREADS},
    {"http-model", required_argument, NULL, OPT_HTTP_MODEL},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"connection-limit", required_argument, NULL, OPT_CONN_LIMIT},
    {"connection-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
    {"connection-reserve", required_argument, NULL, OPT_CONN_RESERVE},
    {"connections-per-caller", required_argument, NULL, OPT_CONNS_PER_CALLER},
    {"streams-per-caller", required_argument, NULL, OPT_STREAMS_PER_CALLER},
    {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
    {"response-budget-mib", required_argument, NULL, OPT_RESPONSE_BUDGET},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"upload-max-mib", required_argument, NULL, OPT_UPLOAD_MAX},
    {"disk-reserve-mib", required_argument, NULL, OPT_DISK_RESERVE},
    {"vmm-group", required_argument, NULL, OPT_VMM_GROUP},
    {"max-running-per-uid", required_argument, NULL, OPT_MAX_RUNNING},
    {"spare-vms", required_argument, NULL, OPT_SPARE_VMS},
    {"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
    {"ppt-bind", no_argument, NULL, OPT_PPT_BIND},
    {"cors-origin", required_argument, NULL, OPT_CORS_ORIGIN},
    {"metrics-anonymous", no_argument, NULL, OPT_METRICS_ANONYMOUS},
    {"metrics-token-file", required_argument, NULL, OPT_METRICS_TOKEN_FILE},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"allow-plain-tcp", no_argument, NULL, OPT_ALLOW_PLAIN_TCP},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"events-keep", required_argument, NULL, OPT_EVENTS_KEEP},
    {"events-max-age", required_argument, NULL, OPT_EVENTS_MAX_AGE},
    {"events-buffer", required_argument, NULL, OPT_EVENTS_BUFFER},
    {"events-keepalive", required_argument, NULL, OPT_EVENTS_KEEPALIVE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void
config_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vmmapid [-dv] [--config FILE] [--listen unix:PATH | "
	    "--listen tcp:HOST:PORT |\n"
	    "               --listen tls:HOST:PORT --tls-cert FILE --tls-key "
	    "FILE]...\n"
	    "               [--db PATH] [--state-dir DIR] "
	    "[--driver auto|kvm|sim]\n"
	    "\n"
	    "  -d                      stay in the foreground, log to stderr\n"
	    "  -v                      verbose (debug) logging\n"
	    "  --config FILE           settings file: \"option value\" lines "
	    "(long option names)\n"
	    "  --listen ADDR           unix:PATH, tcp:HOST:PORT or "
	    "tls:HOST:PORT; repeatable\n"
	    "                          (default unix:STATE_DIR/vmmapid.sock)\n"
	    "  --state-dir DIR         state directory (default "
	    "./vmmapid-state)\n"
	    "  --db PATH               SQLite database (default "
	    "STATE_DIR/vmmapid.db)\n"
	    "  --driver NAME           auto (default), kvm or sim\n"
	    "  --max-vcpus N           vCPUs per VM at most, 1-64 (default: "
	    "host CPUs)\n"
	    "  --max-memory-mib N      guest memory per VM at most (default: "
	    "host RAM)\n"
	    "  --http-threads N        HTTP threads per listener (default: "
	    "host CPUs)\n"
	    "  --http-model MODEL      pool (default) or per-connection\n"
	    "  --access-log on|off     one line per request (default on)\n"
	    "  --connection-limit N    open connections per listener "
	    "(default 1024)\n"
	    "  --connection-timeout S  idle connection timeout (default 60)\n"
	    "  --connection-reserve N  more per listener, for host root and "
	    "health checks (default 8)\n"
	    "  --connections-per-caller N  per uid (Unix) or client address "
	    "(TCP) (default 64)\n"
	    "  --streams-per-caller N  followed consoles and event streams "
	    "per caller (default 16)\n"
	    "  --header-timeout S      time to send a request's headers "
	    "(default 10; 0: none)\n"
	    "  --response-budget-mib N answers held for clients not reading "
	    "(default 256)\n"
	    "  --shutdown-timeout S    time to finish requests on SIGTERM "
	    "(default 10)\n"
	    "  --workers N             threads for writes (default 64)\n"
	    "  --pidfile PATH          pid file when daemonized\n"
	    "  --upload-max-mib N      largest image upload (default 1024)\n"
	    "  --disk-reserve-mib N    creates and uploads answer 507 below N "
	    "MiB\n"
	    "                          free for the database (default 64; 0: "
	    "off)\n"
	    "  --vmm-group GROUP       group whose members may run VMs "
	    "(default vmm)\n"
	    "  --max-running-per-uid N running VMs per non-root uid "
	    "(default 0: no limit)\n"
	    "  --spare-vms N           VMs made ahead of starts, 0 to %d "
	    "(default 2)\n"
	    "  --sysfs-root DIR        where PCI devices are read (default "
	    "/sys)\n"
	    "  --ppt-bind              bind reserved PCI devices to vfio-pci "
	    "(default: never)\n"
	    "  --cors-origin ORIGIN    browsers of ORIGIN may call; "
	    "repeatable (default none)\n"
	    "  --metrics-anonymous     GET /metrics without a token\n"
	    "  --metrics-token-file F  the token that may read /metrics "
	    "(and nothing else)\n"
	    "  --tls-cert FILE         certificate chain of tls: listeners "
	    "(PEM; reread on SIGHUP)\n"
	    "  --tls-key FILE          its private key (PEM; not readable by "
	    "others)\n"
	    "  --allow-plain-tcp       accept tokens on plain TCP to "
	    "addresses other than loopback\n"
	    "  --log-level LEVEL       info (default) or debug (as -v)\n"
	    "  --events-keep N         events the journal keeps (default "
	    "100000; 0: no bound)\n"
	    "  --events-max-age S      oldest event kept, seconds (default "
	    "604800; 0: no bound)\n"
	    "  --events-buffer N       events queued per subscriber "
	    "(default 256)\n"
	    "  --events-keepalive S    idle seconds before a keep-alive "
	    "comment (default 15)\n"
	    "  --help, --version\n",
	    VMM_SPARES_MAX);
}

static int
parse_uint(const char *opt, const char *s, unsigned long max,
	   unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *s == '-' || *end != '\0' || v > max) {
		fprintf(stderr,
			"vmmapid: --%s: \"%s\" is not a number from 0 "
			"to %lu\n",
			opt, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
set_str(char **dst, const char *v)
{
	free(*dst);
	if ((*dst = strdup(v)) == NULL) {
		perror("vmmapid");
		return -1;
	}
	return 0;
}

/* Where a number goes: offset and size of its member of struct config. */
#define CONFIG_AT(member)                                                      \
	offsetof(struct config, member), sizeof(((struct config *)0)->member)

/* The numeric settings and their range. */
static const struct config_number {
	int cn_opt;
	unsigned long cn_min, cn_max;
	size_t cn_off, cn_size; /* an unsigned or uint64_t member */
} config_numbers[] = {
    {OPT_MAX_VCPUS, 0, 4096, CONFIG_AT(cf_max_vcpus)},
    {OPT_MAX_MEMORY, 0, ULONG_MAX >> 20, CONFIG_AT(cf_max_memory_mib)},
    {OPT_HTTP_THREADS, 0, 256, CONFIG_AT(cf_http_threads)},
    {OPT_CONN_LIMIT, 1, 65536, CONFIG_AT(cf_conn_limit)},
    {OPT_CONN_TIMEOUT, 0, 86400, CONFIG_AT(cf_conn_timeout)},
    {OPT_CONN_RESERVE, 0, 4096, CONFIG_AT(cf_conn_reserve)},
    {OPT_CONNS_PER_CALLER, 1, 65536, CONFIG_AT(cf_conns_per_caller)},
    {OPT_STREAMS_PER_CALLER, 1, 65536, CONFIG_AT(cf_streams_per_caller)},
    {OPT_HEADER_TIMEOUT, 0, 3600, CONFIG_AT(cf_header_timeout)},
    {OPT_RESPONSE_BUDGET, 1, 1024 * 1024, CONFIG_AT(cf_response_budget_mib)},
    {OPT_SHUTDOWN_TIMEOUT, 0, 3600, CONFIG_AT(cf_shutdown_timeout)},
    {OPT_MAX_RUNNING, 0, 100000, CONFIG_AT(cf_max_running)},
    {OPT_SPARE_VMS, 0, VMM_SPARES_MAX, CONFIG_AT(cf_spare_vms)},
    {OPT_UPLOAD_MAX, 1, 1024 * 1024, CONFIG_AT(cf_upload_max_mib)},
    {OPT_DISK_RESERVE, 0, 1024 * 1024, CONFIG_AT(cf_disk_reserve_mib)},
    {OPT_WORKERS, 1, 1024, CONFIG_AT(cf_workers)},
    {OPT_EVENTS_KEEP, 0, 1000000000, CONFIG_AT(cf_events_keep)},
    {OPT_EVENTS_MAX_AGE, 0, 315360000, CONFIG_AT(cf_events_max_age)},
    {OPT_EVENTS_BUFFER, 1, 65536, CONFIG_AT(cf_events_buffer)},
    {OPT_EVENTS_KEEPALIVE, 1, 3600, CONFIG_AT(cf_events_keepalive)},
};

/* The settings that are one of two words: the first sets 0, the other 1. */
static const struct config_choice {
	int cc_opt;
	const char *cc_word[2];
	const char *cc_words; /* as the error says them */
	size_t cc_off;        /* of an int member of struct config */
} config_choices[] = {
    {OPT_HTTP_MODEL,
     {"pool", "per-connection"},
     "pool or per-connection",
     offsetof(struct config, cf_per_connection)},
    {OPT_ACCESS_LOG,
     {"off", "on"},
     "on or off",
     offsetof(struct config, cf_access_log)},
    {OPT_LOG_LEVEL,
     {"info", "debug"},
     "info or debug",
     offsetof(struct config, cf_verbose)},
};

/* The settings kept as strings. */
static const struct config_string {
	int cs_opt;
	size_t cs_off; /* of a char * member of struct config */
} config_strings[] = {
    {OPT_DB, offsetof(struct config, cf_db)},
    {OPT_STATE_DIR, offsetof(struct config, cf_state_dir)},
    {OPT_PIDFILE, offsetof(struct config, cf_pidfile)},
    {OPT_VMM_GROUP, offsetof(struct config, cf_vmm_group)},
    {OPT_SYSFS_ROOT, offsetof(struct config, cf_sysfs_root)},
    {OPT_METRICS_TOKEN_FILE, offsetof(struct config, cf_metrics_token)},
    {OPT_TLS_CERT, offsetof(struct config, cf_tls_cert)},
    {OPT_TLS_KEY, offsetof(struct config, cf_tls_key)},
};

#define CONFIG_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Applies a setting of config_numbers, config_choices or config_strings:
 * 0, -1 with a message, or 1 when opt is none of theirs. */
static int
config_apply_table(struct config *cf, int opt, const char *name, const char *v)
{
	char *base = (char *)cf;
	unsigned long n;
	size_t i;

	for (i = 0; i < CONFIG_NELEM(config_numbers); i++) {
		const struct config_number *cn = &config_numbers[i];

		if (cn->cn_opt != opt)
			continue;
		if (parse_uint(name, v, cn->cn_max, &n) != 0 ||
		    n < cn->cn_min) {
			if (cn->cn_min > 0)
				fprintf(stderr,
					"vmmapid: --%s must be at least %lu\n",
					name, cn->cn_min);
			return -1;
		}
		if (cn->cn_size == sizeof(uint64_t))
			*(uint64_t *)(base + cn->cn_off) = n;
		else
			*(unsigned *)(base + cn->cn_off) = (unsigned)n;
		return 0;
	}
	for (i = 0; i < CONFIG_NELEM(config_choices); i++) {
		const struct config_choice *cc = &config_choices[i];

		if (cc->cc_opt != opt)
			continue;
		if (strcmp(v, cc->cc_word[0]) != 0 &&
		    strcmp(v, cc->cc_word[1]) != 0) {
			fprintf(stderr, "vmmapid: --%s: \"%s\" is not %s\n",
				name, v, cc->cc_words);
			return -1;
		}
		*(int *)(base + cc->cc_off) = strcmp(v, cc->cc_word[1]) == 0;
		return 0;
	}
	for (i = 0; i < CONFIG_NELEM(config_strings); i++)
		if (config_strings[i].cs_opt == opt)
			return set_str(
			    (char **)(base + config_strings[i].cs_off), v);
	return 1;
}

/*
 * Whether v is not an origin as a browser sends it (RFC 6454 section
 * 6.2): scheme "://" host, an optional ":port", nothing after; browsers
 * send the scheme and host in lower case, and the comparison is exact.
 */
static int
config_origin_bad(const char *v)
{
	const char *p = strstr(v, "://");
	size_t i;

	if (p == NULL || p == v || p[3] == '\0')
		return 1;
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if (isupper(c) || isspace(c) || (c == '/' && &v[i] > p + 2) ||
		    c == '?' || c == '#' || c == '@' || c == ',' || c < 0x21 ||
		    c > 0x7e)
			return 1;
	}
	return 0;
}

/* Applies one option (from the command line or the file). */
static int
config_apply(struct config *cf, int opt, const char *name, const char *v)
{
	int rc;

	switch (opt) {
	case OPT_LISTEN:
		if (strncmp(v, "unix:", 5) != 0 && strncmp(v, "tcp:", 4) != 0 &&
		    strncmp(v, "tls:", 4) != 0) {
			fprintf(stderr,
				"vmmapid: --listen: \"%s\" is none of "
				"unix:PATH, tcp:HOST:PORT and tls:HOST:PORT\n",
				v);
			return -1;
		}
		if (cf->cf_nlisten == CONFIG_MAX_LISTEN) {
			fprintf(stderr, "vmmapid: at most %d --listen\n",
				CONFIG_MAX_LISTEN);
			return -1;
		}
		if ((cf->cf_listen[cf->cf_nlisten] = strdup(v)) == NULL)
			return -1;
		cf->cf_nlisten++;
		return 0;
	case OPT_CORS_ORIGIN:
		if (config_origin_bad(v)) {
			fprintf(
			    stderr,
			    "vmmapid: --cors-origin: \"%s\" is not an "
			    "origin: scheme://host[:port], lower case, "
			    "without a path (e.g. https://dash.example.org)\n",
			    v);
			return -1;
		}
		if (cf->cf_ncors == CONFIG_MAX_CORS) {
			fprintf(stderr, "vmmapid: at most %d --cors-origin\n",
				CONFIG_MAX_CORS);
			return -1;
		}
		if ((cf->cf_cors[cf->cf_ncors] = strdup(v)) == NULL)
			return -1;
		cf->cf_ncors++;
		return 0;
	case OPT_METRICS_ANONYMOUS:
		cf->cf_metrics_anonymous = 1;
		return 0;
	case OPT_ALLOW_PLAIN_TCP:
		cf->cf_allow_plain_tcp = 1;
		return 0;
	case OPT_DRIVER:
		if (strcmp(v, "auto") && strcmp(v, "kvm") && strcmp(v, "sim")) {
			fprintf(stderr,
				"vmmapid: --driver: \"%s\" is not "
				"auto, kvm or sim\n",
				v);
			return -1;
		}
		return set_str(&cf->cf_driver, v);
	}
	if ((rc = config_apply_table(cf, opt, name, v)) <= 0)
		return rc;
	fprintf(stderr, "vmmapid: unknown option \"%s\"\n", name);
	return -1;
}

/* Reads "option value" lines; '#' starts a comment. */
static int
config_read_file(struct config *cf, const char *path)
{
	char line[4096];
	FILE *f;
	int lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "vmmapid: --config %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *key, *val, *e;
		const struct option *o;

		lineno++;
		if ((e = strchr(p, '#')) != NULL)
			*e = '\0';
		while (isspace((unsigned char)*p))
			p++;
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*p == '\0')
			continue;
		key = p;
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != '=')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (isspace((unsigned char)*p) || *p == '=')
			p++;
		val = p;
		for (o = long_opts; o->name != NULL; o++)
			if (strcmp(o->name, key) == 0)
				break;
		if (o != NULL && o->name != NULL && o->has_arg == no_argument &&
		    *val == '\0' &&
		    (o->val == OPT_METRICS_ANONYMOUS ||
		     o->val == OPT_ALLOW_PLAIN_TCP)) {
			rc = config_apply(cf, o->val, key, NULL);
			continue;
		}
		if (o->name == NULL || o->has_arg != required_argument ||
		    o->val == OPT_CONFIG || *val == '\0') {
			fprintf(stderr, "vmmapid: %s:%d: %s \"%s\"\n", path,
				lineno,
				o->name == NULL ? "unknown setting"
				: o->has_arg == no_argument
				    ? "setting takes no value (alone on its "
				      "line):"
				    : "setting needs a value:",
				key);
			rc = -1;
			break;
		}
		rc = config_apply(cf, o->val, key, val);
		if (rc != 0)
			fprintf(stderr, "vmmapid: in %s line %d\n", path,
				lineno);
	}
	fclose(f);
	return rc;
}

/* A tls: listener needs its certificate and key. */
static int
config_check_tls(const struct config *cf)
{
	int i;

	for (i = 0; i < cf->cf_nlisten; i++) {
		if (strncmp(cf->cf_listen[i], "tls:", 4) != 0)
			continue;
		if (cf->cf_tls_cert == NULL || cf->cf_tls_key == NULL) {
			fprintf(stderr,
				"vmmapid: --listen %s needs --tls-cert FILE "
				"and --tls-key FILE (PEM)\n",
				cf->cf_listen[i]);
			return -1;
		}
	}
	return 0;
}

int
config_parse(struct config *cf, int argc, char **argv)
{
	int opt, i, idx, cmdline_listen = 0, cmdline_cors = 0;
	char *path;

	memset(cf, 0, sizeof(*cf));
	cf->cf_access_log = 1;
	cf->cf_conn_limit = 1024;
	cf->cf_conn_timeout = 60;
	cf->cf_conn_reserve = 8;
	cf->cf_conns_per_caller = 64;
	cf->cf_streams_per_caller = 16;
	cf->cf_header_timeout = 10;
	cf->cf_response_budget_mib = 256;
	cf->cf_shutdown_timeout = 10;
	cf->cf_workers = 64;
	cf->cf_upload_max_mib = 1024;
	cf->cf_disk_reserve_mib = 64;
	cf->cf_spare_vms = 2;
	cf->cf_events_keep = 100000;
	cf->cf_events_max_age = 7 * 86400;
	cf->cf_events_buffer = 256;
	cf->cf_events_keepalive = 15;
	if (set_str(&cf->cf_driver, "auto") != 0)
		return -1;

	/* The file first, so the command line overrides it. */
	for (i = 1; i < argc; i++) {
		const char *file = NULL;

		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
		if (file != NULL && config_read_file(cf, file) != 0)
			return -1;
	}

	optind = 0; /* 0, not 1: also forgets a half-read "-hv" */
	while ((idx = -1,
		opt = getopt_long(argc, argv, "dvh", long_opts, &idx)) != -1) {
		switch (opt) {
		case 'd':
			cf->cf_foreground = 1;
			break;
		case 'v':
			cf->cf_verbose = 1;
			break;
		case 'h':
		case OPT_HELP:
			config_usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("vmmapid %s\n", VMMAPID_VERSION);
			return 1;
		case OPT_CONFIG:
			break;
		case OPT_PPT_BIND:
			cf->cf_ppt_bind = 1;
			break;
		case OPT_LISTEN:
			/* Listeners on the command line replace the file's. */
			if (!cmdline_listen) {
				while (cf->cf_nlisten > 0)
					free(cf->cf_listen[--cf->cf_nlisten]);
				cmdline_listen = 1;
			}
			/* FALLTHROUGH */
		default:
			/* Origins on the command line replace the file's. */
			if (opt == OPT_CORS_ORIGIN && !cmdline_cors) {
				while (cf->cf_ncors > 0)
					free(cf->cf_cors[--cf->cf_ncors]);
				cmdline_cors = 1;
			}
			if (opt == '?' ||
			    config_apply(cf, opt,
					 idx >= 0 ? long_opts[idx].name : "?",
					 optarg) != 0) {
				config_usage(stderr);
				return -1;
			}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmmapid: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (cf->cf_vmm_group == NULL && set_str(&cf->cf_vmm_group, "vmm") != 0)
		return -1;
	if (cf->cf_sysfs_root == NULL &&
	    set_str(&cf->cf_sysfs_root, "/sys") != 0)
		return -1;
	if (cf->cf_state_dir == NULL &&
	    set_str(&cf->cf_state_dir, "vmmapid-state") != 0)
		return -1;
	if (cf->cf_db == NULL) {
		if (asprintf(&path, "%s/vmmapid.db", cf->cf_state_dir) < 0)
			return -1;
		cf->cf_db = path;
	}
	if (cf->cf_nlisten == 0) {
		if (asprintf(&path, "unix:%s/vmmapid.sock", cf->cf_state_dir) <
		    0)
			return -1;
		cf->cf_listen[cf->cf_nlisten++] = path;
	}
	return config_check_tls(cf);
}

void
config_free(struct config *cf)
{
	int i;

	for (i = 0; i < cf->cf_nlisten; i++)
		free(cf->cf_listen[i]);
	free(cf->cf_state_dir);
	free(cf->cf_db);
	free(cf->cf_driver);
	free(cf->cf_pidfile);
	free(cf->cf_vmm_group);
	free(cf->cf_sysfs_root);
	for (i = 0; i < cf->cf_ncors; i++)
		free(cf->cf_cors[i]);
	free(cf->cf_metrics_token);
	free(cf->cf_tls_cert);
	free(cf->cf_tls_key);
	memset(cf, 0, sizeof(*cf));
}

static int
config_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/*
 * What SIGHUP cannot change: each one that differs is said on the log.
 * Everything else of struct config is reloaded by main (main_reload),
 * the TLS certificate and key too (server/tls.h).
 */
int
config_reparse(const struct config *cur, struct config *next, int argc,
	       char **argv)
{
	int i, same;

	if (config_parse(next, argc, argv) != 0) {
		config_free(next);
		return -1;
	}
#define CONFIG_KEEP(cond, opt)                                                 \
	do {                                                                   \
		if (cond)                                                      \
			log_warnx("SIGHUP: --%s changed; it takes effect at "  \
				  "the next start",                            \
				  opt);                                        \
	} while (0)
	same = cur->cf_nlisten == next->cf_nlisten;
	for (i = 0; same && i < cur->cf_nlisten; i++)
		same = strcmp(cur->cf_listen[i], next->cf_listen[i]) == 0;
	CONFIG_KEEP(!same, "listen");
	CONFIG_KEEP(config_str_differs(cur->cf_state_dir, next->cf_state_dir),
		    "state-dir");
	CONFIG_KEEP(config_str_differs(cur->cf_db, next->cf_db), "db");
	CONFIG_KEEP(config_str_differs(cur->cf_driver, next->cf_driver),
		    "driver");
	CONFIG_KEEP(cur->cf_max_vcpus != next->cf_max_vcpus, "max-vcpus");
	CONFIG_KEEP(cur->cf_max_memory_mib != next->cf_max_memory_mib,
		    "max-memory-mib");
	CONFIG_KEEP(cur->cf_http_threads != next->cf_http_threads,
		    "http-threads");
	CONFIG_KEEP(cur->cf_per_connection != next->cf_per_connection,
		    "http-model");
	CONFIG_KEEP(cur->cf_conn_limit != next->cf_conn_limit,
		    "connection-limit");
	CONFIG_KEEP(cur->cf_conn_timeout != next->cf_conn_timeout,
		    "connection-timeout");
	/* --connections-per-caller, --streams-per-caller, --header-timeout
	 * and --response-budget-mib reload (main_apply, server/limits.h). */
	CONFIG_KEEP(cur->cf_conn_reserve != next->cf_conn_reserve,
		    "connection-reserve");
	CONFIG_KEEP(cur->cf_workers != next->cf_workers, "workers");
	CONFIG_KEEP(cur->cf_disk_reserve_mib != next->cf_disk_reserve_mib,
		    "disk-reserve-mib");
	CONFIG_KEEP(config_str_differs(cur->cf_pidfile, next->cf_pidfile),
		    "pidfile");
	CONFIG_KEEP(cur->cf_upload_max_mib != next->cf_upload_max_mib,
		    "upload-max-mib");
	CONFIG_KEEP(config_str_differs(cur->cf_vmm_group, next->cf_vmm_group),
		    "vmm-group");
	CONFIG_KEEP(cur->cf_max_running != next->cf_max_running,
		    "max-running-per-uid");
	CONFIG_KEEP(cur->cf_spare_vms != next->cf_spare_vms, "spare-vms");
	CONFIG_KEEP(cur->cf_events_keep != next->cf_events_keep, "events-keep");
	CONFIG_KEEP(cur->cf_events_max_age != next->cf_events_max_age,
		    "events-max-age");
	CONFIG_KEEP(cur->cf_events_buffer != next->cf_events_buffer,
		    "events-buffer");
	CONFIG_KEEP(cur->cf_events_keepalive != next->cf_events_keepalive,
		    "events-keepalive");
	CONFIG_KEEP(cur->cf_foreground != next->cf_foreground, "d");
	CONFIG_KEEP(cur->cf_allow_plain_tcp != next->cf_allow_plain_tcp,
		    "allow-plain-tcp");
#undef CONFIG_KEEP
	return 0;
}
