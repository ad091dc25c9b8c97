/*
 * core/auth.c: bearer tokens for TCP callers.  The bootstrap admin token
 * (written once, mode 0600, only on a database without tokens),
 * auth_check's answers for good, wrong, missing, malformed and expired
 * tokens and the principal a token stands for, and tokens added, listed
 * and removed at run time (auth_token_*).
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

#include "api/api.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "core/auth.h"
#include "base/sha256.h"

#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
	char f_token_path[128];
	struct auth *f_auth;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->f_token_path, sizeof(fx->f_token_path), "%s/admin.token",
		 fx->f_tf.tf_dir);
	if (auth_open(&fx->f_auth, fx->f_tf.tf_db) != 0) {
		tfixture_free(fx);
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
	tfixture_free(fx);
	return 0;
}

/* Tokens are loaded at open: reopen to see rows inserted since. */
static void
reopen_auth(struct fx *fx)
{
	auth_close(fx->f_auth);
	fx->f_auth = NULL;
	assert_int_equal(auth_open(&fx->f_auth, fx->f_tf.tf_db), 0);
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

	memset(&row, 0, sizeof(row));
	snprintf(row.tr_id, sizeof(row.tr_id), "%s", id);
	sha256(secret, strlen(secret), row.tr_hash);
	row.tr_uid = uid;
	snprintf(row.tr_gids, sizeof(row.tr_gids), "%s", gids);
	snprintf(row.tr_jail, sizeof(row.tr_jail), "%s", jail);
	row.tr_expires_ms = expires_ms;
	snprintf(row.tr_description, sizeof(row.tr_description), "test");
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &row), 0);
}

/* Bootstrap */

static void
test_auth__bootstrap_writes_a_0600_token_file(void **state)
{
	struct fx *fx = *state;
	char buf[256];
	struct stat st;
	size_t i;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
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
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static void
test_auth__bootstrap_token_is_uid_0_via_token(void **state)
{
	struct fx *fx = *state;
	char secret[256], header[300];
	struct principal pr;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
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

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	bootstrap_secret(fx, secret, sizeof(secret));
	auth_close(fx->f_auth);
	fx->f_auth = NULL;
	tfixture_reopen_db(&fx->f_tf);
	assert_int_equal(auth_open(&fx->f_auth, fx->f_tf.tf_db), 0);
	snprintf(header, sizeof(header), "Bearer %s", secret);
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_uid, 0);
}

