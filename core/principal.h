/*
 * Who is asking: the identity every access decision is about.  server/
 * fills it from the kernel's peer credentials on a Unix socket, core/auth
 * from a bearer token on TCP; api/policy decides with it.
 */
#ifndef VMMAPID_CORE_PRINCIPAL_H
#define VMMAPID_CORE_PRINCIPAL_H

#include <sys/types.h>

#define PRINCIPAL_MAX_GROUPS 64

/* Who is asking: from SO_PEERCRED on a Unix socket, from a token on TCP. */
struct principal {
	int pr_known; /* 0: anonymous (TCP without a valid token) */
	uid_t pr_uid;
	gid_t pr_gid;
	int pr_ngroups;
	gid_t pr_groups[PRINCIPAL_MAX_GROUPS];
	pid_t pr_pid;      /* peer pid on a Unix socket, else 0 */
	char pr_jail[65];  /* "" outside any jail */
	char pr_via[16];   /* "unix", "token" */
	char pr_token[33]; /* the token's public id on TCP, else "" */
};

#endif
