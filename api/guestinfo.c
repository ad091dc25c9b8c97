/*
 * /v1/vms/{name}/guestinfo: a VM's guestinfo keys, the store its guest
 * reads with `vmware-rpctool "info-get guestinfo.KEY"` (core/guestinfo.h).
 * A key belongs to its VM: the router applies the VM's access rules.
 * Every write is durable before its answer; a key's ETag is its revision.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/limits.h"
#include "base/timefmt.h"
#include "core/guestinfo.h"
#include "core/vmreg.h"
#include "db/db.h"

int
api_guestinfo_keys(const json_t *member, struct db_guestinfo_kv **keys,
		   size_t *n, struct api_response *rs)
{
	const char *key;
	json_t *value;
	char why[128], field[LIMIT_GUESTINFO_KEY_LEN + 16];
	size_t i = 0;

	*keys = NULL;
	*n = 0;
	if (member == NULL)
		return 0;
	if (!json_is_object(member)) {
		problem_raise(rs, PROBLEM_VALIDATION, "guestinfo",
			      "guestinfo: must be an object of key to value");
		return -1;
	}
	if (json_object_size(member) > LIMIT_GUESTINFO_KEYS) {
		problem_raise(rs, PROBLEM_VALIDATION, "guestinfo",
			      "guestinfo: has %zu keys; a VM holds at most %d",
			      json_object_size(member), LIMIT_GUESTINFO_KEYS);
		return -1;
	}
	json_object_foreach ((json_t *)member, key, value) {
		snprintf(field, sizeof(field), "guestinfo.%s", key);
		if (!guestinfo_key_valid(key)) {
			problem_raise(rs, PROBLEM_VALIDATION, field,
				      "%s: not a guestinfo key: a letter or "
				      "digit, then up to %d letters, digits, "
				      "'.', '_' or '-'",
				      field, LIMIT_GUESTINFO_KEY_LEN - 1);
			return -1;
		}
		if (!json_is_string(value)) {
			problem_raise(rs, PROBLEM_VALIDATION, field,
				      "%s: must be a string", field);
			return -1;
		}
		if (!guestinfo_value_valid(json_string_value(value),
					   json_string_length(value), why,
					   sizeof(why))) {
			problem_raise(rs, PROBLEM_VALIDATION, field, "%s: %s",
				      field, why);
			return -1;
		}
	}
	if (json_object_size(member) == 0)
		return 0;
	if ((*keys = calloc(json_object_size(member), sizeof(**keys))) ==
	    NULL) {
		problem_errno(rs, ENOMEM, "out of memory for guestinfo");
		return -1;
	}
	json_object_foreach ((json_t *)member, key, value) {
		(*keys)[i].gk_key = key;
		(*keys)[i].gk_value = json_string_value(value);
		(*keys)[i].gk_len = json_string_length(value);
		i++;
	}
	*n = i;
	return 0;
}

int
api_guestinfo_not_here(const json_t *body, struct api_response *rs)
{
	if (json_object_get(body, "guestinfo") == NULL)
		return 0;
	problem_raise(rs, PROBLEM_VALIDATION, "guestinfo",
		      "guestinfo: keys are given when a VM is created (POST "
		      "/v1/vms), then set one by one with PUT "
		      "/v1/vms/{name}/guestinfo/{key}");
	return -1;
}

/* Answers 404 unless call's VM exists: 0 when it does. */
static int
guestinfo_vm(const struct api_context *ctx, const struct api_call *call,
	     struct api_response *rs)
{
	char jail[65];
	uid_t owner;

	if (vmreg_get_owner(ctx->ac_vmreg, call->ca_vm, &owner, jail) == 0)
		return 0;
	problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no VM named %s",
		      call->ca_params[0]);
	return -1;
}

/* Answers 400 unless key is a key: 0 when it is. */
static int
guestinfo_key(const char *key, struct api_response *rs)
{
	if (guestinfo_key_valid(key))
		return 0;
	problem_raise(rs, PROBLEM_VALIDATION, "key",
		      "key: \"%s\" is not a guestinfo key: a letter or digit, "
		      "then up to %d letters, digits, '.', '_' or '-' (the "
		      "part after \"guestinfo.\")",
		      key, LIMIT_GUESTINFO_KEY_LEN - 1);
	return -1;
}

