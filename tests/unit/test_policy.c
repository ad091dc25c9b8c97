/*
 * api/policy.c: who may do what (DESIGN.md section 4, FreeBSD vmm(4)'s
 * ACCESS CONTROL).  Every row and column of the table, allowed and
 * refused, on principals built here as server/ would build them from peer
 * credentials or a token; every refusal's why must name the rule that
 * refused, so that a user can tell what to change.
 *
 * Jails are real: core/jails.c over a database in a mkdtemp directory,
 * holding
 *   j1        allow_vmm
 *   j2        allow_vmm, allow_vmm_ppt
 *   jnovmm    neither
 *   jpptonly  allow_vmm_ppt without allow_vmm
 * "gone" is a jail that does not exist (deleted under its callers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/policy.h"
#include "core/jails.h"
#include "db/db.h"

#include "tfixture.h"

#define VMM_GID 4200
#define MEMBER_UID 4242 /* in the vmm group */
#define OTHER_UID 4243  /* not in it */
#define MEMBER2_UID 4244

struct fx {
	struct tfixture f_tf; /* first */
	struct jails *f_jails;
	struct policy f_po;
};

static int
fx_jail(struct fx *fx, const char *name, int allow_vmm, int allow_ppt)
{
	struct jail_info ji;
	int created = 0;

	memset(&ji, 0, sizeof(ji));
	snprintf(ji.ji_name, sizeof(ji.ji_name), "%s", name);
	ji.ji_allow_vmm = allow_vmm;
	ji.ji_allow_vmm_ppt = allow_ppt;
	if (jails_put(fx->f_jails, &ji, &created) != 0 || !created) {
		fprintf(stderr, "jails_put %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (jails_open(&fx->f_jails, fx->f_tf.tf_db) != 0)
		goto fail;
	if (fx_jail(fx, "j1", 1, 0) != 0 || fx_jail(fx, "j2", 1, 1) != 0 ||
	    fx_jail(fx, "jnovmm", 0, 0) != 0 ||
	    fx_jail(fx, "jpptonly", 0, 1) != 0)
		goto fail;
	fx->f_po.po_vmm_gid = VMM_GID;
	fx->f_po.po_jails = fx->f_jails;
	*state = fx;
	return 0;
fail:
	jails_close(fx->f_jails);
	tfixture_free(fx);
	return -1;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	jails_close(fx->f_jails);
	tfixture_free(fx);
	return 0;
}

/* Principals, as server/ fills them from SO_PEERCRED or a token. */

static struct principal
pr_new(uid_t uid, gid_t gid, const gid_t *groups, int n, const char *jail)
{
	struct principal pr;

	memset(&pr, 0, sizeof(pr));
	pr.pr_known = 1;
	pr.pr_uid = uid;
	pr.pr_gid = gid;
	pr.pr_ngroups = n;
	memcpy(pr.pr_groups, groups, (size_t)n * sizeof(gid_t));
	pr.pr_pid = 1234;
	snprintf(pr.pr_jail, sizeof(pr.pr_jail), "%s", jail);
	snprintf(pr.pr_via, sizeof(pr.pr_via), "unix");
	return pr;
}

static struct principal
pr_root(const char *jail)
{
	static const gid_t g[] = {0};

	return pr_new(0, 0, g, 1, jail);
}

/* A vmm member by its primary group. */
static struct principal
pr_member(const char *jail)
{
	static const gid_t g[] = {VMM_GID};

	return pr_new(MEMBER_UID, VMM_GID, g, 1, jail);
}

/* A vmm member by a supplementary group only. */
static struct principal
pr_member_supp(const char *jail)
{
	static const gid_t g[] = {MEMBER_UID, 100, VMM_GID};

	return pr_new(MEMBER_UID, MEMBER_UID, g, 3, jail);
}

static struct principal
pr_member2(void)
{
	static const gid_t g[] = {MEMBER2_UID, VMM_GID};

	return pr_new(MEMBER2_UID, MEMBER2_UID, g, 2, "");
}

static struct principal
pr_other(const char *jail)
{
	static const gid_t g[] = {OTHER_UID, 100};

	return pr_new(OTHER_UID, OTHER_UID, g, 2, jail);
}

/* A TCP caller without a valid token: all zero, uid 0 included. */
static struct principal
pr_anonymous(void)
{
	struct principal pr;

	memset(&pr, 0, sizeof(pr));
	return pr;
}

/* VMs, as api/router.c looks them up. */

static struct policy_vm
vm_new(const char *name, uid_t owner, const char *jail, int ppt)
{
	struct policy_vm vm = {name, owner, jail, ppt};

	return vm;
}

static const char *const action_names[] = {
    "POL_ADMIN",      "POL_PUBLIC",      "POL_ANY",      "POL_VM_LIST",
    "POL_VM_CREATE",  "POL_VM_READ",     "POL_VM_WRITE", "POL_VM_START",
    "POL_IMAGE_READ", "POL_IMAGE_WRITE", "POL_PPT",
};

static const char *
who(const struct principal *pr, char *buf, size_t len)
{
	if (!pr->pr_known)
		snprintf(buf, len, "anonymous");
	else
		snprintf(buf, len, "uid %ld gid %ld%s%s", (long)pr->pr_uid,
			 (long)pr->pr_gid, pr->pr_jail[0] ? " in jail " : "",
			 pr->pr_jail);
	return buf;
}

/* Fails unless pr may do action on vm (NULL: none). */
static void
allowed_at(const struct fx *fx, const struct principal pr,
	   enum policy_action action, const struct policy_vm *vm,
	   const char *file, int line)
{
	char why[256] = "", wb[128];

	errno = 0;
	if (policy_check(&fx->f_po, &pr, action, vm, why, sizeof(why)) == 0)
		return;
	fail_msg("%s:%d: %s on %s refused for %s (errno %d): %s", file, line,
		 action_names[action], vm != NULL ? vm->pv_name : "(no VM)",
		 who(&pr, wb, sizeof(wb)), errno, why);
}

/*
 * Fails unless pr is refused action on vm with errno err and a why that
 * contains each of the NULL-ended needles.
 */
static void
refused_at(const struct fx *fx, const struct principal pr,
	   enum policy_action action, const struct policy_vm *vm, int err,
	   const char *file, int line, ...)
{
	char why[256], wb[128];
	const char *needle;
	va_list ap;
	int rc;

	memset(why, 0, sizeof(why));
	errno = 0;
	rc = policy_check(&fx->f_po, &pr, action, vm, why, sizeof(why));
	if (rc == 0)
		fail_msg("%s:%d: %s on %s allowed for %s", file, line,
			 action_names[action],
			 vm != NULL ? vm->pv_name : "(no VM)",
			 who(&pr, wb, sizeof(wb)));
	if (rc != -1 || errno != err)
		fail_msg("%s:%d: %s on %s for %s: returned %d errno %d (%s), "
			 "expected -1 errno %d (%s); why: %s",
			 file, line, action_names[action],
			 vm != NULL ? vm->pv_name : "(no VM)",
			 who(&pr, wb, sizeof(wb)), rc, errno, strerror(errno),
			 err, strerror(err), why);
	va_start(ap, line);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (strstr(why, needle) == NULL)
			fail_msg("%s:%d: %s on %s for %s: the why \"%s\" does "
				 "not name \"%s\"",
				 file, line, action_names[action],
				 vm != NULL ? vm->pv_name : "(no VM)",
				 who(&pr, wb, sizeof(wb)), why, needle);
	va_end(ap);
}

#define ALLOWED(pr, action, vm)                                                \
	allowed_at(fx, pr, action, vm, __FILE__, __LINE__)
/* REFUSED(pr, action, vm, errno, needle, ...): needles the why must name. */
#define REFUSED(pr, action, vm, err, ...)                                      \
	refused_at(fx, pr, action, vm, err, __FILE__, __LINE__, __VA_ARGS__,   \
		   (const char *)NULL)

static void
assert_visible(const struct fx *fx, const struct principal pr,
	       const struct policy_vm *vm, int want)
{
	char wb[128];
	int got = policy_vm_visible(&fx->f_po, &pr, vm) != 0;

	if (got != want)
		fail_msg("policy_vm_visible(%s, VM %s of uid %ld in \"%s\") is "
			 "%d, expected %d",
			 who(&pr, wb, sizeof(wb)), vm->pv_name,
			 (long)vm->pv_owner_uid, vm->pv_jail ? vm->pv_jail : "",
			 got, want);
}

/* ---- the principal itself ---- */

static void
test_policy__host_root_is_uid_0_outside_any_jail(void **state)
{
	struct principal pr = pr_root("");

	(void)state;
	assert_true(policy_is_host_root(&pr));
	pr = pr_root("j1");
	assert_false(policy_is_host_root(&pr));
	pr = pr_member("");
	assert_false(policy_is_host_root(&pr));
	/* An anonymous caller's zeroed uid is not root's. */
	pr = pr_anonymous();
	assert_false(policy_is_host_root(&pr));
}

/* The start's own rules: detach and the per-uid quota. */
static int
check_start(const struct principal *pr, int detached, unsigned *max_runs)
{
	struct policy po = {.po_vmm_gid = VMM_GID, .po_max_running = 3};
	char why[256] = "";
	int rc;

	*max_runs = 99;
	errno = 0;
	rc = policy_check_start(&po, pr, detached, max_runs, why, sizeof(why));
	if (rc != 0) {
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(why, "monitor mode"));
	}
	return rc;
}

static void
test_policy__only_root_of_its_scope_may_start_detached(void **state)
{
	struct principal pr = pr_root("");
	unsigned max;

	(void)state;
	assert_int_equal(check_start(&pr, 1, &max), 0);
	pr = pr_root("j1");
	assert_int_equal(check_start(&pr, 1, &max), 0);
	pr = pr_member("");
	assert_int_equal(check_start(&pr, 1, &max), -1);
	assert_int_equal(check_start(&pr, 0, &max), 0);
	pr = pr_member_supp("j1");
	assert_int_equal(check_start(&pr, 1, &max), -1);
	pr = pr_other("");
	assert_int_equal(check_start(&pr, 1, &max), -1);
	pr = pr_anonymous();
	assert_int_equal(check_start(&pr, 1, &max), -1);
}

static void
test_policy__the_running_quota_binds_all_but_root(void **state)
{
	struct principal pr = pr_root("");
	unsigned max;

	(void)state;
	assert_int_equal(check_start(&pr, 0, &max), 0);
	assert_int_equal(max, 0);
	pr = pr_root("j1");
	assert_int_equal(check_start(&pr, 0, &max), 0);
	assert_int_equal(max, 0);
	pr = pr_member("");
	assert_int_equal(check_start(&pr, 0, &max), 0);
	assert_int_equal(max, 3);
}

static void
test_policy__vmm_group_counts_primary_and_supplementary_gids(void **state)
{
	struct fx *fx = *state;
	struct principal pr = pr_member("");
	static const gid_t many[] = {1, 2, 3, 4, 5, 6, 7, VMM_GID};

	assert_true(policy_in_vmm_group(&fx->f_po, &pr));
	pr = pr_member_supp("");
	assert_true(policy_in_vmm_group(&fx->f_po, &pr));
	/* The group as the last of several supplementary groups. */
	pr = pr_new(MEMBER_UID, 1, many, 8, "");
	assert_true(policy_in_vmm_group(&fx->f_po, &pr));
	pr = pr_other("");
	assert_false(policy_in_vmm_group(&fx->f_po, &pr));
	pr = pr_root("");
	assert_false(policy_in_vmm_group(&fx->f_po, &pr));
	/* --vmm-group naming no group: nobody is a member. */
	fx->f_po.po_vmm_gid = (gid_t)-1;
	pr = pr_member("");
	assert_false(policy_in_vmm_group(&fx->f_po, &pr));
	pr = pr_member_supp("");
	assert_false(policy_in_vmm_group(&fx->f_po, &pr));
}

static void
test_policy__public_routes_need_no_principal_and_others_are_401(void **state)
{
	struct fx *fx = *state;
	struct policy_vm vm = vm_new("web1", 0, "", 0);
	enum policy_action a;

	ALLOWED(pr_anonymous(), POL_PUBLIC, NULL);
	for (a = POL_ADMIN; a <= POL_PPT; a++) {
		if (a == POL_PUBLIC)
			continue;
		REFUSED(pr_anonymous(), a,
			a == POL_VM_READ || a == POL_VM_WRITE ||
				a == POL_VM_START
			    ? &vm
			    : NULL,
			EACCES, "principal");
	}
	/* And nothing about the VM leaks through visibility either. */
	assert_visible(fx, pr_anonymous(), &vm, 0);
}

static void
test_policy__any_known_caller_may_use_any_routes(void **state)
{
	struct fx *fx = *state;

	ALLOWED(pr_root(""), POL_ANY, NULL);
	ALLOWED(pr_member(""), POL_ANY, NULL);
	ALLOWED(pr_other(""), POL_ANY, NULL);
	ALLOWED(pr_root("jnovmm"), POL_ANY, NULL);
	ALLOWED(pr_other("j1"), POL_PUBLIC, NULL);
}

/* ---- row: create, define, start detached ---- */

static void
test_policy__host_root_may_define_and_start_every_vm(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "", 0);
	struct policy_vm rootvm = vm_new("rootvm", 0, "", 0);
	struct policy_vm jailed = vm_new("jailed", MEMBER_UID, "j1", 0);

	ALLOWED(pr_root(""), POL_VM_CREATE, NULL);
	ALLOWED(pr_root(""), POL_VM_LIST, NULL);
	ALLOWED(pr_root(""), POL_VM_START, &rootvm);
	ALLOWED(pr_root(""), POL_VM_START, &mine);
	ALLOWED(pr_root(""), POL_VM_START, &jailed);
}

