/*
 * /v1/vms and /v1/vms/{name}: VM definitions.
 *
 * Conditional requests: every representation carries an ETag made of the
 * VM's revision; If-Match makes a write conditional on the definition
 * that tag showed (412 once the spec changed since, or the VM was
 * deleted: a start or stop in between is no reason to refuse),
 * If-None-Match turns a read into a 304 and "If-None-Match: *" a PUT into
 * create-only.  Writes without a precondition that race with another write
 * are retried on the newest version, so they behave as if serialized.
 *
 * Who may write is decided on the version written, not only on the one
 * the router saw: between the router's check and the write, the VM may
 * have been deleted and defined again by someone else (a PUT checked as a
 * definition became a replace of another member's VM; a DELETE removed
 * another member's new VM).  Each write reads the VM's owner, jail and
 * revision in one look (vmreg_get_spec_owned), checks the policy on them,
 * and writes with that revision expected: a revision is never given
 * twice and an owner never changes, so the write lands on the version
 * checked or fails and is tried again from the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "base/limits.h"
#include "api/policy.h"
#include "api/problem.h"
#include "api/response.h"
#include "api/vm_spec.h"
#include "base/names.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "db/db.h"

/* Attempts of a write without precondition that keeps losing races. */
#define VMS_WRITE_RETRIES 8

/* A revision a restore left out (db_lost): etag_match_since_except's. */
static int
vms_revision_gone(const void *db, uint64_t revision)
{
	return db_lost(db, DB_LOST_REVISION, revision);
}

/*
 * If-Match on a VM write: a revision from the one that wrote the spec to
 * the newest, but none a restore left out (those were another
 * timeline's, and may be this one's numbers for other definitions).
 */
static int
vms_if_match(const struct api_context *ctx, const char *if_match, int exists,
	     uint64_t spec_rev, uint64_t rev)
{
	return etag_match_since_except(if_match, exists, spec_rev, rev,
				       vms_revision_gone, ctx->ac_db);
}

static void
vms_limits(const struct api_context *ctx, struct vm_spec_limits *lim)
{
	lim->sl_max_vcpus = ctx->ac_max_vcpus;
	lim->sl_max_memory_mib = ctx->ac_max_memory_mib;
}

/*
 * Answers a representation with its ETag (and Location when created: the
 * VM of key as rq's caller names it).
 */
static void
vms_reply_doc(struct api_response *rs, int status, struct vmreg_doc *doc,
	      const struct api_request *rq, const char *key)
{
	char etag[32], location[API_VM_LOCATION_SIZE(0)];

	api_response_take(rs, status, doc->vd_body, doc->vd_len);
	doc->vd_body = NULL;
	etag_format(doc->vd_revision, etag);
	api_response_header(rs, "ETag", etag);
	if (status == 201) {
		api_vm_location(rq, key, "", location, sizeof(location));
		api_response_header(rs, "Location", location);
	}
}

static void
vms_spec_problem(struct api_response *rs, const struct vm_spec_error *err)
{
	if (errno == ENOMEM) {
		problem_errno(rs, ENOMEM, "out of memory validating a spec");
		return;
	}
	/* A problem with the whole document names no field. */
	problem_raise(rs, PROBLEM_VALIDATION,
		      err->se_field[0] ? err->se_field : NULL, "%s: %s",
		      err->se_field[0] ? err->se_field : "the document",
		      err->se_detail);
}

static void
vms_precondition_failed(struct api_response *rs, const char *header,
			const char *name)
{
	problem_raise(rs, PROBLEM_PRECONDITION_FAILED, NULL,
		      "%s does not match the current version of VM %s", header,
		      name);
}

struct vms_visibility {
	const struct api_context *vv_ctx;
	const struct principal *vv_pr;
};

static int
vms_visible(void *cls, uid_t owner_uid, const char *jail)
{
	struct vms_visibility *vv = cls;
	struct policy_vm vm = {NULL, owner_uid, jail, 0};

	return policy_vm_visible(vv->vv_ctx->ac_policy, vv->vv_pr, &vm);
}

