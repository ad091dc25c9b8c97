/*
 * What one caller may hold of the daemon (#14, docs/security.md
 * "Limits"): open connections and streams per caller, how long a
 * connection may take to send a request's headers, and the bytes of
 * response bodies held for clients that have not read them yet.
 *
 * A caller is a uid on a Unix socket (SO_PEERCRED) and a client address
 * on TCP and TLS: at connection time a TCP caller has sent no token yet.
 * Host root (uid 0 on the daemon's own Unix socket, not a jail's) is
 * under none of the per-caller limits; it is the operator, and what it
 * holds is what it chose to.
 *
 * Private to server/; no libmicrohttpd here, so that it stays testable.
 * Thread-safe: one mutex guards the callers' table, another the list of
 * connections the header deadline watches; the settings are atomics that
 * SIGHUP may change (limits_set).
 */
#ifndef VMMAPID_SERVER_LIMITS_H
#define VMMAPID_SERVER_LIMITS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "api/metrics.h"

/* A response body up to this size is never refused for the budget. */
#define LIMITS_SMALL_RESPONSE (64 * 1024)
/* The share of --response-budget-mib one caller may hold: 1/4. */
#define LIMITS_CALLER_SHARE 4

/* The settings SIGHUP may change (the others go to libmicrohttpd). */
struct limits_conf {
	unsigned lc_conns_per_caller;   /* --connections-per-caller */
	unsigned lc_streams_per_caller; /* --streams-per-caller */
	unsigned lc_header_timeout;     /* --header-timeout, s; 0: none */
	uint64_t lc_budget;             /* --response-budget-mib, bytes */
};

/* Who a connection's caller is, for the per-caller counts. */
struct limits_key {
	int lk_kind; /* LIMITS_NONE, LIMITS_UID or LIMITS_ADDR */
	uid_t lk_uid;
	unsigned char lk_addr[16]; /* IPv4 in its first 4 bytes */
	int lk_family;             /* AF_INET or AF_INET6 */
};

enum { LIMITS_NONE, LIMITS_UID, LIMITS_ADDR };

/* What is counted per caller. */
enum limits_what {
	LIMITS_CONNS,
	LIMITS_STREAMS,
	LIMITS_HELD,    /* bytes of large response bodies held */
	LIMITS_RESERVE, /* connections in a listener's reserve: 1 */
	LIMITS_NWHAT
};

/* Sets what SIGHUP may change; at start-up and on reload. */
void limits_set(const struct limits_conf *lc);

/* The current settings. */
void limits_get(struct limits_conf *lc);

/* The key of a uid, or of a client address (NULL or odd: LIMITS_NONE). */
void limits_key_uid(struct limits_key *k, uid_t uid);
void limits_key_addr(struct limits_key *k, const struct sockaddr *sa);

/* "uid 4242", "address 127.0.0.1", or "an unknown caller". */
void limits_key_str(const struct limits_key *k, char *buf, size_t len);

/*
 * Counts n more of what for caller k: 0, or -1 (nothing counted) when
 * that would take k past its limit.  A key of LIMITS_NONE is counted
 * nowhere and always admitted.
 */
int limits_caller_add(const struct limits_key *k, enum limits_what what,
		      uint64_t n);

/* Gives back n of what that limits_caller_add counted for k. */
void limits_caller_del(const struct limits_key *k, enum limits_what what,
		       uint64_t n);

/*
 * A response body of n bytes is to be held for k's client.  0: admitted
 * and counted (give it back with limits_release); -1 when it would take
 * k past its share of the budget, -2 when it would take every caller
 * together past the budget: nothing counted then.  Bodies up to
 * LIMITS_SMALL_RESPONSE, and exempt callers' (host root), are always
 * admitted, and counted in the total only.
 */
int limits_hold(const struct limits_key *k, int exempt, uint64_t n);
void limits_release(const struct limits_key *k, int exempt, uint64_t n);

/* Bytes of response bodies held now, all callers. */
uint64_t limits_held(void);

/*
 * Logs a refusal, at most one line per second for each why, the next
 * one saying how many were not logged in between.
 */
void limits_log(enum api_refusal why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A connection the header deadline watches: while it waits for a
 * request's headers (from its accept, and again from the end of each
 * response) it has --header-timeout seconds to send them whole, or its
 * socket is shut down, which makes libmicrohttpd close it.  Not while
 * bytes it sent wait unread in the socket: that wait is the daemon's.
 */
struct limits_conn {
	int lcn_fd;
	_Atomic uint64_t lcn_waiting_us; /* since when; 0: a request is on */
	int lcn_shut;                    /* under limits' list lock */
	char lcn_who[64];                /* for the log */
	struct limits_conn *lcn_next, *lcn_prev;
};

/*
 * Starts watching c (fd: its socket, which must stay open until
 * limits_unwatch returned), waiting for headers from now.
 */
void limits_watch(struct limits_conn *c, int fd, const char *who);

/* Stops watching c; after it, c's socket is never touched again. */
void limits_unwatch(struct limits_conn *c);

/* A request's headers came (busy 1), or its response ended (busy 0). */
void limits_busy(struct limits_conn *c, int busy);

/*
 * Whether a connection waiting since `since` (0: not waiting) is past
 * max at now, all in monotonic microseconds.  A since later than now
 * (the connection went idle after the clock was read) is not overdue.
 */
int limits_overdue(uint64_t now, uint64_t since, uint64_t max);

/*
 * The thread that enforces the header deadline: started once by the
 * HTTP front, stopped after every listener stopped.  -1 with errno.
 */
int limits_start(void);
void limits_stop(void);

#endif
