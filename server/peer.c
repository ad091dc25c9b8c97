/*
 * Who calls: on a Unix socket SO_PEERCRED and SO_PEERGROUPS, read once
 * per connection from libmicrohttpd's connection-notify callback and kept
 * in the connection's socket context (struct peer_conn).  These are the
 * kernel's view of the caller (uid, gid, pid, groups), not /etc/group's.
 * A jail's socket puts every caller in its jail.  On TCP, the client's
 * address.
 *
 * The same callback admits the connection or refuses it (server/limits.h,
 * docs/security.md "Limits"):
 *
 *  - a listener takes --connection-limit connections from anyone, and
 *    --connection-reserve more: on the daemon's own Unix socket only for
 *    host root (uid 0), known at once from SO_PEERCRED; on TCP and TLS
 *    for anyone, but such a connection may carry one GET /v1/health and
 *    is closed after it (http.c), so that a health check gets through
 *    when every other slot is taken.  A jail's socket has no reserve.
 *    A TCP caller holds one reserve connection at most.  libmicrohttpd
 *    itself is given the sum and HTTP_REFUSING more as its limit, so
 *    that what comes past it is accepted and refused, not left waiting.
 *  - a caller (a uid on Unix sockets, an address on TCP) has at most
 *    --connections-per-caller connections open, host root excepted.
 *
 * A refused connection is shut down at once, its slot free again: on a
 * plain socket after a 503 problem written straight to it (a client
 * reads it as the answer to the request it sends), on TLS without a
 * word, since no handshake was made.  The header deadline starts here
 * too (limits_watch).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/metrics.h"
#include "api/problem.h"
#include "base/log.h"
#include "server/http_internal.h"

/*
 * Reads the peer's supplementary groups into pr.  More than
 * PRINCIPAL_MAX_GROUPS: the first of them count, with a log line.
 */
static void
peer_groups(int fd, uid_t uid, struct principal *pr)
{
	socklen_t glen = sizeof(pr->pr_groups);
	gid_t *all;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, pr->pr_groups, &glen) ==
	    0) {
		pr->pr_ngroups = (int)(glen / sizeof(gid_t));
		return;
	}
	pr->pr_ngroups = 0;
	if (errno != ERANGE)
		return;
	/* glen now says how many: read them all, keep the first. */
	all = malloc(glen);
	if (all != NULL &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &glen) == 0) {
		memcpy(pr->pr_groups, all, sizeof(pr->pr_groups));
		pr->pr_ngroups = PRINCIPAL_MAX_GROUPS;
		log_warnx("peer uid %ld has %zu groups; only the first %d "
			  "count",
			  (long)uid, (size_t)glen / sizeof(gid_t),
			  PRINCIPAL_MAX_GROUPS);
	} else {
		log_warnx("peer uid %ld: its groups could not be read (%s); "
			  "none count",
			  (long)uid, strerror(errno));
	}
	free(all);
}

/* Reads a Unix peer's credentials into pc; -1 when they cannot be. */
static int
peer_creds(struct peer_conn *pc, int fd)
{
	struct http_listener *l = pc->pc_listener;
	struct principal *pr = &pc->pc_pr;
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		log_warn("SO_PEERCRED");
		return -1;
	}
	pr->pr_known = 1;
	pr->pr_uid = uc.uid;
	pr->pr_gid = uc.gid;
	pr->pr_pid = uc.pid;
	snprintf(pr->pr_via, sizeof(pr->pr_via), "unix");
	/* A jail's socket puts its callers in the jail, whoever they are. */
	memcpy(pr->pr_jail, l->hl_jail, sizeof(pr->pr_jail));
	peer_groups(fd, uc.uid, pr);
	log_debug("peer pid %ld uid %ld gid %ld, %d groups%s%s", (long)uc.pid,
		  (long)uc.uid, (long)uc.gid, pr->pr_ngroups,
		  l->hl_jail[0] != '\0' ? ", jail " : "", l->hl_jail);
	pc->pc_has_pr = 1;
	return 0;
}

/*
 * Refuses pc's connection: says why on the log (rate-limited), writes a
 * 503 problem on a plain socket, and shuts the socket down, which makes
 * libmicrohttpd close it.
 */
