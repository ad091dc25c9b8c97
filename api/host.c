/* GET /v1, /v1/health, /v1/openapi.yaml: the daemon about itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "vmm-driver/detect.h"
#include "vmm-driver/pvbus.h"
#include "vmm-driver/vmm.h"

static json_t *
host_principal(const struct principal *pr)
{
	json_t *groups = json_array();
	int i;

	for (i = 0; i < pr->pr_ngroups; i++)
		json_array_append_new(
		    groups, json_integer((json_int_t)pr->pr_groups[i]));
	return json_pack("{s:I, s:I, s:o, s:s, s:s}", "uid",
			 (json_int_t)pr->pr_uid, "gid", (json_int_t)pr->pr_gid,
			 "groups", groups, "jail", pr->pr_jail, "via",
			 pr->pr_via);
}

/* A backend's NULL-terminated list of strings as an array. */
static json_t *
host_strings(const char *const *list)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* The backend's VMs made ahead of starts (--spare-vms). */
static json_t *
host_spares(const struct api_context *ctx)
{
	struct vmm_spares st;

	memset(&st, 0, sizeof(st));
	if (ctx->ac_ops != NULL && ctx->ac_ops->vo_spares_stats != NULL)
		ctx->ac_ops->vo_spares_stats(&st);
	return json_pack(
	    "{s:i, s:i, s:I, s:I, s:I}", "target", (json_int_t)st.vs_target,
	    "ready", (json_int_t)st.vs_ready, "taken", (json_int_t)st.vs_taken,
	    "missed", (json_int_t)st.vs_missed, "failed",
	    (json_int_t)st.vs_failed);
}

/*
 * What virtualization the backend uses (svm, vmx, pvm; none for sim)
 * and whether this host is itself a guest, so that a reader of figures
 * or test results can tell real hardware from a nested host.
 */
static void
host_virtualization(const struct api_context *ctx, json_t *driver)
{
	char sig[16];
	int nested = vmm_host_nested(sig, sizeof(sig));

	json_object_set_new(driver, "virtualization",
			    json_string(strcmp(ctx->ac_driver, "kvm") == 0
					    ? vmm_kvm_kind()
					    : "none"));
	json_object_set_new(driver, "nested", json_boolean(nested));
	json_object_set_new(driver, "host_hypervisor", json_string(sig));
}

/*
 * "guestinfo-backdoor-user" among the features when the host's KVM lets a
 * guest's processes reach the backdoor (vmm_kvm_backdoor_user): read on
 * each GET, as the kvm module may have been loaded again meanwhile.
 */
static void
host_backdoor_user(const struct api_context *ctx, json_t *features)
{
	if (features != NULL && strcmp(ctx->ac_driver, "kvm") == 0 &&
	    vmm_kvm_backdoor_user(VMM_KVM_BACKDOOR_PARAM) == 1)
		json_array_append_new(features,
				      json_string("guestinfo-backdoor-user"));
}