/* FNV-1a, 64 bits, over n bytes of p, continuing from h. */
static uint64_t
vms_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The ETag of a list (RFC 9110 section 8.8.3), strong: a list's body is
 * a function of the registry's records, the query and who asks (what the
 * policy lets them see), and the tag names all three.
 *   - the registry's version (vmreg_list_version): the newest revision
 *     and the count of records put or removed, so a delete moves it too;
 *   - this process's start (ac_started_at_ms): that count starts again
 *     at each start, so tags of an earlier run never match;
 *   - a hash of the query arguments, as given, and of the principal
 *     (uid, groups, jail): another page, filter or caller, another tag.
 * Read before the body is built, so a change in between gives a tag
 * older than the body, never newer: the next request then gets 200.
 */
static void
vms_list_etag(const struct api_context *ctx, const struct api_request *rq,
	      char *buf, size_t len)
{
	const struct principal *pr = &rq->rq_principal;
	uint64_t newest, changes, h = 0xcbf29ce484222325ULL;
	int i;

	vmreg_list_version(ctx->ac_vmreg, &newest, &changes);
	for (i = 0; i < rq->rq_nquery; i++) {
		const char *v = rq->rq_query[i].kv_value;

		h = vms_fnv(h, rq->rq_query[i].kv_key,
			    strlen(rq->rq_query[i].kv_key) + 1);
		h = vms_fnv(h, v != NULL ? v : "",
			    v != NULL ? strlen(v) + 1 : 1);
	}
	h = vms_fnv(h, &pr->pr_known, sizeof(pr->pr_known));
	h = vms_fnv(h, &pr->pr_uid, sizeof(pr->pr_uid));
	h = vms_fnv(h, &pr->pr_gid, sizeof(pr->pr_gid));
	h = vms_fnv(h, pr->pr_groups,
		    (size_t)pr->pr_ngroups * sizeof(pr->pr_groups[0]));
	h = vms_fnv(h, pr->pr_jail, strlen(pr->pr_jail));
	snprintf(buf, len, "\"%llu.%llu.%llx.%016llx\"",
		 (unsigned long long)newest, (unsigned long long)changes,
		 (unsigned long long)ctx->ac_started_at_ms,
		 (unsigned long long)h);
}

/*
 * A spec with PCI passthrough devices needs the passthrough permission,
 * and may name only reserved devices (api/pptdevs.c).  0, or -1 with the
 * 403 or 422 answered.
 */
static int
vms_ppt_allowed(const struct api_context *ctx, const struct api_call *call,
		const struct vm_spec *spec, const json_t *doc,
		struct api_response *rs)
{
	char why[256];

	if (ctx->ac_policy == NULL || spec->vs_npptdevs == 0 ||
	    policy_check(ctx->ac_policy, &call->ca_rq->rq_principal, POL_PPT,
			 NULL, why, sizeof(why)) == 0)
		return api_pptdevs_spec_ok(ctx, doc, rs);
	problem_raise(rs, PROBLEM_FORBIDDEN, "pptdevs", "%s", why);
	return -1;
}

/*
 * "autostart": true makes the daemon start the VM detached at start-up,
 * which only an owner who may start it detached may ask for (owner uid
 * in jail: the caller for a new VM, the VM's creator for a change).  0,
 * or -1 with the 403 answered.
 */
static int
vms_autostart_allowed(const struct api_context *ctx, const char *name,
		      const struct vm_spec *spec, uid_t owner, const char *jail,
		      struct api_response *rs)
{
	unsigned max_runs;
	char why[512];

	if (ctx->ac_policy == NULL || !spec->vs_autostart ||
	    policy_check_autostart(ctx->ac_policy, name, owner, jail, &max_runs,
				   why, sizeof(why)) == 0)
		return 0;
	problem_raise(rs, PROBLEM_FORBIDDEN, "autostart", "%s", why);
	return -1;
}

/*
 * A list's cursor ?after= as the key it stands for: a VM name in the one
 * scope listed (jail), or a key when every scope is (jail NULL).
 * Anything else was never handed out, and is a mistake to say so: 0, or
 * -1 with the 400 answered.
 */
static int
vms_cursor(const char *jail, const char *after, char key[VMKEY_SIZE],
	   struct api_response *rs)
{
	char scope[LIMIT_NAME_LEN + 1] = "";
	const char *name = after, *slash = strchr(after, '/');

