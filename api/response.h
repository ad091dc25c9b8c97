/* Building responses: JSON bodies, cached bodies, ETags. */
#ifndef VMMAPID_API_RESPONSE_H
#define VMMAPID_API_RESPONSE_H

#include <stdint.h>

#include <jansson.h>

#include "api/api.h"

/*
 * Sets status and a compact JSON body serialized from doc (borrowed).
 * doc NULL (an allocation failed upstream) gives a 500.
 */
void api_response_json(struct api_response *rs, int status, const json_t *doc);

/*
 * Sets status and takes ownership of a JSON body already serialized
 * (malloc'd); a newline is added at its end unless it has one.
 */
void api_response_take(struct api_response *rs, int status, char *body,
		       size_t len);

/*
 * Answers 200 {"items": [...]}: doc(element, arg) for each of the n
 * elements of list (size bytes each), or a 500 problem "out of memory
 * listing what" when an item cannot be made.  list stays the caller's.
 */
void api_response_items(struct api_response *rs, const void *list, size_t n,
			size_t size,
			json_t *(*doc)(const void *elem, void *arg), void *arg,
			const char *what);

/* Formats the ETag of a revision: "\"<revision>\"". */
void etag_format(uint64_t revision, char buf[32]);

/*
 * Whether an If-Match / If-None-Match header value (a comma-separated list
 * of entity tags, or "*") matches revision.  exists: whether the resource
 * exists ("*" matches any existing resource; nothing matches a missing one).
 * Weak tags (W/"...") compare equal to strong ones when weak is set
 * (If-None-Match uses weak comparison, If-Match strong: RFC 9110 13.1).
 */
int etag_match(const char *header, int exists, uint64_t revision, int weak);

/* The same, against want, a whole entity tag with its quotes. */
int etag_match_tag(const char *header, int exists, const char *want, int weak);

/*
 * Whether an If-Match header value names, with a strong tag, a revision
 * from first to last (both included), or is "*" for an existing
 * resource.  A VM write's precondition is about its definition: every
 * revision since the one that wrote the current spec matches.
 */
int etag_match_since(const char *header, int exists, uint64_t first,
		     uint64_t last);

/*
 * etag_match_since, where a revision gone(arg, revision) answers 1 for
 * (one a restore left out, db_lost) matches nothing.
 */
int etag_match_since_except(const char *header, int exists, uint64_t first,
			    uint64_t last, int (*gone)(const void *, uint64_t),
			    const void *arg);

#endif
