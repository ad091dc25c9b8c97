/*
 * GET /v1/vms/{name}/console: the guest's serial output kept so far
 * (?offset=N: from absolute byte N; ?follow=1: then everything new, until
 * the VM stops or the client leaves).  The body is the bytes as the guest
 * wrote them: text/plain, or application/octet-stream when the client
 * asks for it.  Console-Next-Offset says where to resume; Console-Lost-Bytes
 * how many asked-for bytes were no longer kept.
 *
 * A followed console is coalesced (CONSOLE_STREAM_LOW_WATER,
 * CONSOLE_STREAM_DELAY_US in core/console.h): a guest writes a byte per
 * port-I/O exit, and a chunk per byte or two costs the HTTP thread, the
 * client and the vCPU thread (its console lock) more than the guest's
 * own exits.  While fewer than the low-water mark wait and the previous
 * chunk is younger than the delay, the reader answers "nothing yet" and
 * the batch watch wakes the stream at the mark, at the deadline or at the
 * end of the run, whichever comes first.  The first byte after a quiet
 * spell goes out at once, as with Nagle's algorithm: the deadline runs
 * from the previous chunk, so a keystroke's echo is not delayed.
 *
 * POST /v1/vms/{name}/console: the body's bytes become input of the
 * guest's UART.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/console.h"
#include "base/timefmt.h"
#include "core/vmrun.h"

/* A followed console: what the stream reads from. */
struct console_follow {
	struct console *cf_console; /* a reference */
	uint64_t cf_offset;
	uint64_t cf_sent_us; /* when the previous chunk was read; 0: none */
	void *cf_watch_arg;  /* non-NULL while a watch is registered */
	void (*cf_on_free)(void *arg); /* when the response is over */
	void *cf_on_free_arg;
};

static ssize_t
console_follow_read(void *cls, char *buf, size_t max)
{
	struct console_follow *cf = cls;
	uint64_t lost, pending, now;
	int closed;
	size_t n;

	/* Closed comes with the count: output before the close is sent. */
	pending = console_pending(cf->cf_console, &cf->cf_offset, &closed);
	if (pending == 0)
		return closed ? -1 : 0;
	now = timefmt_mono_us();
	if (!closed && pending < CONSOLE_STREAM_LOW_WATER &&
	    now - cf->cf_sent_us < CONSOLE_STREAM_DELAY_US)
		return 0; /* more to come: console_follow_watch */
	n = console_read(cf->cf_console, &cf->cf_offset, buf, max, &lost);
	cf->cf_sent_us = now;
	return (ssize_t)n;
}

static int
console_follow_watch(void *cls, void (*wake)(void *), void *arg)
{
	struct console_follow *cf = cls;
	int rc = console_watch_batch(
	    cf->cf_console, cf->cf_offset, CONSOLE_STREAM_LOW_WATER,
	    cf->cf_sent_us + CONSOLE_STREAM_DELAY_US, wake, arg);

	if (rc == 0)
		cf->cf_watch_arg = arg;
	return rc;
}

static void
console_follow_free(void *cls)
{
	struct console_follow *cf = cls;

	if (cf->cf_watch_arg != NULL)
		console_unwatch(cf->cf_console, cf->cf_watch_arg);
	if (cf->cf_on_free != NULL)
		cf->cf_on_free(cf->cf_on_free_arg);
	console_free(cf->cf_console);
	free(cf);
}

int
api_console_follow(struct console *c, uint64_t offset, const char *type,
		   void (*on_free)(void *), void *arg, struct api_response *rs)
{
	struct console_follow *cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL ||
	    (rs->rs_stream = calloc(1, sizeof(*rs->rs_stream))) == NULL) {
		free(cf);
		errno = ENOMEM;
		return -1;
	}
	console_hold(c);
	cf->cf_console = c;
	cf->cf_offset = offset;
	cf->cf_on_free = on_free;
	cf->cf_on_free_arg = arg;
	rs->rs_stream->st_read = console_follow_read;
	rs->rs_stream->st_watch = console_follow_watch;
	rs->rs_stream->st_free = console_follow_free;
	rs->rs_stream->st_cls = cf;
	rs->rs_status = 200;
	rs->rs_content_type = type;
	return 0;
}

