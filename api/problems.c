/*
 * GET /v1/problems, /v1/problems/{slug}: the problem catalogue, so that a
 * problem's `type` ("/v1/problems/<slug>") leads to its explanation on the
 * daemon that sent it.  Public, like /v1/health: the text is the same for
 * every caller and names nothing of theirs.
 */
#include <stdio.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"

static json_t *
problems_doc(enum problem_kind k)
{
	const struct problem_def *pd = &problem_catalogue[k];
	char type[64];

	snprintf(type, sizeof(type), "/v1/problems/%s", pd->pd_slug);
	return json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "slug",
			 pd->pd_slug, "status", pd->pd_status, "title",
			 pd->pd_title, "description", pd->pd_about);
}

void
api_problems_list(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	json_t *items = json_array(), *doc;
	int k;

	for (k = 0; k < PROBLEM_NKINDS; k++)
		json_array_append_new(items, problems_doc(k));
	doc = json_pack("{s:o}", "items", items);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

void
api_problems_get(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	const char *slug = call->ca_params[0];
	int k = problem_kind_by_slug(slug);
	json_t *doc;

	if (k < 0) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "no problem type %s; GET /v1/problems lists them",
			      slug);
		return;
	}
	doc = problems_doc(k);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}
