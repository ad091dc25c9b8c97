/*
 * tls:HOST:PORT listeners (server/tls.c): a test CA and server
 * certificates made by openssl(1) for each case, clients that trust the
 * CA and clients that do not, an expired certificate, plain HTTP sent
 * to the TLS port, the key file's mode, files that cannot be used, and
 * SIGHUP with a new certificate while a connection is open.  Then the
 * rule for tokens on plain TCP (server/http.c, http_plain_refused),
 * against an address that is not loopback: 10.77.0.1 on a veth pair in
 * a network namespace this program makes for itself (root only), so
 * that nothing leaves the machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "harness.h"

/* The address that is not loopback, inside this program's namespace. */
#define TLS_NONLOCAL "10.77.0.1"

/* Why the namespace with TLS_NONLOCAL could not be made ("": it was). */
static char tls_netns_why[256] = "not tried";

/* Makes the CAs and certificates of a case in DIR/tls (tls_make). */
static const char tls_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "umask 077\n"
    "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
    "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 "
    "-subj '/CN=vmmapid test CA'\n"
    "openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -days 2 "
    "-subj '/CN=another CA'\n"
    "printf '[ca]\\ndefault_ca=tca\\n[tca]\\ndatabase=index.txt\\n"
    "new_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=pol\\n"
    "copy_extensions=copy\\nunique_subject=no\\n[pol]\\n"
    "commonName=supplied\\n' >ca.cnf\n"
    ": >index.txt\n"
    "echo 01 >serial\n"
    "for n in 1 2; do\n"
    "  openssl req $ec -keyout srv$n.key -out srv$n.csr "
    "-subj /CN=vmmapid-test-$n "
    "-addext 'subjectAltName=IP:127.0.0.1,IP:" TLS_NONLOCAL ",DNS:localhost'\n"
    "  openssl ca -batch -notext -config ca.cnf -cert ca.pem "
    "-keyfile ca.key -in srv$n.csr -out srv$n.pem -days 2\n"
    "done\n"
    /* srv1's key, valid for one day in 2020. */
    "openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key "
    "-in srv1.csr -out expired.pem -startdate 20200101000000Z "
    "-enddate 20200102000000Z\n"
    "cp srv1.pem cert.pem\n"
    "cp srv1.key key.pem\n";

/* A case's files: DIR/tls/NAME. */
static const char *
tls_path(struct harness *h, const char *name)
{
	char *p = harness_alloc(h, HARNESS_PATH_MAX + 64);

	snprintf(p, HARNESS_PATH_MAX + 64, "%s/tls/%s", h->h_dir, name);
	return p;
}

/* Makes the case's certificates, or skips it without openssl. */
static void
tls_make(struct harness *h)
{
	char cmd[HARNESS_PATH_MAX + 64];
	const char *dir = tls_path(h, "");
	pid_t pid;
	int status, fd;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		harness_skip(h, "openssl(1) is not installed: it makes the "
				"test certificates (apt-get install openssl)");
	if (mkdir(dir, 0700) != 0)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	snprintf(cmd, sizeof(cmd), "%s/openssl.log", dir);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/sh", "sh", "-c", tls_script, "sh", dir,
		      (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		size_t len;

		fail_msg("making the test certificates failed:\n%s",
			 harness_read_file(h, cmd, &len));
	}
}

static int
tls_free_port(const char *ip)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* The daemon of a case, with a tls: listener on ip and these files. */
struct tls_daemon {
	int td_port;
	char td_listen[64];
};

static void
tls_start(struct harness *h, struct tls_daemon *td, const char *ip,
	  const char *cert, const char *key, const char *more)
{
	const char *args[12];
	int n = 0;

	td->td_port = tls_free_port(ip);
	assert_true(td->td_port > 0);
	snprintf(td->td_listen, sizeof(td->td_listen), "tls:%s:%d", ip,
		 td->td_port);
	args[n++] = "--listen";
	args[n++] = td->td_listen;
	args[n++] = "--tls-cert";
	args[n++] = tls_path(h, cert);
	args[n++] = "--tls-key";
	args[n++] = tls_path(h, key);
	if (more != NULL)
		args[n++] = more;
	args[n] = NULL;
	harness_start(h, args);
	assert_true(h->h_token[0] != '\0');
}