/* The representation of one key. */
static json_t *
guestinfo_doc(const struct db_guestinfo_row *row)
{
	char updated[40];

	timefmt_rfc3339(row->gr_updated_ms, updated, sizeof(updated));
	return json_pack("{s:s, s:s%, s:s, s:s, s:I}", "key", row->gr_key,
			 "value", row->gr_value, row->gr_len, "updated_at",
			 updated, "updated_by",
			 row->gr_by_guest ? "guest" : "api", "revision",
			 (json_int_t)row->gr_revision);
}

/* Answers status with row's representation and its ETag. */
static void
guestinfo_reply(struct api_response *rs, int status,
		const struct db_guestinfo_row *row)
{
	json_t *doc = guestinfo_doc(row);
	char etag[32];

	api_response_json(rs, status, doc);
	json_decref(doc);
	if (rs->rs_status == status) {
		etag_format(row->gr_revision, etag);
		api_response_header(rs, "ETag", etag);
	}
}

static int
guestinfo_add(void *arg, const struct db_guestinfo_row *row)
{
	json_t *value = json_stringn(row->gr_value, row->gr_len);

	if (value == NULL || json_object_set_new(arg, row->gr_key, value) != 0)
		return -1;
	return 0;
}

void
api_guestinfo_list(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	const char *name = call->ca_params[0];
	json_t *doc;

	if (guestinfo_vm(ctx, call, rs) != 0)
		return;
	if ((doc = json_object()) == NULL ||
	    db_guestinfo_list(ctx->ac_db, call->ca_vm, guestinfo_add, doc) !=
		0) {
		problem_errno(rs, errno != 0 ? errno : ENOMEM,
			      "listing VM %s's guestinfo failed", name);
		json_decref(doc);
		return;
	}
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

void
api_guestinfo_get(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_params[1];
	const char *inm = api_header(call->ca_rq, "If-None-Match");
	struct db_guestinfo_row row;

	if (guestinfo_vm(ctx, call, rs) != 0 || guestinfo_key(key, rs) != 0)
		return;
	if (db_guestinfo_get(ctx->ac_db, call->ca_vm, key, &row) != 0) {
		if (errno == ENOENT)
			problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
				      "VM %s has no guestinfo key %s", name,
				      key);
		else
			problem_errno(rs, errno, "reading key %s failed", key);
		return;
	}
	if (inm != NULL && etag_match(inm, 1, row.gr_revision, 1)) {
		char etag[32];

		rs->rs_status = 304;
		etag_format(row.gr_revision, etag);
		api_response_header(rs, "ETag", etag);
	} else {
		guestinfo_reply(rs, 200, &row);
	}
	db_guestinfo_row_clear(&row);
}

/*
 * The revision a conditional write must find (db_guestinfo_put's
 * expect), from If-Match and If-None-Match against the key as it is now;
 * answers 412 or 400 and returns -1 when the request cannot go on.
 */
static int
guestinfo_precondition(const struct api_context *ctx,
		       const struct api_call *call, const char *name,
		       const char *key, uint64_t *expect,
		       struct api_response *rs)
{
	const char *im = api_header(call->ca_rq, "If-Match");
	const char *inm = api_header(call->ca_rq, "If-None-Match");
	struct db_guestinfo_row row;
	int exists;

	*expect = 0;
	if (inm != NULL && strcmp(inm, "*") != 0) {
		problem_raise(rs, PROBLEM_INVALID_HEADER, "If-None-Match",
			      "a write takes only \"If-None-Match: *\" "
			      "(create only)");
		return -1;
	}
	if (im == NULL && inm == NULL)
		return 0;
	exists = db_guestinfo_get(ctx->ac_db, call->ca_vm, key, &row) == 0;
	if (!exists && errno != ENOENT) {
		problem_errno(rs, errno, "reading key %s failed", key);
		return -1;
	}
	if ((inm != NULL && exists) ||
	    (im != NULL && !etag_match(im, exists, row.gr_revision, 0))) {
		problem_raise(rs, PROBLEM_PRECONDITION_FAILED,
			      inm != NULL ? "If-None-Match" : "If-Match",
			      "guestinfo key %s of VM %s %s", key, name,
			      inm != NULL ? "exists already"
			      : exists    ? "has changed since it was read"
					  : "does not exist");
		if (exists)
			db_guestinfo_row_clear(&row);
		return -1;
	}
	/* The write holds only if the key is still as it was checked. */
	*expect = inm != NULL ? UINT64_MAX : row.gr_revision;
	db_guestinfo_row_clear(&row);
	return 0;
}

