/*
 * db/db_guestinfo.c: guestinfo keys in SQLite — writes durable and
 * conditional, the per-VM count, revisions from the VMs' counter and
 * never handed out twice, and keys going with their VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "tfixture.h"

static struct db *
dbof(void **state)
{
	return ((struct tfixture *)*state)->tf_db;
}

static uint64_t
define(struct db *db, const char *name)
{
	struct db_vm_row row;
	uint64_t rev;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	row.vr_owner_uid = 1000;
	row.vr_owner_gid = 100;
	row.vr_spec = strdup("{\"vcpus\":1}");
	assert_int_equal(db_vm_insert(db, &row, NULL, NULL), 0);
	rev = row.vr_revision;
	db_vm_row_clear(&row);
	return rev;
}

/* Puts key = value on vm; returns db_guestinfo_put's result (errno). */
static int
put(struct db *db, const char *vm, const char *key, const char *value,
    uint64_t expect, uint64_t *revision, int *created)
{
	struct db_guestinfo_row row;
	int rc;

	memset(&row, 0, sizeof(row));
	snprintf(row.gr_vm, sizeof(row.gr_vm), "%s", vm);
	snprintf(row.gr_key, sizeof(row.gr_key), "%s", key);
	row.gr_value = (char *)value;
	row.gr_len = strlen(value);
	rc = db_guestinfo_put(db, &row, expect, created);
	if (revision != NULL)
		*revision = row.gr_revision;
	return rc;
}

static int
count_keys(void *arg, const struct db_guestinfo_row *row)
{
	(*(int *)arg)++;
	return 0;
}

static int
nkeys(struct db *db, const char *vm)
{
	int n = 0;

	assert_int_equal(db_guestinfo_list(db, vm, count_keys, &n), 0);
	return n;
}

static void
test_db_guestinfo__a_put_is_read_back_with_its_revision(void **state)
{
	struct db *db = dbof(state);
	struct db_guestinfo_row got;
	uint64_t vmrev = define(db, "web1"), r1, r2;
	int created = -1;

	assert_int_equal(put(db, "web1", "k", "v1", 0, &r1, &created), 0);
	assert_int_equal(created, 1);
	assert_true(r1 > vmrev);
	assert_int_equal(db_guestinfo_get(db, "web1", "k", &got), 0);
	assert_string_equal(got.gr_value, "v1");
	assert_int_equal(got.gr_len, 2);
	assert_int_equal(got.gr_revision, r1);
	assert_false(got.gr_by_guest);
	db_guestinfo_row_clear(&got);
	assert_int_equal(put(db, "web1", "k", "v2", r1, &r2, &created), 0);
	assert_int_equal(created, 0);
	assert_true(r2 > r1);
	/* A stale revision, or create-only on an existing key: ESTALE. */
	errno = 0;
	assert_int_equal(put(db, "web1", "k", "v3", r1, NULL, NULL), -1);
	assert_int_equal(errno, ESTALE);
	errno = 0;
	assert_int_equal(put(db, "web1", "k", "v3", UINT64_MAX, NULL, NULL),
			 -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(db_guestinfo_get(db, "web1", "k", &got), 0);
	assert_string_equal(got.gr_value, "v2");
	db_guestinfo_row_clear(&got);
}

static void
test_db_guestinfo__a_missing_vm_or_key_is_enoent(void **state)
{
	struct db *db = dbof(state);
	struct db_guestinfo_row got;

	errno = 0;
	assert_int_equal(put(db, "ghost", "k", "v", 0, NULL, NULL), -1);
	assert_int_equal(errno, ENOENT);
	define(db, "web1");
	errno = 0;
	assert_int_equal(db_guestinfo_get(db, "web1", "k", &got), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(db_guestinfo_delete(db, "web1", "k", 0), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_db_guestinfo__a_vm_holds_the_limit_of_keys(void **state)
{
	struct db *db = dbof(state);
	char key[16];
	int i;

	define(db, "web1");
	for (i = 0; i < LIMIT_GUESTINFO_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(put(db, "web1", key, "v", 0, NULL, NULL), 0);
	}
	errno = 0;
	assert_int_equal(put(db, "web1", "one-more", "v", 0, NULL, NULL), -1);
	assert_int_equal(errno, EDQUOT);
	assert_int_equal(put(db, "web1", "k1", "w", 0, NULL, NULL), 0);
	assert_int_equal(nkeys(db, "web1"), LIMIT_GUESTINFO_KEYS);
}

static void
test_db_guestinfo__keys_go_with_their_vm(void **state)
{
	struct db *db = dbof(state);

	define(db, "web1");
	define(db, "web2");
	assert_int_equal(put(db, "web1", "a", "1", 0, NULL, NULL), 0);
	assert_int_equal(put(db, "web2", "a", "2", 0, NULL, NULL), 0);
	assert_int_equal(db_vm_delete(db, "web1", 0, NULL, NULL), 0);
	define(db, "web1");
	assert_int_equal(nkeys(db, "web1"), 0);
	assert_int_equal(nkeys(db, "web2"), 1);
}

static void
test_db_guestinfo__a_deleted_keys_revision_is_never_handed_out_again(
    void **state)
{
	struct tfixture *tf = *state;
	uint64_t r1, r2;

	define(tf->tf_db, "web1");
	assert_int_equal(put(tf->tf_db, "web1", "k", "v", 0, &r1, NULL), 0);
	assert_int_equal(db_guestinfo_delete(tf->tf_db, "web1", "k", r1), 0);
	tfixture_reopen_db(tf);
	assert_int_equal(put(tf->tf_db, "web1", "k", "v", 0, &r2, NULL), 0);
	assert_true(r2 > r1);
	assert_int_equal(put(tf->tf_db, "web1", "j", "v", 0, &r1, NULL), 0);
	tfixture_reopen_db(tf);
	assert_int_equal(nkeys(tf->tf_db, "web1"), 2);
}

static void
test_db_guestinfo__a_value_past_the_limit_is_einval(void **state)
{
	struct db *db = dbof(state);
	char *big = malloc(LIMIT_GUESTINFO_VALUE + 2);

	assert_non_null(big);
	define(db, "web1");
	memset(big, 'x', LIMIT_GUESTINFO_VALUE);
	big[LIMIT_GUESTINFO_VALUE] = '\0';
	assert_int_equal(put(db, "web1", "k", big, 0, NULL, NULL), 0);
	big[LIMIT_GUESTINFO_VALUE] = 'x';
	big[LIMIT_GUESTINFO_VALUE + 1] = '\0';
	errno = 0;
	assert_int_equal(put(db, "web1", "k", big, 0, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	free(big);
}

#define T(name)                                                                \
	cmocka_unit_test_setup_teardown(name, tfixture_setup, tfixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_db_guestinfo__a_put_is_read_back_with_its_revision),
	    T(test_db_guestinfo__a_missing_vm_or_key_is_enoent),
	    T(test_db_guestinfo__a_vm_holds_the_limit_of_keys),
	    T(test_db_guestinfo__keys_go_with_their_vm),
	    T(test_db_guestinfo__a_deleted_keys_revision_is_never_handed_out_again),
	    T(test_db_guestinfo__a_value_past_the_limit_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
