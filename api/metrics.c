/*
 * GET /metrics (api/metrics.h): the counters and their exposition.
 *
 * Requests are counted by the route table's pattern, never the path a
 * client sent (a label per VM name would grow without bound), by method
 * and by status; their durations go into one histogram per route and
 * method.  The counters are fixed arrays indexed by route, method and
 * status slot, added to with relaxed atomics; a scrape writes only the
 * series that are not zero.
 */
#include "api/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "api/policy.h"
#include "api/problem.h"
#include "api/routes.h"
#include "base/console.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/vm_state.h"
#include "core/events.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "db/db.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

/* Routes the counters have room for; the last slot counts requests that
 * matched none. */
#define METRICS_ROUTES_MAX 96

/* Method slots. */
enum {
	M_GET,
	M_HEAD,
	M_POST,
	M_PUT,
	M_PATCH,
	M_DELETE,
	M_OPTIONS,
	M_OTHER,
	M_N
};
static const char *const metrics_methods[M_N] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};

/* The statuses this daemon answers, each with a slot; the last slot is
 * any other. */
static const short metrics_statuses[] = {
    101, 200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403,
    404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 416,
    417, 422, 429, 431, 500, 501, 502, 503, 504, 505, 507};
#define S_N (sizeof(metrics_statuses) / sizeof(metrics_statuses[0]) + 1)

/* Upper bounds of the request-duration buckets, in microseconds. */
static const uint64_t metrics_us_bounds[] = {
    100,    250,    500,    1000,    2500,    5000,    10000,    25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};
#define B_N (sizeof(metrics_us_bounds) / sizeof(metrics_us_bounds[0]))

struct metrics_hist {
	atomic_ullong mh_bucket[B_N + 1]; /* not cumulative; last: +Inf */
	atomic_ullong mh_sum_us;
};

static atomic_ullong metrics_req[METRICS_ROUTES_MAX + 1][M_N][S_N];
static struct metrics_hist metrics_dur[METRICS_ROUTES_MAX + 1][M_N];
static atomic_llong metrics_conns, metrics_streams;
static atomic_ullong metrics_conns_total, metrics_streams_total;
static atomic_ullong metrics_refused[API_REFUSED_N];
static atomic_llong metrics_held;

/* The label values of vmmapid_http_refused_total's reason. */
static const char *const metrics_refusals[API_REFUSED_N] = {
    [API_REFUSED_LISTENER] = "listener",
    [API_REFUSED_RESERVE] = "reserve",
    [API_REFUSED_CALLER_CONNS] = "caller_connections",
    [API_REFUSED_STREAMS] = "caller_streams",
    [API_REFUSED_HEADERS] = "header_timeout",
    [API_REFUSED_CALLER_BYTES] = "caller_bytes",
    [API_REFUSED_BUDGET] = "response_budget",
};

