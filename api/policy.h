/*
 * Who may do what: the one place that decides, given the caller (its
 * principal), the action a route declares and the VM it targets.  The
 * rules are FreeBSD vmm(4)'s ACCESS CONTROL applied to HTTP callers
 * (DESIGN.md section 4):
 *   - host root may do everything;
 *   - members of the vmm group may define VMs and act on their own (same
 *     uid, same jail); they run VMs only in monitor mode;
 *   - other users get 403;
 *   - in a jail, the same rules hold inside the jail, only when the jail
 *     has allow_vmm; root in a jail is root only there; VMs of other jails
 *     and of the host do not exist for the caller (404);
 *   - PCI passthrough needs host root, or jail root with allow_vmm_ppt;
 *   - tokens, jails and the audit log are host root's.
 * A refusal says which rule refused, so a user can tell what to change.
 */
#ifndef VMMAPID_API_POLICY_H
#define VMMAPID_API_POLICY_H

#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"

enum policy_action {
	POL_ADMIN = 0,   /* host root only; the default of a route */
	POL_PUBLIC,      /* anyone, even without a principal */
	POL_ANY,         /* any authenticated caller */
	POL_VM_LIST,     /* list VMs: results filtered, never refused */
	POL_VM_CREATE,   /* define a VM */
	POL_VM_READ,     /* read one VM */
	POL_VM_WRITE,    /* change, stop, delete, console, registers ... */
	POL_VM_START,    /* start (detached needs more than monitor mode) */
	POL_IMAGE_READ,  /* list and read images */
	POL_IMAGE_WRITE, /* upload, replace, delete images */
	POL_PPT,         /* PCI passthrough devices */
};

/* The VM an action targets (NULL fields: none / unknown). */
struct policy_vm {
	const char *pv_name;
	uid_t pv_owner_uid;
	const char *pv_jail;
	int pv_has_pptdevs;
};

struct jails;

struct policy {
	gid_t po_vmm_gid;        /* the vmm group */
	unsigned po_max_running; /* per uid, root exempt; 0: no limit */
	struct jails *po_jails;
};

/*
 * 0 when principal may do action on vm (NULL for actions without one).
 * -1 with errno EPERM (403: why says which rule), ENOENT (404: the VM is
 * outside the caller's jail scope), EACCES (401: no principal).
 */
int policy_check(const struct policy *po, const struct principal *pr,
		 enum policy_action action, const struct policy_vm *vm,
		 char *why, size_t len);

/* Whether pr sees vm at all (list filtering): same rules as read. */
int policy_vm_visible(const struct policy *po, const struct principal *pr,
		      const struct policy_vm *vm);

/* Whether pr is host root (uid 0 outside any jail). */
int policy_is_host_root(const struct principal *pr);

/*
 * What a start of a VM pr may act on (policy_check said so) may be:
 * 0 with *max_runs, how many of pr's VMs may run at once (0: no limit;
 * root is exempt), or -1 with EPERM and why when pr may not start it
 * detached (members run VMs only in monitor mode: the request lasts as
 * long as the run).
 */
int policy_check_start(const struct policy *po, const struct principal *pr,
		       int detached, unsigned *max_runs, char *why, size_t len);

/*
 * Whether a VM owned by uid owner in jail ("" outside any) may carry
 * "autostart": true, which makes the daemon start it detached when it
 * starts.  Only an owner who may start VMs detached may have one: root
 * of its scope (the host's, or a jail's whose jail still exists with
 * allow_vmm); a member runs VMs only in monitor mode, and nobody is
 * there to hold a monitor request at start-up.  0 with *max_runs as
 * policy_check_start gives it (the start counts against
 * --max-running-per-uid like any other), or -1 with EPERM and why,
 * which names the VM.
 */
int policy_check_autostart(const struct policy *po, const char *name,
			   uid_t owner, const char *jail, unsigned *max_runs,
			   char *why, size_t len);

/* Whether pr belongs to the vmm group (primary or supplementary). */
int policy_in_vmm_group(const struct policy *po, const struct principal *pr);

#endif