/* Answers the problem of a failed write of key. */
static void
guestinfo_write_error(struct api_response *rs, int err, const char *name,
		      const char *key)
{
	switch (err) {
	case ENOENT:
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no guestinfo key %s", name, key);
		break;
	case ESTALE:
		problem_raise(rs, PROBLEM_PRECONDITION_FAILED, "If-Match",
			      "guestinfo key %s of VM %s changed while this "
			      "request was applied",
			      key, name);
		break;
	case EDQUOT:
		problem_raise(rs, PROBLEM_CONFLICT, "key",
			      "VM %s has %d guestinfo keys, the most a VM may "
			      "hold; delete one first",
			      name, LIMIT_GUESTINFO_KEYS);
		break;
	default:
		problem_errno(rs, err, "writing key %s failed", key);
	}
}

void
api_guestinfo_put(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_params[1];
	const json_t *value = json_object_get(call->ca_body, "value");
	struct db_guestinfo_row row;
	uint64_t expect;
	char why[128];
	int created = 0;

	if (guestinfo_vm(ctx, call, rs) != 0 || guestinfo_key(key, rs) != 0)
		return;
	if (!json_is_object(call->ca_body) ||
	    json_object_size(call->ca_body) != (value != NULL ? 1u : 0u)) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "the body is {\"value\": \"...\"} and nothing "
			      "else");
		return;
	}
	if (!json_is_string(value)) {
		problem_raise(rs, PROBLEM_VALIDATION, "value",
			      "value: must be a string");
		return;
	}
	if (!guestinfo_value_valid(json_string_value(value),
				   json_string_length(value), why,
				   sizeof(why))) {
		problem_raise(rs, PROBLEM_VALIDATION, "value", "value: %s",
			      why);
		return;
	}
	if (guestinfo_precondition(ctx, call, name, key, &expect, rs) != 0)
		return;
	memset(&row, 0, sizeof(row));
	snprintf(row.gr_vm, sizeof(row.gr_vm), "%s", call->ca_vm);
	snprintf(row.gr_key, sizeof(row.gr_key), "%s", key);
	row.gr_value = (char *)json_string_value(value); /* borrowed */
	row.gr_len = json_string_length(value);
	if (db_guestinfo_put(ctx->ac_db, &row, expect, &created) != 0) {
		/* The VM went since the look above. */
		if (errno == ENOENT)
			problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
				      "no VM named %s", name);
		else
			guestinfo_write_error(rs, errno, name, key);
		return;
	}
	guestinfo_reply(rs, created ? 201 : 200, &row);
	if (created && rs->rs_status == 201) {
		char sub[LIMIT_GUESTINFO_KEY_LEN + 16],
		    location[API_VM_LOCATION_SIZE(sizeof(sub))];

		snprintf(sub, sizeof(sub), "/guestinfo/%s", key);
		api_vm_location(call->ca_rq, call->ca_vm, sub, location,
				sizeof(location));
		api_response_header(rs, "Location", location);
	}
}

void
api_guestinfo_delete(const struct api_context *ctx, const struct api_call *call,
		     struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_params[1];
	uint64_t expect;

	if (guestinfo_vm(ctx, call, rs) != 0 || guestinfo_key(key, rs) != 0)
		return;
	if (api_header(call->ca_rq, "If-None-Match") != NULL) {
		problem_raise(rs, PROBLEM_INVALID_HEADER, "If-None-Match",
			      "DELETE takes If-Match, not If-None-Match");
		return;
	}
	if (guestinfo_precondition(ctx, call, name, key, &expect, rs) != 0)
		return;
	if (db_guestinfo_delete(ctx->ac_db, call->ca_vm, key, expect) != 0) {
		guestinfo_write_error(rs, errno, name, key);
		return;
	}
	rs->rs_status = 204;
}
