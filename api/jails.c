/*
 * /v1/jails and /v1/jails/{name}: jails, their permissions and their
 * sockets (host root only; the route table says so).
 *
 *   PUT /v1/jails/j1 {"allow_vmm": true, "allow_vmm_ppt": false,
 *                     "socket": "/var/run/vmmapid/j1.sock"}
 *
 * Decisions:
 *   - PUT is a whole replacement: an absent flag is false, an absent or
 *     null socket means none.  "name" may be sent (it must match the URL)
 *     and "created_at" is ignored, so a GET's answer can be PUT back.
 *   - allow_vmm_ppt needs allow_vmm: passthrough without VMs means
 *     nothing, and FreeBSD's allow.vmm gates both.
 *   - The socket is bound before anything is stored, and the jail's old
 *     socket (on a change) is closed only once the new one listens, so a
 *     PUT that fails leaves the jail as it was: 409 when something else
 *     answers on the path or the path is not a socket, or another jail
 *     has it; 400 when the path cannot be bound (no such directory, no
 *     permission, too long).
 *   - DELETE is refused (409) while VMs live in the jail or tokens are
 *     scoped to it: deleting the jail would leave them in a jail that a
 *     later PUT of the same name would silently hand back its rights.
 *   - Jail writes are serialized (jails_write_lock), so a socket change
 *     and the stored socket cannot cross with another write of a jail.
 */
#include <errno.h>
#include <pthread.h>
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
#include "base/log.h"
#include "base/timefmt.h"
#include "core/vmreg.h"

/*
 * Held by PUT and DELETE from their first read to their last change: the
 * listener, the stored row and the checks of a jail write go together.
 * One daemon has one jail store, so one lock for the process does.
 */
static pthread_mutex_t jails_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* A jail's representation; NULL when out of memory. */
static json_t *
jails_doc(const struct jail_info *ji)
{
	char created[40];

	timefmt_rfc3339(ji->ji_created_ms, created, sizeof(created));
	return json_pack(
	    "{s:s, s:b, s:b, s:o, s:s}", "name", ji->ji_name, "allow_vmm",
	    ji->ji_allow_vmm, "allow_vmm_ppt", ji->ji_allow_vmm_ppt, "socket",
	    ji->ji_socket[0] != '\0' ? json_string(ji->ji_socket) : json_null(),
	    "created_at", created);
}

static int
jails_unavailable(const struct api_context *ctx, struct api_response *rs)
{
	if (ctx->ac_jails != NULL)
		return 0;
	problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
		      "this daemon has no jail store");
	return 1;
}

static void
jails_not_found(struct api_response *rs, const char *name)
{
	problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no jail named %s", name);
}

/* api_response_items()'s view of jails_doc. */
static json_t *
jails_item(const void *elem, void *arg)
{
	return jails_doc(elem);
}

void
api_jails_list(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	struct jail_info *list = NULL;
	size_t n = 0;

	if (jails_unavailable(ctx, rs))
		return;
	if (jails_list(ctx->ac_jails, &list, &n) != 0) {
		problem_errno(rs, errno, "listing jails failed");
		return;
	}
	api_response_items(rs, list, n, sizeof(*list), jails_item, NULL,
			   "jails");
	free(list);
}