	if (jail == NULL && slash != NULL &&
	    (size_t)(slash - after) < sizeof(scope)) {
		vmkey_jail(after, scope);
		name = vmkey_name(after);
		jail = scope;
		if (scope[0] == '\0')
			name = after; /* "/x": no jail, not a cursor */
	}
	if (vmkey_make(key, jail, name) == 0)
		return 0;
	problem_raise(rs, PROBLEM_INVALID_QUERY, "after",
		      "after must be the \"next\" of the previous page (a "
		      "VM name%s), not \"%s\"",
		      jail == NULL ? ", or JAIL/NAME for a jail's VM" : "",
		      after);
	return -1;
}

void
api_vms_list(const struct api_context *ctx, const struct api_call *call,
	     struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	struct vmreg_label labels[LIMIT_LABEL_FILTERS];
	char label_buf[LIMIT_LABEL_FILTERS][LIMIT_LABEL_KEY_LEN + 1];
	struct vmreg_filter f = {.vf_labels = labels,
				 .vf_limit = LIMIT_PAGE_DEFAULT};
	const struct principal *pr = &rq->rq_principal;
	struct vms_visibility vis;
	enum vm_state want;
	const char *inm, *after = NULL;
	char *body, *end, etag[96], jail[LIMIT_NAME_LEN + 1];
	char cursor[VMKEY_SIZE];
	size_t len;
	int q, scope;

	for (q = 0; q < rq->rq_nquery; q++) {
		const char *k = rq->rq_query[q].kv_key;
		const char *v = rq->rq_query[q].kv_value;

		if (v == NULL)
			v = "";
		if (strcmp(k, "limit") == 0) {
			unsigned long n;

			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno != 0 || *v < '0' || *v > '9' ||
			    *end != '\0' || n < 1 || n > LIMIT_PAGE_MAX) {
				problem_raise(
				    rs, PROBLEM_INVALID_QUERY, "limit",
				    "limit must be an integer from 1 to "
				    "%d, not \"%s\"",
				    LIMIT_PAGE_MAX, v);
				return;
			}
			f.vf_limit = n;
		} else if (strcmp(k, "after") == 0) {
			after = v;
		} else if (strcmp(k, "state") == 0) {
			if (vm_state_parse(v, &want) != 0) {
				problem_raise(rs, PROBLEM_INVALID_QUERY,
					      "state",
					      "state must be one of %s; not "
					      "\"%s\"",
					      vm_state_names(), v);
				return;
			}
			f.vf_state = &want;
		} else if (strcmp(k, "label") == 0) {
			const char *eq = strchr(v, '=');
			size_t klen = eq != NULL ? (size_t)(eq - v) : 0;

			if (eq == NULL || klen == 0 ||
			    klen > LIMIT_LABEL_KEY_LEN) {
				problem_raise(rs, PROBLEM_INVALID_QUERY,
					      "label",
					      "label must be key=value with a "
					      "key of 1 to %d characters, not "
					      "\"%s\"",
					      LIMIT_LABEL_KEY_LEN, v);
				return;
			}
			if (f.vf_nlabels == LIMIT_LABEL_FILTERS) {
				problem_raise(rs, PROBLEM_INVALID_QUERY,
					      "label",
					      "at most %d label filters",
					      LIMIT_LABEL_FILTERS);
				return;
			}
			memcpy(label_buf[f.vf_nlabels], v, klen);
			label_buf[f.vf_nlabels][klen] = '\0';
			labels[f.vf_nlabels].vl_key = label_buf[f.vf_nlabels];
			labels[f.vf_nlabels].vl_value = eq + 1;
			f.vf_nlabels++;
		}
		/* The router let through only these and jail. */
	}
	/* One scope: the caller's, or the one ?jail= names (a scope the
	 * caller may not name lists nothing it may see); host root without
	 * ?jail= lists every scope, and its cursors are keys. */
	if ((scope = api_vm_scope(ctx, rq, jail, rs)) < 0)
		return;
	if (scope > 0)
		f.vf_jail = api_query(rq, "jail");
	else if (api_query(rq, "jail") != NULL || !policy_is_host_root(pr))
		f.vf_jail = jail;
	if (after != NULL && vms_cursor(f.vf_jail, after, cursor, rs) != 0)
		return;
	if (after != NULL)
		f.vf_after = cursor;
	/* Callers see the VMs the policy lets them see: filtered, not
	 * refused. */
	vis.vv_ctx = ctx;
	vis.vv_pr = &rq->rq_principal;
	if (ctx->ac_policy != NULL) {
		f.vf_visible = vms_visible;
		f.vf_cls = &vis;
	}
	vms_list_etag(ctx, rq, etag, sizeof(etag));
	if ((inm = api_header(rq, "If-None-Match")) != NULL &&
	    etag_match_tag(inm, 1, etag, 1)) {
		rs->rs_status = 304;
		api_response_header(rs, "ETag", etag);
		return;
	}
	if (vmreg_list(ctx->ac_vmreg, &f, &body, &len) != 0) {
		problem_errno(rs, errno, "listing VMs failed");
		return;
	}
	api_response_take(rs, 200, body, len);
	api_response_header(rs, "ETag", etag);
}

