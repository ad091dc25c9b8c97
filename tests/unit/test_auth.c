/*
 * server/auth.c: bearer tokens for TCP callers.  The bootstrap admin token
 * (written once, mode 0600, only on a database without tokens), and
 * auth_check's answers for good, wrong, missing, malformed and expired
 * tokens and the principal a token stands for.
 *
 * Each test gets a fresh database and state directory (mkdtemp); tokens
 * other than the bootstrap one are inserted with db_token_insert and a
 * secret the test knows, hashed here the way tokens are stored (SHA-256).
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
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/api.h"
#include "core/timefmt.h"
#include "db/db.h"
#include "server/auth.h"

struct fx {
	char f_dir[64];
	char f_db_path[128];
	char f_token_path[128];
	struct db *f_db;
	struct auth *f_auth;
};

static void
rmtree(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->f_dir, sizeof(fx->f_dir), "/tmp/test_auth.XXXXXX");
	if (mkdtemp(fx->f_dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->f_db_path, sizeof(fx->f_db_path), "%s/vmmapid.db",
		 fx->f_dir);
	snprintf(fx->f_token_path, sizeof(fx->f_token_path), "%s/admin.token",
		 fx->f_dir);
	if (db_open(&fx->f_db, fx->f_db_path) != 0) {
		rmtree(fx->f_dir);
		free(fx);
		return -1;
	}
	if (auth_open(&fx->f_auth, fx->f_db) != 0) {
		db_close(fx->f_db);
		rmtree(fx->f_dir);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	auth_close(fx->f_auth);
	db_close(fx->f_db);
	rmtree(fx->f_dir);
	free(fx);
	return 0;
}

/* Tokens are loaded at open: reopen to see rows inserted since. */
static void
reopen_auth(struct fx *fx)
{
	auth_close(fx->f_auth);
	fx->f_auth = NULL;
	assert_int_equal(auth_open(&fx->f_auth, fx->f_db), 0);
}