/* Who may scrape besides host root; metrics_lock guards both. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static int metrics_anonymous;
static int metrics_have_token;
static unsigned char metrics_token_hash[32];

int
api_metrics_init(void)
{
	if (api_routes_count() > METRICS_ROUTES_MAX) {
		log_warnx("metrics: %zu routes, room for %d "
			  "(METRICS_ROUTES_MAX)",
			  api_routes_count(), METRICS_ROUTES_MAX);
		return -1;
	}
	return 0;
}

static unsigned
metrics_method_slot(const struct api_request *rq)
{
	switch (rq->rq_method) {
	case API_GET:
		return M_GET;
	case API_HEAD:
		return M_HEAD;
	case API_POST:
		return M_POST;
	case API_PUT:
		return M_PUT;
	case API_PATCH:
		return M_PATCH;
	case API_DELETE:
		return M_DELETE;
	}
	if (rq->rq_method_name != NULL &&
	    strcmp(rq->rq_method_name, "OPTIONS") == 0)
		return M_OPTIONS;
	return M_OTHER;
}

static unsigned
metrics_status_slot(int status)
{
	unsigned i;

	for (i = 0; i < S_N - 1; i++)
		if (metrics_statuses[i] == status)
			return i;
	return S_N - 1;
}

void
api_metrics_request(const struct api_request *rq, int status, uint64_t us)
{
	size_t r = api_route_index(rq);
	unsigned m = metrics_method_slot(rq), b;
	struct metrics_hist *h;

	if (r > METRICS_ROUTES_MAX)
		r = METRICS_ROUTES_MAX;
	atomic_fetch_add_explicit(
	    &metrics_req[r][m][metrics_status_slot(status)], 1,
	    memory_order_relaxed);
	for (b = 0; b < B_N && us > metrics_us_bounds[b]; b++)
		;
	h = &metrics_dur[r][m];
	atomic_fetch_add_explicit(&h->mh_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->mh_sum_us, us, memory_order_relaxed);
}

void
api_metrics_connection(int delta)
{
	atomic_fetch_add_explicit(&metrics_conns, delta, memory_order_relaxed);
	if (delta > 0)
		atomic_fetch_add_explicit(&metrics_conns_total, 1,
					  memory_order_relaxed);
}

void
api_metrics_stream(int delta)
{
	atomic_fetch_add_explicit(&metrics_streams, delta,
				  memory_order_relaxed);
	if (delta > 0)
		atomic_fetch_add_explicit(&metrics_streams_total, 1,
					  memory_order_relaxed);
}

void
api_metrics_refused(enum api_refusal why)
{
	if ((unsigned)why < API_REFUSED_N)
		atomic_fetch_add_explicit(&metrics_refused[why], 1,
					  memory_order_relaxed);
}

void
api_metrics_held(int64_t n)
{
	atomic_fetch_add_explicit(&metrics_held, n, memory_order_relaxed);
}

void
api_metrics_set_access(int anonymous, const unsigned char *hash)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_anonymous = anonymous;
	metrics_have_token = hash != NULL;
	if (hash != NULL)
		memcpy(metrics_token_hash, hash, sizeof(metrics_token_hash));
	else
		memset(metrics_token_hash, 0, sizeof(metrics_token_hash));
	pthread_mutex_unlock(&metrics_lock);
}

/*
 * Whether rq may scrape: host root (an admin token is root's), anyone
 * with --metrics-anonymous, or the metrics token.  The token is compared
 * by its hash, in time that does not depend on where it differs.
 */
static int
metrics_allowed(const struct api_request *rq)
{
	const char *auth = api_header(rq, "Authorization");
	unsigned char h[32], diff = 0;
	int anonymous, have;
	size_t i;

	if (policy_is_host_root(&rq->rq_principal))
		return 1;
	pthread_mutex_lock(&metrics_lock);
	anonymous = metrics_anonymous;
	have = metrics_have_token;
	if (have && auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		sha256(auth + 7, strlen(auth + 7), h);
		for (i = 0; i < sizeof(h); i++)
			diff |= (unsigned char)(h[i] ^ metrics_token_hash[i]);
	} else {
		diff = 1;
	}
	pthread_mutex_unlock(&metrics_lock);
	return anonymous || diff == 0;
}

/* The exposition, built in one growing buffer. */
struct metrics_buf {
	char *mb_data;
	size_t mb_len, mb_cap;
	int mb_err;
};

static void __attribute__((format(printf, 2, 3)))
mb_printf(struct metrics_buf *mb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (mb->mb_err)
		return;
	for (;;) {
		size_t room = mb->mb_cap - mb->mb_len;

		va_start(ap, fmt);
		/* No buffer yet: measure only (NULL + 0 is undefined). */
		n = vsnprintf(mb->mb_data != NULL ? mb->mb_data + mb->mb_len
						  : NULL,
			      mb->mb_data != NULL ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			mb->mb_err = 1;
			return;
		}
		if ((size_t)n < room) {
			mb->mb_len += (size_t)n;
			return;
		}
		size_t cap = mb->mb_cap * 2 + (size_t)n + 1;
		char *d = realloc(mb->mb_data, cap);

		if (d == NULL) {
			mb->mb_err = 1;
			return;
		}
		mb->mb_data = d;
		mb->mb_cap = cap;
	}
}

