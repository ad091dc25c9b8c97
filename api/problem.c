#include "api/problem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/response.h"
#include "base/limits.h"

/*
 * Replaces what is not valid UTF-8 (or is a control character) with '?',
 * in place: details echo client input (paths, values), and a JSON string
 * must be UTF-8.
 */
static void
problem_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80             ? 1
			   : (*p & 0xe0) == 0xc0 ? 2
			   : (*p & 0xf0) == 0xe0 ? 3
			   : (*p & 0xf8) == 0xf0 ? 4
						 : 0;
		size_t i;

		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 2 && *p < 0xc2)) {
			*p++ = '?';
			continue;
		}
		if (n == 1 && *p < 0x20 && *p != '\n' && *p != '\t')
			*p = '?';
		p += n;
	}
}

#define KIND(k, status, slug, title, about) [k] = {status, slug, title, about}

const struct problem_def problem_catalogue[PROBLEM_NKINDS] = {
    KIND(PROBLEM_VALIDATION, 400, "validation", "Invalid request",
	 "A member of the request body has a wrong type or value, or one "
	 "that is required is missing.  `field` names it as a dotted path "
	 "(`boot.load_address`, `pptdevs[2]`); the detail says what is "
	 "allowed.  Correct the body and send it again."),
    KIND(PROBLEM_MALFORMED_JSON, 400, "malformed-json", "Malformed JSON",
	 "The body is not one JSON document.  The detail gives the line, "
	 "column and byte where parsing stopped."),
    KIND(PROBLEM_BODY_REQUIRED, 400, "body-required", "Request body required",
	 "This operation takes a body and the request had none."),
    KIND(PROBLEM_INVALID_QUERY, 400, "invalid-query", "Invalid query",
	 "A query parameter is unknown to this route, given twice where it "
	 "may not repeat, or has a value outside its range.  `field` names "
	 "the parameter."),
    KIND(PROBLEM_INVALID_HEADER, 400, "invalid-header", "Invalid header",
	 "A request header has a value this operation does not take.  "
	 "`field` names the header."),
    KIND(PROBLEM_MALFORMED_REQUEST, 400, "malformed-request",
	 "Malformed request",
	 "The request is not one the daemon can read one way only, and is "
	 "refused before any route sees it: its path or query decodes to a "
	 "NUL byte (%00), or its framing is ambiguous (two Content-Length "
	 "headers, Content-Length with Transfer-Encoding, a transfer coding "
	 "other than chunked, whitespace before a header's colon, HTTP/1.1 "
	 "without Host).  The connection is closed after the answer "
	 "(docs/security.md)."),
    KIND(PROBLEM_UNAUTHORIZED, 401, "unauthorized", "Unauthorized",
	 "Over TCP every route but /v1/health and /v1/problems needs an "
	 "`Authorization: Bearer` token that host root created and has not "
	 "revoked.  A token sent over plain TCP to an address other than "
	 "loopback is refused on every route (it crossed the network in "
	 "clear text): use the daemon's tls: listener (https://).  Over "
	 "the Unix socket the kernel says who the caller is, and this does "
	 "not happen."),
    KIND(PROBLEM_FORBIDDEN, 403, "forbidden", "Forbidden",
	 "An access rule refused the caller (docs/access.md); the detail "
	 "names the rule, so that the caller can tell what to change: "
	 "membership of the vmm group, ownership of the VM, the jail, "
	 "monitor mode, or host root."),
    KIND(PROBLEM_RUNNING_LIMIT, 403, "running-limit", "Too many running VMs",
	 "The caller's uid already runs as many VMs as --max-running-per-uid "
	 "allows.  Stop one, or ask the operator to raise the limit."),
    KIND(PROBLEM_NOT_FOUND, 404, "not-found", "Not found",
	 "No such route, or no resource of that name that the caller may "
	 "see: a VM of another owner or jail is not found rather than "
	 "forbidden, so that its name does not leak."),
    KIND(PROBLEM_METHOD_NOT_ALLOWED, 405, "method-not-allowed",
	 "Method not allowed",
	 "The path exists but does not take this method; the `Allow` "
	 "header lists those it takes."),
    KIND(PROBLEM_CONFLICT, 409, "conflict", "Conflict",
	 "The request conflicts with another resource: a name that exists "
	 "already, an image a running VM uses, a socket path another jail "
	 "has."),
    KIND(PROBLEM_INVALID_STATE, 409, "invalid-state",
	 "Not allowed in this state",
	 "The VM's state does not allow the operation: a running VM cannot "
	 "be replaced or deleted, a stopped one paused, registers written "
	 "unless paused.  The detail says the state and what would allow "
	 "it; GET the VM for its status."),
    KIND(PROBLEM_EVENTS_GONE, 410, "events-gone", "Events no longer kept",
	 "The events asked for are no longer in the journal: `since` (or "
	 "`Last-Event-ID`) is older than the oldest event kept "
	 "(`--events-keep`, `--events-max-age`), or newer than the newest, "
	 "as after a database restore.  The detail names the oldest id "
	 "kept; read the current state (GET /v1/vms) and subscribe again "
	 "without `since`."),
    KIND(PROBLEM_PRECONDITION_FAILED, 412, "precondition-failed",
	 "Precondition failed",
	 "If-Match or If-None-Match did not hold: the resource changed "
	 "since it was read (or exists, for If-None-Match: *).  Read it "
	 "again, reapply the change, and send it with the new ETag."),
    KIND(PROBLEM_BODY_TOO_LARGE, 413, "body-too-large", "Body too large",
	 "The body is longer than the route allows: 64 KiB for JSON, "
	 "--upload-max-mib for image uploads.  GET /v1 lists the limits."),
    KIND(PROBLEM_URI_TOO_LONG, 414, "uri-too-long", "URI too long",
	 "The request target is longer than 2048 bytes."),
    KIND(PROBLEM_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type",
	 "Unsupported media type",
	 "The Content-Type is not the one this route takes: "
	 "application/json, application/merge-patch+json for PATCH, "
	 "application/octet-stream for uploads."),
    KIND(PROBLEM_CANNOT_RUN, 422, "cannot-run", "The VM cannot run",
	 "The definition is valid but cannot run here: its image (a Linux "
	 "boot's kernel or initrd) is missing or does not fit the guest's "
	 "memory, the Linux loader refused the kernel, initrd or command "
	 "line, or the host cannot give what it asks for.  The detail says "
	 "which."),
    KIND(PROBLEM_REFUSED, 422, "refused", "Refused by the backend",
	 "The hypervisor refused the values sent (a register value the CPU "
	 "does not accept, a memory range outside the guest).  `field` "
	 "names the value when it is known."),
    KIND(PROBLEM_CONSOLE_INPUT_FULL, 429, "console-input-full",
	 "Console input full",
	 "The guest has not yet read the console input sent before, and "
	 "the input buffer is full; send the rest once it has."),
    KIND(PROBLEM_INTERNAL, 500, "internal", "Internal error",
	 "Something failed inside the daemon; the detail and the daemon's "
	 "log say what.  The request changed nothing unless the detail "
	 "says otherwise."),
    KIND(PROBLEM_NOT_SUPPORTED, 501, "not-supported",
	 "Not supported by this backend",
	 "The driver the daemon runs (GET /v1: driver.name) cannot do this; "
	 "the detail says which backend lacks what.  Never a pretended "
	 "success."),
    KIND(PROBLEM_UNAVAILABLE, 503, "unavailable", "Service unavailable",
	 "The daemon is stopping, or a store this route needs is not open "
	 "in this daemon, or it is too busy to take the request now."),
    KIND(PROBLEM_INSUFFICIENT_STORAGE, 507, "insufficient-storage",
	 "Insufficient storage",
	 "The disk is full, or a count limit (VMs, images, tokens) is "
	 "reached; the detail says which."),
};