void
api_host_root(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	char started[40];
	json_t *doc;

	timefmt_rfc3339((int64_t)ctx->ac_started_at_ms, started,
			sizeof(started));
	doc = json_pack(
	    "{s:s, s:s, s:s, s:{s:s, s:s, s:o, s:o, s:o}, "
	    "s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, "
	    "s:I, s:I, s:i, s:i, s:i, s:i}, s:o, s:s, s:i}",
	    "name", "vmmapid", "version", VMMAPID_VERSION, "api", "v1",
	    "driver", "name", ctx->ac_driver, "reason", ctx->ac_driver_reason,
	    "lacks",
	    host_strings(ctx->ac_ops != NULL ? ctx->ac_ops->vo_lacks : NULL),
	    "features",
	    host_strings(ctx->ac_ops != NULL ? ctx->ac_ops->vo_features : NULL),
	    "spare_vms", host_spares(ctx), "limits", "body_bytes",
	    LIMIT_BODY_BYTES, "name_len", LIMIT_NAME_LEN, "labels",
	    LIMIT_LABELS, "label_key_len", LIMIT_LABEL_KEY_LEN,
	    "label_value_len", LIMIT_LABEL_VALUE_LEN, "description_len",
	    LIMIT_DESCRIPTION_LEN, "cmdline_len", LIMIT_CMDLINE_LEN, "pptdevs",
	    LIMIT_PPTDEVS, "page_default", LIMIT_PAGE_DEFAULT, "page_max",
	    LIMIT_PAGE_MAX, "vms", LIMIT_VMS, "vcpus",
	    (json_int_t)ctx->ac_max_vcpus, "memory_mib",
	    (json_int_t)ctx->ac_max_memory_mib, "upload_bytes",
	    (json_int_t)ctx->ac_upload_max, "guestinfo_key_len",
	    LIMIT_GUESTINFO_KEY_LEN, "guestinfo_value_bytes",
	    LIMIT_GUESTINFO_VALUE, "guestinfo_keys", LIMIT_GUESTINFO_KEYS,
	    "guestinfo_body_bytes", LIMIT_BODY_BIG_BYTES, "principal",
	    host_principal(&call->ca_rq->rq_principal), "started_at", started,
	    "schema_version", db_schema_version());
	/* The daemon's own features beside the backend's. */
	if (doc != NULL && ctx->ac_events != NULL)
		json_array_append_new(
		    json_object_get(json_object_get(doc, "driver"), "features"),
		    json_string("events"));
	host_virtualization(ctx, json_object_get(doc, "driver"));
	host_backdoor_user(
	    ctx, json_object_get(json_object_get(doc, "driver"), "features"));
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

void
api_host_health(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	char why[256] = "";
	int db_ok = db_ping(ctx->ac_db) == 0;
	int drv_ok = ctx->ac_driver != NULL &&
		     vmm_usable(ctx->ac_driver, why, sizeof(why)) == 0;
	json_t *doc;

	if (!db_ok)
		snprintf(why, sizeof(why), "the database does not answer");
	else if (ctx->ac_driver == NULL)
		snprintf(why, sizeof(why), "this daemon has no driver");
	doc = json_pack("{s:s, s:s, s:s}", "status",
			db_ok && drv_ok ? "ok" : "unavailable", "database",
			db_ok ? "ok" : "unavailable", "driver",
			drv_ok ? "ok" : "unavailable");
	if (doc != NULL && !(db_ok && drv_ok)) {
		json_object_set_new(doc, "detail", json_string(why));
		log_warnx("health: %s", why);
	}
	api_response_json(rs, db_ok && drv_ok ? 200 : 503, doc);
	json_decref(doc);
}

void
api_host_openapi(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	char *copy = malloc(ctx->ac_openapi_len + 1);

	if (copy == NULL) {
		problem_errno(rs, ENOMEM, "out of memory");
		return;
	}
	memcpy(copy, ctx->ac_openapi, ctx->ac_openapi_len + 1);
	api_response_take(rs, 200, copy, ctx->ac_openapi_len);
	rs->rs_content_type = "application/yaml";
}

/* The hypervisors this host runs under (vmm-driver/pvbus.h). */
void
api_host_pvbus(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	struct pvbus_hv hv[PVBUS_MAX];
	size_t n = pvbus_detect(NULL, hv, PVBUS_MAX), i;
	json_t *items = json_array(), *doc;

	for (i = 0; items != NULL && i < n; i++) {
		char leaf[16], max[16];

		snprintf(leaf, sizeof(leaf), "0x%08x", (unsigned)hv[i].ph_leaf);
		snprintf(max, sizeof(max), "0x%08x",
			 (unsigned)hv[i].ph_max_leaf);
		json_array_append_new(
		    items, json_pack("{s:I, s:s, s:s, s:s, s:s}", "index",
				     (json_int_t)i, "type", hv[i].ph_type,
				     "signature", hv[i].ph_signature, "leaf",
				     leaf, "max_leaf", max));
	}
	doc = json_pack("{s:o}", "items", items);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

/*
 * GET and PUT /v1/host/pvbus/{n}/keys/{key}: the key store of the host's
 * own hypervisor, which only OpenBSD's /dev/pvbusN offers
 * (PVBUSIOC_KVREAD, PVBUSIOC_KVWRITE); this build has no way to reach it.
 */
void
api_host_pvbus_key(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	struct pvbus_hv hv[PVBUS_MAX];
	size_t n = pvbus_detect(NULL, hv, PVBUS_MAX);
	const char *idx = call->ca_params[0];
	char *end;
	unsigned long i = strtoul(idx, &end, 10);

	if (idx[0] < '0' || idx[0] > '9' || *end != '\0' || i >= n) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "this host has no hypervisor interface %s (GET "
			      "/v1/host/pvbus lists %zu)",
			      idx, n);
		return;
	}
	problem_raise(rs, PROBLEM_NOT_SUPPORTED, NULL,
		      "the key store of the host's %s interface is reached "
		      "through PVBUSIOC_KVREAD and PVBUSIOC_KVWRITE on "
		      "OpenBSD's /dev/pvbus%lu; this daemon runs on a host "
		      "without pvbus(4)",
		      hv[i].ph_type, i);
}