static void
vms_write_error(struct api_response *rs, int err, const char *name)
{
	switch (err) {
	case EEXIST:
		problem_raise(rs, PROBLEM_CONFLICT, "name",
			      "a VM named %s already exists", name);
		break;
	case ENOENT:
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no VM named %s",
			      name);
		break;
	case ESTALE:
		vms_precondition_failed(rs, "If-Match", name);
		break;
	case EBUSY:
		problem_raise(rs, PROBLEM_INVALID_STATE, NULL,
			      "VM %s is running; stop it first", name);
		break;
	case ENOSPC:
		problem_raise(
		    rs, PROBLEM_INSUFFICIENT_STORAGE, NULL,
		    "no room for VM %s: the daemon holds at most %d VMs "
		    "or the disk is full",
		    name, LIMIT_VMS);
		break;
	default:
		problem_errno(rs, err, "writing VM %s failed", name);
	}
}

/* The owner of a VM rq defines in jail (api_vm_scope's): the caller. */
static void
vms_owner(const struct api_request *rq, const char *jail,
	  struct vmreg_owner *owner)
{
	owner->vo_uid = rq->rq_principal.pr_uid;
	owner->vo_gid = rq->rq_principal.pr_gid;
	owner->vo_jail = jail;
}

void
api_vms_create(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	struct vm_spec_limits lim;
	struct vm_spec_error err;
	struct vmreg_owner owner;
	struct vmreg_doc doc = {0};
	struct vm_spec typed;
	struct db_guestinfo_kv *keys = NULL;
	const json_t *gi = json_object_get(call->ca_body, "guestinfo");
	json_t *body = NULL, *spec = NULL;
	const char *name;
	char jail[LIMIT_NAME_LEN + 1], key[VMKEY_SIZE];
	size_t nkeys = 0;
	int scope;

	/* The first guestinfo keys come with the spec, not in it. */
	if (gi != NULL &&
	    ((body = json_copy((json_t *)call->ca_body)) == NULL ||
	     json_object_del(body, "guestinfo") != 0)) {
		problem_errno(rs, ENOMEM, "out of memory");
		goto out;
	}
	vms_limits(ctx, &lim);
	if ((spec = vm_spec_normalize(body != NULL ? body : call->ca_body, NULL,
				      &lim, &typed, &err)) == NULL) {
		vms_spec_problem(rs, &err);
		goto out;
	}
	if (api_space_ok(ctx, rs, "creating a VM") != 0)
		goto out;
	if (api_guestinfo_keys(gi, &keys, &nkeys, rs) != 0)
		goto out;
	name = json_string_value(json_object_get(spec, "name"));
	if ((scope = api_vm_scope(ctx, call->ca_rq, jail, rs)) != 0) {
		if (scope > 0)
			problem_raise(rs, PROBLEM_FORBIDDEN, "jail",
				      "only host root may define VMs in a "
				      "jail not its own");
		goto out;
	}
	if (vmkey_make(key, jail, name) != 0) {
		problem_invalid_name(rs, "name", name);
		goto out;
	}
	if (vms_ppt_allowed(ctx, call, &typed, spec, rs) != 0)
		goto out;
	vms_owner(call->ca_rq, jail, &owner);
	if (vms_autostart_allowed(ctx, name, &typed, owner.vo_uid,
				  owner.vo_jail, rs) != 0)
		goto out;
	if (vmreg_create_keys(ctx->ac_vmreg, key, spec, &owner, keys, nkeys,
			      &doc) != 0)
		vms_write_error(rs, errno, name);
	else
		vms_reply_doc(rs, 201, &doc, call->ca_rq, key);
out:
	free(keys);
	json_decref(spec);
	json_decref(body);
}

