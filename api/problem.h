/*
 * RFC 9457 problem details.  Every error the API answers is one kind of
 * the catalogue below: one status, one `type`, one title per kind, and a
 * handler adds only its sentence (and, for validation, the field).  This
 * is the one place that turns an errno into a status.
 *
 * A kind's `type` is "/v1/problems/<slug>", a URI reference relative to
 * the daemon (RFC 9457 3.1.1): GET on it answers the kind's explanation,
 * so a caller who meets an unknown type can look it up on the daemon that
 * sent it.  docs/problems.md and openapi.yaml list the same kinds (a unit
 * test holds them to this table).
 */
#ifndef VMMAPID_API_PROBLEM_H
#define VMMAPID_API_PROBLEM_H

#include "api/api.h"

enum problem_kind {
	PROBLEM_VALIDATION,             /* 400: a body member is invalid */
	PROBLEM_MALFORMED_JSON,         /* 400: the body is not JSON */
	PROBLEM_BODY_REQUIRED,          /* 400 */
	PROBLEM_INVALID_QUERY,          /* 400 */
	PROBLEM_INVALID_HEADER,         /* 400 */
	PROBLEM_MALFORMED_REQUEST,      /* 400: bad framing, a NUL in the URL */
	PROBLEM_UNAUTHORIZED,           /* 401 */
	PROBLEM_FORBIDDEN,              /* 403: an access rule refused */
	PROBLEM_RUNNING_LIMIT,          /* 403: --max-running-per-uid */
	PROBLEM_NOT_FOUND,              /* 404 */
	PROBLEM_METHOD_NOT_ALLOWED,     /* 405 */
	PROBLEM_CONFLICT,               /* 409: exists already, or in use */
	PROBLEM_INVALID_STATE,          /* 409: the VM's state forbids it */
	PROBLEM_EVENTS_GONE,            /* 410: events past the journal */
	PROBLEM_PRECONDITION_FAILED,    /* 412 */
	PROBLEM_BODY_TOO_LARGE,         /* 413 */
	PROBLEM_URI_TOO_LONG,           /* 414 */
	PROBLEM_UNSUPPORTED_MEDIA_TYPE, /* 415 */
	PROBLEM_CANNOT_RUN,             /* 422: the definition cannot run */
	PROBLEM_REFUSED,                /* 422: the backend refused values */
	PROBLEM_CONSOLE_INPUT_FULL,     /* 429 */
	PROBLEM_INTERNAL,               /* 500 */
	PROBLEM_NOT_SUPPORTED,          /* 501: this backend cannot */
	PROBLEM_UNAVAILABLE,            /* 503 */
	PROBLEM_INSUFFICIENT_STORAGE,   /* 507 */
	PROBLEM_NKINDS
};

/* One kind of problem: what every response of that kind carries. */
struct problem_def {
	int pd_status;
	const char *pd_slug;  /* the type is "/v1/problems/" slug */
	const char *pd_title; /* the same for every problem of the kind */
	const char *pd_about; /* what it means and what to do: the docs */
};

/* The catalogue, indexed by enum problem_kind. */
extern const struct problem_def problem_catalogue[PROBLEM_NKINDS];

/* The kind whose slug is slug; -1 when there is none. */
int problem_kind_by_slug(const char *slug);

/*
 * Fills rs with an application/problem+json body of kind k:
 *   {"type": "/v1/problems/<slug>", "title": <title>, "status": <status>,
 *    "detail": <formatted>, "field": <field>}
 * field may be NULL (then omitted).  Replaces whatever rs held.  Text
 * that is not valid UTF-8 or is a control character becomes '?'.
 */
void problem_raise(struct api_response *rs, enum problem_kind k,
		   const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The kind an errno from a lower layer means: ENOENT not-found, EEXIST
 * conflict, EBUSY invalid-state, ESTALE precondition-failed, EINVAL
 * validation, EPERM/EACCES forbidden, ENOTSUP not-supported,
 * ENOSPC/EDQUOT insufficient-storage, EAGAIN unavailable, anything else
 * internal.  A caller whose errno means something narrower (an image in
 * use is EBUSY but a conflict, not a VM state) raises that kind itself.
 */
enum problem_kind problem_kind_from_errno(int err);

/*
 * A validation problem for field, whose value s breaks the name rule
 * (base/names.h); the detail states the rule.
 */
void problem_invalid_name(struct api_response *rs, const char *field,
			  const char *s);

/* The same for a query parameter: invalid-query, not validation. */
void problem_invalid_name_query(struct api_response *rs, const char *field,
				const char *s);

/* problem_raise() with the kind err means and no field. */
void problem_errno(struct api_response *rs, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
