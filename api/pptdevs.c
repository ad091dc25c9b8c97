/*
 * /v1/pptdevs: the host's PCI devices and their reservation for
 * passthrough (FreeBSD's pptdevs), and the loader.conf lines that make
 * the same reservation on a FreeBSD host.  The route table gives every
 * route POL_PPT: host root, or the root of a jail with allow_vmm_ppt.
 *
 *   GET    /v1/pptdevs                    every device
 *   GET    /v1/pptdevs/loader.conf        pptdevs="10/0/0 6/5/0 6/5/1"
 *   GET    /v1/pptdevs/{bus}/{slot}/{func}
 *   PUT    /v1/pptdevs/{bus}/{slot}/{func}  reserve: 201, again 200
 *   DELETE /v1/pptdevs/{bus}/{slot}/{func}  release: 204
 *
 * Decisions:
 *   - A device is named as loader.conf names it: bus/slot/function in
 *     decimal, no domain; the address ("0000:00:1f.0") is shown too.
 *     Numbers out of range (bus 0-255, slot 0-31, func 0-7) or not
 *     decimal are a 400 naming the part, before anything is looked up.
 *   - PUT takes no body: a reservation has no settings.  Reserving a
 *     reserved device changes nothing (200).
 *   - DELETE of a device that is not reserved is a 404, as the
 *     reservation is the resource it deletes; 409 while a live VM's
 *     spec names the device.
 *   - A VM spec may name only reserved devices (api_pptdevs_spec_ok, at
 *     definition and at start): 422 naming the device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/timefmt.h"
#include "core/pptdevs.h"
#include "core/vmreg.h"

/*
 * The VM of key as a caller in viewer's jail ("": host root) may be told
 * of it: by name in its own scope, by name and jail for host root, and
 * as no VM in particular outside the viewer's jail, whose VMs do not
 * exist for it (docs/access.md, "What a caller can tell").  Answers 1
 * when named, 0 when not.
 */
static int
pptdevs_vm_said(const char *viewer, const char *key, char *buf, size_t len)
{
	char jail[LIMIT_NAME_LEN + 1];

	vmkey_jail(key, jail);
	if (strcmp(jail, viewer) == 0)
		snprintf(buf, len, "VM %s", vmkey_name(key));
	else if (viewer[0] == '\0')
		snprintf(buf, len, "VM %s of jail %s", vmkey_name(key), jail);
	else {
		snprintf(buf, len, "a VM outside jail %s", viewer);
		return 0;
	}
	return 1;
}

/*
 * A device's representation for a caller in viewer's jail; NULL when
 * out of memory.  assigned_to is the VM's name within its scope,
 * assigned_to_jail that scope; both null when none, or when the VM is
 * outside the viewer's jail.
 */