static void
test_auth__bootstrap_twice_keeps_the_first_token(void **state)
{
	struct fx *fx = *state;
	char first[256], second[256];

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	read_token_file(fx, first, sizeof(first));
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	read_token_file(fx, second, sizeof(second));
	assert_string_equal(first, second);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static void
test_auth__bootstrap_after_restart_writes_nothing(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	/* The operator moved the file away after reading it. */
	assert_int_equal(unlink(fx->f_token_path), 0);
	reopen_auth(fx);
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	errno = 0;
	assert_int_equal(access(fx->f_token_path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static void
test_auth__bootstrap_with_a_token_in_the_db_does_nothing(void **state)
{
	struct fx *fx = *state;

	insert_token(fx, "0001", "vmm_existing", 0, "0", "", 0);
	reopen_auth(fx);
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	assert_int_equal(access(fx->f_token_path, F_OK), -1);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static void
test_auth__bootstrap_in_a_missing_directory_fails_cleanly(void **state)
{
	struct fx *fx = *state;
	char dir[160];
	struct principal pr;

	snprintf(dir, sizeof(dir), "%s/missing", fx->f_tf.tf_dir);
	assert_int_equal(auth_bootstrap(fx->f_auth, dir), -1);
	/* No token nobody could read was stored. */
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 0);
	assert_int_equal(check(fx, "Bearer vmm_x", &pr), -1);
	/* And a later bootstrap where it can write still works. */
	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
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

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
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

/* Run-time tokens: auth_token_add, _remove, _get, _list */

/* A request for uid with gids (count n), jail and expiry. */
static struct auth_token
token_req(uid_t uid, const gid_t *gids, int n, const char *jail,
	  int64_t expires_ms)
{
	struct auth_token tok;

	memset(&tok, 0, sizeof(tok));
	tok.at_uid = uid;
	memcpy(tok.at_gids, gids, (size_t)n * sizeof(gid_t));
	tok.at_ngids = n;
	snprintf(tok.at_jail, sizeof(tok.at_jail), "%s", jail);
	tok.at_expires_ms = expires_ms;
	snprintf(tok.at_description, sizeof(tok.at_description), "d");
	return tok;
}

/* Adds tok and returns "Bearer <secret>" in header. */
static void
add_ok(struct fx *fx, struct auth_token *tok, char *header, size_t len)
{
	char secret[AUTH_SECRET_LEN];

	memset(secret, 'x', sizeof(secret));
	assert_int_equal(auth_token_add(fx->f_auth, tok, secret), 0);
	snprintf(header, len, "Bearer %s", secret);
}

static void
test_auth__added_token_works_at_once_as_its_principal(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1000, 27, 100};
	struct auth_token tok = token_req(1000, gids, 3, "j1", 0);
	char header[128];
	struct principal pr;

	add_ok(fx, &tok, header, sizeof(header));
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_uid, 1000);
	assert_int_equal(pr.pr_gid, 1000);
	assert_int_equal(pr.pr_ngroups, 3);
	assert_int_equal(pr.pr_groups[1], 27);
	assert_int_equal(pr.pr_groups[2], 100);
	assert_string_equal(pr.pr_jail, "j1");
	assert_string_equal(pr.pr_via, "token");
}

static void
test_auth__added_token_has_a_fresh_id_and_a_vmm_hex_secret(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {5};
	struct auth_token a = token_req(5, gids, 1, "", 0);
	struct auth_token b = token_req(5, gids, 1, "", 0);
	char ha[128], hb[128];
	int64_t before = timefmt_now_ms();
	size_t i;

	add_ok(fx, &a, ha, sizeof(ha));
	add_ok(fx, &b, hb, sizeof(hb));
	/* "Bearer vmm_" and 64 lower-case hex digits, each its own. */
	assert_int_equal(strlen(ha), 7 + 4 + 64);
	assert_int_equal(strncmp(ha + 7, "vmm_", 4), 0);
	for (i = 11; i < strlen(ha); i++)
		assert_non_null(strchr("0123456789abcdef", ha[i]));
	assert_string_not_equal(ha, hb);
	assert_int_equal(strlen(a.at_id), 16);
	assert_string_not_equal(a.at_id, b.at_id);
	assert_true(a.at_created_ms >= before);
	assert_true(a.at_created_ms <= timefmt_now_ms());
}

static void
test_auth__added_token_is_on_disk_with_its_fields(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1001, 4242};
	int64_t exp = timefmt_now_ms() + 3600 * 1000;
	struct auth_token tok = token_req(1001, gids, 2, "j2", exp);
	struct auth_token got;
	char header[128];
	struct principal pr;

	snprintf(tok.at_description, sizeof(tok.at_description),
		 "ci runner, \"quoted\"");
	add_ok(fx, &tok, header, sizeof(header));
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
	reopen_auth(fx);
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_uid, 1001);
	assert_int_equal(auth_token_get(fx->f_auth, tok.at_id, &got), 0);
	assert_int_equal(got.at_uid, 1001);
	assert_int_equal(got.at_ngids, 2);
	assert_int_equal(got.at_gids[0], 1001);
	assert_int_equal(got.at_gids[1], 4242);
	assert_string_equal(got.at_jail, "j2");
	assert_int_equal(got.at_expires_ms, exp);
	assert_int_equal(got.at_created_ms, tok.at_created_ms);
	assert_string_equal(got.at_description, "ci runner, \"quoted\"");
}

static void
test_auth__token_with_max_gids_is_added_and_one_more_is_einval(void **state)
{
	struct fx *fx = *state;
	gid_t gids[AUTH_MAX_GIDS + 1];
	struct auth_token tok;
	char header[128], secret[AUTH_SECRET_LEN];
	struct principal pr;
	int i;

	/* The largest gids: the stored list must hold all of them. */
	for (i = 0; i <= AUTH_MAX_GIDS; i++)
		gids[i] = (gid_t)(4294967294u - (unsigned)i);
	tok = token_req(1, gids, AUTH_MAX_GIDS, "", 0);
	add_ok(fx, &tok, header, sizeof(header));
	reopen_auth(fx);
	assert_int_equal(check(fx, header, &pr), 0);
	assert_int_equal(pr.pr_ngroups, AUTH_MAX_GIDS);
	assert_int_equal(pr.pr_groups[AUTH_MAX_GIDS - 1],
			 gids[AUTH_MAX_GIDS - 1]);

	tok = token_req(1, gids, AUTH_MAX_GIDS + 1, "", 0);
	errno = 0;
	assert_int_equal(auth_token_add(fx->f_auth, &tok, secret), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static void
test_auth__bad_token_requests_are_einval_and_store_nothing(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1000};
	const gid_t nogid[] = {(gid_t)-1};
	struct auth_token bad[6];
	char secret[AUTH_SECRET_LEN];
	size_t i;

	bad[0] = token_req(1000, gids, 0, "", 0);      /* no gid */
	bad[1] = token_req((uid_t)-1, gids, 1, "", 0); /* uid -1 */
	bad[2] = token_req(1000, nogid, 1, "", 0);     /* gid -1 */
	bad[3] = token_req(1000, gids, 1, "-bad", 0);  /* jail name */
	bad[4] = token_req(1000, gids, 1, "", 1);      /* expired */
	bad[5] = token_req(1000, gids, 1, "", -5);     /* negative */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (auth_token_add(fx->f_auth, &bad[i], secret) != -1)
			fail_msg("bad request %zu was accepted", i);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 0);
}

static void
test_auth__token_expiring_soon_is_refused_once_expired(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1000};
	struct auth_token tok =
	    token_req(1000, gids, 1, "", timefmt_now_ms() + 150);
	char header[128];
	struct principal pr;

	add_ok(fx, &tok, header, sizeof(header));
	assert_int_equal(check(fx, header, &pr), 0);
	usleep(300 * 1000);
	assert_denied(fx, header);
}

