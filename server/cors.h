/*
 * Cross-origin requests from browsers (--cors-origin): the origins that
 * may call, and the headers their requests and preflights get.  None by
 * default: then no response carries an Access-Control-* header.
 *
 * Locking: one rwlock guards the set; SIGHUP replaces it while requests
 * read it.
 */
#ifndef VMMAPID_SERVER_CORS_H
#define VMMAPID_SERVER_CORS_H

/* Replaces the allowed origins with a copy of origins[0..n-1]. -1 ENOMEM
 * (the set is then unchanged). */
int cors_set(char *const *origins, int n);

/* Frees the set (at exit). */
void cors_clear(void);

/* Whether any origin is allowed. */
int cors_enabled(void);

/* Whether origin (an Origin header's value, or NULL) is allowed: exact,
 * case-sensitive comparison, as RFC 6454 serializes origins. */
int cors_allowed(const char *origin);

/*
 * The Access-Control-Allow-Methods of a preflight for a path that answers
 * the methods in allowed (enum api_method bits), into buf.
 */
void cors_methods(unsigned allowed, char *buf, unsigned len);

/*
 * What a preflight allows and how long a browser may keep its answer.
 * Last-Event-ID is not CORS-safelisted: a fetch()-based event stream
 * client (one that sends Authorization) resumes with it after a preflight.
 */
#define CORS_ALLOW_HEADERS                                                     \
	"Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID"
#define CORS_EXPOSE_HEADERS                                                    \
	"ETag, Location, Allow, Retry-After, WWW-Authenticate, "               \
	"Vmmapid-Unchanged"
#define CORS_MAX_AGE "600"

#endif
