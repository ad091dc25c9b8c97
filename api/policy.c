#include "api/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/jails.h"

int
policy_is_host_root(const struct principal *pr)
{
	return pr->pr_known && pr->pr_uid == 0 && pr->pr_jail[0] == '\0';
}

int
policy_in_vmm_group(const struct policy *po, const struct principal *pr)
{
	int i;

	if (pr->pr_gid == po->po_vmm_gid)
		return 1;
	for (i = 0; i < pr->pr_ngroups; i++)
		if (pr->pr_groups[i] == po->po_vmm_gid)
			return 1;
	return 0;
}

/*
 * The jail gate: a caller in a jail acts on VMs only when the jail exists
 * and has allow_vmm.  0, or -1 with why filled.
 */
static int
policy_jail_allows(const struct policy *po, const struct principal *pr,
		   struct jail_info *ji, char *why, size_t len)
{
	if (pr->pr_jail[0] == '\0')
		return 0;
	if (po->po_jails == NULL ||
	    jails_get(po->po_jails, pr->pr_jail, ji) != 0) {
		snprintf(why, len, "jail %s does not exist (any more)",
			 pr->pr_jail);
		return -1;
	}
	if (!ji->ji_allow_vmm) {
		snprintf(why, len, "jail %s lacks allow_vmm", pr->pr_jail);
		return -1;
	}
	return 0;
}

int
policy_vm_visible(const struct policy *po, const struct principal *pr,
		  const struct policy_vm *vm)
{
	const char *jail = vm->pv_jail != NULL ? vm->pv_jail : "";

	if (policy_is_host_root(pr))
		return 1;
	if (!pr->pr_known || strcmp(jail, pr->pr_jail) != 0)
		return 0;
	/* Root of a jail sees the jail's VMs; others their own. */
	if (pr->pr_uid == 0)
		return 1;
	return policy_in_vmm_group(po, pr) && vm->pv_owner_uid == pr->pr_uid;
}

/* Sets errno and returns -1: the one exit of a refusal. */
static int
policy_refuse(int err)
{
	errno = err;
	return -1;
}

int
policy_check_start(const struct policy *po, const struct principal *pr,
		   int detached, unsigned *max_runs, char *why, size_t len)
{
	/* Root of its scope (the host's, or a jail's) may detach, and
	 * runs as many VMs as it likes. */
	int root = pr->pr_known && pr->pr_uid == 0;

	if (detached && !root) {
		snprintf(why, len,
			 "uid %ld may run VMs only in monitor mode: add "
			 "?mode=monitor, and the VM lasts as long as that "
			 "request",
			 (long)pr->pr_uid);
		return policy_refuse(EPERM);
	}
	*max_runs = root ? 0 : po->po_max_running;
	return 0;
}

int
policy_check_autostart(const struct policy *po, const char *name, uid_t owner,
		       const char *jail, unsigned *max_runs, char *why,
		       size_t len)
{
	struct principal pr;
	struct jail_info ji;
	char reason[192];

	memset(&pr, 0, sizeof(pr));
	pr.pr_known = 1;
	pr.pr_uid = owner;
	snprintf(pr.pr_jail, sizeof(pr.pr_jail), "%s", jail);
	if (policy_jail_allows(po, &pr, &ji, reason, sizeof(reason)) == 0 &&
	    policy_check_start(po, &pr, 1, max_runs, reason, sizeof(reason)) ==
		0)
		return 0;
	snprintf(why, len,
		 "VM %s cannot have autostart: its owner, uid %ld%s%s, may "
		 "not run VMs detached (%s); only root, of the host or of a "
		 "jail with allow_vmm, may",
		 name, (long)owner, jail[0] != '\0' ? " in jail " : "", jail,
		 reason);
	return policy_refuse(EPERM);
}