static void
test_policy__vmm_member_may_define_and_start_only_its_own(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "", 0);
	struct policy_vm theirs = vm_new("theirs", MEMBER2_UID, "", 0);

	ALLOWED(pr_member(""), POL_VM_CREATE, NULL);
	ALLOWED(pr_member_supp(""), POL_VM_CREATE, NULL);
	ALLOWED(pr_member(""), POL_VM_LIST, NULL);
	ALLOWED(pr_member_supp(""), POL_VM_LIST, NULL);
	/* Starting is allowed here; monitor mode is api/lifecycle.c's. */
	ALLOWED(pr_member(""), POL_VM_START, &mine);
	ALLOWED(pr_member_supp(""), POL_VM_START, &mine);
	REFUSED(pr_member(""), POL_VM_START, &theirs, EPERM,
		"only the creator (uid 4244) or root", "theirs");
}

static void
test_policy__other_user_may_not_define_and_the_why_names_the_vmm_group(
    void **state)
{
	struct fx *fx = *state;
	struct policy_vm own = vm_new("own", OTHER_UID, "", 0);

	REFUSED(pr_other(""), POL_VM_CREATE, NULL, EPERM, "vmm group", "4200");
	REFUSED(pr_other(""), POL_VM_LIST, NULL, EPERM, "uid 4243",
		"neither root nor in the vmm group", "4200");
	/* A VM it made while it was a member is no longer its to run. */
	REFUSED(pr_other(""), POL_VM_START, &own, EPERM, "uid 4243",
		"neither root nor in the vmm group");
}

