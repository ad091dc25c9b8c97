/*
 * RFC 9457 problem details: every error the API answers is built here, and
 * this is the one place that turns an errno into an HTTP status.
 */
#ifndef VMMAPID_API_PROBLEM_H
#define VMMAPID_API_PROBLEM_H

#include "api/api.h"

/*
 * Fills rs with an application/problem+json body:
 *   {"type": "urn:vmmapid:problem:<slug>", "title": <title>,
 *    "status": <status>, "detail": <formatted>, "field": <field>}
 * field may be NULL (then omitted).  Replaces whatever rs held.
 */
void problem_set(struct api_response *rs, int status, const char *slug,
		 const char *title, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The HTTP status for an errno from a lower layer (ENOENT 404, ...). */
int problem_status_from_errno(int err);

/* problem_set() with the status, slug and title an errno implies. */
void problem_from_errno(struct api_response *rs, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