/* What a request over HTTPS (or plain HTTP) got. */
struct tls_result {
	CURLcode tr_code;
	char tr_error[CURL_ERROR_SIZE];
	long tr_status;
	long tr_connects; /* connections curl opened for it */
	char tr_subject[256];
	char tr_body[2048];
	size_t tr_len;
	char tr_headers[2048];
	size_t tr_hlen;
};

static size_t
tls_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct tls_result *r = arg;
	size_t len = size * n, room = sizeof(r->tr_body) - 1 - r->tr_len;

	memcpy(r->tr_body + r->tr_len, p, len < room ? len : room);
	r->tr_len += len < room ? len : room;
	r->tr_body[r->tr_len] = '\0';
	return len;
}

static size_t
tls_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct tls_result *r = arg;
	size_t len = size * n, room = sizeof(r->tr_headers) - 1 - r->tr_hlen;

	memcpy(r->tr_headers + r->tr_hlen, p, len < room ? len : room);
	r->tr_hlen += len < room ? len : room;
	r->tr_headers[r->tr_hlen] = '\0';
	return len;
}

/*
 * GET url on curl (kept by the caller, so that its connection may be
 * reused), trusting the CA in cafile (NULL: none), with the token (or
 * NULL), and opts for what a case changes (TLS versions, ciphers).
 */
static void
tls_get(CURL *c, const char *url, const char *cafile, const char *token,
	void (*opts)(CURL *), struct tls_result *r)
{
	struct curl_slist *hdrs = NULL;
	struct curl_certinfo *ci = NULL;
	char auth[300];

	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)HARNESS_TIMEOUT_MS * harness_time_factor());
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->tr_error);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tls_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tls_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	/* The test CA only: not the system's store. */
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (opts != NULL)
		opts(c);
	r->tr_code = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->tr_status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->tr_connects);
	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK &&
	    ci != NULL && ci->num_of_certs > 0) {
		struct curl_slist *s;

		for (s = ci->certinfo[0]; s != NULL; s = s->next)
			if (strncmp(s->data, "Subject:", 8) == 0)
				snprintf(r->tr_subject, sizeof(r->tr_subject),
					 "%s", s->data + 8);
	}
}

static const char *
tls_url(struct harness *h, const struct tls_daemon *td, const char *scheme,
	const char *ip, const char *path)
{
	char *u = harness_alloc(h, 256);

	snprintf(u, 256, "%s://%s:%d%s", scheme, ip, td->td_port, path);
	return u;
}

static CURL *
tls_curl(void)
{
	CURL *c = curl_easy_init();

	assert_non_null(c);
	return c;
}

/* Waits up to 5 s for needle in the daemon's log: 1, else 0. */
static int
tls_log_has(struct harness *h, const char *needle)
{
	int i, found = 0;

	for (i = 0; i < 500 && !found; i++) {
		char *log = harness_read_log(h);

		found = log != NULL && strstr(log, needle) != NULL;
		free(log);
		if (!found)
			usleep(10000);
	}
	return found;
}

static void
assert_ok_200(const struct tls_result *r)
{
	if (r->tr_code != CURLE_OK || r->tr_status != 200)
		fail_msg("expected 200, got curl %d (%s) status %ld: %s",
			 r->tr_code, r->tr_error, r->tr_status, r->tr_body);
}

static void
test_tls__a_client_trusting_the_test_ca_gets_200(struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", "127.0.0.1", "/v1/vms"),
		tls_path(h, "ca.pem"), h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
	assert_non_null(strstr(r.tr_subject, "vmmapid-test-1"));
	assert_non_null(strstr(r.tr_body, "\"items\""));
	assert_true(tls_log_has(h, "access: tls uid=0 GET /v1/vms 200"));
}

static void
tls_opt_tls12(CURL *c)
{
	curl_easy_setopt(
	    c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
}

static void
tls_opt_tls13(CURL *c)
{
	curl_easy_setopt(
	    c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3));
}

/* TLS 1.1 at most, with every cipher the client's library has (its own
 * default security level would refuse TLS 1.1 before the daemon could). */