static void
test_policy__in_a_jail_with_allow_vmm_define_is_allowed(void **state)
{
	struct fx *fx = *state;
	struct policy_vm j1vm = vm_new("j1vm", MEMBER_UID, "j1", 0);

	ALLOWED(pr_root("j1"), POL_VM_CREATE, NULL);
	ALLOWED(pr_member("j1"), POL_VM_CREATE, NULL);
	ALLOWED(pr_member_supp("j2"), POL_VM_CREATE, NULL);
	ALLOWED(pr_root("j1"), POL_VM_START, &j1vm);
	ALLOWED(pr_member("j1"), POL_VM_START, &j1vm);
	/* The vmm group rule still holds inside the jail. */
	REFUSED(pr_other("j1"), POL_VM_CREATE, NULL, EPERM, "vmm group");
}

static void
test_policy__in_a_jail_without_allow_vmm_nothing_is_allowed(void **state)
{
	struct fx *fx = *state;
	struct policy_vm vm = vm_new("vm", 0, "jnovmm", 0);

	REFUSED(pr_root("jnovmm"), POL_VM_CREATE, NULL, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_member("jnovmm"), POL_VM_CREATE, NULL, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_root("jnovmm"), POL_VM_LIST, NULL, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_root("jnovmm"), POL_VM_READ, &vm, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_root("jnovmm"), POL_VM_START, &vm, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_root("jnovmm"), POL_VM_WRITE, &vm, EPERM,
		"jail jnovmm lacks allow_vmm");
	REFUSED(pr_root("jpptonly"), POL_VM_CREATE, NULL, EPERM,
		"jail jpptonly lacks allow_vmm");
}

