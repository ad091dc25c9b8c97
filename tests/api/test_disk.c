/*
 * A full state file system (#14 finding 6): creates and uploads answer
 * 507 with a problem, while DELETE of a VM, of an image and of a jail and
 * a token's revocation still answer 204 (the headroom beside the database
 * and --disk-reserve-mib, see docs/operations.md) and hold across a
 * restart, creates work again once space is free, the daemon stays up
 * and the database is whole.
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

/* The case's state directory, on a tmpfs of its own, and its files. */
struct disk {
	char d_state[HARNESS_PATH_MAX];
	char d_db[HARNESS_PATH_MAX + 16];
	char d_filler[HARNESS_PATH_MAX + 16];
	const char *d_args[8]; /* the daemon's extra arguments */
};

/*
 * Mounts a 24 MiB tmpfs on DIR/state (skipping the case when it cannot)
 * and fills d with its paths and the arguments that put the daemon's
 * state there.
 */
static void
disk_mount_reserve(struct harness *h, struct disk *d, const char *reserve_mib)
{
	if (no_mounts[0] != '\0')
		harness_skip(h, "%s", no_mounts);
	snprintf(d->d_state, sizeof(d->d_state), "%s/state", h->h_dir);
	snprintf(d->d_db, sizeof(d->d_db), "%s/vmmapid.db", d->d_state);
	snprintf(d->d_filler, sizeof(d->d_filler), "%s/filler", d->d_state);
	assert_int_equal(mkdir(d->d_state, 0755), 0);
	if (mount("vmmapid-test", d->d_state, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=24m,mode=0755") != 0)
		harness_skip(h, "mount tmpfs on %s: %s", d->d_state,
			     strerror(errno));
	/* The admin token is written into the state directory. */
	if ((size_t)snprintf(h->h_token_path, sizeof(h->h_token_path),
			     "%s/admin.token",
			     d->d_state) >= sizeof(h->h_token_path))
		fail_msg("%s/admin.token: too long a path", d->d_state);
	d->d_args[0] = "--state-dir";
	d->d_args[1] = d->d_state;
	d->d_args[2] = "--db";
	d->d_args[3] = d->d_db;
	d->d_args[4] = "--disk-reserve-mib";
	d->d_args[5] = reserve_mib;
	d->d_args[6] = NULL;
}

/* disk_mount_reserve with --disk-reserve-mib 4. */
static void
disk_mount(struct harness *h, struct disk *d)
{
	disk_mount_reserve(h, d, "4");
}

/*
 * Someone else fills the file system, to the last byte, while the
 * daemon is stopped: a clean stop checkpoints the WAL and removes it, so
 * the daemon starts with no space for its WAL (which it preallocates
 * while it can: no space after that is needed while it runs), only the
 * headroom beside the database.
 */
static void
fill_while_stopped(struct harness *h, const struct disk *d)
{
	harness_stop(h);
	fill(d->d_filler);
	harness_start(h, d->d_args);
}

static void
test_disk__on_a_full_disk_deletes_work_and_creates_are_507(struct harness *h)
{
	char body[256];
	static char image[256 * 1024];
	struct disk d;
	int i;

	disk_mount(h, &d);
	harness_start(h, d.d_args);

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

	fill_while_stopped(h, &d);
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
	assert_int_equal(unlink(d.d_filler), 0);
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"new\"," VM_BOOT "}", NULL),
		      201);
	assert_status(harness_put_image(h, "more.bin", image, 4096), 201);
	assert_status(harness_get(h, "/v1/health"), 200);
	/* and the headroom is held again: 8 MiB allocated. */
	{
		char hr[HARNESS_PATH_MAX + 32];
		struct stat st;

		snprintf(hr, sizeof(hr), "%s.headroom", d.d_db);
		assert_int_equal(stat(hr, &st), 0);
		assert_true((long long)st.st_blocks * 512 >= 8ll << 20);
	}
	harness_stop(h);
	assert_integrity_ok(d.d_db);
	/* The daemon's log says what happened. */
	{
		char *log = harness_read_log(h);

		assert_non_null(log);
		assert_non_null(strstr(log, "releasing the headroom"));
		free(log);
	}
	umount2(d.d_state, MNT_DETACH);
}

/*
 * A floor below the headroom (1 MiB against 8): on a disk that filled
 * while the daemon was stopped, it starts by releasing the headroom,
 * which leaves 8 MiB free; creates and uploads must still be 507, since
 * those bytes are the deletes' (they answered 201 before).
 */