static json_t *
pptdevs_doc(const struct pptdev_info *pi, const char *viewer)
{
	char said[2 * LIMIT_NAME_LEN + 32], jail[LIMIT_NAME_LEN + 1];
	int named =
	    pi->pi_assigned[0] != '\0' &&
	    pptdevs_vm_said(viewer, pi->pi_assigned, said, sizeof(said));
	const struct pcihost_dev *d = &pi->pi_dev;
	char pptdev[16], vendor[8], device[8], class[10], reserved[40];
	json_t *doc;

	snprintf(pptdev, sizeof(pptdev), "%u/%u/%u", d->pd_bus, d->pd_slot,
		 d->pd_func);
	snprintf(vendor, sizeof(vendor), "0x%04x", d->pd_vendor & 0xffff);
	snprintf(device, sizeof(device), "0x%04x", d->pd_device & 0xffff);
	snprintf(class, sizeof(class), "0x%06x", d->pd_class & 0xffffff);
	if (pi->pi_reserved)
		timefmt_rfc3339(pi->pi_reserved_ms, reserved, sizeof(reserved));
	doc = json_pack(
	    "{s:s, s:i, s:i, s:i, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:b, "
	    "s:o, s:o, s:o}",
	    "pptdev", pptdev, "bus", (int)d->pd_bus, "slot", (int)d->pd_slot,
	    "func", (int)d->pd_func, "address", d->pd_address, "present",
	    pi->pi_present, "vendor",
	    pi->pi_present ? json_string(vendor) : json_null(), "device",
	    pi->pi_present ? json_string(device) : json_null(), "class",
	    pi->pi_present ? json_string(class) : json_null(), "driver",
	    d->pd_driver[0] != '\0' ? json_string(d->pd_driver) : json_null(),
	    "iommu_group",
	    d->pd_iommu_group >= 0 ? json_integer(d->pd_iommu_group)
				   : json_null(),
	    "reserved", pi->pi_reserved, "reserved_at",
	    pi->pi_reserved ? json_string(reserved) : json_null(),
	    "original_driver",
	    pi->pi_bound ? (pi->pi_orig_driver[0] != '\0'
				? json_string(pi->pi_orig_driver)
				: json_string(""))
			 : json_null(),
	    "assigned_to",
	    named ? json_string(vmkey_name(pi->pi_assigned)) : json_null());
	vmkey_jail(pi->pi_assigned, jail);
	if (doc != NULL &&
	    json_object_set_new(doc, "assigned_to_jail",
				named ? json_string(jail) : json_null()) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

static json_t *
pptdevs_item(const void *elem, void *arg)
{
	return pptdevs_doc(elem, arg);
}

static int
pptdevs_unavailable(const struct api_context *ctx, struct api_response *rs)
{
	if (ctx->ac_pptdevs != NULL)
		return 0;
	problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
		      "this daemon has no PCI device registry");
	return 1;
}

/*
 * One part of a device's path, decimal, 0 to max.  0, or -1 with a 400
 * naming the part.
 */
static int
pptdevs_part(const char *s, const char *what, unsigned max, unsigned *out,
	     struct api_response *rs)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	for (i = 0; i < n && i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (n == 0 || i != n || v > max) {
		problem_raise(rs, PROBLEM_VALIDATION, what,
			      "%s must be a decimal number from 0 to %u, not "
			      "\"%.16s\"",
			      what, max, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* bus/slot/func of the path.  0, or -1 with a 400 answered. */
static int
pptdevs_params(const struct api_call *call, unsigned *bus, unsigned *slot,
	       unsigned *func, struct api_response *rs)
{
	return pptdevs_part(call->ca_params[0], "bus", 255, bus, rs) == -1 ||
		       pptdevs_part(call->ca_params[1], "slot", 31, slot, rs) ==
			   -1 ||
		       pptdevs_part(call->ca_params[2], "func", 7, func, rs) ==
			   -1
		   ? -1
		   : 0;
}

void
api_pptdevs_list(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	struct pptdev_info *list;
	size_t n;

	if (pptdevs_unavailable(ctx, rs))
		return;
	if (pptdevs_list(ctx->ac_pptdevs, &list, &n) != 0) {
		problem_errno(rs, errno, "reading the host's PCI devices: %s",
			      strerror(errno));
		return;
	}
	api_response_items(rs, list, n, sizeof(*list), pptdevs_item,
			   (void *)call->ca_rq->rq_principal.pr_jail,
			   "PCI devices");
	free(list);
}

void
api_pptdevs_get(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	struct pptdev_info pi;
	unsigned bus, slot, func;
	json_t *doc;

	if (pptdevs_unavailable(ctx, rs) ||
	    pptdevs_params(call, &bus, &slot, &func, rs) != 0)
		return;
	if (pptdevs_get(ctx->ac_pptdevs, bus, slot, func, &pi) != 0) {
		problem_errno(rs, errno, "the host has no PCI device %u/%u/%u",
			      bus, slot, func);
		return;
	}
	doc = pptdevs_doc(&pi, call->ca_rq->rq_principal.pr_jail);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

void
api_pptdevs_put(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	struct pptdev_info pi;
	unsigned bus, slot, func;
	char why[512] = "";
	int created = 0;
	json_t *doc;

	if (pptdevs_unavailable(ctx, rs) ||
	    pptdevs_params(call, &bus, &slot, &func, rs) != 0)
		return;
	if (call->ca_rq->rq_body_len > 0) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "PUT /v1/pptdevs/%u/%u/%u takes no body", bus,
			      slot, func);
		return;
	}
	if (pptdevs_reserve(ctx->ac_pptdevs, bus, slot, func, &created, &pi,
			    why, sizeof(why)) != 0) {
		if (errno == ENOTSUP)
			problem_raise(rs, PROBLEM_UNAVAILABLE, NULL, "%s", why);
		else
			problem_errno(rs, errno, "%s", why);
		return;
	}
	doc = pptdevs_doc(&pi, call->ca_rq->rq_principal.pr_jail);
	api_response_json(rs, created ? 201 : 200, doc);
	json_decref(doc);
	if (created) {
		char loc[48];

		snprintf(loc, sizeof(loc), "/v1/pptdevs/%u/%u/%u", bus, slot,
			 func);
		api_response_header(rs, "Location", loc);
	}
}

void
api_pptdevs_delete(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	unsigned bus, slot, func;
	char why[512] = "";

	if (pptdevs_unavailable(ctx, rs) ||
	    pptdevs_params(call, &bus, &slot, &func, rs) != 0)
		return;
	if (pptdevs_release(ctx->ac_pptdevs, bus, slot, func, why,
			    sizeof(why)) != 0) {
		char holder[VMKEY_SIZE], said[2 * LIMIT_NAME_LEN + 32];

		/* Said of the VM as this caller may be told of it. */
		if (errno == EBUSY && pptdevs_holder(ctx->ac_pptdevs, bus, slot,
						     func, NULL, holder)) {
			(void)pptdevs_vm_said(call->ca_rq->rq_principal.pr_jail,
					      holder, said, sizeof(said));
			snprintf(why, sizeof(why),
				 "%s is running with %u/%u/%u; stop it "
				 "before releasing the device",
				 said, bus, slot, func);
			errno = EBUSY;
		}
		/* In use by a VM: a conflict with it, not a state of ours. */
		problem_raise(rs,
			      errno == EBUSY ? PROBLEM_CONFLICT
					     : problem_kind_from_errno(errno),
			      NULL, "%s", why);
		return;
	}
	rs->rs_status = 204;
}

void
api_pptdevs_loader_conf(const struct api_context *ctx,
			const struct api_call *call, struct api_response *rs)
{
	size_t fit, total;
	char *text;

	(void)call;
	if (pptdevs_unavailable(ctx, rs))
		return;
	if (pptdevs_loader_conf(ctx->ac_pptdevs, &text, &fit, &total) != 0) {
		if (errno == E2BIG)
			problem_raise(
			    rs, PROBLEM_CANNOT_RUN, NULL,
			    "%zu devices are reserved and only %zu fit in "
			    "pptdevs, pptdevs2 and pptdevs3 (%d characters "
			    "each); release %zu",
			    total, fit, PPTDEVS_LOADER_VALUE_MAX, total - fit);
		else
			problem_errno(rs, errno, "writing loader.conf lines");
		return;
	}
	api_response_take(rs, 200, text, strlen(text));
	if (rs->rs_body_len == 1) { /* nothing reserved: no lines */
		rs->rs_body[0] = '\0';
		rs->rs_body_len = 0;
	}
	rs->rs_content_type = "text/plain; charset=utf-8";
}

int
api_pptdevs_spec_ok(const struct api_context *ctx, const json_t *spec,
		    struct api_response *rs)
{
	char why[256], field[32];
	size_t i = 0;

	if (ctx->ac_pptdevs == NULL ||
	    json_array_size(json_object_get(spec, "pptdevs")) == 0 ||
	    pptdevs_check_spec(ctx->ac_pptdevs, spec, &i, why, sizeof(why)) ==
		0)
		return 0;
	snprintf(field, sizeof(field), "pptdevs[%zu]", i);
	problem_raise(rs, PROBLEM_CANNOT_RUN, field, "%s", why);
	return -1;
}

int
api_pptdevs_start_ok(const struct api_context *ctx, const struct api_call *call,
		     struct api_response *rs)
{
	const char *name = call->ca_vm;
	const json_t *devs;
	json_t *spec = NULL;
	char holder[VMKEY_SIZE], said[2 * LIMIT_NAME_LEN + 32];
	uint64_t rev;
	size_t i;
	int rc = 0;

	if (ctx->ac_pptdevs == NULL ||
	    vmreg_get_spec(ctx->ac_vmreg, name, &spec, &rev) != 0)
		return 0; /* no such VM: the start says so */
	if (api_pptdevs_spec_ok(ctx, spec, rs) != 0)
		rc = -1;
	devs = json_object_get(spec, "pptdevs");
	for (i = 0; rc == 0 && i < json_array_size(devs); i++) {
		unsigned bus, slot, func;
		const char *s = json_string_value(json_array_get(devs, i));

		if (s == NULL || sscanf(s, "%u/%u/%u", &bus, &slot, &func) != 3)
			continue;
		if (pptdevs_holder(ctx->ac_pptdevs, bus, slot, func, name,
				   holder)) {
			(void)pptdevs_vm_said(call->ca_rq->rq_principal.pr_jail,
					      holder, said, sizeof(said));
			problem_raise(
			    rs, PROBLEM_CONFLICT, NULL,
			    "PCI device %s is in use by %s while it runs", s,
			    said);
			rc = -1;
		}
	}
	json_decref(spec);
	return rc;
}