void
api_jails_get(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct jail_info ji;
	json_t *doc;

	if (jails_unavailable(ctx, rs))
		return;
	if (jails_get(ctx->ac_jails, name, &ji) != 0) {
		jails_not_found(rs, name);
		return;
	}
	doc = jails_doc(&ji);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

static void
jails_invalid(struct api_response *rs, const char *field, const char *detail)
{
	problem_raise(rs, PROBLEM_VALIDATION, field, "%s: %s", field, detail);
}

/* A boolean member: absent is false.  -1 (answered) when not a boolean. */
static int
jails_flag(const json_t *body, const char *key, int *out,
	   struct api_response *rs)
{
	const json_t *v = json_object_get(body, key);

	if (v == NULL) {
		*out = 0;
		return 0;
	}
	if (!json_is_boolean(v)) {
		jails_invalid(rs, key, "must be true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/*
 * Fills ji from a PUT body for jail name, or answers 400 naming the field.
 */
static int
jails_parse(const json_t *body, const char *name, struct jail_info *ji,
	    struct api_response *rs)
{
	const json_t *v;
	const char *key, *s;

	memset(ji, 0, sizeof(*ji));
	if (!name_valid(name)) {
		problem_invalid_name(rs, "name", name);
		return -1;
	}
	snprintf(ji->ji_name, sizeof(ji->ji_name), "%s", name);
	if (!json_is_object(body)) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "the document must be a JSON object");
		return -1;
	}
	json_object_foreach ((json_t *)body, key, v) {
		if (strcmp(key, "allow_vmm") != 0 &&
		    strcmp(key, "allow_vmm_ppt") != 0 &&
		    strcmp(key, "socket") != 0 && strcmp(key, "name") != 0 &&
		    strcmp(key, "created_at") != 0) {
			problem_raise(rs, PROBLEM_VALIDATION, key,
				      "%s: unknown member (known: allow_vmm, "
				      "allow_vmm_ppt, socket)",
				      key);
			return -1;
		}
	}
	v = json_object_get(body, "name");
	if (v != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), name) != 0)) {
		problem_raise(rs, PROBLEM_VALIDATION, "name",
			      "name: must be \"%s\", the name in the path, if "
			      "given",
			      name);
		return -1;
	}
	if (jails_flag(body, "allow_vmm", &ji->ji_allow_vmm, rs) != 0 ||
	    jails_flag(body, "allow_vmm_ppt", &ji->ji_allow_vmm_ppt, rs) != 0)
		return -1;
	if (ji->ji_allow_vmm_ppt && !ji->ji_allow_vmm) {
		jails_invalid(rs, "allow_vmm_ppt",
			      "passthrough needs allow_vmm too");
		return -1;
	}
	v = json_object_get(body, "socket");
	if (v == NULL || json_is_null(v))
		return 0;
	if ((s = json_string_value(v)) == NULL ||
	    strlen(s) != json_string_length(v) || s[0] != '/') {
		jails_invalid(rs, "socket",
			      "must be the absolute path of a Unix socket, or "
			      "null for none");
		return -1;
	}
	if (strlen(s) >= sizeof(ji->ji_socket)) {
		problem_raise(rs, PROBLEM_VALIDATION, "socket",
			      "socket: is %zu bytes long; a Unix socket path "
			      "has at most %zu",
			      strlen(s), sizeof(ji->ji_socket) - 1);
		return -1;
	}
	snprintf(ji->ji_socket, sizeof(ji->ji_socket), "%s", s);
	return 0;
}

/* Answers 409 when a jail other than ji's has ji's socket. */
static int
jails_socket_taken(const struct api_context *ctx, const struct jail_info *ji,
		   struct api_response *rs)
{
	struct jail_info *list = NULL;
	size_t n = 0, i;
	int taken = 0;

	if (jails_list(ctx->ac_jails, &list, &n) != 0) {
		problem_errno(rs, errno, "listing jails failed");
		return 1;
	}
	for (i = 0; i < n && !taken; i++)
		if (strcmp(list[i].ji_name, ji->ji_name) != 0 &&
		    strcmp(list[i].ji_socket, ji->ji_socket) == 0) {
			problem_raise(rs, PROBLEM_CONFLICT, "socket",
				      "socket: jail %s already listens on %s",
				      list[i].ji_name, ji->ji_socket);
			taken = 1;
		}
	free(list);
	return taken;
}

/* Answers why the socket of ji could not be listened on (err). */
static void
jails_listen_problem(struct api_response *rs, const struct jail_info *ji,
		     int err)
{
	switch (err) {
	case EADDRINUSE:
		problem_raise(rs, PROBLEM_CONFLICT, "socket",
			      "socket: something already answers on %s",
			      ji->ji_socket);
		break;
	case EEXIST:
		problem_raise(rs, PROBLEM_CONFLICT, "socket",
			      "socket: %s exists and is not a socket",
			      ji->ji_socket);
		break;
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case EPERM:
	case EROFS:
	case ENAMETOOLONG:
	case EINVAL:
	case ELOOP:
		problem_raise(rs, PROBLEM_VALIDATION, "socket",
			      "socket: cannot listen on %s: %s", ji->ji_socket,
			      strerror(err));
		break;
	case ESHUTDOWN:
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "the daemon is not serving jail sockets now "
			      "(starting or stopping)");
		break;
	default:
		problem_errno(rs, err, "listening on %s for jail %s: %s",
			      ji->ji_socket, ji->ji_name, strerror(err));
	}
}

/*
 * After a failed write, puts jail name's listener back as it was: on
 * old's socket when the jail existed (had) with one, else none.
 */