static void
test_policy__a_jail_that_does_not_exist_allows_nothing(void **state)
{
	struct fx *fx = *state;
	struct policy_vm vm = vm_new("vm", 0, "gone", 0);

	REFUSED(pr_root("gone"), POL_VM_CREATE, NULL, EPERM, "jail gone",
		"does not exist");
	REFUSED(pr_root("gone"), POL_VM_LIST, NULL, EPERM, "jail gone");
	REFUSED(pr_root("gone"), POL_VM_READ, &vm, EPERM, "jail gone");
	REFUSED(pr_member("gone"), POL_VM_CREATE, NULL, EPERM, "jail gone");
	/* A jail deleted after its caller connected. */
	ALLOWED(pr_root("j1"), POL_VM_CREATE, NULL);
	assert_int_equal(jails_delete(fx->f_jails, "j1"), 0);
	REFUSED(pr_root("j1"), POL_VM_CREATE, NULL, EPERM, "jail j1",
		"does not exist");
}

static void
test_policy__policy_without_jails_refuses_jailed_callers(void **state)
{
	struct fx *fx = *state;

	fx->f_po.po_jails = NULL;
	REFUSED(pr_root("j1"), POL_VM_CREATE, NULL, EPERM, "jail j1");
	ALLOWED(pr_root(""), POL_VM_CREATE, NULL);
	ALLOWED(pr_member(""), POL_VM_CREATE, NULL);
}

/* ---- row: read a VM ---- */

static void
test_policy__host_root_reads_every_vm(void **state)
{
	struct fx *fx = *state;
	struct policy_vm vms[] = {
	    vm_new("rootvm", 0, "", 0),
	    vm_new("mine", MEMBER_UID, "", 0),
	    vm_new("j1vm", MEMBER_UID, "j1", 0),
	    vm_new("j2vm", 0, "j2", 1),
	    vm_new("novmm", 0, "jnovmm", 0),
	};
	size_t i;

	for (i = 0; i < sizeof(vms) / sizeof(vms[0]); i++) {
		ALLOWED(pr_root(""), POL_VM_READ, &vms[i]);
		assert_visible(fx, pr_root(""), &vms[i], 1);
	}
	/* A VM that does not exist: the handler answers 404. */
	ALLOWED(pr_root(""), POL_VM_READ, NULL);
}