static void
tls_opt_tls11(CURL *c)
{
	curl_easy_setopt(
	    c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1));
	curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "ALL:@SECLEVEL=0");
}

static void
test_tls__tls_1_2_and_1_3_are_served_and_1_1_is_not(struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	const char *url;
	CURL *c;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	url = tls_url(h, &td, "https", "127.0.0.1", "/v1/health");
	c = tls_curl();
	tls_get(c, url, tls_path(h, "ca.pem"), NULL, tls_opt_tls12, &r);
	assert_ok_200(&r);
	curl_easy_cleanup(c);
	c = tls_curl();
	tls_get(c, url, tls_path(h, "ca.pem"), NULL, tls_opt_tls13, &r);
	assert_ok_200(&r);
	curl_easy_cleanup(c);
	c = tls_curl();
	tls_get(c, url, tls_path(h, "ca.pem"), NULL, tls_opt_tls11, &r);
	curl_easy_cleanup(c);
	if (r.tr_code != CURLE_SSL_CONNECT_ERROR)
		fail_msg("TLS 1.1: expected a failed handshake (curl %d), got "
			 "curl %d (%s) status %ld",
			 CURLE_SSL_CONNECT_ERROR, r.tr_code, r.tr_error,
			 r.tr_status);
}

static void
test_tls__a_client_trusting_another_ca_refuses_the_certificate(
    struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", "127.0.0.1", "/v1/health"),
		tls_path(h, "other-ca.pem"), NULL, NULL, &r);
	curl_easy_cleanup(c);
	if (r.tr_code != CURLE_PEER_FAILED_VERIFICATION)
		fail_msg("expected curl %d (verification failed), got %d (%s) "
			 "status %ld",
			 CURLE_PEER_FAILED_VERIFICATION, r.tr_code, r.tr_error,
			 r.tr_status);
}

static void
test_tls__an_expired_certificate_is_served_warned_and_refused_by_clients(
    struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "expired.pem", "srv1.key", NULL);
	assert_true(tls_log_has(h, "expired on 2020-01-02T00:00:00Z"));
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", "127.0.0.1", "/v1/health"),
		tls_path(h, "ca.pem"), NULL, NULL, &r);
	curl_easy_cleanup(c);
	if (r.tr_code != CURLE_PEER_FAILED_VERIFICATION ||
	    strstr(r.tr_error, "expired") == NULL)
		fail_msg("expected curl %d saying expired, got %d (%s)",
			 CURLE_PEER_FAILED_VERIFICATION, r.tr_code, r.tr_error);
}

static void
test_tls__plain_http_to_the_tls_port_fails_and_the_next_client_is_served(
    struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;
	int i;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	for (i = 0; i < 3; i++) {
		c = tls_curl();
		tls_get(c, tls_url(h, &td, "http", "127.0.0.1", "/v1/vms"),
			NULL, h->h_token, NULL, &r);
		curl_easy_cleanup(c);
		if (r.tr_code == CURLE_OK)
			fail_msg("plain HTTP to the TLS port got status %ld: "
				 "%s",
				 r.tr_status, r.tr_body);
	}
	assert_int_equal(kill(h->h_pid, 0), 0);
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", "127.0.0.1", "/v1/vms"),
		tls_path(h, "ca.pem"), h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
}

/*
 * Runs the daemon with args (after the harness's own) and expects it to
 * exit with status want, its log holding every needle (NULL-ended).
 */
