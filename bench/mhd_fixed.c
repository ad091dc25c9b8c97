/*
 * mhd_fixed: the smallest libmicrohttpd server we can write that answers
 * every request with one fixed body.  It is the third reference of
 * bench/http_get.sh: what libmicrohttpd itself costs, with the same
 * threading model as vmmapid, so the gap between nginx and vmmapid can be
 * split into "the HTTP library" and "our code".
 *
 * With -d DIR it is also the floor of bench/creates.sh: every request
 * commits one row to a fresh SQLite database in DIR (WAL,
 * synchronous=FULL, bench/sqlite_row.h: what sqlite_commit does per
 * commit) before it is answered 201 — an HTTP round trip plus a durable
 * commit and nothing else.  Commits are serialized (no group commit).
 *
 *   mhd_fixed -p PORT -f BODYFILE [-t THREADS] [-m pool|per-connection]
 *             [-e auto|poll] [-c CONTENT_TYPE] [-s] [-T] [-d DIR]
 *
 * Listens on 127.0.0.1:PORT only.  Runs until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <sqlite3.h>

#include "sqlite_row.h"

struct mhd_fixed_conf {
	uint16_t fc_port;
	const char *fc_body_path;
	unsigned fc_threads;
	int fc_per_connection; /* thread per connection instead of a pool */
	const char *fc_content_type;
	int fc_shared;         /* one response object for every request */
	int fc_turbo;          /* MHD_USE_TURBO */
	int fc_poll;           /* pool model: poll() instead of MHD_USE_AUTO */
	const char *fc_db_dir; /* -d: commit a row per request here */
};

struct mhd_fixed_body {
	char *fb_data;
	size_t fb_len;
	const char *fb_content_type;
	struct MHD_Response *fb_shared; /* NULL unless -s */
	/* -d: the database, its INSERT and the rows so far, under fb_lock */
	sqlite3 *fb_db;
	sqlite3_stmt *fb_ins;
	unsigned long fb_rows;
	pthread_mutex_t fb_lock;
};

/* Any non-NULL value: marks "the first call for this request has passed". */
static int mhd_fixed_seen;

static void
mhd_fixed_usage(void)
{
	fprintf(stderr,
		"usage: mhd_fixed -p PORT -f BODYFILE [-t THREADS]\n"
		"                 [-m pool|per-connection] [-e auto|poll]"
		" [-c CONTENT_TYPE] [-s] [-T] [-d DIR]\n"
		"  -e  pool model: the event loop (default auto: epoll, as"
		" vmmapid)\n"
		"  -s  share one response object across requests"
		" (default: one per request,\n"
		"      as a real handler builds its own)\n"
		"  -T  add MHD_USE_TURBO\n"
		"  -d  commit one SQLite row in DIR per request, answer 201\n");
}