static void
test_policy__vmm_member_reads_only_its_own_vms(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "", 0);
	struct policy_vm rootvm = vm_new("rootvm", 0, "", 0);
	struct policy_vm theirs = vm_new("theirs", MEMBER2_UID, "", 0);

	ALLOWED(pr_member(""), POL_VM_READ, &mine);
	ALLOWED(pr_member_supp(""), POL_VM_READ, &mine);
	assert_visible(fx, pr_member(""), &mine, 1);
	assert_visible(fx, pr_member_supp(""), &mine, 1);
	REFUSED(pr_member(""), POL_VM_READ, &rootvm, EPERM,
		"only the creator (uid 0) or root may see VM rootvm");
	REFUSED(pr_member_supp(""), POL_VM_READ, &theirs, EPERM,
		"only the creator (uid 4244) or root may see VM theirs");
	assert_visible(fx, pr_member(""), &rootvm, 0);
	assert_visible(fx, pr_member(""), &theirs, 0);
	/* The other member sees its VM and not this one's. */
	ALLOWED(pr_member2(), POL_VM_READ, &theirs);
	REFUSED(pr_member2(), POL_VM_READ, &mine, EPERM,
		"only the creator (uid 4242) or root");
	/* A VM that does not exist: the handler answers 404. */
	ALLOWED(pr_member(""), POL_VM_READ, NULL);
}

static void
test_policy__own_vms_are_same_uid_and_same_jail(void **state)
{
	struct fx *fx = *state;
	struct policy_vm in_j1 = vm_new("inj1", MEMBER_UID, "j1", 0);
	struct policy_vm on_host = vm_new("onhost", MEMBER_UID, "", 0);

	/* The same uid on the host does not own the jail's VM: it is not
	 * there for it at all. */
	REFUSED(pr_member(""), POL_VM_READ, &in_j1, ENOENT, "inj1");
	REFUSED(pr_member(""), POL_VM_WRITE, &in_j1, ENOENT, "inj1");
	assert_visible(fx, pr_member(""), &in_j1, 0);
	/* Nor does the same uid in the jail own the host's. */
	REFUSED(pr_member("j1"), POL_VM_READ, &on_host, ENOENT, "onhost");
	REFUSED(pr_member("j1"), POL_VM_WRITE, &on_host, ENOENT, "onhost");
	assert_visible(fx, pr_member("j1"), &on_host, 0);
	ALLOWED(pr_member("j1"), POL_VM_READ, &in_j1);
	ALLOWED(pr_member("j1"), POL_VM_WRITE, &in_j1);
	assert_visible(fx, pr_member("j1"), &in_j1, 1);
}

static void
test_policy__other_user_reads_nothing(void **state)
{
	struct fx *fx = *state;
	struct policy_vm rootvm = vm_new("rootvm", 0, "", 0);
	struct policy_vm own = vm_new("own", OTHER_UID, "", 0);

	REFUSED(pr_other(""), POL_VM_READ, &rootvm, EPERM,
		"neither root nor in the vmm group");
	REFUSED(pr_other(""), POL_VM_READ, &own, EPERM,
		"neither root nor in the vmm group");
	REFUSED(pr_other(""), POL_VM_READ, NULL, EPERM,
		"neither root nor in the vmm group");
	assert_visible(fx, pr_other(""), &rootvm, 0);
	assert_visible(fx, pr_other(""), &own, 0);
}

static void
test_policy__jail_root_reads_only_that_jails_vms(void **state)
{
	struct fx *fx = *state;
	struct policy_vm j1root = vm_new("j1root", 0, "j1", 0);
	struct policy_vm j1member = vm_new("j1member", MEMBER_UID, "j1", 0);
	struct policy_vm hostvm = vm_new("hostvm", 0, "", 0);
	struct policy_vm j2vm = vm_new("j2vm", 0, "j2", 0);

	ALLOWED(pr_root("j1"), POL_VM_READ, &j1root);
	ALLOWED(pr_root("j1"), POL_VM_READ, &j1member);
	assert_visible(fx, pr_root("j1"), &j1root, 1);
	assert_visible(fx, pr_root("j1"), &j1member, 1);
	/* Outside the jail, VMs do not exist for it: 404, not 403. */
	REFUSED(pr_root("j1"), POL_VM_READ, &hostvm, ENOENT,
		"no VM named hostvm");
	REFUSED(pr_root("j1"), POL_VM_READ, &j2vm, ENOENT, "no VM named j2vm");
	assert_visible(fx, pr_root("j1"), &hostvm, 0);
	assert_visible(fx, pr_root("j1"), &j2vm, 0);
}