void
api_vms_get(const struct api_context *ctx, const struct api_call *call,
	    struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	const char *inm = api_header(call->ca_rq, "If-None-Match");
	struct vmreg_doc doc = {0};
	char etag[32];

	if (vmreg_get(ctx->ac_vmreg, key, &doc) != 0) {
		vms_write_error(rs, errno, name);
		return;
	}
	if (inm != NULL && etag_match(inm, 1, doc.vd_revision, 1)) {
		free(doc.vd_body);
		rs->rs_status = 304;
		etag_format(doc.vd_revision, etag);
		api_response_header(rs, "ETag", etag);
		return;
	}
	vms_reply_doc(rs, 200, &doc, call->ca_rq, key);
}

/*
 * Whether the caller may do action on VM name as just read: a version of
 * (owner, jail), or none (exists 0: a definition).  The same rule and the
 * same answers as the router's check (403, or 404 outside the caller's
 * jail).  0, or -1 with the problem answered.
 */
static int
vms_allowed_on(const struct api_context *ctx, const struct api_call *call,
	       enum policy_action action, const char *name, int exists,
	       uid_t owner, const char *jail, struct api_response *rs)
{
	struct policy_vm vm = {name, owner, jail, 0};
	char why[256];

	if (ctx->ac_policy == NULL)
		return 0; /* tests of the handlers alone */
	if (policy_check(ctx->ac_policy, &call->ca_rq->rq_principal,
			 exists ? action : POL_VM_CREATE, exists ? &vm : NULL,
			 why, sizeof(why)) == 0)
		return 0;
	problem_raise(rs,
		      errno == ENOENT ? PROBLEM_NOT_FOUND : PROBLEM_FORBIDDEN,
		      NULL, "%s", why);
	return -1;
}

/*
 * Writes spec as VM name's new version, honouring the preconditions:
 * if_match (NULL: none) and create_only (If-None-Match: *).
 */
static void
vms_apply(const struct api_context *ctx, const struct api_call *call,
	  const char *name, json_t *spec, const struct vm_spec *typed,
	  const char *if_match, int create_only, struct api_response *rs)
{
	const char *key = call->ca_vm;
	struct vmreg_owner owner;
	struct vmreg_doc doc = {0};
	int attempt;

	if (vms_ppt_allowed(ctx, call, typed, spec, rs) != 0)
		return;
	vms_owner(call->ca_rq, call->ca_vm_jail, &owner);
	for (attempt = 0; attempt < VMS_WRITE_RETRIES; attempt++) {
		json_t *cur = NULL;
		uint64_t rev = 0, spec_rev = 0;
		uid_t uid = 0;
		char jail[65] = "";
		int exists =
		    vmreg_get_spec_owned(ctx->ac_vmreg, key, &cur, &rev,
					 &spec_rev, &uid, jail) == 0;

		if ((create_only && exists) ||
		    (if_match != NULL &&
		     !vms_if_match(ctx, if_match, exists, spec_rev, rev))) {
			json_decref(cur);
			vms_precondition_failed(
			    rs, create_only ? "If-None-Match" : "If-Match",
			    name);
			return;
		}
		/* A replace of this version, or a definition. */
		if (vms_allowed_on(ctx, call, POL_VM_WRITE, name, exists, uid,
				   jail, rs) != 0 ||
		    vms_autostart_allowed(
			ctx, name, typed, exists ? uid : owner.vo_uid,
			exists ? jail : owner.vo_jail, rs) != 0) {
			json_decref(cur);
			return;
		}
		if (exists && json_equal(cur, (json_t *)spec)) {
			/* Applying what is there changes nothing. */
			json_decref(cur);
			if (vmreg_get(ctx->ac_vmreg, key, &doc) == 0) {
				if (doc.vd_revision == rev) {
					vms_reply_doc(rs, 200, &doc,
						      call->ca_rq, key);
					return;
				}
				free(doc.vd_body);
				doc.vd_body = NULL;
			}
			continue; /* changed or deleted meanwhile */
		}
		json_decref(cur);
		if (!exists &&
		    vmreg_create(ctx->ac_vmreg, key, spec, &owner, &doc) == 0) {
			vms_reply_doc(rs, 201, &doc, call->ca_rq, key);
			return;
		}
		/* Only the version checked above is replaced. */
		if (exists &&
		    vmreg_replace(ctx->ac_vmreg, key, spec, rev, &doc) == 0) {
			vms_reply_doc(rs, 200, &doc, call->ca_rq, key);
			return;
		}
		/* Lost a race with another write: precondition or retry. */
		if (errno == EEXIST && create_only) {
			vms_precondition_failed(rs, "If-None-Match", name);
			return;
		}
		/* Else changed meanwhile: If-Match is checked again on the
		 * new version (a start is no reason to refuse). */
		if (errno != EEXIST && errno != ENOENT && errno != ESTALE) {
			vms_write_error(rs, errno, name);
			return;
		}
	}
	problem_raise(rs, PROBLEM_CONFLICT, NULL,
		      "VM %s kept changing while this request was applied; "
		      "try again",
		      name);
}