static void
tls_expect_start_failure(struct harness *h, const char *const *args, int want,
			 const char *const *needles)
{
	const char *argv[24];
	char unix_arg[HARNESS_PATH_MAX + 8];
	int n = 0, status;
	pid_t pid;
	char *log;

	snprintf(unix_arg, sizeof(unix_arg), "unix:%s", h->h_sock);
	argv[n++] = "-d";
	argv[n++] = "--state-dir";
	argv[n++] = h->h_dir;
	argv[n++] = "--db";
	argv[n++] = h->h_db;
	argv[n++] = "--driver";
	argv[n++] = "sim";
	argv[n++] = "--listen";
	argv[n++] = unix_arg;
	while (*args != NULL && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = harness_spawn(argv, h->h_log);
	if (harness_wait_pid(pid, 10000 * harness_time_factor(), &status) !=
	    0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		harness_print_log(h);
		fail_msg("the daemon started (expected exit %d)", want);
	}
	log = harness_read_log(h);
	assert_non_null(log);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want) {
		harness_print_log(h);
		free(log);
		fail_msg("expected exit %d, got status 0x%x", want,
			 (unsigned)status);
	}
	for (; *needles != NULL; needles++)
		if (strstr(log, *needles) == NULL) {
			harness_print_log(h);
			free(log);
			fail_msg("the log does not say \"%s\"", *needles);
		}
	free(log);
	/* Each attempt's log starts afresh. */
	if (truncate(h->h_log, 0) != 0)
		fail_msg("truncate %s: %s", h->h_log, strerror(errno));
}

static void
test_tls__a_key_others_may_read_fails_start_up_naming_file_and_mode(
    struct harness *h)
{
	char listen[64];
	const char *key;

	tls_make(h);
	key = tls_path(h, "key.pem");
	assert_int_equal(chmod(key, 0644), 0);
	snprintf(listen, sizeof(listen), "tls:127.0.0.1:%d",
		 tls_free_port("127.0.0.1"));
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert",
				  tls_path(h, "cert.pem"), "--tls-key", key,
				  NULL},
	    1,
	    (const char *const[]){key, "mode 0644", "others may read", NULL});
	/* Reading alone is enough to refuse. */
	assert_int_equal(chmod(key, 0604), 0);
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert",
				  tls_path(h, "cert.pem"), "--tls-key", key,
				  NULL},
	    1, (const char *const[]){key, "mode 0604", NULL});
}

static void
test_tls__unusable_files_and_a_missing_option_fail_start_up_saying_why(
    struct harness *h)
{
	char listen[64];
	const char *garbage;
	FILE *f;

	tls_make(h);
	garbage = tls_path(h, "garbage.pem");
	f = fopen(garbage, "w");
	assert_non_null(f);
	fputs("-----BEGIN NOTHING-----\nbm90aGluZw==\n-----END NOTHING-----\n",
	      f);
	fclose(f);
	chmod(garbage, 0600);
	snprintf(listen, sizeof(listen), "tls:127.0.0.1:%d",
		 tls_free_port("127.0.0.1"));
	/* No such certificate file. */
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert",
				  tls_path(h, "nonexistent.pem"), "--tls-key",
				  tls_path(h, "key.pem"), NULL},
	    1,
	    (const char *const[]){"nonexistent.pem",
				  "No such file or directory", NULL});
	/* A file with no certificate in it. */
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert", garbage,
				  "--tls-key", tls_path(h, "key.pem"), NULL},
	    1,
	    (const char *const[]){"garbage.pem", "no PEM certificate", NULL});
	/* A file with no key in it. */
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert",
				  tls_path(h, "cert.pem"), "--tls-key", garbage,
				  NULL},
	    1,
	    (const char *const[]){"garbage.pem", "no PEM private key", NULL});
	/* Another certificate's key. */
	tls_expect_start_failure(
	    h,
	    (const char *const[]){"--listen", listen, "--tls-cert",
				  tls_path(h, "srv1.pem"), "--tls-key",
				  tls_path(h, "srv2.key"), NULL},
	    1, (const char *const[]){"is not the private key", NULL});
	/* A tls: listener without the files: the options do not parse. */
	tls_expect_start_failure(
	    h, (const char *const[]){"--listen", listen, NULL}, 2,
	    (const char *const[]){"needs --tls-cert FILE and --tls-key FILE",
				  NULL});
}

/* Replaces DIR/tls/dst with a copy of DIR/tls/src, atomically. */
static void
tls_replace(struct harness *h, const char *src, const char *dst)
{
	char cmd[3 * (HARNESS_PATH_MAX + 64) + 32];
	const char *s = tls_path(h, src), *d = tls_path(h, dst);

	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s.new' && mv '%s.new' '%s'", s,
		 d, d, d);
	assert_int_equal(system(cmd), 0);
}

