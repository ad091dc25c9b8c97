/*
 * POST /v1/vms/{name}/start, stop, pause, resume, reset: the VM's run.
 * Each answers with the VM's representation after the change; the work is
 * in core/vmrun.c, which records every state in the database.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "api/policy.h"
#include "base/console.h"
#include "base/log.h"
#include "core/vmreg.h"
#include "core/vmrun.h"

/* Longest graceful stop a caller may ask for (?timeout=, seconds). */
#define LIFECYCLE_STOP_TIMEOUT_MAX 3600
#define LIFECYCLE_STOP_TIMEOUT_DEFAULT 10
/*
 * The header of a lifecycle request's 200 that found the VM already where
 * it asked to take it (start of a running VM, stop of a stopped one, ...):
 * its value says where.  The body is the representation as always.
 */
#define LIFECYCLE_UNCHANGED_HEADER "Vmmapid-Unchanged"
/* How long a monitor-mode start waits for the guest's first output. */
#define LIFECYCLE_FIRST_OUTPUT_US 300

/* Answers the outcome of a lifecycle operation on the VM of key. */
static void
lifecycle_reply(const struct api_context *ctx, const char *api_op,
		const char *key, int rc, int err, const char *why,
		struct api_response *rs)
{
	/* Only a start can find the spec unrunnable (EINVAL); elsewhere
	 * EINVAL comes from a race with the run ending: a state conflict. */
	if (rc != 0 && err == EINVAL && strcmp(api_op, "start") != 0)
		err = EBUSY;
	struct vmreg_doc doc = {0};
	char etag[32];

	if (rc != 0 && err == EALREADY) {
		/* Asked again for where the VM already is: a success that
		 * changed nothing, so that a client can repeat itself. */
		api_response_header(rs, LIFECYCLE_UNCHANGED_HEADER, why);
	} else if (rc != 0) {
		/* A start's EINVAL is a definition that cannot run, its
		 * EDQUOT the caller's quota of running VMs. */
		if (err == EINVAL)
			problem_raise(rs, PROBLEM_CANNOT_RUN, NULL, "%s", why);
		else if (err == EDQUOT)
			problem_raise(rs, PROBLEM_RUNNING_LIMIT, NULL, "%s",
				      why);
		else
			problem_errno(rs, err, "%s", why);
		return;
	}
	if (vmreg_get(ctx->ac_vmreg, key, &doc) != 0) {
		problem_errno(rs, errno, "VM %s vanished", vmkey_name(key));
		return;
	}
	api_response_take(rs, 200, doc.vd_body, doc.vd_len);
	etag_format(doc.vd_revision, etag);
	api_response_header(rs, "ETag", etag);
}

/*
 * A start that failed with err (EBUSY) because another VM's run took one
 * of its passthrough devices after api_pptdevs_start_ok looked: answered
 * as that check answers, naming the holder as this caller may be told
 * of it.  1 when answered so.
 */
static int
lifecycle_device_taken(const struct api_context *ctx,
		       const struct api_call *call, int err,
		       struct api_response *rs)
{
	return err == EBUSY && api_pptdevs_start_ok(ctx, call, rs) != 0;
}

/* What a monitor-mode response needs to end its run. */
struct lifecycle_monitor {
	struct vmrun *lm_vmrun;
	char lm_name[VMKEY_SIZE];
	uint64_t lm_run;
};

/*
 * The monitor-mode response is over (the client left, or the run ended):
 * FreeBSD's destroy-on-close.  The definition stays.
 */
static void
lifecycle_monitor_end(void *arg)
{
	struct lifecycle_monitor *lm = arg;

	if (lm->lm_run != 0 &&
	    vmrun_stop_run(lm->lm_vmrun, lm->lm_name, lm->lm_run) == 0)
		log_info("vm %s: its monitor-mode request ended; stopped",
			 lm->lm_name);
	free(lm);
}