static void
test_policy__jail_member_reads_only_its_own_vms_in_the_jail(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "j1", 0);
	struct policy_vm j1root = vm_new("j1root", 0, "j1", 0);

	ALLOWED(pr_member("j1"), POL_VM_READ, &mine);
	REFUSED(pr_member("j1"), POL_VM_READ, &j1root, EPERM,
		"only the creator (uid 0) or root may see VM j1root");
	assert_visible(fx, pr_member("j1"), &j1root, 0);
	REFUSED(pr_other("j1"), POL_VM_READ, &mine, EPERM,
		"neither root nor in the vmm group");
	assert_visible(fx, pr_other("j1"), &mine, 0);
}

/*
 * policy_vm_visible "same rules as read": wherever a caller may list at
 * all, it lists exactly the VMs it may read.
 */
static void
test_policy__visible_is_readable_wherever_listing_is_allowed(void **state)
{
	struct fx *fx = *state;
	const struct principal prs[] = {
	    pr_root(""),       pr_member(""),         pr_member_supp(""),
	    pr_member2(),      pr_other(""),          pr_root("j1"),
	    pr_member("j1"),   pr_other("j1"),        pr_root("j2"),
	    pr_root("jnovmm"), pr_member("jpptonly"), pr_root("gone"),
	    pr_anonymous(),
	};
	const struct policy_vm vms[] = {
	    vm_new("a", 0, "", 0),
	    vm_new("b", MEMBER_UID, "", 0),
	    vm_new("c", MEMBER2_UID, "", 1),
	    vm_new("d", OTHER_UID, "", 0),
	    vm_new("e", 0, "j1", 0),
	    vm_new("f", MEMBER_UID, "j1", 1),
	    vm_new("g", 0, "j2", 0),
	    vm_new("h", 0, "jnovmm", 0),
	    vm_new("i", MEMBER_UID, NULL, 0),
	};
	char why[256], wb[128];
	size_t p, v;
	int readable, visible;

	for (p = 0; p < sizeof(prs) / sizeof(prs[0]); p++) {
		if (policy_check(&fx->f_po, &prs[p], POL_VM_LIST, NULL, why,
				 sizeof(why)) != 0)
			continue;
		for (v = 0; v < sizeof(vms) / sizeof(vms[0]); v++) {
			readable = policy_check(&fx->f_po, &prs[p], POL_VM_READ,
						&vms[v], why, sizeof(why)) == 0;
			visible =
			    policy_vm_visible(&fx->f_po, &prs[p], &vms[v]) != 0;
			if (readable != visible)
				fail_msg("%s: VM %s (uid %ld, jail \"%s\") is "
					 "%s but %s",
					 who(&prs[p], wb, sizeof(wb)),
					 vms[v].pv_name,
					 (long)vms[v].pv_owner_uid,
					 vms[v].pv_jail ? vms[v].pv_jail : "",
					 readable ? "readable" : "unreadable",
					 visible ? "visible" : "invisible");
		}
	}
}

/* ---- row: stop, destroy, delete, registers, console, guestinfo ---- */

static void
test_policy__host_root_acts_on_every_vm(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "", 0);
	struct policy_vm j1vm = vm_new("j1vm", MEMBER_UID, "j1", 0);

	ALLOWED(pr_root(""), POL_VM_WRITE, &mine);
	ALLOWED(pr_root(""), POL_VM_WRITE, &j1vm);
}

static void
test_policy__vmm_member_acts_only_on_its_own_vms(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "", 0);
	struct policy_vm rootvm = vm_new("rootvm", 0, "", 0);
	struct policy_vm theirs = vm_new("theirs", MEMBER2_UID, "", 0);

	ALLOWED(pr_member(""), POL_VM_WRITE, &mine);
	ALLOWED(pr_member_supp(""), POL_VM_WRITE, &mine);
	REFUSED(pr_member(""), POL_VM_WRITE, &rootvm, EPERM,
		"only the creator (uid 0) or root may act on VM rootvm");
	REFUSED(pr_member_supp(""), POL_VM_WRITE, &theirs, EPERM,
		"only the creator (uid 4244) or root may act on VM theirs");
	REFUSED(pr_member(""), POL_VM_START, &rootvm, EPERM,
		"only the creator (uid 0) or root may act on VM rootvm");
}

static void
test_policy__other_user_acts_on_nothing(void **state)
{
	struct fx *fx = *state;
	struct policy_vm own = vm_new("own", OTHER_UID, "", 0);

	REFUSED(pr_other(""), POL_VM_WRITE, &own, EPERM,
		"neither root nor in the vmm group");
	REFUSED(pr_other(""), POL_VM_WRITE, NULL, EPERM,
		"neither root nor in the vmm group");
}

