/*
 * Who calls on a Unix socket: SO_PEERCRED and SO_PEERGROUPS, read once
 * per connection from libmicrohttpd's connection-notify callback and kept
 * as the connection's socket context.  These are the kernel's view of the
 * caller (uid, gid, pid, groups), not /etc/group's.  A jail's socket puts
 * every caller in its jail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/metrics.h"
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

/* Reads a Unix peer's credentials once per connection. */
void
peer_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	    enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct principal *pr;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fd;

	api_metrics_connection(toe == MHD_CONNECTION_NOTIFY_CLOSED ? -1 : 1);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	if (!l->hl_sock->ls_unix)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	fd = ci->connect_fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		log_warn("SO_PEERCRED");
		return;
	}
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return;
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
	*socket_context = pr;
}

/* The principal peer_notify read for conn; see http_internal.h. */
int
peer_principal(struct MHD_Connection *conn, struct principal *pr)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || ci->socket_context == NULL)
		return -1;
	*pr = *(const struct principal *)ci->socket_context;
	return 0;
}