static void
test_tls__sighup_gives_new_connections_the_new_certificate_and_keeps_open_ones(
    struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	const char *url, *ca;
	CURL *before, *after;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	url = tls_url(h, &td, "https", "127.0.0.1", "/v1/vms");
	ca = tls_path(h, "ca.pem");
	before = tls_curl();
	tls_get(before, url, ca, h->h_token, NULL, &r);
	assert_ok_200(&r);
	assert_non_null(strstr(r.tr_subject, "vmmapid-test-1"));
	assert_int_equal(r.tr_connects, 1);

	tls_replace(h, "srv2.pem", "cert.pem");
	tls_replace(h, "srv2.key", "key.pem");
	assert_int_equal(kill(h->h_pid, SIGHUP), 0);
	assert_true(tls_log_has(h, "reloaded the TLS certificate: "
				   "CN=vmmapid-test-2"));

	after = tls_curl();
	tls_get(after, url, ca, h->h_token, NULL, &r);
	curl_easy_cleanup(after);
	assert_ok_200(&r);
	assert_non_null(strstr(r.tr_subject, "vmmapid-test-2"));
	/* The connection opened before the reload is still served. */
	tls_get(before, url, ca, h->h_token, NULL, &r);
	curl_easy_cleanup(before);
	assert_ok_200(&r);
	assert_int_equal(r.tr_connects, 0);
}

static void
test_tls__a_failed_reload_keeps_the_current_certificate(struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_make(h);
	tls_start(h, &td, "127.0.0.1", "cert.pem", "key.pem", NULL);
	/* The new key is one others may read: refused, and said. */
	tls_replace(h, "srv2.pem", "cert.pem");
	tls_replace(h, "srv2.key", "key.pem");
	assert_int_equal(chmod(tls_path(h, "key.pem"), 0644), 0);
	assert_int_equal(kill(h->h_pid, SIGHUP), 0);
	assert_true(tls_log_has(h, "others may read it (mode 0644)"));
	assert_true(tls_log_has(h, "keeping the certificate of "
				   "CN=vmmapid-test-1"));
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", "127.0.0.1", "/v1/vms"),
		tls_path(h, "ca.pem"), h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
	assert_non_null(strstr(r.tr_subject, "vmmapid-test-1"));
}

/* Skips a case that needs TLS_NONLOCAL when main could not make it. */
static void
tls_need_netns(struct harness *h)
{
	if (tls_netns_why[0] != '\0')
		harness_skip(
		    h,
		    "needs an address that is not loopback (" TLS_NONLOCAL
		    " in a private network namespace): %s",
		    tls_netns_why);
}

/* A daemon with plain tcp: on TLS_NONLOCAL and 127.0.0.1 (the harness's). */
static void
tls_start_plain(struct harness *h, struct tls_daemon *td, const char *more)
{
	const char *args[4];
	int n = 0;

	td->td_port = tls_free_port(TLS_NONLOCAL);
	assert_true(td->td_port > 0);
	snprintf(td->td_listen, sizeof(td->td_listen), "tcp:%s:%d",
		 TLS_NONLOCAL, td->td_port);
	args[n++] = "--listen";
	args[n++] = td->td_listen;
	if (more != NULL)
		args[n++] = more;
	args[n] = NULL;
	harness_start(h, args);
	assert_true(h->h_token[0] != '\0');
}

static void
test_plain_tcp__a_token_to_an_address_other_than_loopback_is_401_saying_why(
    struct harness *h)
{
	struct harness_request rq = {0};
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_need_netns(h);
	tls_start_plain(h, &td, NULL);
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "http", TLS_NONLOCAL, "/v1/vms"), NULL,
		h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_int_equal(r.tr_code, CURLE_OK);
	assert_int_equal(r.tr_status, 401);
	if (strstr(r.tr_body, "plain HTTP to " TLS_NONLOCAL) == NULL ||
	    strstr(r.tr_body, "tls: listener") == NULL ||
	    strstr(r.tr_body, "--allow-plain-tcp") == NULL ||
	    strstr(r.tr_body, "\"status\":401") == NULL)
		fail_msg("the 401 does not say why: %s", r.tr_body);
	if (strstr(r.tr_headers, "WWW-Authenticate: Bearer") == NULL ||
	    strstr(r.tr_headers, "Connection: close") == NULL ||
	    strstr(r.tr_headers, "application/problem+json") == NULL)
		fail_msg("headers: %s", r.tr_headers);
	/* Without a token the public routes answer there. */
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "http", TLS_NONLOCAL, "/v1/health"), NULL,
		NULL, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
	/* The same token on loopback is taken. */
	rq.rq_method = "GET";
	rq.rq_path = "/v1/vms";
	rq.rq_tcp = 1;
	rq.rq_token = h->h_token;
	assert_status(harness_send(h, &rq), 200);
	assert_true(tls_log_has(h, "plain HTTP on an address other than "
				   "loopback"));
}

