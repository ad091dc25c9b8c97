/*
 * --max-running-per-uid under concurrency: starts of one member's VMs
 * sent at once never run more of them than the quota allows (the count
 * and a start's place in it are taken together, core/vmrun.c).
 */
#include "harness.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VMM_GID 4200
#define MEMBER_UID 4242
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */

static const gid_t member_groups[] = {MEMBER_UID, VMM_GID};
static const struct harness_identity member = {MEMBER_UID, MEMBER_UID,
					       member_groups, 2, NULL};

/*
 * starts monitor-mode starts of as many of member's VMs at once, each
 * from its own process and connection, with --max-running-per-uid
 * quota: exactly quota of them answer 200 and run, the others 403.
 */
static void
quota_concurrent_starts(struct harness *h, int starts, int quota)
{
	struct harness_child *c[16];
	struct harness_response *r;
	int i, ok = 0, refused = 0;
	size_t running;

	assert_true(starts <= 16);
	harness_need_root(h);
	harness_put_guest(h, "spin");
	for (i = 0; i < starts; i++) {
		char body[256];

		snprintf(body, sizeof(body),
			 "{\"name\":\"q%d\",\"memory_mib\":%d,\"boot\":{"
			 "\"kind\":\"flat\",\"image\":\"spin.bin\"}}",
			 i, HARNESS_VM_MEMORY_MIB);
		assert_status(
		    harness_req_as(h, &member, "POST", "/v1/vms", body), 201);
	}
	/* All at once: each its own process and connection. */
	for (i = 0; i < starts; i++) {
		struct harness_request rq;
		char *path = harness_alloc(h, 64);

		snprintf(path, 64, "/v1/vms/q%d/start?mode=monitor", i);
		memset(&rq, 0, sizeof(rq));
		rq.rq_method = "POST";
		rq.rq_path = path;
		rq.rq_timeout_ms = 60000;
		c[i] = harness_as_open(h, &member, &rq, 0);
	}
	for (i = 0; i < starts; i++) {
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
	if (ok != quota || refused != starts - quota)
		fail_msg("%d starts ran and %d were refused; the quota is %d "
			 "of %d",
			 ok, refused, quota, starts);
	/* And what runs, as the daemon records it (the monitor requests
	 * that got 200 are still open). */
	r = harness_get(h, "/v1/vms?state=running");
	assert_status(r, 200);
	running = json_array_size(json_object_get(r->hr_json, "items"));
	if (running != (size_t)quota)
		fail_msg("%zu of the member's VMs run; the quota is %d",
			 running, quota);
	for (i = 0; i < starts; i++)
		harness_child_kill(c[i]);
}

static void
test_quota__concurrent_starts_never_overshoot_the_running_quota(
    struct harness *h)
{
	quota_concurrent_starts(h, 6, 2);
}

/*
 * A start of VM qI as the member, held at a barrier: a child connects as
 * the member, sends the request but its last line ending, and sends that
 * when go becomes readable (closed), so that every start reaches the
 * daemon within microseconds of the others.  The status of the answer
 * is written to result as one line; then the child keeps the connection
 * (a monitor request lasts as long as it) until it is killed.  go and
 * result are pipes; the child keeps only go[0] and result[1].
 */
static pid_t
quota_barrier_start(struct harness *h, int i, const int go[2],
		    const int result[2])
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char rq[160], buf[64];
	ssize_t n;
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	/* Never outlives a case that failed to kill it. */
	alarm(60);
	close(go[1]);
	close(result[0]);
	if (setgroups(2, member_groups) != 0 || setgid(MEMBER_UID) != 0 ||
	    setuid(MEMBER_UID) != 0)
		_exit(2);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->h_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		_exit(3);
	snprintf(rq, sizeof(rq),
		 "POST /v1/vms/q%d/start?mode=monitor HTTP/1.1\r\n"
		 "Host: localhost\r\nContent-Length: 0\r\n",
		 i);
	if (write(fd, rq, strlen(rq)) != (ssize_t)strlen(rq))
		_exit(4);
	(void)read(go[0], buf, 1); /* returns 0 when the parent closes it */
	if (write(fd, "\r\n", 2) != 2)
		_exit(5);
	n = read(fd, buf, 12); /* "HTTP/1.1 200" */
	if (n < 12)
		_exit(6);
	buf[12] = '\0';
	snprintf(rq, sizeof(rq), "%.3s\n", buf + 9);
	(void)write(result[1], rq, 4);
	for (;;)
		pause();
}

/* Issue #14, finding 5: with the limit at 1, 8 concurrent monitor-mode
 * starts left 2, 3 and 7 VMs running in three tries. */
static void
test_quota__eight_concurrent_starts_with_a_limit_of_one_run_exactly_one(
    struct harness *h)
{
	struct harness_response *r;
	pid_t kids[8];
	int round, i, go[2], result[2];

	harness_need_root(h);
	harness_put_guest(h, "spin");
	for (i = 0; i < 8; i++) {
		char body[256];

		snprintf(body, sizeof(body),
			 "{\"name\":\"q%d\",\"memory_mib\":%d,\"boot\":{"
			 "\"kind\":\"flat\",\"image\":\"spin.bin\"}}",
			 i, HARNESS_VM_MEMORY_MIB);
		assert_status(
		    harness_req_as(h, &member, "POST", "/v1/vms", body), 201);
	}
	for (round = 0; round < 5; round++) {
		char line[64];
		int ok = 0, refused = 0, got = 0;
		size_t running;
		FILE *res;

		if (round > 0)
			harness_restart(h); /* nothing runs across it */
		if (pipe(go) != 0 || pipe(result) != 0)
			fail_msg("pipe: %s", strerror(errno));
		for (i = 0; i < 8; i++)
			kids[i] = quota_barrier_start(h, i, go, result);
		close(go[0]);
		close(result[1]);
		/* Every request head but its end is in; then all at once. */
		usleep(300 * 1000);
		close(go[1]);
		res = fdopen(result[0], "r");
		assert_non_null(res);
		while (got < 8 && fgets(line, sizeof(line), res) != NULL) {
			got++;
			if (strncmp(line, "200", 3) == 0)
				ok++;
			else if (strncmp(line, "403", 3) == 0)
				refused++;
			else
				fail_msg("a start answered %.3s", line);
		}
		fclose(res);
		r = harness_get(h, "/v1/vms?state=running");
		assert_status(r, 200);
		running = json_array_size(json_object_get(r->hr_json, "items"));
		for (i = 0; i < 8; i++) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
		if (got != 8 || ok != 1 || refused != 7 || running != 1)
			fail_msg("round %d: of 8 starts with a limit of 1, %d "
				 "answered, %d ran, %d were refused; %zu VMs "
				 "run",
				 round, got, ok, refused, running);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(
		test_quota__concurrent_starts_never_overshoot_the_running_quota,
		0, "--vmm-group", "4200", "--max-running-per-uid", "2"),
	    HARNESS_CASE_ARGS(
		test_quota__eight_concurrent_starts_with_a_limit_of_one_run_exactly_one,
		0, "--vmm-group", "4200", "--max-running-per-uid", "1"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