static int
console_parse_query(const struct api_request *rq, int *follow, uint64_t *offset,
		    int *have_offset, struct api_response *rs)
{
	int i;

	for (i = 0; i < rq->rq_nquery; i++) {
		const char *k = rq->rq_query[i].kv_key;
		const char *v = rq->rq_query[i].kv_value;
		char *end;

		if (v == NULL)
			v = "";
		if (strcmp(k, "follow") == 0) {
			if (!strcmp(v, "1") || !strcmp(v, "true") ||
			    !strcmp(v, "yes") || !strcmp(v, ""))
				*follow = 1;
			else if (!strcmp(v, "0") || !strcmp(v, "false") ||
				 !strcmp(v, "no"))
				*follow = 0;
			else
				goto bad_follow;
		} else if (strcmp(k, "offset") == 0) {
			errno = 0;
			*offset = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' || errno) {
				problem_raise(rs, PROBLEM_INVALID_QUERY,
					      "offset",
					      "offset must be a byte offset "
					      "(a whole number), not \"%s\"",
					      v);
				return -1;
			}
			*have_offset = 1;
		}
		/* The router let through only these two. */
	}
	return 0;
bad_follow:
	problem_raise(rs, PROBLEM_INVALID_QUERY, "follow",
		      "follow must be 1, true, yes, 0, false or no");
	return -1;
}

static const char *
console_type(const struct api_request *rq)
{
	const char *accept = api_header(rq, "Accept");

	if (accept != NULL && strstr(accept, "application/octet-stream") &&
	    !strstr(accept, "text/plain"))
		return "application/octet-stream";
	return "text/plain; charset=utf-8";
}

void
api_console_get(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	struct console *c;
	uint64_t offset = 0, lost = 0, end;
	int follow = 0, have_offset = 0;
	char num[32];
	size_t n;

	if (console_parse_query(call->ca_rq, &follow, &offset, &have_offset,
				rs) != 0)
		return;
	if ((c = vmrun_console(ctx->ac_vmrun, key)) == NULL) {
		if (errno == ENOENT)
			problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
				      "no VM named %s", name);
		else
			problem_errno(rs, errno, "console of VM %s", name);
		return;
	}
	if (!have_offset) {
		/* From the oldest byte kept. */
		end = console_end(c);
		offset = end > VMRUN_CONSOLE_OUT ? end - VMRUN_CONSOLE_OUT : 0;
	}
	if (follow) {
		if (api_console_follow(c, offset, console_type(call->ca_rq),
				       NULL, NULL, rs) != 0)
			problem_errno(rs, ENOMEM, "out of memory");
		console_free(c);
		return;
	}
	end = console_end(c);
	n = end > offset ? (size_t)(end - offset) : 0;
	if (n > VMRUN_CONSOLE_OUT)
		n = VMRUN_CONSOLE_OUT;
	if ((rs->rs_body = malloc(n + 1)) == NULL) {
		console_free(c);
		problem_errno(rs, ENOMEM, "out of memory");
		return;
	}
	rs->rs_body_len = console_read(c, &offset, rs->rs_body, n, &lost);
	rs->rs_status = 200;
	rs->rs_content_type = console_type(call->ca_rq);
	snprintf(num, sizeof(num), "%" PRIu64, offset);
	api_response_header(rs, "Console-Next-Offset", num);
	snprintf(num, sizeof(num), "%" PRIu64, lost);
	api_response_header(rs, "Console-Lost-Bytes", num);
	console_free(c);
}

void
api_console_post(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	const char *name = call->ca_params[0], *key = call->ca_vm;
	struct console *c;
	json_t *doc;

	if ((c = vmrun_console(ctx->ac_vmrun, key)) == NULL) {
		problem_errno(rs, errno, "no VM named %s", name);
		return;
	}
	if (rq->rq_body_len == 0) {
		problem_raise(rs, PROBLEM_BODY_REQUIRED, NULL,
			      "send the bytes for the guest as the body");
	} else if (!vmrun_is_running(ctx->ac_vmrun, key)) {
		problem_raise(rs, PROBLEM_INVALID_STATE, NULL,
			      "VM %s is not running; its console takes no "
			      "input",
			      name);
	} else if (console_input(c, rq->rq_body, rq->rq_body_len) == 0) {
		problem_raise(rs, PROBLEM_CONSOLE_INPUT_FULL, NULL,
			      "the guest has not read the input queued before; "
			      "%zu bytes are waiting and the buffer holds %d",
			      console_input_pending(c), VMRUN_CONSOLE_IN);
	} else {
		doc = json_pack("{s:I, s:I}", "accepted",
				(json_int_t)rq->rq_body_len, "pending",
				(json_int_t)console_input_pending(c));
		api_response_json(rs, 200, doc);
		json_decref(doc);
	}
	console_free(c);
}