static void
peer_refuse(struct peer_conn *pc, int fd, enum api_refusal why,
	    const char *detail)
{
	struct api_response rs = {0};
	char head[256];
	int n;

	pc->pc_refused = 1;
	/* Its slot is free now, not when libmicrohttpd gets to close it. */
	atomic_fetch_sub(&pc->pc_listener->hl_conns, 1);
	limits_log(why, "a connection on %s: %s",
		   pc->pc_listener->hl_sock->ls_name, detail);
	if (!pc->pc_listener->hl_sock->ls_tls) {
		problem_raise(&rs, PROBLEM_UNAVAILABLE, NULL, "%s", detail);
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 503 Service Unavailable\r\n"
			     "Content-Type: application/problem+json\r\n"
			     "Retry-After: 5\r\nConnection: close\r\n"
			     "Content-Length: %zu\r\n\r\n",
			     rs.rs_body_len);
		/* Best effort: a fresh socket's buffer takes it whole. */
		if (n > 0 && (size_t)n < sizeof(head) && rs.rs_body != NULL &&
		    send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
			(void)send(fd, rs.rs_body, rs.rs_body_len,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
		api_response_clear(&rs);
	}
	(void)shutdown(fd, SHUT_RDWR);
}

/* Admits pc's connection or refuses it; see the top of this file. */
static void
peer_admit(struct peer_conn *pc, int fd)
{
	struct http_listener *l = pc->pc_listener;
	struct http_server *srv = l->hl_srv;
	unsigned n = (unsigned)atomic_fetch_add(&l->hl_conns, 1) + 1;
	struct limits_conf lc;
	char who[64], detail[256];

	limits_key_str(&pc->pc_key, who, sizeof(who));
	if (n > srv->hs_conn_limit) {
		if (n > srv->hs_conn_limit + srv->hs_reserve ||
		    (l->hl_sock->ls_unix && !pc->pc_root) ||
		    (l->hl_sock->ls_unix && l->hl_jail[0] != '\0')) {
			snprintf(detail, sizeof(detail),
				 "all %u connections of this socket are "
				 "taken%s; try again later",
				 srv->hs_conn_limit,
				 l->hl_sock->ls_unix && l->hl_jail[0] == '\0'
				     ? " (the ones left are host root's)"
				     : "");
			peer_refuse(pc, fd, API_REFUSED_LISTENER, detail);
			return;
		}
		/* One reserve connection per TCP caller, so that a few
		 * addresses cannot hold the whole reserve. */
		if (!l->hl_sock->ls_unix &&
		    limits_caller_add(&pc->pc_key, LIMITS_RESERVE, 1) != 0) {
			snprintf(detail, sizeof(detail),
				 "all %u connections of this listener are "
				 "taken, and %s holds one of those kept for "
				 "health checks already; try again later",
				 srv->hs_conn_limit, who);
			peer_refuse(pc, fd, API_REFUSED_LISTENER, detail);
			return;
		}
		pc->pc_reserve = !l->hl_sock->ls_unix;
	}
	if (!pc->pc_root) {
		if (limits_caller_add(&pc->pc_key, LIMITS_CONNS, 1) != 0) {
			limits_get(&lc);
			snprintf(detail, sizeof(detail),
				 "%s has %u connections open, as many as "
				 "--connections-per-caller allows; close one "
				 "first",
				 who, lc.lc_conns_per_caller);
			peer_refuse(pc, fd, API_REFUSED_CALLER_CONNS, detail);
			return;
		}
		pc->pc_counted = 1;
	}
	limits_watch(&pc->pc_watch, fd, who);
}

/* Makes a connection's struct peer_conn; see http_internal.h. */
void
peer_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	    enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct peer_conn *pc;
	int fd;

	api_metrics_connection(toe == MHD_CONNECTION_NOTIFY_CLOSED ? -1 : 1);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* Before libmicrohttpd closes the socket: see limits_sweep. */
		if ((pc = *socket_context) != NULL) {
			if (!pc->pc_refused)
				limits_unwatch(&pc->pc_watch);
			if (pc->pc_counted)
				limits_caller_del(&pc->pc_key, LIMITS_CONNS, 1);
			if (pc->pc_reserve)
				limits_caller_del(&pc->pc_key, LIMITS_RESERVE,
						  1);
			if (!pc->pc_refused)
				atomic_fetch_sub(&l->hl_conns, 1);
			free(pc);
		}
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	fd = ci->connect_fd;
	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		/* Nothing to count it by: refuse it rather than let it in
		 * unbounded. */
		log_warn("connection on %s", l->hl_sock->ls_name);
		(void)shutdown(fd, SHUT_RDWR);
		return;
	}
	pc->pc_listener = l;
	if (l->hl_sock->ls_unix) {
		if (peer_creds(pc, fd) == 0) {
			limits_key_uid(&pc->pc_key, pc->pc_pr.pr_uid);
			pc->pc_root =
			    pc->pc_pr.pr_uid == 0 && l->hl_jail[0] == '\0';
		}
	} else {
		ci = MHD_get_connection_info(
		    conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		limits_key_addr(&pc->pc_key,
				ci != NULL ? ci->client_addr : NULL);
	}
	*socket_context = pc;
	peer_admit(pc, fd);
}

/* conn's struct peer_conn; see http_internal.h. */
struct peer_conn *
peer_conn(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* The principal peer_notify read for conn; see http_internal.h. */
int
peer_principal(struct MHD_Connection *conn, struct principal *pr)
{
	struct peer_conn *pc = peer_conn(conn);

	if (pc == NULL || !pc->pc_has_pr)
		return -1;
	*pr = pc->pc_pr;
	return 0;
}
