/*
 * TLS credentials of the tls: listeners, swapped on SIGHUP under a lock
 * and handed to GnuTLS per handshake; see tls.h.  GnuTLS is linked for
 * this file alone (libmicrohttpd links it already): loading a key pair
 * into the abstract types a certificate callback returns needs its API.
 */
#include "server/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "base/log.h"

/*
 * Bounds on the operator's files, not on anything a caller sends: a
 * chain longer than this or a PEM file larger is a mistake (the wrong
 * file named), said at start-up.
 */
#define TLS_CHAIN_MAX 16
#define TLS_FILE_MAX (1024 * 1024)

/*
 * TLS 1.2 and 1.3 only, with GnuTLS's NORMAL choice of ciphers in them
 * (Debian's system policy may narrow it further).
 */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* One certificate chain and its key, as the callback hands them out. */
struct tls_cred {
	gnutls_pcert_st tc_chain[TLS_CHAIN_MAX];
	unsigned tc_n;
	gnutls_privkey_t tc_key;
	char tc_subject[256];      /* the first certificate's, for the log */
	char tc_expires[32];       /* its notAfter, UTC */
	struct tls_cred *tc_older; /* superseded before this one */
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by tls_lock: the credentials new handshakes get, and through
 * tc_older every one they had before (kept until tls_close). */
static struct tls_cred *tls_current;

static struct MHD_OptionItem tls_options[3];

static void
tls_cred_free(struct tls_cred *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->tc_n; i++)
		gnutls_pcert_deinit(&c->tc_chain[i]);
	if (c->tc_key != NULL)
		gnutls_privkey_deinit(c->tc_key);
	free(c);
}

/*
 * Reads the file at path (the option is what, for messages) whole into
 * out, NUL-terminated; the caller frees out->data (zeroing a key first).
 * A key file (secret) with any permission for others is refused: its
 * mode is checked on the file opened, so nothing is read from a file
 * swapped in after the check.  0, or -1 with the reason logged.
 */
static int
tls_read_file(const char *what, const char *path, int secret,
	      gnutls_datum_t *out)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	out->data = NULL;
	out->size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_warn("--%s %s", what, path);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		log_warn("--%s %s", what, path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("--%s %s: not a regular file", what, path);
		goto fail;
	}
	if (secret && (st.st_mode & S_IRWXO)) {
		log_warnx("--%s %s: others may read it (mode %04o): a private "
			  "key must be the daemon's alone; chmod o-rwx %s",
			  what, path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size > TLS_FILE_MAX) {
		log_warnx("--%s %s: %lld bytes, more than a PEM file of %d "
			  "certificates needs (at most %d)",
			  what, path, (long long)st.st_size, TLS_CHAIN_MAX,
			  TLS_FILE_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warn("--%s %s", what, path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("--%s %s: read", what, path);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	out->data = buf;
	out->size = (unsigned)got;
	return 0;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return -1;
}

/*
 * Whether key is the private key of the certificate's public key, by
 * their key ids: a mismatch would otherwise show only at the first
 * handshake.  1, 0, or -1 when an id cannot be computed.
 */
static int
tls_key_matches(gnutls_privkey_t key, gnutls_pubkey_t cert_pub)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	gnutls_pubkey_t pub;
	int rc = -1;

	if (gnutls_pubkey_init(&pub) != 0)
		return -1;
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) ==
		0 &&
	    gnutls_pubkey_get_key_id(cert_pub, GNUTLS_KEYID_USE_SHA256, b,
				     &blen) == 0)
		rc = alen == blen && memcmp(a, b, alen) == 0;
	gnutls_pubkey_deinit(pub);
	return rc;
}

/*
 * The first certificate's subject and notAfter into c, and a warning
 * when it is outside its validity period now: clients will refuse it,
 * which is theirs to say (the daemon serves it, so that replacing the
 * files and a SIGHUP is all it takes).
 */
static void
tls_describe(struct tls_cred *c, const char *cert_path)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = {NULL, 0};
	time_t now = time(NULL), not_after, not_before;
	struct tm tm;

	snprintf(c->tc_subject, sizeof(c->tc_subject), "(unknown subject)");
	snprintf(c->tc_expires, sizeof(c->tc_expires), "(unknown)");
	if (gnutls_x509_crt_init(&crt) != 0)
		return;
	if (gnutls_x509_crt_import(crt, &c->tc_chain[0].cert,
				   GNUTLS_X509_FMT_DER) != 0)
		goto out;
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
		snprintf(c->tc_subject, sizeof(c->tc_subject), "%.*s",
			 (int)dn.size, (const char *)dn.data);
		gnutls_free(dn.data);
	}
	not_after = gnutls_x509_crt_get_expiration_time(crt);
	not_before = gnutls_x509_crt_get_activation_time(crt);
	if (not_after != (time_t)-1 && gmtime_r(&not_after, &tm) != NULL)
		strftime(c->tc_expires, sizeof(c->tc_expires),
			 "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (not_after != (time_t)-1 && not_after < now)
		log_warnx("--tls-cert %s: the certificate of %s expired on "
			  "%s; clients will refuse it until it is replaced "
			  "(then SIGHUP)",
			  cert_path, c->tc_subject, c->tc_expires);
	else if (not_before != (time_t)-1 && not_before > now)
		log_warnx("--tls-cert %s: the certificate of %s is not valid "
			  "yet; clients will refuse it until then",
			  cert_path, c->tc_subject);
out:
	gnutls_x509_crt_deinit(crt);
}

