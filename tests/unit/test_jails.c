/*
 * core/jails.c over db/db_jails.c: jails created, replaced, read, listed
 * and deleted, durably (a reopened store has what the last one wrote),
 * with their input checked; and vmreg_count_in_jail, which DELETE of a
 * jail asks before it deletes.
 *
 * Each test gets a fresh database in a mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/jails.h"
#include "base/timefmt.h"
#include "core/vmreg.h"
#include "db/db.h"

#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
	struct jails *f_jails;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (jails_open(&fx->f_jails, fx->f_tf.tf_db) != 0) {
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

	jails_close(fx->f_jails);
	tfixture_free(fx);
	return 0;
}

/* Closes the store and the database and opens both again. */
static void
reopen(struct fx *fx)
{
	jails_close(fx->f_jails);
	fx->f_jails = NULL;
	tfixture_reopen_db(&fx->f_tf);
	assert_int_equal(jails_open(&fx->f_jails, fx->f_tf.tf_db), 0);
}

static struct jail_info
jail(const char *name, int vmm, int ppt, const char *socket)
{
	struct jail_info ji;

	memset(&ji, 0, sizeof(ji));
	snprintf(ji.ji_name, sizeof(ji.ji_name), "%s", name);
	ji.ji_allow_vmm = vmm;
	ji.ji_allow_vmm_ppt = ppt;
	snprintf(ji.ji_socket, sizeof(ji.ji_socket), "%s", socket);
	return ji;
}

static void
put_ok(struct fx *fx, struct jail_info ji, int want_created)
{
	int created = -1;

	if (jails_put(fx->f_jails, &ji, &created) != 0)
		fail_msg("put %s: %s", ji.ji_name, strerror(errno));
	assert_int_equal(created, want_created);
}

static void
test_jails__put_creates_a_jail_that_get_returns(void **state)
{
	struct fx *fx = *state;
	struct jail_info got;
	int64_t before = timefmt_now_ms();

	put_ok(fx, jail("j1", 1, 1, "/run/j1.sock"), 1);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), 0);
	assert_string_equal(got.ji_name, "j1");
	assert_int_equal(got.ji_allow_vmm, 1);
	assert_int_equal(got.ji_allow_vmm_ppt, 1);
	assert_string_equal(got.ji_socket, "/run/j1.sock");
	assert_true(got.ji_created_ms >= before);
	assert_true(got.ji_created_ms <= timefmt_now_ms());
}

static void
test_jails__put_again_replaces_and_keeps_the_creation_time(void **state)
{
	struct fx *fx = *state;
	struct jail_info first, got;

	put_ok(fx, jail("j1", 1, 0, "/run/j1.sock"), 1);
	assert_int_equal(jails_get(fx->f_jails, "j1", &first), 0);
	usleep(5000);
	put_ok(fx, jail("j1", 0, 0, ""), 0);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), 0);
	assert_int_equal(got.ji_allow_vmm, 0);
	assert_string_equal(got.ji_socket, "");
	assert_int_equal(got.ji_created_ms, first.ji_created_ms);
	reopen(fx);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), 0);
	assert_int_equal(got.ji_allow_vmm, 0);
	assert_string_equal(got.ji_socket, "");
	assert_int_equal(got.ji_created_ms, first.ji_created_ms);
}

static void
test_jails__jails_survive_a_restart(void **state)
{
	struct fx *fx = *state;
	struct jail_info got;

	put_ok(fx, jail("j1", 1, 0, "/run/j1.sock"), 1);
	put_ok(fx, jail("j2", 1, 1, ""), 1);
	reopen(fx);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), 0);
	assert_int_equal(got.ji_allow_vmm, 1);
	assert_int_equal(got.ji_allow_vmm_ppt, 0);
	assert_string_equal(got.ji_socket, "/run/j1.sock");
	assert_int_equal(jails_get(fx->f_jails, "j2", &got), 0);
	assert_int_equal(got.ji_allow_vmm_ppt, 1);
	assert_string_equal(got.ji_socket, "");
}

