/*
 * The static route table, read-only outside api/router.c.  Patterns are the
 * OpenAPI path templates ("/v1/vms/{name}"); a {param} matches one path
 * segment.  HEAD is answered wherever GET is and is not listed.
 */
#ifndef VMMAPID_API_ROUTES_H
#define VMMAPID_API_ROUTES_H

#include <stddef.h>

#include "api/api.h"

struct api_route_info {
	const char *ri_pattern;
	enum api_method ri_method;
};

/* Number of (pattern, method) pairs in the table. */
size_t api_routes_count(void);

/* The i-th pair, 0 <= i < api_routes_count(). */
struct api_route_info api_routes_at(size_t i);

/*
 * The index in the table of rq's route (api_routes_at's i), or
 * api_routes_count() when it matched none: what /metrics counts by.
 */
size_t api_route_index(const struct api_request *rq);

/*
 * Checks the table once at start-up: well-formed patterns, no pattern and
 * method listed twice, no two patterns that match the same paths.
 * 0, or -1 with a logged reason.
 */
int api_routes_check(void);

#endif
