/*
 * /v1/images and /v1/images/{name}: the image store (core/images.c).
 *
 * PUT takes the raw bytes of the image as its body, whatever its
 * Content-Type; server/ has spooled it to a file in the store's directory
 * (rq_body_fd), which images_put hashes and renames into place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "base/limits.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/names.h"
#include "core/images.h"
#include "db/db.h"
#include "base/timefmt.h"

/* An image's representation: a new reference, NULL when out of memory. */
static json_t *
images_doc(const struct image_info *info)
{
	char created[40];

	timefmt_rfc3339(info->ii_created_ms, created, sizeof(created));
	return json_pack("{s:s, s:I, s:s, s:s, s:b}", "name", info->ii_name,
			 "size", (json_int_t)info->ii_size, "sha256",
			 info->ii_sha256, "created_at", created, "in_use",
			 info->ii_pins > 0);
}

/* Answers 503 when the daemon runs without an image store. */
static int
images_unavailable(const struct api_context *ctx, struct api_response *rs)
{
	if (ctx->ac_images != NULL)
		return 0;
	problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
		      "this daemon has no image store");
	return 1;
}

static void
images_error(struct api_response *rs, int err, const char *name,
	     const char *doing)
{
	switch (err) {
	case ENOENT:
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no image named %s",
			      name);
		break;
	case EBUSY:
		problem_raise(rs, PROBLEM_CONFLICT, NULL,
			      "image %s is used by a running VM", name);
		break;
	default:
		problem_errno(rs, err, "%s image %s failed: %s", doing, name,
			      strerror(err));
	}
}

/* api_response_items()'s view of images_doc. */
static json_t *
images_item(const void *elem, void *arg)
{
	return images_doc(elem);
}

void
api_images_list(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	struct image_info *list = NULL;
	size_t n = 0;

	if (images_unavailable(ctx, rs))
		return;
	if (images_list(ctx->ac_images, &list, &n) != 0) {
		problem_errno(rs, errno, "listing images failed");
		return;
	}
	api_response_items(rs, list, n, sizeof(*list), images_item, NULL,
			   "images");
	free(list);
}

void
api_images_get(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct image_info info;
	json_t *doc;

	if (images_unavailable(ctx, rs))
		return;
	if (images_get(ctx->ac_images, name, &info) != 0) {
		images_error(rs, errno, name, "reading");
		return;
	}
	/* api_response_json answers 500 for NULL */
	doc = images_doc(&info);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

/*
 * The free-space floor; see handlers.h.  Past it the disk is not full yet:
 * what is left is for deletes, and for the writes of VMs that exist
 * (state changes, guestinfo), which are small.
 */
int
api_space_ok(const struct api_context *ctx, struct api_response *rs,
	     const char *what)
{
	if (ctx->ac_db == NULL || ctx->ac_disk_reserve == 0 ||
	    db_space_check(ctx->ac_db, ctx->ac_disk_reserve) == 0)
		return 0;
	problem_raise(rs, PROBLEM_INSUFFICIENT_STORAGE, NULL,
		      "%s is refused: the state file system has %llu MiB free, "
		      "less than the %llu MiB kept for deletes "
		      "(--disk-reserve-mib); delete VMs or images, or free "
		      "space on it",
		      what,
		      (unsigned long long)(db_space_free(ctx->ac_db) >> 20),
		      (unsigned long long)(ctx->ac_disk_reserve >> 20));
	return -1;
}

void
api_images_put(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	const char *name = call->ca_params[0];
	char location[LIMIT_NAME_LEN + 16];
	struct image_info info;
	json_t *doc;
	int created = 0;

	if (images_unavailable(ctx, rs))
		return;
	if (!name_valid(name)) {
		problem_invalid_name(rs, "name", name);
		return;
	}
	if (rq->rq_body_fd < 0 || rq->rq_body_len == 0) {
		problem_raise(rs, PROBLEM_BODY_REQUIRED, NULL,
			      "PUT %s needs the image's bytes as its body",
			      rq->rq_path);
		return;
	}
	if (api_space_ok(ctx, rs, "storing an image") != 0)
		return;
	if (images_put(ctx->ac_images, name, rq->rq_body_fd, rq->rq_body_path,
		       rq->rq_body_len, &info, &created) != 0) {
		/* server/ removes the spool file */
		images_error(rs, errno, name, "storing");
		return;
	}
	doc = images_doc(&info);
	api_response_json(rs, created ? 201 : 200, doc);
	json_decref(doc);
	if (created && rs->rs_status == 201) {
		snprintf(location, sizeof(location), "/v1/images/%s", name);
		api_response_header(rs, "Location", location);
	}
}

void
api_images_delete(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	const char *name = call->ca_params[0];

	if (images_unavailable(ctx, rs))
		return;
	if (images_delete(ctx->ac_images, name) != 0) {
		images_error(rs, errno, name, "deleting");
		return;
	}
	rs->rs_status = 204;
}