/*
 * Reads and checks a certificate chain and its key: new credentials, or
 * NULL with the reason logged.
 */
static struct tls_cred *
tls_load(const char *cert_path, const char *key_path)
{
	struct tls_cred *c;
	gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
	unsigned n = TLS_CHAIN_MAX;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("TLS credentials");
		return NULL;
	}
	if (tls_read_file("tls-cert", cert_path, 0, &cert) != 0 ||
	    tls_read_file("tls-key", key_path, 1, &key) != 0)
		goto fail;
	rc = gnutls_pcert_list_import_x509_raw(
	    c->tc_chain, &n, &cert, GNUTLS_X509_FMT_PEM,
	    GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER) {
		log_warnx("--tls-cert %s: more than %d certificates", cert_path,
			  TLS_CHAIN_MAX);
		goto fail;
	}
	if (rc < 0 || n == 0) {
		log_warnx("--tls-cert %s: no PEM certificate chain in it (%s); "
			  "the server's certificate comes first, then the "
			  "ones that signed it",
			  cert_path,
			  rc < 0 ? gnutls_strerror(rc) : "none found");
		goto fail;
	}
	c->tc_n = n;
	if ((rc = gnutls_privkey_init(&c->tc_key)) != 0 ||
	    (rc = gnutls_privkey_import_x509_raw(
		 c->tc_key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) != 0) {
		log_warnx("--tls-key %s: no PEM private key in it (%s); an "
			  "encrypted key is not supported",
			  key_path, gnutls_strerror(rc));
		goto fail;
	}
	if (tls_key_matches(c->tc_key, c->tc_chain[0].pubkey) != 1) {
		log_warnx("--tls-key %s is not the private key of the first "
			  "certificate in --tls-cert %s",
			  key_path, cert_path);
		goto fail;
	}
	tls_describe(c, cert_path);
	free(cert.data);
	explicit_bzero(key.data, key.size);
	free(key.data);
	return c;
fail:
	free(cert.data);
	if (key.data != NULL) {
		explicit_bzero(key.data, key.size);
		free(key.data);
	}
	tls_cred_free(c);
	return NULL;
}

/*
 * GnuTLS's certificate callback (gnutls_certificate_retrieve_function2),
 * in a libmicrohttpd thread at every handshake: the current credentials,
 * which stay valid until tls_close whatever reloads come.
 */
static int
tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn,
	     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
	     int pk_algos_length, gnutls_pcert_st **pcert,
	     unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct tls_cred *c;

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	pthread_mutex_lock(&tls_lock);
	c = tls_current;
	pthread_mutex_unlock(&tls_lock);
	if (c == NULL) {
		*pcert_length = 0;
		return -1;
	}
	*pcert = c->tc_chain;
	*pcert_length = c->tc_n;
	*privkey = c->tc_key;
	return 0;
}

/* Makes c the credentials of new handshakes; the previous ones stay. */
static void
tls_install(struct tls_cred *c)
{
	pthread_mutex_lock(&tls_lock);
	c->tc_older = tls_current;
	tls_current = c;
	pthread_mutex_unlock(&tls_lock);
}

int
tls_open(const char *cert_path, const char *key_path)
{
	struct tls_cred *c;

	if ((c = tls_load(cert_path, key_path)) == NULL)
		return -1;
	tls_install(c);
	log_info("TLS: the certificate of %s (a chain of %u, expires %s) "
		 "from %s",
		 c->tc_subject, c->tc_n, c->tc_expires, cert_path);
	return 0;
}

int
tls_reload(const char *cert_path, const char *key_path)
{
	struct tls_cred *cur, *c = NULL;

	/* Only SIGHUP (main's thread) changes tls_current after start-up:
	 * cur stays the current one while this runs. */
	pthread_mutex_lock(&tls_lock);
	cur = tls_current;
	pthread_mutex_unlock(&tls_lock);
	if (cur == NULL)
		return 0; /* no tls: listener */
	if (cert_path != NULL && key_path != NULL)
		c = tls_load(cert_path, key_path);
	if (c == NULL) {
		log_warnx("SIGHUP: the TLS certificate was not reloaded "
			  "(above); keeping the certificate of %s (expires %s)",
			  cur->tc_subject, cur->tc_expires);
		return -1;
	}
	tls_install(c);
	log_info("SIGHUP: reloaded the TLS certificate: %s (a chain of %u, "
		 "expires %s) from %s; open connections keep theirs",
		 c->tc_subject, c->tc_n, c->tc_expires, cert_path);
	return 0;
}

void
tls_close(void)
{
	struct tls_cred *c, *older;

	pthread_mutex_lock(&tls_lock);
	c = tls_current;
	tls_current = NULL;
	pthread_mutex_unlock(&tls_lock);
	for (; c != NULL; c = older) {
		older = c->tc_older;
		tls_cred_free(c);
	}
}

const struct MHD_OptionItem *
tls_mhd_options(void)
{
	/* Set here: a function's address is no object pointer constant. */
	tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK,
						 0, (void *)tls_retrieve};
	tls_options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						 (void *)TLS_PRIORITIES};
	tls_options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return tls_options;
}

int
tls_local_is_loopback(int fd, char *addr, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	snprintf(addr, len, "(unknown)");
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, addr, (socklen_t)len);
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&ss;
		const unsigned char *b = s6->sin6_addr.s6_addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, (socklen_t)len);
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return 1;
		/* A dual-stack socket: ::ffff:127.x.y.z is IPv4 loopback. */
		return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
	}
	return 0;
}
