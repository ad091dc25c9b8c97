/*
 * --max-running-per-uid under concurrency: starts of one member's VMs
 * sent at once never run more of them than the quota allows (the count
 * and a start's place in it are taken together, core/vmrun.c).
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define VMM_GID 4200
#define MEMBER_UID 4242
#define QUOTA 2
#define STARTS 6
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */

static const gid_t member_groups[] = {MEMBER_UID, VMM_GID};
static const struct harness_identity member = {MEMBER_UID, MEMBER_UID,
					       member_groups, 2, NULL};

static void
test_quota__concurrent_starts_never_overshoot_the_running_quota(
    struct harness *h)
{
	struct harness_child *c[STARTS];
	int i, ok = 0, refused = 0;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	for (i = 0; i < STARTS; i++) {
		char body[256];

		snprintf(body, sizeof(body),
			 "{\"name\":\"q%d\",\"memory_mib\":%d,\"boot\":{"
			 "\"kind\":\"flat\",\"image\":\"spin.bin\"}}",
			 i, HARNESS_VM_MEMORY_MIB);
		assert_status(
		    harness_req_as(h, &member, "POST", "/v1/vms", body), 201);
	}
	/* All at once: each its own process and connection. */
	for (i = 0; i < STARTS; i++) {
		struct harness_request rq;
		char *path = harness_alloc(h, 64);

		snprintf(path, 64, "/v1/vms/q%d/start?mode=monitor", i);
		memset(&rq, 0, sizeof(rq));
		rq.rq_method = "POST";
		rq.rq_path = path;
		rq.rq_timeout_ms = 60000;
		c[i] = harness_as_open(h, &member, &rq, 0);
	}
	for (i = 0; i < STARTS; i++) {
		long status = 0;
		int waited;

		for (waited = 0; waited < WAIT_MS && status == 0;
		     waited += 10) {
			status = harness_child_status(c[i]);
			if (status == 0)
				harness_child_wait_for(c[i], "\n", 10);
		}
		if (status == 200)
			ok++;
		else if (status == 403)
			refused++;
		else
			fail_msg("start of q%d: status %ld", i, status);
	}
	if (ok != QUOTA || refused != STARTS - QUOTA)
		fail_msg("%d starts ran and %d were refused; the quota is %d "
			 "of %d",
			 ok, refused, QUOTA, STARTS);
	for (i = 0; i < STARTS; i++)
		harness_child_kill(c[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(
		test_quota__concurrent_starts_never_overshoot_the_running_quota,
		0, "--vmm-group", "4200", "--max-running-per-uid", "2"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
