/*
 * server/listen.c against the owner of a Unix socket's directory (a jail's
 * root: the jail's socket lives in the jail): whatever that owner swaps in
 * at the socket's path, or in place of anything the daemon makes in that
 * directory, the daemon changes no other file's mode.
 *
 * The race is made deterministic: this program defines bind(), so that
 * every bind() the daemon's code makes lands here; the real bind runs and
 * then, before listen_open goes on, the "attacker" does everything the
 * directory's owner could do at that moment: move the new socket aside
 * and put a symlink to a victim file at the path, and do the same to any
 * directory the daemon made there (the symlink then points at a
 * directory holding files of every name the daemon could touch).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/listen.h"

static struct {
	int a_armed;
	int a_fired;
	char a_dir[96];    /* the socket's directory (the attacker's) */
	char a_path[128];  /* the socket's path */
	char a_victim[96]; /* a file of someone else's, mode 0600 */
	char a_vdir[96];   /* a directory of someone else's */
} attack;

/* Everything the directory's owner may do once the socket is bound. */
static void
attack_now(void)
{
	char from[512], to[512];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	attack.a_fired = 1;
	/* The socket at the path (if bound there) goes; a symlink comes. */
	if (lstat(attack.a_path, &st) == 0) {
		snprintf(to, sizeof(to), "%s/moved-sock", attack.a_dir);
		if (rename(attack.a_path, to) != 0)
			fail_msg("attacker: rename: %s", strerror(errno));
	}
	if (symlink(attack.a_victim, attack.a_path) != 0)
		fail_msg("attacker: symlink: %s", strerror(errno));
	/* Any directory the daemon made beside it: moved, and a symlink to
	 * the victim's directory in its place. */
	if ((d = opendir(attack.a_dir)) == NULL)
		fail_msg("attacker: opendir: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", attack.a_dir, de->d_name);
		if (lstat(from, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(to, sizeof(to), "%s/moved-dir%d", attack.a_dir, n++);
		if (rename(from, to) != 0 || symlink(attack.a_vdir, from) != 0)
			fail_msg("attacker: swapping %s: %s", from,
				 strerror(errno));
	}
	closedir(d);
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	long rc = syscall(SYS_bind, fd, sa, len);

	if (rc == 0 && attack.a_armed && sa->sa_family == AF_UNIX) {
		attack.a_armed = 0;
		attack_now();
	}
	return (int)rc;
}

static void
rmtree(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char p[512];

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			if (unlink(p) != 0)
				rmtree(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* A file made 0600 at path. */
static void
make_victim(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static int
setup(void **state)
{
	char top[64] = "/tmp/test_listen_race.XXXXXX", p[200];
	static char keep[64];
	const char *names[] = {"s", "sock", "api.sock"};
	size_t i;

	if (mkdtemp(top) == NULL)
		return -1;
	memset(&attack, 0, sizeof(attack));
	snprintf(keep, sizeof(keep), "%s", top);
	snprintf(attack.a_dir, sizeof(attack.a_dir), "%s/jail", top);
	snprintf(attack.a_vdir, sizeof(attack.a_vdir), "%s/etc", top);
	snprintf(attack.a_path, sizeof(attack.a_path), "%s/api.sock",
		 attack.a_dir);
	snprintf(attack.a_victim, sizeof(attack.a_victim), "%s/shadow", top);
	if (mkdir(attack.a_dir, 0755) != 0 || mkdir(attack.a_vdir, 0755) != 0)
		return -1;
	make_victim(attack.a_victim);
	/* Files of every name the daemon might touch in a directory. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", attack.a_vdir, names[i]);
		make_victim(p);
	}
	*state = keep;
	return 0;
}

static int
teardown(void **state)
{
	rmtree(*state);
	return 0;
}

/* No file but the daemon's socket changed mode. */
static void
assert_no_victim_changed(void)
{
	const char *names[] = {"s", "sock", "api.sock"};
	char p[200];
	size_t i;

	assert_int_equal(mode_of(attack.a_victim), 0600);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", attack.a_vdir, names[i]);
		if (mode_of(p) != 0600)
			fail_msg("%s became %o", p, (unsigned)mode_of(p));
	}
}

static void
test_listen_race__a_symlink_swapped_in_after_bind_changes_no_mode(void **state)
{
	char spec[160];
	struct listen_sock ls;
	struct stat st;
	int rc;

	(void)state;
	snprintf(spec, sizeof(spec), "unix:%s", attack.a_path);
	attack.a_armed = 1;
	rc = listen_open(spec, &ls);
	assert_true(attack.a_fired);
	assert_no_victim_changed();
	/* The daemon still gets its socket, at its path, not a symlink. */
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(attack.a_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	listen_close(&ls);
	assert_no_victim_changed();
}

static void
test_listen_race__a_symlink_planted_before_is_refused_and_not_followed(
    void **state)
{
	char spec[160], target[200];
	struct listen_sock ls;
	ssize_t n;

	(void)state;
	assert_int_equal(symlink(attack.a_victim, attack.a_path), 0);
	snprintf(spec, sizeof(spec), "unix:%s", attack.a_path);
	errno = 0;
	assert_int_equal(listen_open(spec, &ls), -1);
	assert_int_equal(errno, EEXIST);
	assert_no_victim_changed();
	n = readlink(attack.a_path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, attack.a_victim);
}

/* A set-gid directory (a group's shared one) passes its bit on to the
 * daemon's private directory there; that gives nobody write access. */
static void
test_listen_race__a_set_gid_directory_is_no_obstacle(void **state)
{
	char spec[160];
	struct listen_sock ls;
	struct stat st;

	(void)state;
	assert_int_equal(chmod(attack.a_dir, 02755), 0);
	snprintf(spec, sizeof(spec), "unix:%s", attack.a_path);
	assert_int_equal(listen_open(spec, &ls), 0);
	assert_int_equal(lstat(attack.a_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	listen_close(&ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_listen_race__a_symlink_swapped_in_after_bind_changes_no_mode,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_listen_race__a_symlink_planted_before_is_refused_and_not_followed,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_listen_race__a_set_gid_directory_is_no_obstacle, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
