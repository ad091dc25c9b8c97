/*
 * Handlers of the route table (api/router.c).  Each answers one matched
 * request: the router has already checked the method, authentication, the
 * Content-Type and parsed the body, which it lends as call->ca_body.
 */
#ifndef VMMAPID_API_HANDLERS_H
#define VMMAPID_API_HANDLERS_H

#include <jansson.h>

#include "api/api.h"
#include "api/limits.h"

#define API_MAX_PARAMS 4

struct api_call {
	const struct api_request *ca_rq;
	const json_t *ca_body; /* borrowed; NULL for routes without a body */
	const char *ca_params[API_MAX_PARAMS]; /* {param}s in path order */
	char ca_param_buf[LIMIT_URL_LEN];
};

typedef void (*api_handler)(const struct api_context *ctx,
			    const struct api_call *call,
			    struct api_response *rs);

/* api/host.c */
void api_host_root(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_host_health(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_host_openapi(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/vms.c */
void api_vms_list(const struct api_context *, const struct api_call *,
		  struct api_response *);
void api_vms_create(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_vms_get(const struct api_context *, const struct api_call *,
		 struct api_response *);
void api_vms_put(const struct api_context *, const struct api_call *,
		 struct api_response *);
void api_vms_patch(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_delete(const struct api_context *, const struct api_call *,
		    struct api_response *);

/* api/lifecycle.c */
void api_vms_start(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_stop(const struct api_context *, const struct api_call *,
		  struct api_response *);
void api_vms_reset(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_pause(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_resume(const struct api_context *, const struct api_call *,
		    struct api_response *);

/* api/console.c */
void api_console_get(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_console_post(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/images.c */
void api_images_list(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_images_get(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_images_put(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_images_delete(const struct api_context *, const struct api_call *,
		       struct api_response *);

/* The value of query argument key (the first if repeated), or NULL. */
const char *api_query(const struct api_request *rq, const char *key);

/* The value of request header name, or NULL. */
const char *api_header(const struct api_request *rq, const char *name);

#endif