void
api_vms_start(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	const struct principal *pr = &call->ca_rq->rq_principal;
	const char *name = call->ca_params[0], *key = call->ca_vm;
	const char *mode = api_query(call->ca_rq, "mode");
	struct lifecycle_monitor *lm;
	struct console *c;
	struct vmrun_quota quota;
	uint64_t offset, run = 0;
	char why[256] = "";
	int rc, monitor;

	if (mode != NULL && strcmp(mode, "monitor") != 0 &&
	    strcmp(mode, "detached") != 0) {
		problem_raise(rs, PROBLEM_INVALID_QUERY, "mode",
			      "mode must be monitor or detached, not \"%s\"",
			      mode);
		return;
	}
	monitor = mode != NULL && strcmp(mode, "monitor") == 0;
	quota.vq_uid = pr->pr_uid;
	quota.vq_max_runs = 0;
	if (ctx->ac_policy != NULL &&
	    policy_check_start(ctx->ac_policy, pr, !monitor, &quota.vq_max_runs,
			       why, sizeof(why)) != 0) {
		problem_raise(rs, PROBLEM_FORBIDDEN, "mode", "%s", why);
		return;
	}
	if (api_pptdevs_start_ok(ctx, call, rs) != 0)
		return;
	if (!monitor) {
		rc = vmrun_start(ctx->ac_vmrun, key, &quota, NULL, why,
				 sizeof(why));
		if (rc != 0 && lifecycle_device_taken(ctx, call, errno, rs))
			return;
		lifecycle_reply(ctx, "start", key, rc, errno, why, rs);
		return;
	}
	/* The stream starts where this run's output will. */
	if ((c = vmrun_console(ctx->ac_vmrun, key)) == NULL) {
		problem_errno(rs, errno, "no VM named %s", name);
		return;
	}
	offset = console_end(c);
	if (vmrun_start(ctx->ac_vmrun, key, &quota, &run, why, sizeof(why)) !=
	    0) {
		int err = errno;

		if (lifecycle_device_taken(ctx, call, err, rs)) {
			console_free(c);
			return;
		}
		/* A run started otherwise has no monitor to hand over. */
		if (err == EALREADY) {
			char console[API_VM_LOCATION_SIZE(sizeof("/console"))];

			api_vm_location(call->ca_rq, key, "/console", console,
					sizeof(console));
			snprintf(why, sizeof(why),
				 "VM %s is already running; monitor mode "
				 "starts a run of its own (follow this one's "
				 "console: GET %s%sfollow=1)",
				 name, console,
				 strchr(console, '?') != NULL ? "&" : "?");
			err = EBUSY;
		}
		lifecycle_reply(ctx, "start", key, -1, err, why, rs);
		console_free(c);
		return;
	}
	/*
	 * Monitor mode: the answer is the console, streamed for as long as
	 * the run lasts; when the request ends for any reason, so does the
	 * run it started.
	 */
	if ((lm = calloc(1, sizeof(*lm))) == NULL) {
		console_free(c);
		vmrun_stop_run(ctx->ac_vmrun, key, run);
		problem_errno(rs, ENOMEM, "monitor mode for VM %s", name);
		return;
	}
	lm->lm_vmrun = ctx->ac_vmrun;
	snprintf(lm->lm_name, sizeof(lm->lm_name), "%s", key);
	/* The run this start made, not whichever runs now: it may have
	 * ended already and another begun. */
	lm->lm_run = run;
	/*
	 * A guest that prints at once (most do: a boot banner) has output
	 * within a few hundred µs of runner_go: sent with the headers, it
	 * saves the stream a park and a cross-thread wake-up.
	 */
	(void)console_wait_past(c, offset, LIFECYCLE_FIRST_OUTPUT_US);
	if (api_console_follow(c, offset, "text/plain; charset=utf-8",
			       lifecycle_monitor_end, lm, rs) != 0) {
		lifecycle_monitor_end(lm);
		problem_errno(rs, ENOMEM, "monitor mode for VM %s", name);
	}
	console_free(c);
}

/* A boolean query value: 1/true/yes or 0/false/no. */
static int
lifecycle_bool(const char *v, int *out)
{
	if (v == NULL || !strcmp(v, "") || !strcmp(v, "1") ||
	    !strcmp(v, "true") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

void
api_vms_stop(const struct api_context *ctx, const struct api_call *call,
	     struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	const char *key = call->ca_vm;
	const char *v;
	unsigned long timeout = LIFECYCLE_STOP_TIMEOUT_DEFAULT;
	char why[256] = "", *end;
	int force = 0, rc, i;

	for (i = 0; i < rq->rq_nquery; i++) {
		const char *k = rq->rq_query[i].kv_key;

		v = rq->rq_query[i].kv_value;
		if (strcmp(k, "force") == 0 && lifecycle_bool(v, &force) != 0) {
			problem_raise(rs, PROBLEM_INVALID_QUERY, "force",
				      "force must be 1, true, yes, 0, false or "
				      "no, not \"%s\"",
				      v);
			return;
		}
		if (strcmp(k, "timeout") != 0)
			continue;
		errno = 0;
		timeout = v != NULL ? strtoul(v, &end, 10) : 0;
		if (v == NULL || *v < '0' || *v > '9' || *end != '\0' ||
		    errno != 0 || timeout > LIFECYCLE_STOP_TIMEOUT_MAX) {
			problem_raise(rs, PROBLEM_INVALID_QUERY, "timeout",
				      "timeout must be whole seconds from 0 to "
				      "%d, not \"%s\"",
				      LIFECYCLE_STOP_TIMEOUT_MAX,
				      v != NULL ? v : "");
			return;
		}
	}
	rc = vmrun_stop(ctx->ac_vmrun, key, (unsigned)timeout * 1000, force,
			why, sizeof(why));
	lifecycle_reply(ctx, "stop", key, rc, errno, why, rs);
}

/* pause, resume and reset take no arguments. */
static void
lifecycle_simple(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs, const char *opname,
		 int (*op)(struct vmrun *, const char *, char *, size_t))
{
	const char *key = call->ca_vm;
	char why[256] = "";
	int rc;

	rc = op(ctx->ac_vmrun, key, why, sizeof(why));
	lifecycle_reply(ctx, opname, key, rc, errno, why, rs);
}

void
api_vms_pause(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	lifecycle_simple(ctx, call, rs, "pause", vmrun_pause);
}

void
api_vms_resume(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	lifecycle_simple(ctx, call, rs, "resume", vmrun_resume);
}

void
api_vms_reset(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	lifecycle_simple(ctx, call, rs, "reset", vmrun_reset);
}
