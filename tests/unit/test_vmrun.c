/*
 * core/vmrun.c: run identities.  A monitor-mode request remembers the
 * run it started and stops only that one when it ends; the identity must
 * never be handed out again, for any VM of that name, in this daemon's
 * life or the next one's (issue #14, finding 3: run numbers restarted
 * at 1 when a VM was deleted and defined again, so member A's old
 * monitor request stopped member B's new VM of the same name).
 *
 * And autostart: at start-up the daemon starts detached only the VMs
 * whose owner may start them detached (finding 4: a member's autostart
 * VMs ran after a restart although the member may run VMs only in
 * monitor mode, and past --max-running-per-uid).
 *
 * The sim backend runs a three-byte guest, `cli; jmp .`, at 0x1000.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/policy.h"
#include "core/images.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "vmm-driver/vmm.h"

#include "tfixture.h"

#define SPEC_WITH(extra)                                                       \
	"{\"vcpus\":1,\"memory_mib\":1,\"boot\":{\"kind\":\"flat\","           \
	"\"image\":\"loop.bin\",\"load_address\":4096,\"entry\":4096}" extra   \
	"}"
#define SPEC SPEC_WITH("")

struct fx {
	struct tfixture f_tf; /* first */
	struct vmreg *f_reg;
	struct images *f_im;
	struct vmrun *f_vr;
};

static void
fx_open_runtime(struct fx *fx)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/images", fx->f_tf.tf_dir);
	assert_int_equal(vmreg_open(&fx->f_reg, fx->f_tf.tf_db), 0);
	assert_int_equal(images_open(&fx->f_im, fx->f_tf.tf_db, dir), 0);
	assert_int_equal(
	    vmrun_open(&fx->f_vr, fx->f_reg, fx->f_im, &vmm_sim_ops, NULL), 0);
}

static void
fx_close_runtime(struct fx *fx)
{
	vmrun_close(fx->f_vr);
	images_close(fx->f_im);
	vmreg_close(fx->f_reg);
	fx->f_vr = NULL;
	fx->f_im = NULL;
	fx->f_reg = NULL;
}

static int
setup(void **state)
{
	static const unsigned char loop[] = {0xfa, 0xeb, 0xfe}; /* cli; jmp . */
	struct fx *fx = tfixture_new(sizeof(*fx));
	struct image_info info;
	char spool[192];
	int fd, created;

	if (fx == NULL)
		return -1;
	fx_open_runtime(fx);
	snprintf(spool, sizeof(spool), "%s/loop.tmp",
		 images_spool_dir(fx->f_im));
	fd = open(spool, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, loop, sizeof(loop)), (ssize_t)sizeof(loop));
	assert_int_equal(images_put(fx->f_im, "loop.bin", fd, spool,
				    sizeof(loop), &info, &created),
			 0);
	close(fd);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->f_vr != NULL)
		fx_close_runtime(fx);
	tfixture_free(fx);
	return 0;
}

static void
define_spec(struct fx *fx, const char *name, uid_t uid, const char *text)
{
	struct vmreg_owner owner = {uid, uid, ""};
	struct vmreg_doc doc;
	json_t *spec = json_loads(text, 0, NULL);

	assert_non_null(spec);
	assert_int_equal(vmreg_create(fx->f_reg, name, spec, &owner, &doc), 0);
	json_decref(spec);
	free(doc.vd_body);
}

static void
define(struct fx *fx, const char *name, uid_t uid)
{
	define_spec(fx, name, uid, SPEC);
}

static uint64_t
start(struct fx *fx, const char *name)
{
	char why[256] = "";
	uint64_t run = 0;

	if (vmrun_start(fx->f_vr, name, NULL, &run, why, sizeof(why)) != 0)
		fail_msg("start of %s: %s", name, why);
	assert_true(run != 0);
	assert_int_equal(vmrun_current_run(fx->f_vr, name), run);
	return run;
}

static void
stop(struct fx *fx, const char *name)
{
	char why[256] = "";

	if (vmrun_stop(fx->f_vr, name, 0, 1, why, sizeof(why)) != 0)
		fail_msg("stop of %s: %s", name, why);
}