static int
mhd_fixed_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max) {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

static int
mhd_fixed_parse_args(int argc, char **argv, struct mhd_fixed_conf *conf)
{
	unsigned long v;
	int ch;

	memset(conf, 0, sizeof(*conf));
	conf->fc_threads = 2;
	conf->fc_content_type = "application/json";
	while ((ch = getopt(argc, argv, "p:f:t:m:e:c:sTd:")) != -1) {
		switch (ch) {
		case 'p':
			if (mhd_fixed_parse_uint(optarg, 65535, &v) == -1)
				goto fail;
			conf->fc_port = (uint16_t)v;
			break;
		case 'f':
			conf->fc_body_path = optarg;
			break;
		case 't':
			if (mhd_fixed_parse_uint(optarg, 256, &v) == -1)
				goto fail;
			conf->fc_threads = (unsigned)v;
			break;
		case 'm':
			if (strcmp(optarg, "pool") == 0)
				conf->fc_per_connection = 0;
			else if (strcmp(optarg, "per-connection") == 0)
				conf->fc_per_connection = 1;
			else
				goto fail;
			break;
		case 'e':
			if (strcmp(optarg, "auto") == 0)
				conf->fc_poll = 0;
			else if (strcmp(optarg, "poll") == 0)
				conf->fc_poll = 1;
			else
				goto fail;
			break;
		case 'c':
			conf->fc_content_type = optarg;
			break;
		case 's':
			conf->fc_shared = 1;
			break;
		case 'T':
			conf->fc_turbo = 1;
			break;
		case 'd':
			conf->fc_db_dir = optarg;
			break;
		default:
			goto fail;
		}
	}
	if (optind != argc || conf->fc_port == 0 || conf->fc_body_path == NULL)
		goto fail;
	return 0;
fail:
	mhd_fixed_usage();
	errno = EINVAL;
	return -1;
}

/* Reads the whole body file; the body is small (one VM, ~450 bytes). */
static int
mhd_fixed_read_body(const char *path, struct mhd_fixed_body *body)
{
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int fd, saved;

	body->fb_data = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (st.st_size <= 0 || st.st_size > 1024 * 1024) {
		errno = EINVAL;
		goto fail;
	}
	body->fb_len = (size_t)st.st_size;
	body->fb_data = malloc(body->fb_len);
	if (body->fb_data == NULL)
		goto fail;
	while (off < body->fb_len) {
		n = read(fd, body->fb_data + off, body->fb_len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	fprintf(stderr, "mhd_fixed: %s: %s\n", path, strerror(errno));
	free(body->fb_data);
	body->fb_data = NULL;
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

/* -d: a fresh database in dir, as sqlite_commit opens it. */
static int
mhd_fixed_open_db(const char *dir, struct mhd_fixed_body *body)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/mhd_fixed.db", dir) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "mhd_fixed: %s: path too long\n", dir);
		return -1;
	}
	if (sqlite3_open_v2(path, &body->fb_db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(body->fb_db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(body->fb_db, sqlite_row_schema, NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(body->fb_db, sqlite_row_insert, -1,
			       &body->fb_ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "mhd_fixed: %s: %s\n", path,
			body->fb_db != NULL ? sqlite3_errmsg(body->fb_db)
					    : "cannot open");
		return -1;
	}
	return 0;
}

static struct MHD_Response *
mhd_fixed_response_new(const struct mhd_fixed_body *body)
{
	struct MHD_Response *resp;

	/* The body outlives every response, so no copy is needed. */
	resp = MHD_create_response_from_buffer(body->fb_len, body->fb_data,
					       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    body->fb_content_type) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static enum MHD_Result
mhd_fixed_access(void *cls, struct MHD_Connection *conn, const char *url,
		 const char *method, const char *version,
		 const char *upload_data, size_t *upload_data_size,
		 void **req_cls)
{
	struct mhd_fixed_body *body = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;

	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/*
	 * libmicrohttpd 0.9.75 answers "Connection: close" when a response is
	 * queued on the first call, which would cost a TCP handshake per
	 * request: queue on the second call, as vmmapid does.
	 */
	if (*req_cls == NULL) {
		*req_cls = &mhd_fixed_seen;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* the body is ignored */
		return MHD_YES;
	}
	if (body->fb_db != NULL) {
		int rc;

		pthread_mutex_lock(&body->fb_lock);
		rc = sqlite_row_commit(body->fb_ins, body->fb_rows++);
		pthread_mutex_unlock(&body->fb_lock);
		if (rc != SQLITE_OK) {
			fprintf(stderr, "mhd_fixed: commit: %s\n",
				sqlite3_errstr(rc));
			return MHD_NO;
		}
		status = MHD_HTTP_CREATED;
	}
	if (body->fb_shared != NULL)
		return MHD_queue_response(conn, status, body->fb_shared);
	resp = mhd_fixed_response_new(body);
	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
main(int argc, char **argv)
{
	struct mhd_fixed_conf conf;
	struct mhd_fixed_body body;
	struct MHD_Daemon *daemon = NULL;
	struct sockaddr_in sin;
	sigset_t set;
	unsigned int flags;
	int sig;

	memset(&body, 0, sizeof(body));
	if (mhd_fixed_parse_args(argc, argv, &conf) == -1)
		return 2;
	if (mhd_fixed_read_body(conf.fc_body_path, &body) == -1)
		return 1;
	body.fb_content_type = conf.fc_content_type;
	body.fb_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	if (conf.fc_db_dir != NULL &&
	    mhd_fixed_open_db(conf.fc_db_dir, &body) == -1)
		goto fail;
	if (conf.fc_shared) {
		body.fb_shared = mhd_fixed_response_new(&body);
		if (body.fb_shared == NULL) {
			fprintf(stderr, "mhd_fixed: cannot create response\n");
			goto fail;
		}
	}

	/*
	 * Block the signals before libmicrohttpd starts its threads so they
	 * inherit the mask and only sigwait() below sees SIGTERM.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		goto fail;
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(conf.fc_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* The flags vmmapid's server/http.c passes, so that only the
	 * library is measured, configured as the daemon configures it. */
	if (conf.fc_per_connection)
		flags = MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ITC;
	else
		flags = MHD_USE_INTERNAL_POLLING_THREAD |
			(conf.fc_poll ? MHD_USE_POLL : MHD_USE_AUTO) |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (conf.fc_turbo)
		flags |= MHD_USE_TURBO;

	if (conf.fc_per_connection)
		daemon = MHD_start_daemon(
		    flags, conf.fc_port, NULL, NULL, mhd_fixed_access, &body,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_CONNECTION_LIMIT, 1024u,
		    MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	else
		daemon = MHD_start_daemon(
		    flags, conf.fc_port, NULL, NULL, mhd_fixed_access, &body,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_THREAD_POOL_SIZE,
		    conf.fc_threads > 1 ? conf.fc_threads : 0u,
		    MHD_OPTION_CONNECTION_LIMIT, 1024u,
		    MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (daemon == NULL) {
		fprintf(stderr, "mhd_fixed: cannot listen on 127.0.0.1:%u\n",
			(unsigned)conf.fc_port);
		goto fail;
	}
	fprintf(stderr,
		"mhd_fixed: 127.0.0.1:%u, %s, %u thread(s), %zu-byte body\n",
		(unsigned)conf.fc_port,
		conf.fc_per_connection ? "per-connection"
		: conf.fc_poll         ? "pool, poll"
				       : "pool, auto",
		conf.fc_per_connection ? 0 : conf.fc_threads, body.fb_len);

	for (;;) {
		if (sigwait(&set, &sig) == 0 &&
		    (sig == SIGINT || sig == SIGTERM))
			break;
	}
	MHD_stop_daemon(daemon);
	fprintf(stderr, "mhd_fixed: %lu rows committed\n", body.fb_rows);
	if (body.fb_shared != NULL)
		MHD_destroy_response(body.fb_shared);
	sqlite3_finalize(body.fb_ins);
	sqlite3_close(body.fb_db);
	free(body.fb_data);
	return 0;
fail:
	if (body.fb_shared != NULL)
		MHD_destroy_response(body.fb_shared);
	sqlite3_finalize(body.fb_ins);
	sqlite3_close(body.fb_db);
	free(body.fb_data);
	return 1;
}
