/*
 * GET /metrics: the daemon's counters in Prometheus' text exposition
 * format 0.0.4 (docs/api.md, "Metrics").
 *
 * Counters are written on every request by server/ (the request's route,
 * method, status and duration; connections and streams opened and
 * closed) with relaxed atomic additions: no lock on a request's path, and
 * a scrape reads them without stopping anyone.  A scrape sees each
 * counter as it is at the moment it reads it, not a snapshot of all.
 * What is not a counter of ours (VMs by state, the database writer's
 * histograms, the spare VMs, a running VM's vCPU exits) is read when
 * scraped, from its owner, without a write.
 */
#ifndef VMMAPID_API_METRICS_H
#define VMMAPID_API_METRICS_H

#include <stdint.h>

#include "api/api.h"

/*
 * Checks, once at start-up, that the counters have room for every
 * route of the table.  0, or -1 with a logged reason.
 */
int api_metrics_init(void);

/* Counts a request that ended with status after us microseconds. */
void api_metrics_request(const struct api_request *rq, int status, uint64_t us);

/* A connection opened (+1) or closed (-1); a streamed response began or
 * ended. */
void api_metrics_connection(int delta);
void api_metrics_stream(int delta);

/*
 * Why server/ refused a connection, a stream or a response (server/limits.h,
 * docs/security.md "Limits"): the label of vmmapid_http_refused_total.
 */
enum api_refusal {
	API_REFUSED_LISTENER,     /* the listener's connections are taken */
	API_REFUSED_RESERVE,      /* a reserve connection asked for more */
	API_REFUSED_CALLER_CONNS, /* --connections-per-caller */
	API_REFUSED_STREAMS,      /* --streams-per-caller */
	API_REFUSED_HEADERS,      /* --header-timeout */
	API_REFUSED_CALLER_BYTES, /* a caller's share of the budget */
	API_REFUSED_BUDGET,       /* --response-budget-mib */
	API_REFUSED_N
};

/* Counts one refusal of kind why. */
void api_metrics_refused(enum api_refusal why);

/* Bytes of response bodies held for clients: n more (or fewer). */
void api_metrics_held(int64_t n);

/*
 * Who may scrape besides host root: anyone (--metrics-anonymous), and
 * the bearer of a token whose SHA-256 is hash (NULL: no metrics token).
 * Both may change while the daemon runs (SIGHUP); thread-safe.
 */
void api_metrics_set_access(int anonymous, const unsigned char *hash);

#endif