static void
test_policy__in_a_jail_the_same_rule_holds_inside_it(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mine = vm_new("mine", MEMBER_UID, "j1", 0);
	struct policy_vm theirs = vm_new("theirs", MEMBER2_UID, "j1", 0);
	struct policy_vm hostvm = vm_new("hostvm", MEMBER_UID, "", 0);

	ALLOWED(pr_root("j1"), POL_VM_WRITE, &mine);
	ALLOWED(pr_root("j1"), POL_VM_WRITE, &theirs);
	ALLOWED(pr_member("j1"), POL_VM_WRITE, &mine);
	REFUSED(pr_member("j1"), POL_VM_WRITE, &theirs, EPERM,
		"only the creator (uid 4244) or root may act on VM theirs");
	REFUSED(pr_root("j1"), POL_VM_WRITE, &hostvm, ENOENT,
		"no VM named hostvm");
	REFUSED(pr_root("j2"), POL_VM_WRITE, &mine, ENOENT, "no VM named mine");
}

/* ---- row: passthrough ---- */

static void
test_policy__host_root_may_use_passthrough(void **state)
{
	struct fx *fx = *state;
	struct policy_vm ppt = vm_new("ppt", 0, "", 1);
	struct policy_vm member_ppt = vm_new("mppt", MEMBER_UID, "", 1);

	ALLOWED(pr_root(""), POL_PPT, NULL);
	ALLOWED(pr_root(""), POL_VM_START, &ppt);
	ALLOWED(pr_root(""), POL_VM_START, &member_ppt);
}

static void
test_policy__vmm_member_and_others_may_not_use_passthrough(void **state)
{
	struct fx *fx = *state;
	struct policy_vm mppt = vm_new("mppt", MEMBER_UID, "", 1);

	REFUSED(pr_member(""), POL_PPT, NULL, EPERM, "PCI passthrough", "root");
	REFUSED(pr_member_supp(""), POL_PPT, NULL, EPERM, "PCI passthrough");
	REFUSED(pr_other(""), POL_PPT, NULL, EPERM, "PCI passthrough");
	/* Its own VM with pptdevs: it may see it and stop it, not start it. */
	ALLOWED(pr_member(""), POL_VM_READ, &mppt);
	ALLOWED(pr_member(""), POL_VM_WRITE, &mppt);
	REFUSED(pr_member(""), POL_VM_START, &mppt, EPERM, "PCI passthrough");
}

static void
test_policy__jail_root_needs_allow_vmm_ppt_for_passthrough(void **state)
{
	struct fx *fx = *state;
	struct policy_vm j2ppt = vm_new("j2ppt", 0, "j2", 1);
	struct policy_vm j1ppt = vm_new("j1ppt", 0, "j1", 1);
	struct policy_vm j2mppt = vm_new("j2mppt", MEMBER_UID, "j2", 1);

	ALLOWED(pr_root("j2"), POL_PPT, NULL);
	ALLOWED(pr_root("j2"), POL_VM_START, &j2ppt);
	ALLOWED(pr_root("j2"), POL_VM_START, &j2mppt);
	REFUSED(pr_root("j1"), POL_PPT, NULL, EPERM,
		"jail j1 lacks allow_vmm_ppt");
	REFUSED(pr_root("j1"), POL_VM_START, &j1ppt, EPERM,
		"jail j1 lacks allow_vmm_ppt");
	/* Only the jail's root: a member there is refused even with it. */
	REFUSED(pr_member("j2"), POL_PPT, NULL, EPERM, "PCI passthrough");
	REFUSED(pr_member("j2"), POL_VM_START, &j2mppt, EPERM,
		"PCI passthrough");
}

/*
 * allow_vmm_ppt does not stand alone: without allow_vmm the jail has no
 * VMs, and the why names what is missing (allow_vmm), not what is there.
 */
static void
test_policy__passthrough_in_a_jail_without_allow_vmm_names_allow_vmm(
    void **state)
{
	struct fx *fx = *state;
	struct principal pr = pr_root("jpptonly");
	char why[256] = "";

	REFUSED(pr, POL_PPT, NULL, EPERM, "jail jpptonly lacks allow_vmm");
	assert_int_equal(
	    policy_check(&fx->f_po, &pr, POL_PPT, NULL, why, sizeof(why)), -1);
	if (strstr(why, "allow_vmm_ppt") != NULL)
		fail_msg("jail jpptonly has allow_vmm_ppt and lacks allow_vmm, "
			 "but the why says: %s",
			 why);
}

/* ---- row: tokens, jails, audit ---- */

