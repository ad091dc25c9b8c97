/*
 * /v1/tokens and /v1/tokens/{id}: bearer tokens for TCP callers (host
 * root only; the route table says so).
 *
 *   POST /v1/tokens {"uid": 1001, "gids": [1001, 27], "jail": "j1",
 *                    "expires_in": 86400, "description": "ci runner"}
 *
 * Decisions:
 *   - gids defaults to [uid]: the usual user private group.  The first
 *     gid is the token's primary group, the rest its supplementary ones;
 *     at most AUTH_MAX_GIDS, none twice.
 *   - jail is optional; null or "" means outside any jail.  A named jail
 *     must exist when the token is made (400 otherwise); a jail cannot be
 *     deleted while tokens are scoped to it (api/jails.c).
 *   - expires_in is in seconds, 1 to AUTH_EXPIRES_MAX_S; absent or null,
 *     the token never expires.  An expired token is refused (401) and
 *     listed with "expired": true until someone deletes it.
 *   - The secret is in the 201 answer only; it is stored nowhere.
 *   - Unknown members are refused, so a misspelt "expires_in" does not
 *     silently make a token that never expires.
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
#include "core/auth.h"
#include "core/jails.h"
#include "base/timefmt.h"

/* Largest uid or gid a token may carry: (uid_t)-1 means "none". */
#define TOKENS_ID_MAX 4294967294LL

/* A token's representation without its secret; NULL when out of memory. */
static json_t *
tokens_doc(const struct auth_token *tok, int64_t now)
{
	char created[40], expires[40];
	json_t *doc, *gids;
	int i;

	if ((gids = json_array()) == NULL)
		return NULL;
	for (i = 0; i < tok->at_ngids; i++)
		if (json_array_append_new(
			gids, json_integer((json_int_t)tok->at_gids[i])) != 0) {
			json_decref(gids);
			return NULL;
		}
	timefmt_rfc3339(tok->at_created_ms, created, sizeof(created));
	if (tok->at_expires_ms != 0)
		timefmt_rfc3339(tok->at_expires_ms, expires, sizeof(expires));
	doc = json_pack(
	    "{s:s, s:I, s:o, s:s, s:s, s:o, s:b, s:s}", "id", tok->at_id, "uid",
	    (json_int_t)tok->at_uid, "gids", gids, "jail", tok->at_jail,
	    "created_at", created, "expires_at",
	    tok->at_expires_ms != 0 ? json_string(expires) : json_null(),
	    "expired", tok->at_expires_ms != 0 && tok->at_expires_ms <= now,
	    "description", tok->at_description);
	return doc;
}

/* Answers 503 when the daemon runs without a token store. */
static int
tokens_unavailable(const struct api_context *ctx, struct api_response *rs)
{
	if (ctx->ac_auth != NULL)
		return 0;
	problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
		      "this daemon has no token store");
	return 1;
}

/* Answers 400 naming field: "<field>: <detail>". */
static void
tokens_invalid(struct api_response *rs, const char *field, const char *detail)
{
	problem_raise(rs, PROBLEM_VALIDATION, field, "%s: %s", field, detail);
}

/* v as an id (uid, gid) into *out; 0, or -1 when it is not one. */
static int
tokens_id_value(const json_t *v, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TOKENS_ID_MAX)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Fills tok->at_gids from gids (an array), or answers 400. */
static int
tokens_parse_gids(const json_t *gids, struct auth_token *tok,
		  struct api_response *rs)
{
	char field[32];
	long long g;
	size_t i, k;

	if (!json_is_array(gids)) {
		tokens_invalid(rs, "gids", "must be an array of gids");
		return -1;
	}
	if (json_array_size(gids) < 1 ||
	    json_array_size(gids) > AUTH_MAX_GIDS) {
		problem_raise(
		    rs, PROBLEM_VALIDATION, "gids",
		    "gids: has %zu items; from 1 (the primary group) to "
		    "%d are allowed",
		    json_array_size(gids), AUTH_MAX_GIDS);
		return -1;
	}
	for (i = 0; i < json_array_size(gids); i++) {
		snprintf(field, sizeof(field), "gids[%zu]", i);
		if (tokens_id_value(json_array_get(gids, i), &g) != 0) {
			tokens_invalid(rs, field,
				       "must be an integer from 0 to "
				       "4294967294");
			return -1;
		}
		for (k = 0; k < i; k++)
			if (tok->at_gids[k] == (gid_t)g) {
				tokens_invalid(rs, field,
					       "repeats an earlier gid");
				return -1;
			}
		tok->at_gids[i] = (gid_t)g;
	}
	tok->at_ngids = (int)json_array_size(gids);
	return 0;
}

/*
 * Fills tok from a POST body, or answers 400 (or 503) naming the field.
 */
static int
tokens_parse(const struct api_context *ctx, const json_t *body,
	     struct auth_token *tok, struct api_response *rs)
{
	const json_t *v;
	const char *key, *s;
	struct jail_info ji;
	long long n;

