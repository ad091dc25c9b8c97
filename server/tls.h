/*
 * TLS on the tls:HOST:PORT listeners, and the rule for tokens on plain
 * TCP.
 *
 * The certificate chain and its private key are read from PEM files
 * (--tls-cert, --tls-key) at start-up and again on SIGHUP.  GnuTLS asks
 * for them at every handshake through libmicrohttpd's certificate
 * callback (MHD_OPTION_HTTPS_CERT_CALLBACK), which hands out the
 * current ones: a reload swaps them, connections already open keep the
 * session they have, and nothing is stopped or restarted (libmicrohttpd
 * 0.9.75's MHD_quiesce_daemon would abort with the epoll pool, see
 * http_accept).  A session may point at the credentials it was given
 * for its whole life, so superseded ones are kept until tls_close: a
 * few kilobytes per reload.  One set serves every tls: listener.
 *
 * Locking: tls_lock (tls.c) guards the current credentials and the
 * list of superseded ones; the handshake callback takes it briefly.
 */
#ifndef VMMAPID_SERVER_TLS_H
#define VMMAPID_SERVER_TLS_H

#include <stddef.h>

struct MHD_OptionItem;

/*
 * Reads the certificate chain at cert_path and the key at key_path and
 * makes them the credentials of every tls: listener.  Refused, with the
 * reason logged (naming the file): a file that cannot be read or does
 * not parse, a key file with any permission for others (its mode is
 * said), a key that does not belong to the first certificate.  A
 * certificate outside its validity period is only warned about.  At
 * start-up, before the first tls: listener starts.  0 or -1.
 */
int tls_open(const char *cert_path, const char *key_path);

/*
 * SIGHUP: the same from the files named now.  On success new handshakes
 * get the new credentials; on failure the current ones stay and the log
 * says why.  Nothing when tls_open was never called.  0 or -1.
 */
int tls_reload(const char *cert_path, const char *key_path);

/* Frees every credential, once no tls: listener runs any more. */
void tls_close(void);

/*
 * libmicrohttpd's options of a tls: listener (MHD_OPTION_ARRAY's
 * array, MHD_OPTION_END-terminated): the certificate callback, and
 * TLS 1.2 and 1.3 only.  The listener's flags add MHD_USE_TLS.
 */
const struct MHD_OptionItem *tls_mhd_options(void);

/*
 * Whether the local address of the connected socket fd is a loopback
 * address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): 1, else 0 with the
 * address in addr (len bytes) for the refusal to name.  A socket whose
 * address cannot be read counts as not loopback.
 */
int tls_local_is_loopback(int fd, char *addr, size_t len);

#endif