static void
jails_listener_restore(const struct api_context *ctx, const char *name,
		       const struct jail_info *old, int had)
{
	if (had && old->ji_socket[0] != '\0') {
		if (ctx->ac_jail_listen(ctx->ac_listen_cls, name,
					old->ji_socket) != 0)
			log_warn("jail %s: listening again on %s", name,
				 old->ji_socket);
	} else if (ctx->ac_jail_unlisten != NULL) {
		ctx->ac_jail_unlisten(ctx->ac_listen_cls, name);
	}
}

void
api_jails_put(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct jail_info ji, old, stored;
	char location[LIMIT_NAME_LEN + 16];
	int had, created = 0, listened = 0, err;
	json_t *doc;

	if (jails_unavailable(ctx, rs))
		return;
	if (jails_parse(call->ca_body, name, &ji, rs) != 0)
		return;
	if (ji.ji_socket[0] != '\0' && ctx->ac_jail_listen == NULL) {
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "this daemon cannot listen for jails");
		return;
	}
	pthread_mutex_lock(&jails_write_lock);
	had = jails_get(ctx->ac_jails, name, &old) == 0;
	if (ji.ji_socket[0] != '\0') {
		if (jails_socket_taken(ctx, &ji, rs))
			goto out;
		/* Binds a new socket, or keeps (or retries) the same one. */
		if (ctx->ac_jail_listen(ctx->ac_listen_cls, name,
					ji.ji_socket) != 0) {
			jails_listen_problem(rs, &ji, errno);
			goto out;
		}
		listened = !had || strcmp(old.ji_socket, ji.ji_socket) != 0;
	}
	if (jails_put(ctx->ac_jails, &ji, &created) != 0) {
		err = errno;
		if (listened)
			jails_listener_restore(ctx, name, &old, had);
		if (err == EEXIST)
			problem_raise(rs, PROBLEM_CONFLICT, "socket",
				      "socket: another jail listens on %s",
				      ji.ji_socket);
		else
			problem_errno(rs, err, "storing jail %s failed: %s",
				      name, strerror(err));
		goto out;
	}
	if (ji.ji_socket[0] == '\0' && ctx->ac_jail_unlisten != NULL)
		ctx->ac_jail_unlisten(ctx->ac_listen_cls, name);
	if (jails_get(ctx->ac_jails, name, &stored) != 0)
		stored = ji;
	doc = jails_doc(&stored);
	api_response_json(rs, created ? 201 : 200, doc);
	json_decref(doc);
	if (created && rs->rs_status == 201) {
		snprintf(location, sizeof(location), "/v1/jails/%s", name);
		api_response_header(rs, "Location", location);
	}
out:
	pthread_mutex_unlock(&jails_write_lock);
}

void
api_jails_delete(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct jail_info ji;
	size_t nvms = 0, ntokens = 0;

	if (jails_unavailable(ctx, rs))
		return;
	pthread_mutex_lock(&jails_write_lock);
	if (jails_get(ctx->ac_jails, name, &ji) != 0) {
		jails_not_found(rs, name);
		goto out;
	}
	if (ctx->ac_vmreg != NULL)
		(void)vmreg_count_in_jail(ctx->ac_vmreg, name, &nvms);
	if (nvms > 0) {
		problem_raise(rs, PROBLEM_CONFLICT, NULL,
			      "%zu VM%s live%s in jail %s; delete %s first",
			      nvms, nvms == 1 ? "" : "s", nvms == 1 ? "s" : "",
			      name, nvms == 1 ? "it" : "them");
		goto out;
	}
	if (ctx->ac_auth != NULL)
		ntokens = auth_token_count_in_jail(ctx->ac_auth, name);
	if (ntokens > 0) {
		problem_raise(rs, PROBLEM_CONFLICT, NULL,
			      "%zu token%s %s scoped to jail %s; delete %s "
			      "first (DELETE /v1/tokens/{id})",
			      ntokens, ntokens == 1 ? "" : "s",
			      ntokens == 1 ? "is" : "are", name,
			      ntokens == 1 ? "it" : "them");
		goto out;
	}
	if (jails_delete(ctx->ac_jails, name) != 0) {
		if (errno == ENOENT)
			jails_not_found(rs, name);
		else
			problem_errno(rs, errno, "deleting jail %s failed: %s",
				      name, strerror(errno));
		goto out;
	}
	/* Stored first: a listener stopped for a jail that stays would need
	 * restarting, which can fail. */
	if (ctx->ac_jail_unlisten != NULL)
		ctx->ac_jail_unlisten(ctx->ac_listen_cls, name);
	rs->rs_status = 204;
out:
	pthread_mutex_unlock(&jails_write_lock);
}