static void
test_vmrun__a_stale_run_never_stops_a_new_vm_of_the_same_name(void **state)
{
	struct fx *fx = *state;
	uint64_t a_run, b_run;

	/* Member A's VM runs (in monitor mode: A's request keeps a_run). */
	define(fx, "web1", 1001);
	a_run = start(fx, "web1");
	/* It is stopped, deleted, and member B defines and starts a VM
	 * of the same name, while A's request has not ended yet. */
	stop(fx, "web1");
	assert_int_equal(vmrun_delete(fx->f_vr, "web1", 0), 0);
	define(fx, "web1", 1002);
	b_run = start(fx, "web1");
	assert_true(b_run != a_run);
	/* A's request ends now: B's VM runs on. */
	vmrun_stop_run(fx->f_vr, "web1", a_run);
	assert_true(vmrun_is_running(fx->f_vr, "web1"));
	assert_int_equal(vmrun_current_run(fx->f_vr, "web1"), b_run);
	/* B's own run is stoppable by its identity. */
	assert_int_equal(vmrun_stop_run(fx->f_vr, "web1", b_run), 0);
	assert_false(vmrun_is_running(fx->f_vr, "web1"));
}

static void
test_vmrun__runs_of_one_vm_and_of_different_vms_never_share_an_identity(
    void **state)
{
	struct fx *fx = *state;
	uint64_t seen[6];
	int i, j;

	define(fx, "a", 1001);
	define(fx, "b", 1001);
	for (i = 0; i < 6; i += 2) {
		seen[i] = start(fx, "a");
		seen[i + 1] = start(fx, "b");
		stop(fx, "a");
		stop(fx, "b");
	}
	for (i = 0; i < 6; i++)
		for (j = i + 1; j < 6; j++)
			assert_true(seen[i] != seen[j]);
}

static void
test_vmrun__identities_are_not_reused_after_a_restart(void **state)
{
	struct fx *fx = *state;
	uint64_t before, after;

	define(fx, "web1", 1001);
	before = start(fx, "web1");
	stop(fx, "web1");
	/* The daemon restarts: a new runtime on the same database. */
	fx_close_runtime(fx);
	tfixture_reopen_db(&fx->f_tf);
	fx_open_runtime(fx);
	after = start(fx, "web1");
	assert_true(after > before);
	vmrun_stop_run(fx->f_vr, "web1", before);
	assert_true(vmrun_is_running(fx->f_vr, "web1"));
	stop(fx, "web1");
}

/* What server/main.c hands vmrun_autostart: the policy's answer. */
static int
autostart_allowed(void *arg, const char *name, uid_t owner, const char *jail,
		  unsigned *max_runs, char *why, size_t len)
{
	return policy_check_autostart(arg, name, owner, jail, max_runs, why,
				      len);
}

static void
test_vmrun__autostart_starts_only_vms_whose_owner_may_run_them_detached(
    void **state)
{
	struct fx *fx = *state;
	struct policy po = {.po_vmm_gid = 4200, .po_max_running = 1};

	/* Stored before the rule, or by hand: a member's autostart VMs. */
	define_spec(fx, "m1", 4242, SPEC_WITH(",\"autostart\":true"));
	define_spec(fx, "m2", 4242, SPEC_WITH(",\"autostart\":true"));
	define_spec(fx, "m3", 4242, SPEC_WITH(",\"autostart\":true"));
	define_spec(fx, "r1", 0, SPEC_WITH(",\"autostart\":true"));
	define_spec(fx, "r2", 0, SPEC_WITH(",\"autostart\":true"));
	define_spec(fx, "r3", 0, SPEC);
	vmrun_autostart(fx->f_vr, autostart_allowed, &po);
	assert_false(vmrun_is_running(fx->f_vr, "m1"));
	assert_false(vmrun_is_running(fx->f_vr, "m2"));
	assert_false(vmrun_is_running(fx->f_vr, "m3"));
	/* Root's run, past the member's quota of 1: root has none. */
	assert_true(vmrun_is_running(fx->f_vr, "r1"));
	assert_true(vmrun_is_running(fx->f_vr, "r2"));
	assert_false(vmrun_is_running(fx->f_vr, "r3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_vmrun__a_stale_run_never_stops_a_new_vm_of_the_same_name,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_vmrun__runs_of_one_vm_and_of_different_vms_never_share_an_identity,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_vmrun__identities_are_not_reused_after_a_restart, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_vmrun__autostart_starts_only_vms_whose_owner_may_run_them_detached,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