static void
mb_head(struct metrics_buf *mb, const char *name, const char *type,
	const char *help)
{
	mb_printf(mb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A duration in microseconds as seconds, exactly. */
static void
mb_seconds(struct metrics_buf *mb, uint64_t us)
{
	mb_printf(mb, "%llu.%06llu", (unsigned long long)(us / 1000000),
		  (unsigned long long)(us % 1000000));
}

/* A bucket's bound in microseconds as seconds, without trailing zeros
 * ("0.0001", "2.5", "10"), as Prometheus' clients write them. */
static void
mb_le(struct metrics_buf *mb, uint64_t us)
{
	char frac[8];
	int n;

	snprintf(frac, sizeof(frac), "%06llu",
		 (unsigned long long)(us % 1000000));
	for (n = 6; n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	mb_printf(mb, "%llu%s%s", (unsigned long long)(us / 1000000),
		  n > 0 ? "." : "", frac);
}

static const char *
metrics_route_label(size_t r)
{
	return r < api_routes_count() ? api_routes_at(r).ri_pattern
				      : "unmatched";
}

static void
metrics_http(struct metrics_buf *mb)
{
	size_t r, nr = api_routes_count();
	int i;
	unsigned m, s, b;

	mb_head(mb, "vmmapid_http_requests_total", "counter",
		"HTTP requests answered, by route pattern, method and status.");
	for (r = 0; r <= nr; r++) {
		size_t slot = r < nr ? r : METRICS_ROUTES_MAX;

		for (m = 0; m < M_N; m++)
			for (s = 0; s < S_N; s++) {
				unsigned long long n = atomic_load_explicit(
				    &metrics_req[slot][m][s],
				    memory_order_relaxed);

				if (n == 0)
					continue;
				mb_printf(mb,
					  "vmmapid_http_requests_total{route="
					  "\"%s\",method=\"%s\",status=\"",
					  metrics_route_label(r),
					  metrics_methods[m]);
				if (s < S_N - 1)
					mb_printf(mb, "%d",
						  metrics_statuses[s]);
				else
					mb_printf(mb, "other");
				mb_printf(mb, "\"} %llu\n", n);
			}
	}
	mb_head(mb, "vmmapid_http_request_duration_seconds", "histogram",
		"Time from a request's first byte to its response's last, by "
		"route pattern and method (streams count their whole life).");
	for (r = 0; r <= nr; r++) {
		size_t slot = r < nr ? r : METRICS_ROUTES_MAX;

		for (m = 0; m < M_N; m++) {
			struct metrics_hist *h = &metrics_dur[slot][m];
			unsigned long long cum = 0, c[B_N + 1];
			const char *route = metrics_route_label(r);

			for (b = 0; b <= B_N; b++) {
				c[b] = atomic_load_explicit(
				    &h->mh_bucket[b], memory_order_relaxed);
				cum += c[b];
			}
			if (cum == 0)
				continue;
			cum = 0;
			for (b = 0; b <= B_N; b++) {
				cum += c[b];
				mb_printf(mb,
					  "vmmapid_http_request_duration_"
					  "seconds_bucket{route=\"%s\",method="
					  "\"%s\",le=\"",
					  route, metrics_methods[m]);
				if (b < B_N)
					mb_le(mb, metrics_us_bounds[b]);
				else
					mb_printf(mb, "+Inf");
				mb_printf(mb, "\"} %llu\n", cum);
			}
			mb_printf(mb,
				  "vmmapid_http_request_duration_seconds_sum{"
				  "route=\"%s\",method=\"%s\"} ",
				  route, metrics_methods[m]);
			mb_seconds(mb,
				   atomic_load_explicit(&h->mh_sum_us,
							memory_order_relaxed));
			mb_printf(mb,
				  "\nvmmapid_http_request_duration_seconds_"
				  "count{route=\"%s\",method=\"%s\"} %llu\n",
				  route, metrics_methods[m], cum);
		}
	}
	mb_head(mb, "vmmapid_http_connections", "gauge",
		"HTTP connections open now, on every listener.");
	mb_printf(mb, "vmmapid_http_connections %lld\n",
		  (long long)atomic_load(&metrics_conns));
	mb_head(mb, "vmmapid_http_connections_opened_total", "counter",
		"HTTP connections accepted.");
	mb_printf(mb, "vmmapid_http_connections_opened_total %llu\n",
		  (unsigned long long)atomic_load(&metrics_conns_total));
	mb_head(mb, "vmmapid_http_streams", "gauge",
		"Streamed responses under way (followed consoles, "
		"monitor-mode starts).");
	mb_printf(mb, "vmmapid_http_streams %lld\n",
		  (long long)atomic_load(&metrics_streams));
	mb_head(mb, "vmmapid_http_streams_started_total", "counter",
		"Streamed responses begun.");
	mb_printf(mb, "vmmapid_http_streams_started_total %llu\n",
		  (unsigned long long)atomic_load(&metrics_streams_total));
	mb_head(mb, "vmmapid_http_refused_total", "counter",
		"Connections, streams and responses refused by a limit "
		"(docs/security.md).");
	for (i = 0; i < API_REFUSED_N; i++)
		mb_printf(mb,
			  "vmmapid_http_refused_total{reason=\"%s\"} %llu\n",
			  metrics_refusals[i],
			  (unsigned long long)atomic_load(&metrics_refused[i]));
	mb_head(mb, "vmmapid_http_response_bytes_held", "gauge",
		"Bytes of response bodies queued for clients and not yet "
		"sent whole (--response-budget-mib).");
	mb_printf(mb, "vmmapid_http_response_bytes_held %lld\n",
		  (long long)atomic_load(&metrics_held));
}

static void
metrics_vms(const struct api_context *ctx, struct metrics_buf *mb)
{
	size_t counts[VM_NSTATES];
	int s;

	vmreg_count_by_state(ctx->ac_vmreg, counts);
	mb_head(mb, "vmmapid_vms", "gauge", "VMs defined, by state.");
	for (s = 0; s < VM_NSTATES; s++)
		mb_printf(mb, "vmmapid_vms{state=\"%s\"} %zu\n",
			  vm_state_name((enum vm_state)s), counts[s]);
}

/* A running VM's counters, read under its lifecycle lock. */
struct metrics_vm {
	unsigned long long mv_exits[4]; /* io, mmio, hlt, other */
	unsigned mv_vcpus;
};

static int
metrics_vm_read(struct runner *r, void *arg)
{
	struct metrics_vm *mv = arg;
	struct runner_vcpu_stats st;
	unsigned id;

	mv->mv_vcpus = runner_vcpus(r);
	for (id = 0; id < mv->mv_vcpus; id++) {
		if (runner_vcpu_stats(r, id, &st) != 0)
			continue;
		mv->mv_exits[0] += st.vs_exits_io;
		mv->mv_exits[1] += st.vs_exits_mmio;
		mv->mv_exits[2] += st.vs_exits_hlt;
		mv->mv_exits[3] += st.vs_exits_other;
	}
	return 0;
}

static int
metrics_keep_live(enum vm_state s)
{
	return vm_state_is_live(s);
}

/*
 * Per running VM: its vCPUs' exits by reason and its console's output.
 * Both count from the VM's start: a new run starts them again, which
 * Prometheus reads as a counter reset of that VM's series.
 */
static void
metrics_runs(const struct api_context *ctx, struct metrics_buf *mb)
{
	static const char *const reasons[4] = {"io", "mmio", "hlt", "other"};
	char(*names)[VMKEY_SIZE] = NULL, why[128];
	char(*jails)[LIMIT_NAME_LEN + 1] = NULL;
	struct metrics_vm *mv = NULL;
	uint64_t *out = NULL;
	size_t n = 0, i;
	unsigned k;

	if (ctx->ac_vmrun == NULL ||
	    vmreg_names(ctx->ac_vmreg, metrics_keep_live, &names, &n) != 0)
		n = 0;
	if (n > 0 && ((mv = calloc(n, sizeof(*mv))) == NULL ||
		      (out = calloc(n, sizeof(*out))) == NULL ||
		      (jails = calloc(n, sizeof(*jails))) == NULL))
		n = 0;
	for (i = 0; i < n; i++) {
		struct console *c;

		vmkey_jail(names[i], jails[i]);
		if (vmrun_with_runner(ctx->ac_vmrun, names[i], VMRUN_NEED_LIVE,
				      metrics_vm_read, &mv[i], why,
				      sizeof(why)) != 0)
			mv[i].mv_vcpus = 0; /* stopped meanwhile: left out */
		if ((c = vmrun_console(ctx->ac_vmrun, names[i])) != NULL) {
			out[i] = console_end(c);
			console_free(c);
		}
	}
	mb_head(mb, "vmmapid_vm_vcpu_exits_total", "counter",
		"Exits of a running VM's vCPUs to the daemon, by reason, "
		"since the VM started.");
	for (i = 0; i < n; i++)
		for (k = 0; k < 4 && mv[i].mv_vcpus > 0; k++)
			mb_printf(mb,
				  "vmmapid_vm_vcpu_exits_total{vm=\"%s\","
				  "jail=\"%s\",reason=\"%s\"} %llu\n",
				  vmkey_name(names[i]), jails[i], reasons[k],
				  mv[i].mv_exits[k]);
	mb_head(mb, "vmmapid_vm_console_output_bytes_total", "counter",
		"Bytes a running VM wrote to its serial console since it "
		"started.");
	for (i = 0; i < n; i++)
		if (mv[i].mv_vcpus > 0)
			mb_printf(mb,
				  "vmmapid_vm_console_output_bytes_total{vm="
				  "\"%s\",jail=\"%s\"} %llu\n",
				  vmkey_name(names[i]), jails[i],
				  (unsigned long long)out[i]);
	free(jails);
	free(out);
	free(mv);
	free(names);
}

static void
metrics_db(const struct api_context *ctx, struct metrics_buf *mb)
{
	struct db_commit_stats cs;
	unsigned long long cum = 0, sum = 0;
	unsigned b;

	if (ctx->ac_db == NULL)
		return;
	db_commit_stats(ctx->ac_db, &cs);
	mb_head(mb, "vmmapid_db_commit_duration_seconds", "histogram",
		"Time of each COMMIT of the database writer (the WAL's write "
		"and fsync).");
	for (b = 0; b <= DB_COMMIT_US_BUCKETS; b++) {
		cum += cs.cs_us[b];
		mb_printf(mb,
			  "vmmapid_db_commit_duration_seconds_bucket{le=\"");
		if (b < DB_COMMIT_US_BUCKETS)
			mb_le(mb, db_commit_us_bounds[b]);
		else
			mb_printf(mb, "+Inf");
		mb_printf(mb, "\"} %llu\n", cum);
	}
	mb_printf(mb, "vmmapid_db_commit_duration_seconds_sum ");
	mb_seconds(mb, cs.cs_us_sum);
	mb_printf(mb, "\nvmmapid_db_commit_duration_seconds_count %llu\n", cum);
	mb_head(mb, "vmmapid_db_commit_writes", "histogram",
		"Writes (API requests, audit records) each commit held: group "
		"commit shares one fsync among them.");
	cum = 0;
	for (b = 0; b <= DB_BATCH_BUCKETS; b++) {
		cum += cs.cs_batch[b];
		mb_printf(mb, "vmmapid_db_commit_writes_bucket{le=\"");
		if (b < DB_BATCH_BUCKETS)
			mb_printf(mb, "%u", db_batch_bounds[b]);
		else
			mb_printf(mb, "+Inf");
		mb_printf(mb, "\"} %llu\n", cum);
	}
	sum = cs.cs_batch_sum;
	mb_printf(mb, "vmmapid_db_commit_writes_sum %llu\n", sum);
	mb_printf(mb, "vmmapid_db_commit_writes_count %llu\n", cum);
}

static void
metrics_spares(const struct api_context *ctx, struct metrics_buf *mb)
{
	struct vmm_spares st;

	if (ctx->ac_ops == NULL || ctx->ac_ops->vo_spares_stats == NULL)
		return;
	memset(&st, 0, sizeof(st));
	ctx->ac_ops->vo_spares_stats(&st);
	mb_head(mb, "vmmapid_spare_vms", "gauge",
		"VMs made ahead of starts and ready now (--spare-vms).");
	mb_printf(mb, "vmmapid_spare_vms %u\n", st.vs_ready);
	mb_head(mb, "vmmapid_spare_vms_target", "gauge",
		"VMs the backend keeps made ahead (--spare-vms).");
	mb_printf(mb, "vmmapid_spare_vms_target %u\n", st.vs_target);
	mb_head(mb, "vmmapid_spare_vms_taken_total", "counter",
		"VM creations that used a spare VM.");
	mb_printf(mb, "vmmapid_spare_vms_taken_total %lu\n", st.vs_taken);
	mb_head(mb, "vmmapid_spare_vms_missed_total", "counter",
		"VM creations that found no spare VM ready.");
	mb_printf(mb, "vmmapid_spare_vms_missed_total %lu\n", st.vs_missed);
	mb_head(mb, "vmmapid_spare_vms_failed_total", "counter",
		"Spare VMs that could not be made.");
	mb_printf(mb, "vmmapid_spare_vms_failed_total %lu\n", st.vs_failed);
}

/* The event hub's counters (core/events.h). */
static void
metrics_events(const struct api_context *ctx, struct metrics_buf *mb)
{
	uint64_t emitted = 0, subs = 0;

	if (ctx->ac_events == NULL)
		return;
	events_stats(ctx->ac_events, &emitted, &subs);
	mb_head(mb, "vmmapid_events_emitted_total", "counter",
		"Events written to the journal and published since start.");
	mb_printf(mb, "vmmapid_events_emitted_total %llu\n",
		  (unsigned long long)emitted);
	mb_head(mb, "vmmapid_events_subscribers", "gauge",
		"GET /v1/events streams open now.");
	mb_printf(mb, "vmmapid_events_subscribers %llu\n",
		  (unsigned long long)subs);
}

void
api_metrics_get(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	struct metrics_buf mb = {NULL, 0, 0, 0};

	if (!metrics_allowed(rq)) {
		if (!rq->rq_principal.pr_known) {
			problem_raise(rs, PROBLEM_UNAUTHORIZED, NULL,
				      "/metrics needs host root, an admin "
				      "token or the metrics token "
				      "(--metrics-token-file); send "
				      "\"Authorization: Bearer <token>\"");
			api_response_header(rs, "WWW-Authenticate",
					    "Bearer realm=\"vmmapid\"");
		} else {
			problem_raise(rs, PROBLEM_FORBIDDEN, NULL,
				      "/metrics is host root's, or the metrics "
				      "token's (--metrics-token-file), or "
				      "anyone's with --metrics-anonymous; uid "
				      "%ld is none of these",
				      (long)rq->rq_principal.pr_uid);
		}
		return;
	}
	metrics_http(&mb);
	metrics_vms(ctx, &mb);
	metrics_runs(ctx, &mb);
	metrics_db(ctx, &mb);
	metrics_spares(ctx, &mb);
	metrics_events(ctx, &mb);
	mb_head(&mb, "vmmapid_start_time_seconds", "gauge",
		"When the daemon started, in seconds since the Unix epoch.");
	mb_printf(&mb, "vmmapid_start_time_seconds %llu.%03llu\n",
		  (unsigned long long)(ctx->ac_started_at_ms / 1000),
		  (unsigned long long)(ctx->ac_started_at_ms % 1000));
	if (mb.mb_err) {
		free(mb.mb_data);
		problem_raise(rs, PROBLEM_INTERNAL, NULL,
			      "out of memory writing the metrics");
		return;
	}
	rs->rs_status = 200;
	rs->rs_body = mb.mb_data;
	rs->rs_body_len = mb.mb_len;
	rs->rs_content_type = "text/plain; version=0.0.4; charset=utf-8";
}