/*
 * Answers 412 when If-Match or "If-None-Match: *" already fails against
 * the current version; 0 when the request may go on.
 */
static int
vms_precheck(const struct api_context *ctx, const struct api_call *call,
	     const char *if_match, int create_only, uint64_t *matched,
	     struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	uint64_t rev = 0, spec_rev = 0;
	uid_t uid;
	char jail[65];
	int exists = vmreg_get_spec_owned(ctx->ac_vmreg, key, NULL, &rev,
					  &spec_rev, &uid, jail) == 0;

	if (create_only && exists) {
		vms_precondition_failed(rs, "If-None-Match", name);
		return -1;
	}
	if (if_match != NULL &&
	    !vms_if_match(ctx, if_match, exists, spec_rev, rev)) {
		vms_precondition_failed(rs, "If-Match", name);
		return -1;
	}
	if (matched != NULL)
		*matched = if_match != NULL ? rev : 0;
	return 0;
}

void
api_vms_put(const struct api_context *ctx, const struct api_call *call,
	    struct api_response *rs)
{
	const char *name = call->ca_params[0];
	const char *inm = api_header(call->ca_rq, "If-None-Match");
	struct vm_spec_limits lim;
	struct vm_spec_error err;
	struct vm_spec typed;
	json_t *spec;

	if (!name_valid(name)) {
		problem_invalid_name(rs, "name", name);
		return;
	}
	if (api_guestinfo_not_here(call->ca_body, rs) != 0)
		return;
	if (inm != NULL && strcmp(inm, "*") != 0) {
		problem_raise(
		    rs, PROBLEM_INVALID_HEADER, "If-None-Match",
		    "PUT takes only \"If-None-Match: *\" (create only)");
		return;
	}
	/* Preconditions first (RFC 9110 13.2.2); vms_apply checks again. */
	if (vms_precheck(ctx, call, api_header(call->ca_rq, "If-Match"),
			 inm != NULL, NULL, rs) != 0)
		return;
	vms_limits(ctx, &lim);
	if ((spec = vm_spec_normalize(call->ca_body, name, &lim, &typed,
				      &err)) == NULL) {
		vms_spec_problem(rs, &err);
		return;
	}
	if (api_space_ok(ctx, rs, "defining a VM") != 0) {
		json_decref(spec);
		return;
	}
	vms_apply(ctx, call, name, spec, &typed,
		  api_header(call->ca_rq, "If-Match"), inm != NULL, rs);
	json_decref(spec);
}