static void
test_policy__only_host_root_may_manage_tokens_jails_and_audit(void **state)
{
	struct fx *fx = *state;

	ALLOWED(pr_root(""), POL_ADMIN, NULL);
	REFUSED(pr_member(""), POL_ADMIN, NULL, EPERM, "only host root");
	REFUSED(pr_member_supp(""), POL_ADMIN, NULL, EPERM, "only host root");
	REFUSED(pr_other(""), POL_ADMIN, NULL, EPERM, "only host root");
	REFUSED(pr_root("j1"), POL_ADMIN, NULL, EPERM, "only host root",
		"root in a jail is root only there");
	REFUSED(pr_root("j2"), POL_ADMIN, NULL, EPERM, "only host root");
	REFUSED(pr_member("j1"), POL_ADMIN, NULL, EPERM, "only host root");
}

/* ---- images (docs/access.md): shared by every VM ---- */

static void
test_policy__images_are_read_by_vm_users_and_written_by_host_root(void **state)
{
	struct fx *fx = *state;

	ALLOWED(pr_root(""), POL_IMAGE_READ, NULL);
	ALLOWED(pr_member(""), POL_IMAGE_READ, NULL);
	ALLOWED(pr_member_supp(""), POL_IMAGE_READ, NULL);
	ALLOWED(pr_root("j1"), POL_IMAGE_READ, NULL);
	ALLOWED(pr_member("j1"), POL_IMAGE_READ, NULL);
	REFUSED(pr_other(""), POL_IMAGE_READ, NULL, EPERM,
		"neither root nor in the vmm group");
	REFUSED(pr_root("jnovmm"), POL_IMAGE_READ, NULL, EPERM,
		"jail jnovmm lacks allow_vmm");

	ALLOWED(pr_root(""), POL_IMAGE_WRITE, NULL);
	REFUSED(pr_member(""), POL_IMAGE_WRITE, NULL, EPERM, "only host root");
	REFUSED(pr_root("j2"), POL_IMAGE_WRITE, NULL, EPERM, "only host root");
	REFUSED(pr_other(""), POL_IMAGE_WRITE, NULL, EPERM, "only host root");
}

/* A VM name of the longest kind still fits in the why, rule and all. */
static void
test_policy__why_of_a_longest_name_is_whole(void **state)
{
	struct fx *fx = *state;
	char name[65];
	struct policy_vm vm;

	memset(name, 'n', 64);
	name[64] = '\0';
	vm = vm_new(name, MEMBER2_UID, "", 0);
	REFUSED(pr_member(""), POL_VM_WRITE, &vm, EPERM,
		"only the creator (uid 4244) or root may act on VM", name);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_policy__host_root_is_uid_0_outside_any_jail),
	    T(test_policy__only_root_of_its_scope_may_start_detached),
	    T(test_policy__the_running_quota_binds_all_but_root),
	    T(test_policy__vmm_group_counts_primary_and_supplementary_gids),
	    T(test_policy__public_routes_need_no_principal_and_others_are_401),
	    T(test_policy__any_known_caller_may_use_any_routes),
	    T(test_policy__host_root_may_define_and_start_every_vm),
	    T(test_policy__vmm_member_may_define_and_start_only_its_own),
	    T(test_policy__other_user_may_not_define_and_the_why_names_the_vmm_group),
	    T(test_policy__in_a_jail_with_allow_vmm_define_is_allowed),
	    T(test_policy__in_a_jail_without_allow_vmm_nothing_is_allowed),
	    T(test_policy__a_jail_that_does_not_exist_allows_nothing),
	    T(test_policy__policy_without_jails_refuses_jailed_callers),
	    T(test_policy__host_root_reads_every_vm),
	    T(test_policy__vmm_member_reads_only_its_own_vms),
	    T(test_policy__own_vms_are_same_uid_and_same_jail),
	    T(test_policy__other_user_reads_nothing),
	    T(test_policy__jail_root_reads_only_that_jails_vms),
	    T(test_policy__jail_member_reads_only_its_own_vms_in_the_jail),
	    T(test_policy__visible_is_readable_wherever_listing_is_allowed),
	    T(test_policy__host_root_acts_on_every_vm),
	    T(test_policy__vmm_member_acts_only_on_its_own_vms),
	    T(test_policy__other_user_acts_on_nothing),
	    T(test_policy__in_a_jail_the_same_rule_holds_inside_it),
	    T(test_policy__host_root_may_use_passthrough),
	    T(test_policy__vmm_member_and_others_may_not_use_passthrough),
	    T(test_policy__jail_root_needs_allow_vmm_ppt_for_passthrough),
	    T(test_policy__passthrough_in_a_jail_without_allow_vmm_names_allow_vmm),
	    T(test_policy__only_host_root_may_manage_tokens_jails_and_audit),
	    T(test_policy__images_are_read_by_vm_users_and_written_by_host_root),
	    T(test_policy__why_of_a_longest_name_is_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