int
problem_kind_by_slug(const char *slug)
{
	int k;

	for (k = 0; k < PROBLEM_NKINDS; k++)
		if (strcmp(problem_catalogue[k].pd_slug, slug) == 0)
			return k;
	return -1;
}

/* Builds the document; detail is already formatted. */
static void
problem_fill(struct api_response *rs, enum problem_kind k, const char *field,
	     char *detail)
{
	const struct problem_def *pd = &problem_catalogue[k];
	char type[64];
	json_t *doc;

	problem_clean(detail);
	snprintf(type, sizeof(type), "/v1/problems/%s", pd->pd_slug);
	doc =
	    json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title",
		      pd->pd_title, "status", pd->pd_status, "detail", detail);
	if (doc != NULL && field != NULL) {
		char f[256];

		snprintf(f, sizeof(f), "%s", field);
		problem_clean(f);
		json_object_set_new(doc, "field", json_string(f));
	}
	api_response_clear(rs);
	api_response_json(rs, pd->pd_status, doc);
	rs->rs_content_type = "application/problem+json";
	json_decref(doc);
}

void
problem_raise(struct api_response *rs, enum problem_kind k, const char *field,
	      const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_fill(rs, k, field, detail);
}

enum problem_kind
problem_kind_from_errno(int err)
{
	switch (err) {
	case ENOENT:
		return PROBLEM_NOT_FOUND;
	case EEXIST:
		return PROBLEM_CONFLICT;
	case EBUSY:
		return PROBLEM_INVALID_STATE;
	case ESTALE:
		return PROBLEM_PRECONDITION_FAILED;
	case EINVAL:
		return PROBLEM_VALIDATION;
	case EPERM:
	case EACCES:
		return PROBLEM_FORBIDDEN;
	case ENOTSUP:
		return PROBLEM_NOT_SUPPORTED;
	case ENOSPC:
	case EDQUOT:
		return PROBLEM_INSUFFICIENT_STORAGE;
	case EAGAIN:
		return PROBLEM_UNAVAILABLE;
	default:
		return PROBLEM_INTERNAL;
	}
}

void
problem_errno(struct api_response *rs, int err, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_fill(rs, problem_kind_from_errno(err), NULL, detail);
}

/* field's value s breaks the name rule (base/names.h): the rule stated. */
static void
problem_name_rule(struct api_response *rs, enum problem_kind k,
		  const char *field, const char *s)
{
	problem_raise(rs, k, field,
		      "%s: \"%s\" is not a valid name: a letter or digit, "
		      "then up to %d letters, digits, '.', '_' or '-'",
		      field, s, LIMIT_NAME_LEN - 1);
}

void
problem_invalid_name(struct api_response *rs, const char *field, const char *s)
{
	problem_name_rule(rs, PROBLEM_VALIDATION, field, s);
}

void
problem_invalid_name_query(struct api_response *rs, const char *field,
			   const char *s)
{
	problem_name_rule(rs, PROBLEM_INVALID_QUERY, field, s);
}