static void
test_jails__list_is_in_name_order(void **state)
{
	struct fx *fx = *state;
	const char *names[] = {"zeta", "Alpha", "beta", "9lives", "b.2"};
	const char *sorted[] = {"9lives", "Alpha", "b.2", "beta", "zeta"};
	struct jail_info *list;
	size_t n, i;

	for (i = 0; i < 5; i++)
		put_ok(fx, jail(names[i], 0, 0, ""), 1);
	assert_int_equal(jails_list(fx->f_jails, &list, &n), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(list[i].ji_name, sorted[i]);
	free(list);
	reopen(fx);
	assert_int_equal(jails_list(fx->f_jails, &list, &n), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(list[i].ji_name, sorted[i]);
	free(list);
}

static void
test_jails__empty_list_is_null_and_zero(void **state)
{
	struct fx *fx = *state;
	struct jail_info *list = (struct jail_info *)1;
	size_t n = 7;

	assert_int_equal(jails_list(fx->f_jails, &list, &n), 0);
	assert_null(list);
	assert_int_equal(n, 0);
}

static void
test_jails__get_of_an_unknown_jail_is_enoent(void **state)
{
	struct fx *fx = *state;
	struct jail_info got;

	put_ok(fx, jail("j1", 0, 0, ""), 1);
	errno = 0;
	assert_int_equal(jails_get(fx->f_jails, "j2", &got), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(jails_get(fx->f_jails, "J1", &got), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_jails__delete_removes_it_durably(void **state)
{
	struct fx *fx = *state;
	struct jail_info got;

	put_ok(fx, jail("j1", 1, 0, ""), 1);
	put_ok(fx, jail("j2", 1, 0, ""), 1);
	assert_int_equal(jails_delete(fx->f_jails, "j1"), 0);
	errno = 0;
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), -1);
	assert_int_equal(errno, ENOENT);
	reopen(fx);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), -1);
	assert_int_equal(jails_get(fx->f_jails, "j2", &got), 0);
	/* A name freed is a name to take again, as new. */
	put_ok(fx, jail("j1", 0, 0, ""), 1);
}

static void
test_jails__delete_of_an_unknown_jail_is_enoent(void **state)
{
	struct fx *fx = *state;

	errno = 0;
	assert_int_equal(jails_delete(fx->f_jails, "nope"), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_jails__names_are_checked_at_the_limit_and_past_it(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = {"", "-j", ".j", "j/1", "j 1", "j\x01"};
	struct jail_info ji;
	char name[66];
	size_t i;

	memset(name, 'a', 64);
	name[64] = '\0';
	put_ok(fx, jail(name, 0, 0, ""), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ji = jail(bad[i], 0, 0, "");
		errno = 0;
		if (jails_put(fx->f_jails, &ji, NULL) != -1)
			fail_msg("name \"%s\" was accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
	/* 65 bytes: past the limit (and past a name's room). */
	memset(&ji, 0, sizeof(ji));
	memset(ji.ji_name, 'a', sizeof(ji.ji_name));
	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_jails__sockets_must_be_absolute_and_fit(void **state)
{
	struct fx *fx = *state;
	struct jail_info ji;
	char path[108];

	ji = jail("j1", 0, 0, "run/j1.sock");
	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EINVAL);
	/* 107 bytes: a sockaddr_un's sun_path holds it with its NUL. */
	memset(path, 'p', 107);
	path[0] = '/';
	path[107] = '\0';
	put_ok(fx, jail("j1", 0, 0, path), 1);
	memset(&ji, 0, sizeof(ji));
	snprintf(ji.ji_name, sizeof(ji.ji_name), "j2");
	memset(ji.ji_socket, 'p', sizeof(ji.ji_socket));
	ji.ji_socket[0] = '/';
	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_jails__flags_other_than_0_and_1_are_einval(void **state)
{
	struct fx *fx = *state;
	struct jail_info ji = jail("j1", 2, 0, "");
	struct jail_info got;

	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EINVAL);
	ji = jail("j1", 1, -1, "");
	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), -1);
}

static void
test_jails__a_socket_belongs_to_one_jail(void **state)
{
	struct fx *fx = *state;
	struct jail_info ji = jail("j2", 1, 0, "/run/shared.sock");
	struct jail_info got;

	put_ok(fx, jail("j1", 1, 0, "/run/shared.sock"), 1);
	errno = 0;
	assert_int_equal(jails_put(fx->f_jails, &ji, NULL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(jails_get(fx->f_jails, "j2", &got), -1);
	/* Once j1 lets it go, j2 may have it. */
	put_ok(fx, jail("j1", 1, 0, ""), 0);
	put_ok(fx, ji, 1);
	/* Jails without a socket do not collide on "". */
	put_ok(fx, jail("j3", 0, 0, ""), 1);
}

/* Writers of different jails at once: each write lands, none is lost. */
struct writer_arg {
	struct fx *wa_fx;
	int wa_id;
	int wa_fail;
};

static void *
writer_main(void *arg)
{
	struct writer_arg *wa = arg;
	struct jail_info ji;
	char name[16];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "w%d-%d", wa->wa_id, i);
		ji = jail(name, i & 1, 0, "");
		if (jails_put(wa->wa_fx->f_jails, &ji, NULL) != 0)
			wa->wa_fail++;
	}
	return NULL;
}

static void
test_jails__concurrent_puts_all_land_in_order(void **state)
{
	struct fx *fx = *state;
	struct writer_arg wa[4];
	pthread_t th[4];
	struct jail_info *list;
	size_t n, i;

	for (i = 0; i < 4; i++) {
		wa[i].wa_fx = fx;
		wa[i].wa_id = (int)i;
		wa[i].wa_fail = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, writer_main, &wa[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(wa[i].wa_fail, 0);
	}
	assert_int_equal(jails_list(fx->f_jails, &list, &n), 0);
	assert_int_equal(n, 80);
	for (i = 1; i < n; i++)
		assert_true(strcmp(list[i - 1].ji_name, list[i].ji_name) < 0);
	free(list);
	reopen(fx);
	assert_int_equal(jails_list(fx->f_jails, &list, &n), 0);
	assert_int_equal(n, 80);
	free(list);
}

static void
test_jails__a_version_2_database_gets_jails_and_audit(void **state)
{
	struct fx *fx = *state;
	struct db_audit_row row;
	struct jail_info got;
	sqlite3 *sql;
	sqlite3_stmt *st;
	int version = -1;

	assert_true(db_schema_version() >= 3);
	jails_close(fx->f_jails);
	fx->f_jails = NULL;
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	/* What a version 2 daemon left: no jails, no audit. */
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		sql,
		"DROP TABLE events; DROP TABLE pptdevs; DROP TABLE guestinfo; "
		"DROP TABLE jails; "
		"DROP TABLE audit; "
		"PRAGMA user_version = 2;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(sql);

	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_int_equal(jails_open(&fx->f_jails, fx->f_tf.tf_db), 0);
	put_ok(fx, jail("j1", 1, 0, "/run/j1.sock"), 1);
	assert_int_equal(jails_get(fx->f_jails, "j1", &got), 0);
	memset(&row, 0, sizeof(row));
	snprintf(row.ar_method, sizeof(row.ar_method), "PUT");
	row.ar_path = "/v1/jails/j1";
	assert_int_equal(db_audit_append(fx->f_tf.tf_db, &row), 0);

	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sql);
	assert_int_equal(version, db_schema_version());
}

/* vmreg_count_in_jail */

static void
create_vm(struct vmreg *reg, const char *name, const char *jail_name)
{
	struct vmreg_owner owner = {1000, 1000, jail_name};
	struct vmreg_doc doc = {0};
	json_t *spec = json_pack("{s:s, s:i}", "name", name, "vcpus", 1);
	char key[VMKEY_SIZE];

	assert_non_null(spec);
	assert_int_equal(vmkey_make(key, jail_name, name), 0);
	if (vmreg_create(reg, key, spec, &owner, &doc) != 0)
		fail_msg("create %s: %s", name, strerror(errno));
	json_decref(spec);
	free(doc.vd_body);
}

static void
test_jails__vms_are_counted_per_jail(void **state)
{
	struct fx *fx = *state;
	struct vmreg *reg;
	size_t n = 99;

	assert_int_equal(vmreg_open(&reg, fx->f_tf.tf_db), 0);
	assert_int_equal(vmreg_count_in_jail(reg, "j1", &n), 0);
	assert_int_equal(n, 0);
	create_vm(reg, "a", "j1");
	create_vm(reg, "b", "j1");
	create_vm(reg, "c", "j2");
	create_vm(reg, "d", "");
	assert_int_equal(vmreg_count_in_jail(reg, "j1", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(vmreg_count_in_jail(reg, "j2", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vmreg_count_in_jail(reg, "", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vmreg_count_in_jail(reg, "j", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vmreg_delete(reg, "j1/a", 0), 0);
	assert_int_equal(vmreg_count_in_jail(reg, "j1", &n), 0);
	assert_int_equal(n, 1);
	vmreg_close(reg);
	/* From the database, as at start-up. */
	assert_int_equal(vmreg_open(&reg, fx->f_tf.tf_db), 0);
	assert_int_equal(vmreg_count_in_jail(reg, "j1", &n), 0);
	assert_int_equal(n, 1);
	vmreg_close(reg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_jails__put_creates_a_jail_that_get_returns),
	    T(test_jails__put_again_replaces_and_keeps_the_creation_time),
	    T(test_jails__jails_survive_a_restart),
	    T(test_jails__list_is_in_name_order),
	    T(test_jails__empty_list_is_null_and_zero),
	    T(test_jails__get_of_an_unknown_jail_is_enoent),
	    T(test_jails__delete_removes_it_durably),
	    T(test_jails__delete_of_an_unknown_jail_is_enoent),
	    T(test_jails__names_are_checked_at_the_limit_and_past_it),
	    T(test_jails__sockets_must_be_absolute_and_fit),
	    T(test_jails__flags_other_than_0_and_1_are_einval),
	    T(test_jails__a_socket_belongs_to_one_jail),
	    T(test_jails__concurrent_puts_all_land_in_order),
	    T(test_jails__a_version_2_database_gets_jails_and_audit),
	    T(test_jails__vms_are_counted_per_jail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