void
api_vms_patch(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	const char *if_match = api_header(call->ca_rq, "If-Match");
	const json_t *patch = call->ca_body;
	struct vm_spec_limits lim;
	struct vm_spec_error err;
	struct vmreg_doc doc = {0};
	struct vm_spec typed;
	const char *member;
	json_t *value;
	int attempt;

	if (vms_precheck(ctx, call, if_match, 0, NULL, rs) != 0)
		return;
	if (!json_is_object(patch)) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "a merge patch for a VM must be a JSON object");
		return;
	}
	if (api_guestinfo_not_here(patch, rs) != 0)
		return;
	json_object_foreach ((json_t *)patch, member, value) {
		if (vm_spec_is_readonly_field(member)) {
			problem_raise(rs, PROBLEM_VALIDATION, member,
				      "%s: is read-only", member);
			return;
		}
		if (strcmp(member, "name") == 0 &&
		    (!json_is_string(value) ||
		     strcmp(json_string_value(value), name) != 0)) {
			problem_raise(rs, PROBLEM_VALIDATION, "name",
				      "name: a VM cannot be renamed (define a "
				      "new one and delete %s)",
				      name);
			return;
		}
	}
	vms_limits(ctx, &lim);
	for (attempt = 0; attempt < VMS_WRITE_RETRIES; attempt++) {
		json_t *cur, *merged, *spec;
		uint64_t rev, spec_rev;
		uid_t uid;
		char jail[65];
		int same;

		if (vmreg_get_spec_owned(ctx->ac_vmreg, key, &cur, &rev,
					 &spec_rev, &uid, jail) != 0) {
			if (if_match != NULL)
				vms_precondition_failed(rs, "If-Match", name);
			else
				vms_write_error(rs, errno, name);
			return;
		}
		if (if_match != NULL &&
		    !vms_if_match(ctx, if_match, 1, spec_rev, rev)) {
			json_decref(cur);
			vms_precondition_failed(rs, "If-Match", name);
			return;
		}
		/* This version's owner; the replace below expects it. */
		if (vms_allowed_on(ctx, call, POL_VM_WRITE, name, 1, uid, jail,
				   rs) != 0) {
			json_decref(cur);
			return;
		}
		merged = json_merge_patch(cur, patch);
		spec = merged != NULL
			   ? vm_spec_normalize(merged, name, &lim, &typed, &err)
			   : NULL;
		json_decref(merged);
		if (spec == NULL) {
			json_decref(cur);
			if (merged == NULL)
				problem_errno(rs, ENOMEM, "patch failed");
			else
				vms_spec_problem(rs, &err);
			return;
		}
		if (vms_ppt_allowed(ctx, call, &typed, spec, rs) != 0 ||
		    vms_autostart_allowed(ctx, name, &typed, uid, jail, rs) !=
			0) {
			json_decref(cur);
			json_decref(spec);
			return;
		}
		same = json_equal(cur, spec);
		json_decref(cur);
		if (same ? vmreg_get(ctx->ac_vmreg, key, &doc) == 0
			 : vmreg_replace(ctx->ac_vmreg, key, spec, rev, &doc) ==
			       0) {
			json_decref(spec);
			if (same && doc.vd_revision != rev) {
				free(doc.vd_body); /* changed meanwhile */
				doc.vd_body = NULL;
				continue;
			}
			vms_reply_doc(rs, 200, &doc, call->ca_rq, key);
			return;
		}
		json_decref(spec);
		if (errno != ESTALE && errno != ENOENT) {
			vms_write_error(rs, errno, name);
			return;
		}
		/* Changed or deleted under us: start over on what is there. */
	}
	problem_raise(rs, PROBLEM_CONFLICT, NULL,
		      "VM %s kept changing while this patch was applied; "
		      "try again",
		      name);
}

void
api_vms_delete(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	const char *if_match = api_header(call->ca_rq, "If-Match");
	int attempt;

	for (attempt = 0; attempt < VMS_WRITE_RETRIES; attempt++) {
		uint64_t rev = 0, spec_rev = 0;
		uid_t uid = 0;
		char jail[65] = "";
		int exists =
		    vmreg_get_spec_owned(ctx->ac_vmreg, key, NULL, &rev,
					 &spec_rev, &uid, jail) == 0;

		if (if_match != NULL &&
		    !vms_if_match(ctx, if_match, exists, spec_rev, rev)) {
			vms_precondition_failed(rs, "If-Match", name);
			return;
		}
		if (!exists) {
			vms_write_error(rs, ENOENT, name);
			return;
		}
		if (vms_allowed_on(ctx, call, POL_VM_WRITE, name, 1, uid, jail,
				   rs) != 0)
			return;
		/* Exactly the version whose owner was checked. */
		if ((ctx->ac_vmrun != NULL
			 ? vmrun_delete(ctx->ac_vmrun, key, rev)
			 : vmreg_delete(ctx->ac_vmreg, key, rev)) == 0) {
			rs->rs_status = 204;
			return;
		}
		if (errno == ENOENT || errno == ESTALE)
			continue; /* changed or gone meanwhile: look again */
		vms_write_error(rs, errno, name);
		return;
	}
	problem_raise(rs, PROBLEM_CONFLICT, NULL,
		      "VM %s kept changing while this delete was applied; "
		      "try again",
		      name);
}