static void
test_disk__a_reserve_below_the_headroom_keeps_creates_off_it(struct harness *h)
{
	static char image[64 * 1024];
	struct disk d;

	disk_mount_reserve(h, &d, "1");
	harness_start(h, d.d_args);
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"vm0\"," VM_BOOT "}", NULL),
		      201);
	fill_while_stopped(h, &d);
	assert_507(harness_req(h, "POST", "/v1/vms",
			       "{\"name\":\"new\"," VM_BOOT "}", NULL));
	assert_507(harness_put_image(h, "more.bin", image, sizeof(image)));
	assert_status(harness_req(h, "DELETE", "/v1/vms/vm0", NULL, NULL), 204);
	harness_stop(h);
	assert_integrity_ok(d.d_db);
	umount2(d.d_state, MNT_DETACH);
}

/* A string member of r's JSON body, or fails the case. */
static const char *
str_at(const struct harness_response *r, const char *dotted)
{
	const char *v = json_string_value(harness_json_at(r->hr_json, dotted));

	if (v == NULL)
		fail_msg("%s %s: no string at %s in %s", r->hr_method,
			 r->hr_path, dotted, r->hr_body);
	return v;
}

/* A request over TCP with token, no body. */
static struct harness_response *
tcp_get(struct harness *h, const char *token, const char *path)
{
	struct harness_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "GET";
	rq.rq_path = path;
	rq.rq_tcp = 1;
	rq.rq_token = token;
	return harness_send(h, &rq);
}

/*
 * Revoking a token and deleting a jail are deletes too: on a disk that
 * filled while the daemon ran, DELETE /v1/tokens/ID answers 204 and the
 * token is refused at once, the jail it was scoped to can then be
 * deleted, and both hold after a restart on the still full disk (the
 * revocation is on disk, not only in memory).
 */
static void
test_disk__on_a_full_disk_a_token_is_revoked_and_a_jail_deleted_for_good(
    struct harness *h)
{
	struct harness_response *r;
	char token[256], id[128], path[192];
	struct disk d;

	disk_mount(h, &d);
	harness_start(h, d.d_args);
	assert_status(
	    harness_req(h, "PUT", "/v1/jails/j1", "{\"allow_vmm\":true}", NULL),
	    201);
	r = harness_req(h, "POST", "/v1/tokens",
			"{\"uid\":0,\"gids\":[0],\"jail\":\"j1\"}", NULL);
	assert_status(r, 201);
	snprintf(token, sizeof(token), "%s", str_at(r, "token"));
	snprintf(id, sizeof(id), "%s", str_at(r, "id"));
	assert_status(tcp_get(h, token, "/v1/vms"), 200);

	/* Someone else fills the file system while the daemon runs. */
	fill(d.d_filler);
	assert_507(harness_req(h, "POST", "/v1/vms",
			       "{\"name\":\"new\"," VM_BOOT "}", NULL));
	/* the token still works: the 401 below is the revocation's */
	assert_status(tcp_get(h, token, "/v1/vms"), 200);
	/* a jail with a token scoped to it stays */
	assert_problem(harness_req(h, "DELETE", "/v1/jails/j1", NULL, NULL),
		       409, NULL);
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	assert_status(harness_req(h, "DELETE", path, NULL, NULL), 204);
	assert_problem(tcp_get(h, token, "/v1/vms"), 401, NULL);
	assert_status(harness_req(h, "DELETE", "/v1/jails/j1", NULL, NULL),
		      204);
	assert_problem(harness_get(h, "/v1/jails/j1"), 404, NULL);

	/* A restart on the full disk: both were written, not only known. */
	harness_stop(h);
	harness_start(h, d.d_args);
	assert_problem(tcp_get(h, token, "/v1/vms"), 401, NULL);
	assert_problem(harness_req(h, "GET", path, NULL, NULL), 404, NULL);
	assert_problem(harness_get(h, "/v1/jails/j1"), 404, NULL);
	/* tokens as such still work: the admin token */
	assert_status(tcp_get(h, h->h_token, "/v1/tokens"), 200);
	assert_507(harness_req(h, "POST", "/v1/vms",
			       "{\"name\":\"new\"," VM_BOOT "}", NULL));
	harness_stop(h);
	assert_integrity_ok(d.d_db);
	assert_int_equal(unlink(d.d_filler), 0);
	umount2(d.d_state, MNT_DETACH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_disk__on_a_full_disk_deletes_work_and_creates_are_507,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_disk__on_a_full_disk_a_token_is_revoked_and_a_jail_deleted_for_good,
		HARNESS_NOSTART | HARNESS_TCP),
	    HARNESS_CASE(
		test_disk__a_reserve_below_the_headroom_keeps_creates_off_it,
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