/* Reads the admin.token file into buf (NUL-terminated). */
static void
read_token_file(struct fx *fx, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(fx->f_token_path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

/* The secret of the bootstrap token, without its newline. */
static void
bootstrap_secret(struct fx *fx, char *secret, size_t len)
{
	char *nl;

	read_token_file(fx, secret, len);
	nl = strchr(secret, '\n');
	assert_non_null(nl);
	*nl = '\0';
}

static int
check(struct fx *fx, const char *authorization, struct principal *pr)
{
	memset(pr, 0, sizeof(*pr));
	errno = 0;
	return auth_check(fx->f_auth, authorization, pr);
}

static void
assert_denied(struct fx *fx, const char *authorization)
{
	struct principal pr;

	if (check(fx, authorization, &pr) != -1)
		fail_msg("\"%s\" was accepted",
			 authorization ? authorization : "(null)");
	assert_int_equal(errno, EACCES);
	assert_int_equal(pr.pr_known, 0);
}

/* Inserts a token with the given secret; expires_ms 0: never. */
static void
insert_token(struct fx *fx, const char *id, const char *secret, uid_t uid,
	     const char *gids, const char *jail, int64_t expires_ms)
{
	struct db_token_row row;
	unsigned int n = 0;

	memset(&row, 0, sizeof(row));
	snprintf(row.tr_id, sizeof(row.tr_id), "%s", id);
	assert_int_equal(EVP_Digest(secret, strlen(secret), row.tr_hash, &n,
				    EVP_sha256(), NULL),
			 1);
	assert_int_equal(n, 32);
	row.tr_uid = uid;
	snprintf(row.tr_gids, sizeof(row.tr_gids), "%s", gids);
	snprintf(row.tr_jail, sizeof(row.tr_jail), "%s", jail);
	row.tr_expires_ms = expires_ms;
	snprintf(row.tr_description, sizeof(row.tr_description), "test");
	assert_int_equal(db_token_insert(fx->f_db, &row), 0);
}

/* Bootstrap */

static void
test_auth__bootstrap_writes_a_0600_token_file(void **state)
{
	struct fx *fx = *state;
	char buf[256];
	struct stat st;
	size_t i;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	assert_int_equal(stat(fx->f_token_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	read_token_file(fx, buf, sizeof(buf));
	/* "vmm_", the secret, one newline and nothing else. */
	assert_int_equal(strncmp(buf, "vmm_", 4), 0);
	assert_true(strlen(buf) > 4 + 32);
	assert_int_equal(buf[strlen(buf) - 1], '\n');
	for (i = 4; i < strlen(buf) - 1; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			fail_msg("byte %zu of the token is 0x%02x", i,
				 (unsigned char)buf[i]);
	assert_int_equal(db_token_count(fx->f_db), 1);
}

static void
test_auth__bootstrap_token_is_uid_0_via_token(void **state)
{
	struct fx *fx = *state;
	char secret[256], header[300];
	struct principal pr;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	bootstrap_secret(fx, secret, sizeof(secret));
	snprintf(header, sizeof(header), "Bearer %s", secret);
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_known, 1);
	assert_int_equal(pr.pr_uid, 0);
	assert_string_equal(pr.pr_via, "token");
	assert_string_equal(pr.pr_jail, "");
	assert_int_equal(pr.pr_pid, 0);
}

static void
test_auth__bootstrap_token_is_stored_for_the_next_start(void **state)
{
	struct fx *fx = *state;
	char secret[256], header[300];
	struct principal pr;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	bootstrap_secret(fx, secret, sizeof(secret));
	auth_close(fx->f_auth);
	fx->f_auth = NULL;
	db_close(fx->f_db);
	fx->f_db = NULL;
	assert_int_equal(db_open(&fx->f_db, fx->f_db_path), 0);
	assert_int_equal(auth_open(&fx->f_auth, fx->f_db), 0);
	snprintf(header, sizeof(header), "Bearer %s", secret);
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_uid, 0);
}

static void
test_auth__bootstrap_twice_keeps_the_first_token(void **state)
{
	struct fx *fx = *state;
	char first[256], second[256];

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	read_token_file(fx, first, sizeof(first));
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	read_token_file(fx, second, sizeof(second));
	assert_string_equal(first, second);
	assert_int_equal(db_token_count(fx->f_db), 1);
}

static void
test_auth__bootstrap_after_restart_writes_nothing(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	/* The operator moved the file away after reading it. */
	assert_int_equal(unlink(fx->f_token_path), 0);
	reopen_auth(fx);
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	errno = 0;
	assert_int_equal(access(fx->f_token_path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(db_token_count(fx->f_db), 1);
}

static void
test_auth__bootstrap_with_a_token_in_the_db_does_nothing(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_existing", 0, "0", "", 0);
	reopen_auth(fx);
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	assert_int_equal(access(fx->f_token_path, F_OK), -1);
	assert_int_equal(db_token_count(fx->f_db), 1);
}

static void
test_auth__bootstrap_in_a_missing_directory_fails_cleanly(void **state)
{
	struct fx *fx = *state;
	char dir[160];
	struct principal pr;

	snprintf(dir, sizeof(dir), "%s/missing", fx->f_dir);
	assert_int_equal(auth_bootstrap(fx->f_auth, dir), -1);
	/* No token nobody could read was stored. */
	assert_int_equal(db_token_count(fx->f_db), 0);
	assert_int_equal(check(fx, "Bearer vmm_x", &pr), -1);
	/* And a later bootstrap where it can write still works. */
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	assert_int_equal(db_token_count(fx->f_db), 1);
}

static void
test_auth__bootstrap_over_an_old_token_file_makes_it_0600(void **state)
{
	/*
	 * BUG (reported to the lead; this test fails until auth.c is
	 * fixed): auth_bootstrap opens admin.token with O_CREAT | O_TRUNC
	 * and mode 0600, but open(2) applies the mode only when it creates
	 * the file.  A token file left from an earlier database (here
	 * readable by everyone) keeps its mode, and the new admin secret is
	 * written into a world-readable file.  The header promises 0600.
	 */
	struct fx *fx = *state;
	struct stat st;
	FILE *f = fopen(fx->f_token_path, "w");

	assert_non_null(f);
	fputs("vmm_old\n", f);
	fclose(f);
	assert_int_equal(chmod(fx->f_token_path, 0644), 0);

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_dir), 0);
	assert_int_equal(stat(fx->f_token_path, &st), 0);
	if ((st.st_mode & 07777) != 0600)
		fail_msg("admin.token has mode %04o after bootstrap, want 0600",
			 (unsigned)(st.st_mode & 07777));
}

/* auth_check */

static void
test_auth__bearer_token_is_accepted(void **state)
{
	struct fx *fx = *state;
	struct principal pr;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000,27,100", "j1", 0);
	reopen_auth(fx);
	assert_int_equal(check(fx, "Bearer vmm_secret1", &pr), 0);
	assert_int_equal(pr.pr_known, 1);
	assert_int_equal(pr.pr_uid, 1000);
	assert_int_equal(pr.pr_gid, 1000);
	assert_int_equal(pr.pr_ngroups, 3);
	assert_int_equal(pr.pr_groups[0], 1000);
	assert_int_equal(pr.pr_groups[1], 27);
	assert_int_equal(pr.pr_groups[2], 100);
	assert_string_equal(pr.pr_jail, "j1");
	assert_string_equal(pr.pr_via, "token");
}

static void
test_auth__scheme_is_case_insensitive(void **state)
{
	struct fx *fx = *state;
	struct principal pr;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	/* RFC 9110 11.1: the auth-scheme is case-insensitive. */
	assert_int_equal(check(fx, "bearer vmm_secret1", &pr), 0);
	assert_int_equal(check(fx, "BEARER vmm_secret1", &pr), 0);
	assert_int_equal(check(fx, "BeArEr vmm_secret1", &pr), 0);
	/* The token itself is not. */
	assert_denied(fx, "Bearer VMM_SECRET1");
}

static void
test_auth__extra_spaces_before_the_token_are_allowed(void **state)
{
	struct fx *fx = *state;
	struct principal pr;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	assert_int_equal(check(fx, "Bearer   vmm_secret1", &pr), 0);
}

static void
test_auth__wrong_token_is_rejected(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	assert_denied(fx, "Bearer vmm_secret2");
	assert_denied(fx, "Bearer vmm_secret");
	assert_denied(fx, "Bearer vmm_secret11");
	assert_denied(fx, "Bearer xvmm_secret1");
}

static void
test_auth__missing_or_empty_token_is_rejected(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	assert_denied(fx, NULL);
	assert_denied(fx, "");
	assert_denied(fx, "Bearer");
	assert_denied(fx, "Bearer ");
	assert_denied(fx, "Bearer    ");
}

static void
test_auth__other_schemes_are_rejected(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	assert_denied(fx, "Basic vmm_secret1");
	assert_denied(fx, "Token vmm_secret1");
	assert_denied(fx, "vmm_secret1");
	assert_denied(fx, "Bearervmm_secret1");
	assert_denied(fx, "Bearer: vmm_secret1");
}

static void
test_auth__overlong_token_is_rejected(void **state)
{
	struct fx *fx = *state;
	char header[1100];

	insert_token(fx, "0001", "vmm_secret1", 1000, "1000", "", 0);
	reopen_auth(fx);
	memcpy(header, "Bearer ", 7);
	memset(header + 7, 'a', 1000);
	header[1007] = '\0';
	assert_denied(fx, header);
}

static void
test_auth__no_tokens_means_no_access(void **state)
{
	struct fx *fx = *state;

	assert_denied(fx, "Bearer vmm_anything");
}

static void
test_auth__expired_token_is_rejected(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_old", 1000, "1000", "",
		     timefmt_now_ms() - 1000);
	reopen_auth(fx);
	assert_denied(fx, "Bearer vmm_old");
}

static void
test_auth__token_expiring_later_is_accepted(void **state)
{
	struct fx *fx = *state;
	struct principal pr;

	insert_token(fx, "0001", "vmm_new", 1000, "1000", "",
		     timefmt_now_ms() + 3600 * 1000);
	reopen_auth(fx);
	assert_int_equal(check(fx, "Bearer vmm_new", &pr), 0);
	assert_int_equal(pr.pr_uid, 1000);
}

static void
test_auth__each_token_gives_its_own_principal(void **state)
{
	struct fx *fx = *state;
	struct principal pr;

	insert_token(fx, "0001", "vmm_alice", 1001, "1001", "", 0);
	insert_token(fx, "0002", "vmm_bob", 1002, "1002,5", "j2", 0);
	insert_token(fx, "0003", "vmm_gone", 1003, "1003", "",
		     timefmt_now_ms() - 1);
	reopen_auth(fx);
	assert_int_equal(check(fx, "Bearer vmm_alice", &pr), 0);
	assert_int_equal(pr.pr_uid, 1001);
	assert_string_equal(pr.pr_jail, "");
	assert_int_equal(check(fx, "Bearer vmm_bob", &pr), 0);
	assert_int_equal(pr.pr_uid, 1002);
	assert_int_equal(pr.pr_ngroups, 2);
	assert_string_equal(pr.pr_jail, "j2");
	assert_denied(fx, "Bearer vmm_gone");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_auth__bootstrap_writes_a_0600_token_file),
	    T(test_auth__bootstrap_token_is_uid_0_via_token),
	    T(test_auth__bootstrap_token_is_stored_for_the_next_start),
	    T(test_auth__bootstrap_twice_keeps_the_first_token),
	    T(test_auth__bootstrap_after_restart_writes_nothing),
	    T(test_auth__bootstrap_with_a_token_in_the_db_does_nothing),
	    T(test_auth__bootstrap_in_a_missing_directory_fails_cleanly),
	    T(test_auth__bootstrap_over_an_old_token_file_makes_it_0600),
	    T(test_auth__bearer_token_is_accepted),
	    T(test_auth__scheme_is_case_insensitive),
	    T(test_auth__extra_spaces_before_the_token_are_allowed),
	    T(test_auth__wrong_token_is_rejected),
	    T(test_auth__missing_or_empty_token_is_rejected),
	    T(test_auth__other_schemes_are_rejected),
	    T(test_auth__overlong_token_is_rejected),
	    T(test_auth__no_tokens_means_no_access),
	    T(test_auth__expired_token_is_rejected),
	    T(test_auth__token_expiring_later_is_accepted),
	    T(test_auth__each_token_gives_its_own_principal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