static void
test_plain_tcp__allow_plain_tcp_takes_the_token_there(struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_need_netns(h);
	tls_start_plain(h, &td, "--allow-plain-tcp");
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "http", TLS_NONLOCAL, "/v1/vms"), NULL,
		h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
}

static void
test_plain_tcp__a_tls_listener_on_that_address_takes_the_token(
    struct harness *h)
{
	struct tls_daemon td;
	struct tls_result r;
	CURL *c;

	tls_need_netns(h);
	tls_make(h);
	tls_start(h, &td, TLS_NONLOCAL, "cert.pem", "key.pem", NULL);
	c = tls_curl();
	tls_get(c, tls_url(h, &td, "https", TLS_NONLOCAL, "/v1/vms"),
		tls_path(h, "ca.pem"), h->h_token, NULL, &r);
	curl_easy_cleanup(c);
	assert_ok_200(&r);
}

/*
 * This program's own network namespace, with loopback up and
 * TLS_NONLOCAL on one end of a veth pair (this kernel has no dummy
 * interfaces): every daemon the cases start inherits it, and nothing
 * the tests send can leave the machine.  Leaves the reason in
 * tls_netns_why when it cannot be had.
 */
static void
tls_make_netns(void)
{
	if (geteuid() != 0) {
		snprintf(tls_netns_why, sizeof(tls_netns_why),
			 "making a network namespace needs root; running as "
			 "uid %ld",
			 (long)geteuid());
		return;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(tls_netns_why, sizeof(tls_netns_why),
			 "unshare(CLONE_NEWNET): %s", strerror(errno));
		return;
	}
	if (system("ip link set lo up && "
		   "ip link add vmmt0 type veth peer name vmmt1 && "
		   "ip addr add " TLS_NONLOCAL "/24 dev vmmt0 && "
		   "ip link set vmmt0 up && ip link set vmmt1 up") != 0) {
		snprintf(tls_netns_why, sizeof(tls_netns_why),
			 "ip(8) could not set up loopback and a veth pair "
			 "with " TLS_NONLOCAL " in the new namespace (is "
			 "iproute2 installed?)");
		/* Loopback at least, for the other cases. */
		if (system("ip link set lo up") != 0)
			fprintf(stderr, "test_tls: no loopback either\n");
		return;
	}
	tls_netns_why[0] = '\0';
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_tls__a_client_trusting_the_test_ca_gets_200,
			 HARNESS_NOSTART),
	    HARNESS_CASE(test_tls__tls_1_2_and_1_3_are_served_and_1_1_is_not,
			 HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__a_client_trusting_another_ca_refuses_the_certificate,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__an_expired_certificate_is_served_warned_and_refused_by_clients,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__plain_http_to_the_tls_port_fails_and_the_next_client_is_served,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__a_key_others_may_read_fails_start_up_naming_file_and_mode,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__unusable_files_and_a_missing_option_fail_start_up_saying_why,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__sighup_gives_new_connections_the_new_certificate_and_keeps_open_ones,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_tls__a_failed_reload_keeps_the_current_certificate,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_plain_tcp__a_token_to_an_address_other_than_loopback_is_401_saying_why,
		HARNESS_NOSTART | HARNESS_TCP),
	    HARNESS_CASE(test_plain_tcp__allow_plain_tcp_takes_the_token_there,
			 HARNESS_NOSTART | HARNESS_TCP),
	    HARNESS_CASE(
		test_plain_tcp__a_tls_listener_on_that_address_takes_the_token,
		HARNESS_NOSTART),
	};

	tls_make_netns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