static void
test_auth__removed_token_is_refused_at_once_and_after_restart(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1000};
	struct auth_token keep = token_req(1000, gids, 1, "", 0);
	struct auth_token gone = token_req(1001, gids, 1, "", 0);
	char hk[128], hg[128];
	struct principal pr;

	add_ok(fx, &keep, hk, sizeof(hk));
	add_ok(fx, &gone, hg, sizeof(hg));
	assert_int_equal(auth_token_remove(fx->f_auth, gone.at_id), 0);
	assert_denied(fx, hg);
	assert_int_equal(check(fx, hk, &pr), 0);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
	reopen_auth(fx);
	assert_denied(fx, hg);
	assert_int_equal(check(fx, hk, &pr), 0);
	errno = 0;
	assert_int_equal(auth_token_get(fx->f_auth, gone.at_id, &keep), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_auth__removing_an_unknown_token_is_enoent(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {1000};
	struct auth_token tok = token_req(1000, gids, 1, "", 0);
	char header[128];

	add_ok(fx, &tok, header, sizeof(header));
	errno = 0;
	assert_int_equal(auth_token_remove(fx->f_auth, "0123456789abcdef"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(auth_token_remove(fx->f_auth, tok.at_id), 0);
	errno = 0;
	assert_int_equal(auth_token_remove(fx->f_auth, tok.at_id), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_auth__bootstrap_token_can_be_removed(void **state)
{
	struct fx *fx = *state;
	struct auth_token *list;
	char secret[256], header[300];
	size_t n;

	assert_int_equal(auth_bootstrap(fx->f_auth, fx->f_tf.tf_dir), 0);
	bootstrap_secret(fx, secret, sizeof(secret));
	assert_int_equal(auth_token_list(fx->f_auth, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].at_description, "bootstrap admin token");
	assert_int_equal(auth_token_remove(fx->f_auth, list[0].at_id), 0);
	free(list);
	snprintf(header, sizeof(header), "Bearer %s", secret);
	assert_denied(fx, header);
}

static void
test_auth__list_is_oldest_first_and_counts_jails(void **state)
{
	struct fx *fx = *state;
	const gid_t gids[] = {7};
	struct auth_token t[3];
	struct auth_token *list;
	char header[128];
	size_t n, i;

	t[0] = token_req(1, gids, 1, "j1", 0);
	t[1] = token_req(2, gids, 1, "", 0);
	t[2] = token_req(3, gids, 1, "j1", 0);
	for (i = 0; i < 3; i++) {
		add_ok(fx, &t[i], header, sizeof(header));
		usleep(2000); /* distinct creation times */
	}
	reopen_auth(fx); /* loaded in id order, listed in creation order */
	assert_int_equal(auth_token_list(fx->f_auth, &list, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(list[i].at_id, t[i].at_id);
		assert_int_equal(list[i].at_uid, t[i].at_uid);
	}
	free(list);
	assert_int_equal(auth_token_count_in_jail(fx->f_auth, "j1"), 2);
	assert_int_equal(auth_token_count_in_jail(fx->f_auth, "j2"), 0);
	assert_int_equal(auth_token_count_in_jail(fx->f_auth, ""), 1);
}

static void
test_auth__empty_list_is_null_and_zero(void **state)
{
	struct fx *fx = *state;
	struct auth_token *list = (struct auth_token *)1;
	size_t n = 99;

	assert_int_equal(auth_token_list(fx->f_auth, &list, &n), 0);
	assert_null(list);
	assert_int_equal(n, 0);
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
	    T(test_auth__added_token_works_at_once_as_its_principal),
	    T(test_auth__added_token_has_a_fresh_id_and_a_vmm_hex_secret),
	    T(test_auth__added_token_is_on_disk_with_its_fields),
	    T(test_auth__token_with_max_gids_is_added_and_one_more_is_einval),
	    T(test_auth__bad_token_requests_are_einval_and_store_nothing),
	    T(test_auth__token_expiring_soon_is_refused_once_expired),
	    T(test_auth__removed_token_is_refused_at_once_and_after_restart),
	    T(test_auth__removing_an_unknown_token_is_enoent),
	    T(test_auth__bootstrap_token_can_be_removed),
	    T(test_auth__list_is_oldest_first_and_counts_jails),
	    T(test_auth__empty_list_is_null_and_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