	memset(tok, 0, sizeof(*tok));
	if (!json_is_object(body)) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "the document must be a JSON object");
		return -1;
	}
	json_object_foreach ((json_t *)body, key, v) {
		if (strcmp(key, "uid") != 0 && strcmp(key, "gids") != 0 &&
		    strcmp(key, "jail") != 0 &&
		    strcmp(key, "expires_in") != 0 &&
		    strcmp(key, "description") != 0) {
			problem_raise(rs, PROBLEM_VALIDATION, key,
				      "%s: unknown member (known: uid, gids, "
				      "jail, expires_in, description)",
				      key);
			return -1;
		}
	}
	if ((v = json_object_get(body, "uid")) == NULL) {
		tokens_invalid(rs, "uid", "is required");
		return -1;
	}
	if (tokens_id_value(v, &n) != 0) {
		tokens_invalid(rs, "uid",
			       "must be an integer from 0 to "
			       "4294967294");
		return -1;
	}
	tok->at_uid = (uid_t)n;
	if ((v = json_object_get(body, "gids")) != NULL) {
		if (tokens_parse_gids(v, tok, rs) != 0)
			return -1;
	} else {
		tok->at_gids[0] = (gid_t)tok->at_uid;
		tok->at_ngids = 1;
	}
	v = json_object_get(body, "jail");
	if (v != NULL && !json_is_null(v)) {
		s = json_string_value(v);
		if (s == NULL) {
			tokens_invalid(rs, "jail",
				       "must be a jail's name, or null");
			return -1;
		}
		if (s[0] != '\0') {
			if (strlen(s) != json_string_length(v) ||
			    !name_valid(s)) {
				problem_invalid_name(rs, "jail", s);
				return -1;
			}
			if (ctx->ac_jails == NULL ||
			    jails_get(ctx->ac_jails, s, &ji) != 0) {
				problem_raise(
				    rs, PROBLEM_VALIDATION, "jail",
				    "jail: no jail named %s; create it "
				    "first (PUT /v1/jails/%s)",
				    s, s);
				return -1;
			}
			snprintf(tok->at_jail, sizeof(tok->at_jail), "%s", s);
		}
	}
	v = json_object_get(body, "expires_in");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > AUTH_EXPIRES_MAX_S) {
			problem_raise(
			    rs, PROBLEM_VALIDATION, "expires_in",
			    "expires_in: must be an integer number of "
			    "seconds from 1 to %lld, or null for "
			    "never",
			    (long long)AUTH_EXPIRES_MAX_S);
			return -1;
		}
		tok->at_expires_ms =
		    timefmt_now_ms() + (int64_t)json_integer_value(v) * 1000;
	}
	v = json_object_get(body, "description");
	if (v != NULL && !json_is_null(v)) {
		if ((s = json_string_value(v)) == NULL ||
		    strlen(s) != json_string_length(v)) {
			tokens_invalid(rs, "description",
				       "must be a string without NUL "
				       "characters");
			return -1;
		}
		if (strlen(s) > AUTH_DESCRIPTION_MAX) {
			problem_raise(rs, PROBLEM_VALIDATION, "description",
				      "description: is %zu bytes long; at most "
				      "%d are allowed",
				      strlen(s), AUTH_DESCRIPTION_MAX);
			return -1;
		}
		snprintf(tok->at_description, sizeof(tok->at_description), "%s",
			 s);
	}
	return 0;
}

/* api_response_items()'s view of tokens_doc. */
static json_t *
tokens_item(const void *elem, void *arg)
{
	return tokens_doc(elem, *(const int64_t *)arg);
}

void
api_tokens_list(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	struct auth_token *list = NULL;
	int64_t now = timefmt_now_ms();
	size_t n = 0;

	if (tokens_unavailable(ctx, rs))
		return;
	if (auth_token_list(ctx->ac_auth, &list, &n) != 0) {
		problem_errno(rs, errno, "listing tokens failed");
		return;
	}
	api_response_items(rs, list, n, sizeof(*list), tokens_item, &now,
			   "tokens");
	free(list);
}

void
api_tokens_create(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	char secret[AUTH_SECRET_LEN], location[64];
	struct auth_token tok;
	json_t *doc;

	if (tokens_unavailable(ctx, rs))
		return;
	if (tokens_parse(ctx, call->ca_body, &tok, rs) != 0)
		return;
	if (auth_token_add(ctx->ac_auth, &tok, secret) != 0) {
		problem_errno(rs, errno, "creating the token failed: %s",
			      strerror(errno));
		return;
	}
	doc = tokens_doc(&tok, timefmt_now_ms());
	if (doc != NULL &&
	    json_object_set_new(doc, "token", json_string(secret)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	/* The token works already: a 500 here leaves a token nobody knows,
	 * which its listing shows and DELETE removes. */
	api_response_json(rs, 201, doc);
	json_decref(doc);
	explicit_bzero(secret, sizeof(secret));
	if (rs->rs_status == 201) {
		snprintf(location, sizeof(location), "/v1/tokens/%s",
			 tok.at_id);
		api_response_header(rs, "Location", location);
	}
}

void
api_tokens_delete(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	const char *id = call->ca_params[0];

	if (tokens_unavailable(ctx, rs))
		return;
	if (auth_token_remove(ctx->ac_auth, id) != 0) {
		if (errno == ENOENT)
			problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
				      "no token with id %s", id);
		else
			problem_errno(rs, errno, "deleting token %s failed: %s",
				      id, strerror(errno));
		return;
	}
	rs->rs_status = 204;
}

void
api_tokens_get(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const char *id = call->ca_params[0];
	struct auth_token tok;
	json_t *doc;

	if (tokens_unavailable(ctx, rs))
		return;
	if (auth_token_get(ctx->ac_auth, id, &tok) != 0) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "no token with id %s", id);
		return;
	}
	doc = tokens_doc(&tok, timefmt_now_ms());
	api_response_json(rs, 200, doc);
	json_decref(doc);
}
