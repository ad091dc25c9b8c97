/*
 * The backends a driver test runs its cases against, shared by the test
 * programs of tests/driver: each case runs once per backend (a cmocka
 * group per backend, the backend as the case's initial state, the
 * backends chosen by VMMAPID_TEST_BACKEND), is skipped, saying why,
 * where that backend cannot run on this host, and may declare itself
 * meaningful for one backend only.  Every skip goes through tskip.h.
 *
 * Include after <cmocka.h>.
 */
#ifndef VMMAPID_TESTS_DRIVER_TBACKEND_H
#define VMMAPID_TESTS_DRIVER_TBACKEND_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-driver/vmm.h"

#include "tskip.h"

/* One backend under test. */
struct tbackend {
	const char *tb_name;
	const struct vmm_ops *tb_ops;
	int tb_usable;
	char tb_why[200]; /* why it is not usable here */
	/* Descriptors a VM keeps open: per VM and per vCPU. */
	int tb_fds_per_vm, tb_fds_per_vcpu;
};

static struct tbackend tb_kvm = {"kvm", &vmm_kvm_ops, 0, "", 1, 1};
static struct tbackend tb_sim = {"sim", &vmm_sim_ops, 0, "", 0, 0};

/* The running case's backend and its operations (one case at a time). */
static const struct tbackend *be;
static const struct vmm_ops *ops;

/* Decides once whether each backend can run here: kvm needs /dev/kvm. */
static inline void
tbackend_probe(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(tb_kvm.tb_why, sizeof(tb_kvm.tb_why),
			 "/dev/kvm does not open: %s (errno %d)",
			 strerror(errno), errno);
	} else {
		close(fd);
		tb_kvm.tb_usable = 1;
	}
	tb_sim.tb_usable = 1;
}

/* Starts a case on the backend in *state; skips it, saying why, when the
 * backend cannot run on this host. */
static inline void
tbackend_begin(void **state, const char *case_name)
{
	be = *state;
	ops = be->tb_ops;
	if (!be->tb_usable)
		tskip_case(case_name, "on %s: %s", be->tb_name, be->tb_why);
}
#define BACKEND(state) tbackend_begin(state, __func__)

/* Skips the running case unless its backend is name, saying why. */
static inline void
tbackend_only_(const char *case_name, const char *name, const char *why)
{
	if (strcmp(be->tb_name, name) != 0)
		tskip_case(case_name, "on %s only, not %s: %s", name,
			   be->tb_name, why);
}
#define tbackend_only(name, why) tbackend_only_(__func__, name, why)

static inline int
tbackend_is(const char *name)
{
	return strcmp(be->tb_name, name) == 0;
}

/*
 * Runs the cases on the backend named by the environment's
 * VMMAPID_TEST_BACKEND ("sim" or "kvm"; ctest runs each program once per
 * backend, test_X@sim and test_X@kvm), or on both, kvm first, when it is
 * unset.  A program asked for kvm where /dev/kvm does not open skips as a
 * whole (exit TSKIP_EXIT), saying why.  Returns the failures.
 */
static inline int
tbackend_run(const struct CMUnitTest *kvm, size_t nkvm,
	     const struct CMUnitTest *sim, size_t nsim)
{
	const char *want = getenv("VMMAPID_TEST_BACKEND");
	int failed = 0;

	tbackend_probe();
	if (want != NULL && *want != '\0' && strcmp(want, "kvm") != 0 &&
	    strcmp(want, "sim") != 0) {
		fprintf(stderr, "VMMAPID_TEST_BACKEND=%s: not kvm or sim\n",
			want);
		return 1;
	}
	if (want != NULL && strcmp(want, "kvm") == 0 && !tb_kvm.tb_usable) {
		tskip_program("%s", tb_kvm.tb_why);
		exit(TSKIP_EXIT);
	}
	if (want == NULL || *want == '\0' || strcmp(want, "kvm") == 0) {
		print_message("backend kvm\n");
		failed += _cmocka_run_group_tests("kvm", kvm, nkvm, NULL, NULL);
	}
	if (want == NULL || *want == '\0' || strcmp(want, "sim") == 0) {
		print_message("backend sim\n");
		failed += _cmocka_run_group_tests("sim", sim, nsim, NULL, NULL);
	}
	return failed;
}

/* main() of a test program whose cases are CASES(backend). */
#define TBACKEND_MAIN(cases)                                                   \
	int main(void)                                                         \
	{                                                                      \
		const struct CMUnitTest kvm_[] = {cases(&tb_kvm)};             \
		const struct CMUnitTest sim_[] = {cases(&tb_sim)};             \
		return tbackend_run(kvm_, sizeof(kvm_) / sizeof(kvm_[0]),      \
				    sim_, sizeof(sim_) / sizeof(sim_[0]));     \
	}

#endif
