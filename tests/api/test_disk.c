/*
 * A full state file system (#14 finding 6): creates and uploads answer
 * 507 with a problem, while DELETE of a VM and of an image still answer
 * 204 (the headroom beside the database and --disk-reserve-mib, see
 * docs/operations.md), creates work again once space is free, the daemon
 * stays up and the database is whole.
 *
 * The test makes a file system of its own: a 24 MiB tmpfs over DIR/state
 * in a mount namespace of this process (unshare(CLONE_NEWNS) once, in
 * main), which the daemon inherits.  Without root, or where mount
 * namespaces are not allowed, each case is skipped saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_integrity.h"
#include "harness.h"

#define VM_BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"blob.bin\"}"

/* Why the cases cannot run, or "" when they can. */
static char no_mounts[256];

/* Writes path until the file system is full; returns the bytes written. */
static size_t
fill(const char *path)
{
	static char buf[64 * 1024];
	size_t total = 0;
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			       0600)) >= 0);
	memset(buf, 'x', sizeof(buf));
	/* Down to single bytes, so that not a block is left. */
	for (size_t want = sizeof(buf); want > 0;) {
		n = write(fd, buf, want);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		assert_int_equal(errno, ENOSPC);
		want /= 2;
	}
	close(fd);
	return total;
}

static void
assert_507(struct harness_response *r)
{
	assert_problem(r, 507, NULL);
	assert_json_str(r, "type", "/v1/problems/insufficient-storage");
}

static void
test_disk__on_a_full_disk_deletes_work_and_creates_are_507(struct harness *h)
{
	char state[HARNESS_PATH_MAX], db[HARNESS_PATH_MAX + 16];
	char filler[HARNESS_PATH_MAX + 16], body[256];
	static char image[256 * 1024];
	const char *const *args;
	int i;

	if (no_mounts[0] != '\0')
		harness_skip(h, "%s", no_mounts);
	snprintf(state, sizeof(state), "%s/state", h->h_dir);
	snprintf(db, sizeof(db), "%s/vmmapid.db", state);
	snprintf(filler, sizeof(filler), "%s/filler", state);
	assert_int_equal(mkdir(state, 0755), 0);
	if (mount("vmmapid-test", state, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=24m,mode=0755") != 0)
		harness_skip(h, "mount tmpfs on %s: %s", state,
			     strerror(errno));
	args = (const char *const[]){"--state-dir",        state, "--db", db,
				     "--disk-reserve-mib", "4",   NULL};
	harness_start(h, args);

	memset(image, 0xf4, sizeof(image));
	assert_status(harness_put_image(h, "blob.bin", image, sizeof(image)),
		      201);
	assert_status(harness_put_image(h, "old.bin", image, sizeof(image)),
		      201);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"name\":\"vm%d\"," VM_BOOT "}",
			 i);
		assert_status(harness_req(h, "POST", "/v1/vms", body, NULL),
			      201);
	}

	/*
	 * Someone else fills the file system, to the last byte, while the
	 * daemon is stopped: a clean stop checkpoints the WAL and removes
	 * it, so the daemon starts with no space for its WAL (which it
	 * preallocates while it can: no space after that is needed while
	 * it runs), only the headroom beside the database.
	 */
	harness_stop(h);
	fill(filler);
	harness_start(h, args);
	assert_507(harness_req(h, "POST", "/v1/vms",
			       "{\"name\":\"new\"," VM_BOOT "}", NULL));
	assert_507(harness_req(h, "PUT", "/v1/vms/new2",
			       "{\"name\":\"new2\"," VM_BOOT "}", NULL));
	assert_507(harness_put_image(h, "more.bin", image, 4096));
	/* What frees space still works, and again. */
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "/v1/vms/vm%d", i);
		assert_status(harness_req(h, "DELETE", body, NULL, NULL), 204);
	}
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/old.bin", NULL, NULL), 204);
	assert_status(harness_get(h, "/v1/health"), 200);
	assert_problem(harness_get(h, "/v1/vms/vm0"), 404, NULL);

	/* Space back: creates work again. */
	assert_int_equal(unlink(filler), 0);
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"new\"," VM_BOOT "}", NULL),
		      201);
	assert_status(harness_put_image(h, "more.bin", image, 4096), 201);
	assert_status(harness_get(h, "/v1/health"), 200);
	/* and the headroom is held again: 8 MiB allocated. */
	{
		char hr[HARNESS_PATH_MAX + 32];
		struct stat st;

		snprintf(hr, sizeof(hr), "%s.headroom", db);
		assert_int_equal(stat(hr, &st), 0);
		assert_true((long long)st.st_blocks * 512 >= 8ll << 20);
	}
	harness_stop(h);
	assert_integrity_ok(db);
	/* The daemon's log says what happened. */
	{
		char *log = harness_read_log(h);

		assert_non_null(log);
		assert_non_null(strstr(log, "releasing the headroom"));
		free(log);
	}
	umount2(state, MNT_DETACH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_disk__on_a_full_disk_deletes_work_and_creates_are_507,
		HARNESS_NOSTART),
	};

	if (geteuid() != 0)
		snprintf(no_mounts, sizeof(no_mounts),
			 "mounts a tmpfs of its own and needs root; running "
			 "as uid %ld",
			 (long)geteuid());
	else if (unshare(CLONE_NEWNS) != 0 ||
		 mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		snprintf(no_mounts, sizeof(no_mounts),
			 "cannot make a mount namespace: %s", strerror(errno));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