int
policy_check(const struct policy *po, const struct principal *pr,
	     enum policy_action action, const struct policy_vm *vm, char *why,
	     size_t len)
{
	struct jail_info ji;
	int root = pr->pr_known && pr->pr_uid == 0;
	int member = pr->pr_known && policy_in_vmm_group(po, pr);

	if (action == POL_PUBLIC)
		return 0;
	if (!pr->pr_known) {
		snprintf(why, len, "a principal is required");
		return policy_refuse(EACCES);
	}
	switch (action) {
	case POL_PUBLIC:
	case POL_ANY:
		return 0;
	case POL_ADMIN:
		if (policy_is_host_root(pr))
			return 0;
		snprintf(why, len,
			 "only host root may manage tokens, jails and the "
			 "audit log%s",
			 pr->pr_jail[0] ? " (root in a jail is root only "
					  "there)"
					: "");
		return policy_refuse(EPERM);
	case POL_IMAGE_READ:
	case POL_VM_LIST:
		if ((root || member) &&
		    policy_jail_allows(po, pr, &ji, why, len) != 0)
			return policy_refuse(EPERM);
		if (root || member)
			return 0;
		snprintf(why, len,
			 "uid %ld is neither root nor in the vmm group (gid "
			 "%ld)",
			 (long)pr->pr_uid, (long)po->po_vmm_gid);
		return policy_refuse(EPERM);
	case POL_IMAGE_WRITE:
		/* Images are shared by every VM on the host: root's. */
		if (policy_is_host_root(pr))
			return 0;
		snprintf(why, len,
			 "only host root may upload or delete images (they are "
			 "shared by every VM)");
		return policy_refuse(EPERM);
	case POL_PPT:
		if (policy_is_host_root(pr))
			return 0;
		if (root && pr->pr_jail[0] != '\0') {
			/* The jail gate's own reason, or the ppt one. */
			if (policy_jail_allows(po, pr, &ji, why, len) != 0)
				return policy_refuse(EPERM);
			if (ji.ji_allow_vmm_ppt)
				return 0;
			snprintf(why, len, "jail %s lacks allow_vmm_ppt",
				 pr->pr_jail);
		} else
			snprintf(why, len,
				 "PCI passthrough needs root (write access to "
				 "/dev/pci)");
		return policy_refuse(EPERM);
	case POL_VM_CREATE:
		if (!root && !member) {
			snprintf(why, len,
				 "only root and members of the vmm group (gid "
				 "%ld) may define VMs",
				 (long)po->po_vmm_gid);
			return policy_refuse(EPERM);
		}
		if (policy_jail_allows(po, pr, &ji, why, len) != 0)
			return policy_refuse(EPERM);
		return 0;
	case POL_VM_READ:
	case POL_VM_WRITE:
	case POL_VM_START:
		break;
	}

	/* Actions on one VM. */
	if (!root && !member) {
		snprintf(
		    why, len,
		    "uid %ld is neither root nor in the vmm group (gid %ld)",
		    (long)pr->pr_uid, (long)po->po_vmm_gid);
		return policy_refuse(EPERM);
	}
	if (vm != NULL && !policy_is_host_root(pr) &&
	    strcmp(vm->pv_jail != NULL ? vm->pv_jail : "", pr->pr_jail) != 0) {
		/* Outside the caller's jail scope: it does not exist. */
		snprintf(why, len, "no VM named %s", vm->pv_name);
		return policy_refuse(ENOENT);
	}
	if (policy_jail_allows(po, pr, &ji, why, len) != 0)
		return policy_refuse(EPERM);
	if (vm != NULL && !root && vm->pv_owner_uid != pr->pr_uid) {
		snprintf(why, len,
			 "only the creator (uid %ld) or root may %s VM %s",
			 (long)vm->pv_owner_uid,
			 action == POL_VM_READ ? "see" : "act on", vm->pv_name);
		return policy_refuse(EPERM);
	}
	if (vm != NULL && vm->pv_has_pptdevs && action == POL_VM_START &&
	    policy_check(po, pr, POL_PPT, NULL, why, len) != 0)
		return -1;
	return 0;
}
