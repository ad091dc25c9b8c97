/*
 * db/: opening and migrating, the vms and tokens rows, every errno the
 * writes promise, revisions, commit hooks and group commit.
 *
 * Each test gets a fresh database in its own mkdtemp directory under /tmp.
 * Some tests reach into db_internal.h to hold the writer thread on a
 * "gate" job, so that the writes queued behind it are known to share one
 * batch; and this test is the one place outside db/ that opens the file
 * with SQLite directly, to see what is on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"

#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	tfixture_free(fx);
	return 0;
}

static void
reopen(struct fx *fx)
{
	tfixture_reopen_db(&fx->f_tf);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* A row ready to insert: owner 1000:100, outside any jail. */
static void
row_init(struct db_vm_row *row, const char *name, const char *spec)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->vr_name, sizeof(row->vr_name), "%s", name);
	row->vr_owner_uid = 1000;
	row->vr_owner_gid = 100;
	row->vr_spec = strdup(spec);
	assert_non_null(row->vr_spec);
}

static uint64_t
insert(struct fx *fx, const char *name)
{
	struct db_vm_row row;
	uint64_t revision;

	row_init(&row, name, "{\"vcpus\":1}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	revision = row.vr_revision;
	db_vm_row_clear(&row);
	return revision;
}

/* Sets the stored state of name through db_vm_update_state. */
static void
set_state(struct fx *fx, const char *name, const char *state)
{
	struct db_vm_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	assert_int_equal(vm_state_parse(state, &row.vr_state), 0);
	assert_int_equal(db_vm_update_state(fx->f_tf.tf_db, &row, NULL, NULL),
			 0);
	db_vm_row_clear(&row);
}

/* Every stored row, copied out of db_vm_load_all. */
struct rows {
	struct db_vm_row *r_rows;
	size_t r_n;
};

static int
rows_add(void *arg, const struct db_vm_row *row)
{
	struct rows *rs = arg;
	struct db_vm_row *r;

	r = realloc(rs->r_rows, (rs->r_n + 1) * sizeof(*r));
	if (r == NULL)
		return -1;
	rs->r_rows = r;
	r = &rs->r_rows[rs->r_n++];
	*r = *row;
	r->vr_spec = strdup(row->vr_spec);
	r->vr_status = strdup(row->vr_status);
	return 0;
}

static void
rows_load(struct fx *fx, struct rows *rs)
{
	memset(rs, 0, sizeof(*rs));
	assert_int_equal(db_vm_load_all(fx->f_tf.tf_db, rows_add, rs), 0);
}

static void
rows_free(struct rows *rs)
{
	size_t i;

	for (i = 0; i < rs->r_n; i++)
		db_vm_row_clear(&rs->r_rows[i]);
	free(rs->r_rows);
	memset(rs, 0, sizeof(*rs));
}

/* The stored row of name into *out (caller clears); -1 if none. */
static int
stored(struct fx *fx, const char *name, struct db_vm_row *out)
{
	struct rows rs;
	size_t i;
	int ret = -1;

	rows_load(fx, &rs);
	for (i = 0; i < rs.r_n; i++) {
		if (strcmp(rs.r_rows[i].vr_name, name) == 0) {
			*out = rs.r_rows[i];
			memset(&rs.r_rows[i], 0, sizeof(rs.r_rows[i]));
			ret = 0;
		}
	}
	rows_free(&rs);
	return ret;
}

static int
user_version(const char *path)
{
	sqlite3 *sql;
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(
	    sqlite3_open_v2(path, &sql, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sql);
	return v;
}

/* Waits (up to 30 s) until n jobs are queued behind the gate. */
static void
wait_queued(struct db *db, size_t n)
{
	int i;

	for (i = 0; i < 30000 && db_writer_queued(db) < n; i++)
		sleep_ms(1);
	assert_int_equal(db_writer_queued(db), n);
}

/* A thread inserting ni_count VMs named <prefix>-<i>. */
struct inserter {
	struct db *ni_db;
	char ni_prefix[32];
	int ni_count;
	int ni_ok;
	int ni_errno; /* the last failure's */
	uint64_t ni_last_revision;
	int ni_revisions_increase;
	pthread_t ni_thread;
};

static void *
inserter_main(void *arg)
{
	struct inserter *in = arg;
	struct db_vm_row row;
	char name[64];
	int i;

	in->ni_revisions_increase = 1;
	for (i = 0; i < in->ni_count; i++) {
		if (in->ni_count == 1)
			snprintf(name, sizeof(name), "%s", in->ni_prefix);
		else
			snprintf(name, sizeof(name), "%s-%d", in->ni_prefix, i);
		memset(&row, 0, sizeof(row));
		snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
		row.vr_spec = strdup("{}");
		if (db_vm_insert(in->ni_db, &row, NULL, NULL) == 0) {
			in->ni_ok++;
			if (row.vr_revision <= in->ni_last_revision)
				in->ni_revisions_increase = 0;
			in->ni_last_revision = row.vr_revision;
		} else
			in->ni_errno = errno;
		db_vm_row_clear(&row);
	}
	return NULL;
}

static void
inserter_start(struct inserter *in, struct db *db, const char *prefix,
	       int count)
{
	memset(in, 0, sizeof(*in));
	in->ni_db = db;
	snprintf(in->ni_prefix, sizeof(in->ni_prefix), "%s", prefix);
	in->ni_count = count;
	assert_int_equal(
	    pthread_create(&in->ni_thread, NULL, inserter_main, in), 0);
}

static void
test_db__open_creates_schema_at_current_version(void **state)
{
	struct fx *fx = *state;

	assert_true(db_schema_version() >= 1);
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version());
	assert_int_equal(db_ping(fx->f_tf.tf_db), 0);
}

static void
test_db__open_uses_wal(void **state)
{
	struct fx *fx = *state;
	char wal[160];

	/* the writer keeps the WAL file while the database is open */
	insert(fx, "a");
	snprintf(wal, sizeof(wal), "%s-wal", fx->f_tf.tf_db_path);
	assert_int_equal(access(wal, F_OK), 0);
}

/* Copies file from to to (created), byte for byte. */
static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * The WAL file is given its working size at open (zeros past SQLite's
 * frames), and a copy of the files as a crash leaves them (database and
 * WAL, no -shm) opens with every committed row.
 */
static void
test_db__wal_is_preallocated_and_a_crashed_copy_keeps_its_rows(void **state)
{
	struct fx *fx = *state;
	char wal[160], copy[160], copy_wal[170];
	struct fx crashed = {0};
	struct db_vm_row got;
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", fx->f_tf.tf_db_path);
	assert_int_equal(stat(wal, &st), 0);
	/* 1,000 frames of 4 KiB pages and more */
	assert_true(st.st_size >= 1000 * (24 + 4096));
	/* Token hashes and VMs: no one else reads the WAL either. */
	assert_int_equal(st.st_mode & 077, 0);
	insert(fx, "a");
	insert(fx, "b");
	/* Committed, so on disk: copy what a crash would leave. */
	snprintf(copy, sizeof(copy), "%s/copy.db", fx->f_tf.tf_dir);
	snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
	copy_file(fx->f_tf.tf_db_path, copy);
	copy_file(wal, copy_wal);
	assert_int_equal(db_open(&crashed.f_tf.tf_db, copy), 0);
	assert_int_equal(stored(&crashed, "a", &got), 0);
	db_vm_row_clear(&got);
	assert_int_equal(stored(&crashed, "b", &got), 0);
	db_vm_row_clear(&got);
	db_close(crashed.f_tf.tf_db);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Leaves path (made 0644) and, when sides, -wal and -shm 0644 too. */
static void
make_world_readable_db(const char *path, int sides)
{
	char side[200];
	struct db *db;
	int fd;

	assert_int_equal(db_open(&db, path), 0);
	db_close(db);
	assert_int_equal(chmod(path, 0644), 0);
	if (!sides)
		return;
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_true((fd = open(side, O_RDWR | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	snprintf(side, sizeof(side), "%s-shm", path);
	assert_true((fd = open(side, O_RDWR | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
}

/*
 * A database that already existed 0644 (and -wal and -shm left 0644 by
 * such a run) is made 0600, all three, before the first write: SQLite
 * would give new -wal and -shm files the database's mode, and the WAL
 * holds token hashes.
 */
static void
test_db__an_existing_0644_database_and_its_wal_and_shm_become_0600(void **state)
{
	struct fx *fx = *state;
	char path[160], wal[170], shm[170];
	struct fx old = {0};
	int sides;

	for (sides = 0; sides <= 1; sides++) {
		snprintf(path, sizeof(path), "%s/old%d.db", fx->f_tf.tf_dir,
			 sides);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		snprintf(shm, sizeof(shm), "%s-shm", path);
		make_world_readable_db(path, sides);
		assert_int_equal(mode_of(path), 0644);
		assert_int_equal(db_open(&old.f_tf.tf_db, path), 0);
		insert(&old, "a");
		if (mode_of(wal) != 0600 || mode_of(shm) != 0600)
			fail_msg("%s database 0644: -wal %04o, -shm %04o",
				 sides ? "-wal, -shm and" : "a",
				 (unsigned)mode_of(wal),
				 (unsigned)mode_of(shm));
		assert_int_equal(mode_of(path), 0600);
		db_close(old.f_tf.tf_db);
	}
}

static void
test_db__open_in_missing_directory_fails_with_enoent(void **state)
{
	struct db *db = (struct db *)1;

	(void)state;
	assert_int_equal(db_open(&db, "/tmp/test_db.missing/dir/x.db"), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(db);
}

static void
test_db__reopen_keeps_rows_and_schema(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;

	row_init(&row, "j1/keep", "{\"memory\":64}");
	snprintf(row.vr_jail, sizeof(row.vr_jail), "j1");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	reopen(fx);
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version());
	assert_int_equal(stored(fx, "j1/keep", &got), 0);
	assert_string_equal(got.vr_jail, "j1");
	assert_string_equal(got.vr_spec, "{\"memory\":64}");
	assert_int_equal(got.vr_revision, row.vr_revision);
	assert_int_equal(got.vr_created_ms, row.vr_created_ms);
	assert_int_equal(got.vr_owner_uid, 1000);
	assert_int_equal(got.vr_owner_gid, 100);
	db_vm_row_clear(&got);
	db_vm_row_clear(&row);
}

/*
 * A version-4 file (vms.state checked with IN (...)) is migrated to the
 * current schema with its rows, and the new check still refuses a state
 * that does not exist.
 */
static void
test_db__version_4_file_is_migrated_with_its_rows(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	sqlite3 *sql;
	sqlite3_stmt *st;
	const char *v4 =
	    "DROP TABLE events;"    /* version 8's */
	    "DROP TABLE pptdevs;"   /* version 7's */
	    "DROP TABLE guestinfo;" /* version 6's */
	    "CREATE TABLE vms_v4 ("
	    " name TEXT NOT NULL PRIMARY KEY,"
	    " jail TEXT NOT NULL DEFAULT '', owner_uid INTEGER NOT NULL,"
	    " owner_gid INTEGER NOT NULL, spec TEXT NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'defined' CHECK (state IN ("
	    "  'defined', 'starting', 'running', 'paused', 'stopping',"
	    "  'stopped', 'crashed')),"
	    " status TEXT NOT NULL DEFAULT '{}', generation INTEGER NOT NULL,"
	    " revision INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	    " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
	    "INSERT INTO vms_v4 SELECT name, jail, owner_uid, owner_gid, spec,"
	    " state, status, generation, revision, created_ms, updated_ms"
	    " FROM vms;"
	    "DROP TABLE vms;"
	    "ALTER TABLE vms_v4 RENAME TO vms;"
	    "PRAGMA user_version = 4;";

	row_init(&row, "old", "{\"memory\":64}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sql, v4, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);
	assert_int_equal(user_version(fx->f_tf.tf_db_path), 4);

	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version());
	assert_int_equal(stored(fx, "old", &got), 0);
	assert_string_equal(got.vr_spec, "{\"memory\":64}");
	assert_int_equal(got.vr_revision, row.vr_revision);
	db_vm_row_clear(&got);

	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(
			     sql,
			     "SELECT sql FROM sqlite_schema WHERE name = 'vms'",
			     -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_null(strstr((const char *)sqlite3_column_text(st, 0), " IN ("));
	sqlite3_finalize(st);
	assert_int_not_equal(
	    sqlite3_exec(sql,
			 "INSERT INTO vms VALUES ('x', '', 1, 1, '{}', 'bogus',"
			 " '{}', 1, 999, 1, 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(sql);
	db_vm_row_clear(&row);
}

static void
test_db__newer_user_version_is_refused_with_eproto(void **state)
{
	struct fx *fx = *state;
	struct db *db = (struct db *)1;
	sqlite3 *sql;
	char text[64];

	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	/* a pragma takes no bound values; the number is ours */
	snprintf(text, sizeof(text), "PRAGMA user_version = %d",
		 db_schema_version() + 1);
	assert_int_equal(sqlite3_exec(sql, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);

	assert_int_equal(db_open(&db, fx->f_tf.tf_db_path), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(db);
	/* and it left the file as it was */
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version() + 1);
}

static void
test_db__ping_answers(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(db_ping(fx->f_tf.tf_db), 0);
}

static void
test_db__insert_assigns_revision_generation_and_times(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	int64_t before = now_ms(), after;
	char *spec;

	row_init(&row, "vm1", "{\"vcpus\":2}");
	spec = row.vr_spec;
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	after = now_ms();
	assert_true(row.vr_revision >= 1);
	assert_int_equal(row.vr_generation, 1);
	assert_true(row.vr_created_ms >= before && row.vr_created_ms <= after);
	assert_int_equal(row.vr_updated_ms, row.vr_created_ms);
	assert_int_equal(row.vr_state, VM_DEFINED);
	assert_string_equal(row.vr_status, "{}");
	/* the caller's spec is left alone */
	assert_ptr_equal(row.vr_spec, spec);

	assert_int_equal(stored(fx, "vm1", &got), 0);
	assert_string_equal(got.vr_spec, "{\"vcpus\":2}");
	assert_int_equal(got.vr_revision, row.vr_revision);
	assert_int_equal(got.vr_generation, 1);
	assert_int_equal(got.vr_state, VM_DEFINED);
	db_vm_row_clear(&got);
	db_vm_row_clear(&row);
}

static void
test_db__insert_of_existing_name_is_eexist(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	uint64_t first = insert(fx, "dup");

	row_init(&row, "dup", "{\"other\":true}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EEXIST);
	/* the caller's row is untouched on failure */
	assert_int_equal(row.vr_revision, 0);
	assert_int_equal(stored(fx, "dup", &got), 0);
	assert_int_equal(got.vr_revision, first);
	assert_string_equal(got.vr_spec, "{\"vcpus\":1}");
	db_vm_row_clear(&got);
	db_vm_row_clear(&row);
}

static void
test_db__insert_with_unknown_state_is_einval(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;

	row_init(&row, "odd", "{}");
	row.vr_state = VM_NSTATES; /* no state */
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(stored(fx, "odd", &got), -1);
	db_vm_row_clear(&row);
}

static void
test_db__insert_without_name_or_spec_is_einval(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row;

	row_init(&row, "", "{}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	db_vm_row_clear(&row);

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "nospec");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_db__update_spec_bumps_generation_and_returns_stored_row(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, upd, got;

	row_init(&row, "j2/vm", "{\"v\":1}");
	snprintf(row.vr_jail, sizeof(row.vr_jail), "j2");
	row.vr_state = VM_STOPPED;
	row.vr_status = strdup("{\"exit\":0}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);

	/* only the name and the spec: the rest comes back as stored */
	memset(&upd, 0, sizeof(upd));
	snprintf(upd.vr_name, sizeof(upd.vr_name), "j2/vm");
	upd.vr_spec = strdup("{\"v\":2}");
	assert_int_equal(db_vm_update_spec(fx->f_tf.tf_db, &upd, 0, NULL, NULL),
			 0);
	assert_int_equal(upd.vr_generation, 2);
	assert_true(upd.vr_revision > row.vr_revision);
	assert_int_equal(upd.vr_owner_uid, 1000);
	assert_int_equal(upd.vr_owner_gid, 100);
	assert_string_equal(upd.vr_jail, "j2");
	assert_int_equal(upd.vr_state, VM_STOPPED);
	assert_string_equal(upd.vr_status, "{\"exit\":0}");
	assert_int_equal(upd.vr_created_ms, row.vr_created_ms);
	assert_true(upd.vr_updated_ms >= row.vr_updated_ms);
	assert_string_equal(upd.vr_spec, "{\"v\":2}");

	assert_int_equal(stored(fx, "j2/vm", &got), 0);
	assert_string_equal(got.vr_spec, "{\"v\":2}");
	assert_int_equal(got.vr_revision, upd.vr_revision);
	assert_int_equal(got.vr_generation, 2);
	db_vm_row_clear(&got);
	db_vm_row_clear(&upd);
	db_vm_row_clear(&row);
}

static void
test_db__update_spec_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row;

	row_init(&row, "ghost", "{}");
	assert_int_equal(db_vm_update_spec(fx->f_tf.tf_db, &row, 0, NULL, NULL),
			 -1);
	assert_int_equal(errno, ENOENT);
	db_vm_row_clear(&row);
}

static void
test_db__update_spec_with_stale_revision_is_estale(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	uint64_t revision = insert(fx, "vm");

	row_init(&row, "vm", "{\"v\":2}");
	assert_int_equal(
	    db_vm_update_spec(fx->f_tf.tf_db, &row, revision + 1, NULL, NULL),
	    -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(stored(fx, "vm", &got), 0);
	assert_int_equal(got.vr_revision, revision);
	assert_int_equal(got.vr_generation, 1);
	db_vm_row_clear(&got);

	/* the current revision is accepted */
	assert_int_equal(
	    db_vm_update_spec(fx->f_tf.tf_db, &row, revision, NULL, NULL), 0);
	assert_int_equal(row.vr_generation, 2);
	db_vm_row_clear(&row);
}

static void
test_db__update_state_takes_new_revision_and_keeps_generation(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	uint64_t revision = insert(fx, "vm");

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "vm");
	row.vr_state = VM_RUNNING;
	row.vr_status = strdup("{\"pid\":42}");
	assert_int_equal(db_vm_update_state(fx->f_tf.tf_db, &row, NULL, NULL),
			 0);
	assert_true(row.vr_revision > revision);
	assert_int_equal(row.vr_generation, 1);
	assert_string_equal(row.vr_spec, "{\"vcpus\":1}");
	assert_int_equal(row.vr_owner_uid, 1000);

	assert_int_equal(stored(fx, "vm", &got), 0);
	assert_int_equal(got.vr_state, VM_RUNNING);
	assert_string_equal(got.vr_status, "{\"pid\":42}");
	assert_int_equal(got.vr_revision, row.vr_revision);
	db_vm_row_clear(&got);
	db_vm_row_clear(&row);
}

static void
test_db__update_state_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "ghost");
	row.vr_state = VM_RUNNING;
	assert_int_equal(db_vm_update_state(fx->f_tf.tf_db, &row, NULL, NULL),
			 -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_db__update_state_to_unknown_state_is_einval(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row;

	insert(fx, "vm");
	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "vm");
	row.vr_state = (enum vm_state)(VM_NSTATES + 3);
	assert_int_equal(db_vm_update_state(fx->f_tf.tf_db, &row, NULL, NULL),
			 -1);
	assert_int_equal(errno, EINVAL);
}

/* Keeps a copy of the row a hook was given. */
struct hook_copy {
	int hc_calls;
	struct db_vm_row hc_row;
};

static void
hook_copy(void *arg, const struct db_vm_row *row)
{
	struct hook_copy *hc = arg;

	hc->hc_calls++;
	db_vm_row_clear(&hc->hc_row);
	hc->hc_row = *row;
	hc->hc_row.vr_spec = strdup(row->vr_spec);
	hc->hc_row.vr_status = strdup(row->vr_status);
}

static void
test_db__delete_removes_row_and_hook_gets_stored_row(void **state)
{
	struct fx *fx = *state;
	struct hook_copy hc;
	struct db_vm_row row, got;

	memset(&hc, 0, sizeof(hc));
	row_init(&row, "j3/gone", "{\"x\":1}");
	snprintf(row.vr_jail, sizeof(row.vr_jail), "j3");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "j3/gone",
				      row.vr_revision, hook_copy, &hc),
			 0);
	assert_int_equal(hc.hc_calls, 1);
	assert_string_equal(hc.hc_row.vr_name, "j3/gone");
	assert_string_equal(hc.hc_row.vr_jail, "j3");
	assert_string_equal(hc.hc_row.vr_spec, "{\"x\":1}");
	assert_int_equal(hc.hc_row.vr_owner_uid, 1000);
	assert_int_equal(hc.hc_row.vr_revision, row.vr_revision);
	assert_int_equal(hc.hc_row.vr_created_ms, row.vr_created_ms);
	assert_int_equal(stored(fx, "j3/gone", &got), -1);
	db_vm_row_clear(&hc.hc_row);
	db_vm_row_clear(&row);
}

static void
test_db__delete_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "ghost", 0, NULL, NULL),
			 -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_db__delete_with_stale_revision_is_estale(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row got;
	uint64_t revision = insert(fx, "vm");

	assert_int_equal(
	    db_vm_delete(fx->f_tf.tf_db, "vm", revision + 7, NULL, NULL), -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(stored(fx, "vm", &got), 0);
	db_vm_row_clear(&got);
}

static void
test_db__delete_of_running_vm_is_ebusy(void **state)
{
	static const char *const busy[] = {"starting", "running", "paused",
					   "stopping"};
	static const char *const idle[] = {"defined", "stopped", "crashed"};
	struct fx *fx = *state;
	struct db_vm_row got;
	char name[16];
	size_t i;

	for (i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
		snprintf(name, sizeof(name), "busy%zu", i);
		insert(fx, name);
		set_state(fx, name, busy[i]);
		assert_int_equal(
		    db_vm_delete(fx->f_tf.tf_db, name, 0, NULL, NULL), -1);
		assert_int_equal(errno, EBUSY);
		assert_int_equal(stored(fx, name, &got), 0);
		db_vm_row_clear(&got);
	}
	for (i = 0; i < sizeof(idle) / sizeof(idle[0]); i++) {
		snprintf(name, sizeof(name), "idle%zu", i);
		insert(fx, name);
		set_state(fx, name, idle[i]);
		assert_int_equal(
		    db_vm_delete(fx->f_tf.tf_db, name, 0, NULL, NULL), 0);
	}
}

static void
test_db__failed_write_takes_no_revision(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row;
	uint64_t a = insert(fx, "a");

	row_init(&row, "a", "{}");
	assert_int_equal(
	    db_vm_update_spec(fx->f_tf.tf_db, &row, a + 100, NULL, NULL), -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EEXIST);
	db_vm_row_clear(&row);
	assert_int_equal(insert(fx, "b"), a + 1);
}

static void
test_db__revision_is_not_reused_after_deleting_newest_and_reopening(
    void **state)
{
	struct fx *fx = *state;
	uint64_t a, b, c;

	a = insert(fx, "a");
	b = insert(fx, "b");
	assert_true(b > a);
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "b", b, NULL, NULL), 0);
	reopen(fx);
	c = insert(fx, "c");
	assert_true(c > b);
}

/* Hook log: the revisions hooks saw, in call order. */
struct hook_log {
	struct fx *hl_fx;
	pthread_mutex_t hl_lock;
	uint64_t hl_revisions[512];
	size_t hl_n;
	int hl_visible; /* every hook found its row committed */
};

struct hook_seen {
	uint64_t hs_revision;
	int hs_found;
};

static int
hook_find(void *arg, const struct db_vm_row *row)
{
	struct hook_seen *hs = arg;

	if (row->vr_revision == hs->hs_revision)
		hs->hs_found = 1;
	return 0;
}

static void
hook_log(void *arg, const struct db_vm_row *row)
{
	struct hook_log *hl = arg;
	struct hook_seen hs = {row->vr_revision, 0};

	/* the reader connection sees only what is committed */
	if (db_vm_load_all(hl->hl_fx->f_tf.tf_db, hook_find, &hs) != 0 ||
	    !hs.hs_found)
		hl->hl_visible = 0;
	pthread_mutex_lock(&hl->hl_lock);
	if (hl->hl_n < sizeof(hl->hl_revisions) / sizeof(hl->hl_revisions[0]))
		hl->hl_revisions[hl->hl_n++] = row->vr_revision;
	pthread_mutex_unlock(&hl->hl_lock);
}

struct hooker {
	struct hook_log *hk_log;
	int hk_id;
	int hk_count;
	int hk_ok;
	int hk_logged_before_return;
	pthread_t hk_thread;
};

static void *
hooker_main(void *arg)
{
	struct hooker *hk = arg;
	struct db_vm_row row;
	char name[32];
	size_t i;
	int n, seen;

	hk->hk_logged_before_return = 1;
	for (n = 0; n < hk->hk_count; n++) {
		snprintf(name, sizeof(name), "h%d-%d", hk->hk_id, n);
		memset(&row, 0, sizeof(row));
		snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
		row.vr_spec = strdup("{}");
		if (db_vm_insert(hk->hk_log->hl_fx->f_tf.tf_db, &row, hook_log,
				 hk->hk_log) == 0) {
			hk->hk_ok++;
			seen = 0;
			pthread_mutex_lock(&hk->hk_log->hl_lock);
			for (i = 0; i < hk->hk_log->hl_n; i++)
				if (hk->hk_log->hl_revisions[i] ==
				    row.vr_revision)
					seen = 1;
			pthread_mutex_unlock(&hk->hk_log->hl_lock);
			if (!seen)
				hk->hk_logged_before_return = 0;
		}
		db_vm_row_clear(&row);
	}
	return NULL;
}

static void
test_db__hooks_run_in_commit_order_and_only_after_commit(void **state)
{
	struct fx *fx = *state;
	struct hook_log hl;
	struct hooker hk[8];
	size_t i;

	memset(&hl, 0, sizeof(hl));
	hl.hl_fx = fx;
	hl.hl_visible = 1;
	pthread_mutex_init(&hl.hl_lock, NULL);
	for (i = 0; i < 8; i++) {
		memset(&hk[i], 0, sizeof(hk[i]));
		hk[i].hk_log = &hl;
		hk[i].hk_id = (int)i;
		hk[i].hk_count = 20;
		assert_int_equal(
		    pthread_create(&hk[i].hk_thread, NULL, hooker_main, &hk[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(hk[i].hk_thread, NULL);
		assert_int_equal(hk[i].hk_ok, 20);
		assert_true(hk[i].hk_logged_before_return);
	}
	assert_int_equal(hl.hl_n, 160);
	assert_true(hl.hl_visible);
	for (i = 1; i < hl.hl_n; i++)
		assert_true(hl.hl_revisions[i] > hl.hl_revisions[i - 1]);
	pthread_mutex_destroy(&hl.hl_lock);
}

static void
test_db__failed_write_runs_no_hook(void **state)
{
	struct fx *fx = *state;
	struct hook_copy hc;
	struct db_vm_row row;

	memset(&hc, 0, sizeof(hc));
	insert(fx, "vm");
	row_init(&row, "vm", "{}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, hook_copy, &hc),
			 -1);
	assert_int_equal(
	    db_vm_update_spec(fx->f_tf.tf_db, &row, 999, hook_copy, &hc), -1);
	assert_int_equal(
	    db_vm_delete(fx->f_tf.tf_db, "ghost", 0, hook_copy, &hc), -1);
	assert_int_equal(hc.hc_calls, 0);
	db_vm_row_clear(&row);
}

struct nested {
	struct db *n_db;
	int n_rc;
	int n_errno;
};

static void
hook_writes(void *arg, const struct db_vm_row *row)
{
	struct nested *n = arg;
	struct db_vm_row inner;

	(void)row;
	memset(&inner, 0, sizeof(inner));
	snprintf(inner.vr_name, sizeof(inner.vr_name), "inner");
	inner.vr_spec = strdup("{}");
	n->n_rc = db_vm_insert(n->n_db, &inner, NULL, NULL);
	n->n_errno = errno;
	db_vm_row_clear(&inner);
}

static void
test_db__write_from_a_commit_hook_is_edeadlk(void **state)
{
	struct fx *fx = *state;
	struct nested n = {fx->f_tf.tf_db, 0, 0};
	struct db_vm_row row, got;

	row_init(&row, "outer", "{}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, hook_writes, &n),
			 0);
	assert_int_equal(n.n_rc, -1);
	assert_int_equal(n.n_errno, EDEADLK);
	assert_int_equal(stored(fx, "inner", &got), -1);
	db_vm_row_clear(&row);
}

static void
test_db__single_write_counts_one_commit(void **state)
{
	struct fx *fx = *state;
	uint64_t c0, w0, c1, w1;

	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	insert(fx, "one");
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	assert_int_equal(c1 - c0, 1);
	assert_int_equal(w1 - w0, 1);

	/* a batch of only failures commits nothing */
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "ghost", 0, NULL, NULL),
			 -1);
	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	assert_int_equal(c0, c1);
	assert_int_equal(w0, w1);
}

#define MANY_THREADS 32
#define MANY_WRITES 50

static void
test_db__concurrent_inserts_share_commits(void **state)
{
	struct fx *fx = *state;
	struct inserter in[MANY_THREADS];
	struct tgate g;
	struct rows rs;
	uint64_t c0, w0, c1, w1;
	char prefix[16];
	size_t i;

	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	/* every thread's first write queues behind the gate */
	tgate_close(&g, fx->f_tf.tf_db);
	for (i = 0; i < MANY_THREADS; i++) {
		snprintf(prefix, sizeof(prefix), "t%zu", i);
		inserter_start(&in[i], fx->f_tf.tf_db, prefix, MANY_WRITES);
	}
	wait_queued(fx->f_tf.tf_db, MANY_THREADS);
	tgate_open(&g);
	for (i = 0; i < MANY_THREADS; i++) {
		pthread_join(in[i].ni_thread, NULL);
		assert_int_equal(in[i].ni_ok, MANY_WRITES);
		assert_true(in[i].ni_revisions_increase);
	}
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	/* the gate is one write in one commit */
	assert_int_equal(w1 - w0, MANY_THREADS * MANY_WRITES + 1);
	assert_true(c1 - c0 < w1 - w0);
	assert_true(c1 - c0 >= 2);

	rows_load(fx, &rs);
	assert_int_equal(rs.r_n, MANY_THREADS * MANY_WRITES);
	rows_free(&rs);
}

static void
test_db__batch_holds_at_most_the_batch_limit(void **state)
{
	struct fx *fx = *state;
	struct inserter *in;
	struct tgate g;
	uint64_t c0, w0, c1, w1;
	char prefix[16];
	size_t i, n = DB_BATCH_MAX + 1;

	in = calloc(n, sizeof(*in));
	assert_non_null(in);
	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	tgate_close(&g, fx->f_tf.tf_db);
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "b%zu", i);
		inserter_start(&in[i], fx->f_tf.tf_db, prefix, 1);
	}
	wait_queued(fx->f_tf.tf_db, n);
	tgate_open(&g);
	for (i = 0; i < n; i++) {
		pthread_join(in[i].ni_thread, NULL);
		assert_int_equal(in[i].ni_ok, 1);
	}
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	/* the gate's commit, DB_BATCH_MAX writes, then the one left over */
	assert_int_equal(c1 - c0, 3);
	assert_int_equal(w1 - w0, n + 1);
	free(in);
}

static void
test_db__failing_write_in_a_batch_does_not_fail_the_others(void **state)
{
	struct fx *fx = *state;
	struct inserter in[10];
	struct tgate g;
	struct rows rs;
	uint64_t c0, w0, c1, w1, dup;
	char prefix[16];
	size_t i;

	dup = insert(fx, "dup");
	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	tgate_close(&g, fx->f_tf.tf_db);
	for (i = 0; i < 10; i++) {
		/* the fifth write of the batch collides */
		if (i == 4)
			snprintf(prefix, sizeof(prefix), "dup");
		else
			snprintf(prefix, sizeof(prefix), "ok%zu", i);
		inserter_start(&in[i], fx->f_tf.tf_db, prefix, 1);
		/* one at a time, so the queue order is known */
		wait_queued(fx->f_tf.tf_db, i + 1);
	}
	tgate_open(&g);
	for (i = 0; i < 10; i++) {
		pthread_join(in[i].ni_thread, NULL);
		if (i == 4) {
			assert_int_equal(in[i].ni_ok, 0);
			assert_int_equal(in[i].ni_errno, EEXIST);
			continue;
		}
		assert_int_equal(in[i].ni_ok, 1);
		/* in queue order, and the failed write's revision was rolled
		 * back with its savepoint: no gap */
		assert_int_equal(in[i].ni_last_revision,
				 dup + 1 + (i < 4 ? i : i - 1));
	}
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	/* the gate's commit and one for the batch of nine good writes */
	assert_int_equal(c1 - c0, 2);
	assert_int_equal(w1 - w0, 1 + 9);

	rows_load(fx, &rs);
	assert_int_equal(rs.r_n, 10);
	for (i = 0; i < rs.r_n; i++)
		if (strcmp(rs.r_rows[i].vr_name, "dup") == 0)
			assert_int_equal(rs.r_rows[i].vr_revision, dup);
	rows_free(&rs);
}

static void *
closer_main(void *arg)
{
	db_close(arg);
	return NULL;
}

static void
test_db__close_waits_for_queued_writes(void **state)
{
	struct fx *fx = *state;
	struct inserter in[5];
	struct tgate g;
	struct rows rs;
	pthread_t closer;
	char prefix[16];
	size_t i;

	tgate_close(&g, fx->f_tf.tf_db);
	for (i = 0; i < 5; i++) {
		snprintf(prefix, sizeof(prefix), "late%zu", i);
		inserter_start(&in[i], fx->f_tf.tf_db, prefix, 1);
	}
	wait_queued(fx->f_tf.tf_db, 5);
	assert_int_equal(
	    pthread_create(&closer, NULL, closer_main, fx->f_tf.tf_db), 0);
	/* db_close cannot finish while the writer is in the gate */
	sleep_ms(50);
	tgate_open(&g);
	pthread_join(closer, NULL);
	fx->f_tf.tf_db = NULL;
	for (i = 0; i < 5; i++) {
		pthread_join(in[i].ni_thread, NULL);
		assert_int_equal(in[i].ni_ok, 1);
	}
	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	rows_load(fx, &rs);
	assert_int_equal(rs.r_n, 5);
	rows_free(&rs);
}

struct big_insert {
	struct db *b_db;
	struct db_vm_row *b_row;
	int b_rc;
	int b_errno;
};

static void *
big_insert_main(void *arg)
{
	struct big_insert *b = arg;

	b->b_rc = db_vm_insert(b->b_db, b->b_row, NULL, NULL);
	b->b_errno = errno;
	return NULL;
}

/* Runs a pragma that takes no value on the writer connection. */
static int
pragma_run(struct db *db, struct db_job *job)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql, job->j_arg, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->db_wconn.dc_sql, rc, job->j_arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db->db_wconn.dc_sql, rc, "x");
}

static void
writer_pragma(struct db *db, const char *text)
{
	struct db_job job;

	memset(&job, 0, sizeof(job));
	job.j_run = pragma_run;
	job.j_arg = (void *)text;
	assert_int_equal(db_writer_submit(db, &job), 0);
}

static void
test_db__full_disk_is_enospc_and_recovers(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row row, got;
	char *big;

	insert(fx, "small");
	/* SQLite clamps the limit to the current size: no room to grow */
	writer_pragma(fx->f_tf.tf_db, "PRAGMA max_page_count = 1");
	big = malloc(256 * 1024);
	assert_non_null(big);
	memset(big, 'x', 256 * 1024 - 1);
	big[256 * 1024 - 1] = '\0';
	row_init(&row, "big", "{}");
	free(row.vr_spec);
	row.vr_spec = big;
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(stored(fx, "big", &got), -1);

	writer_pragma(fx->f_tf.tf_db, "PRAGMA max_page_count = 1073741823");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), 0);
	assert_int_equal(stored(fx, "big", &got), 0);
	assert_int_equal(strlen(got.vr_spec), 256 * 1024 - 1);
	db_vm_row_clear(&got);
	db_vm_row_clear(&row);
}

static void
test_db__full_disk_in_a_batch_fails_no_write_it_did_not_store(void **state)
{
	struct fx *fx = *state;
	struct inserter in[2];
	struct db_vm_row row, got;
	struct tgate g;
	pthread_t big_thread;
	struct big_insert big;
	size_t i;

	memset(&got, 0, sizeof(got));
	writer_pragma(fx->f_tf.tf_db, "PRAGMA max_page_count = 1");
	row_init(&row, "big", "{}");
	free(row.vr_spec);
	row.vr_spec = calloc(1, 256 * 1024);
	assert_non_null(row.vr_spec);
	memset(row.vr_spec, 'y', 256 * 1024 - 1);
	big.b_db = fx->f_tf.tf_db;
	big.b_row = &row;

	/* one small write on each side of the one that cannot fit */
	tgate_close(&g, fx->f_tf.tf_db);
	inserter_start(&in[0], fx->f_tf.tf_db, "before", 1);
	wait_queued(fx->f_tf.tf_db, 1);
	assert_int_equal(
	    pthread_create(&big_thread, NULL, big_insert_main, &big), 0);
	wait_queued(fx->f_tf.tf_db, 2);
	inserter_start(&in[1], fx->f_tf.tf_db, "after", 1);
	wait_queued(fx->f_tf.tf_db, 3);
	tgate_open(&g);
	pthread_join(big_thread, NULL);
	assert_int_equal(big.b_rc, -1);
	assert_int_equal(big.b_errno, ENOSPC);
	for (i = 0; i < 2; i++) {
		pthread_join(in[i].ni_thread, NULL);
		/*
		 * SQLite may drop the whole transaction on SQLITE_FULL, which
		 * takes "before" with it (ENOSPC: the disk is what failed it);
		 * either way a write reported done is stored and one reported
		 * failed is not.
		 */
		if (in[i].ni_ok)
			assert_int_equal(stored(fx, in[i].ni_prefix, &got), 0);
		else {
			assert_int_equal(in[i].ni_errno, ENOSPC);
			assert_int_equal(stored(fx, in[i].ni_prefix, &got), -1);
		}
		db_vm_row_clear(&got);
	}
	/* the write after the failure always gets its own chance */
	assert_int_equal(in[1].ni_ok, 1);
	assert_int_equal(stored(fx, "big", &got), -1);
	db_vm_row_clear(&row);
}

/* A job that ends the transaction under the writer, as SQLite itself
 * does on some I/O errors. */
static int
killer_run(struct db *db, struct db_job *job)
{
	(void)job;
	sqlite3_exec(db->db_wconn.dc_sql, "ROLLBACK", NULL, NULL, NULL);
	errno = EIO;
	return -1;
}

struct killer {
	struct db *k_db;
	int k_rc;
	pthread_t k_thread;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;
	struct db_job job;

	memset(&job, 0, sizeof(job));
	job.j_run = killer_run;
	k->k_rc = db_writer_submit(k->k_db, &job);
	return NULL;
}

static void
test_db__lost_transaction_fails_the_writes_before_it_only(void **state)
{
	struct fx *fx = *state;
	struct inserter in[2];
	struct killer k;
	struct db_vm_row got;
	struct tgate g;
	uint64_t c0, w0, c1, w1;

	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	memset(&k, 0, sizeof(k));
	k.k_db = fx->f_tf.tf_db;
	tgate_close(&g, fx->f_tf.tf_db);
	inserter_start(&in[0], fx->f_tf.tf_db, "before", 1);
	wait_queued(fx->f_tf.tf_db, 1);
	assert_int_equal(pthread_create(&k.k_thread, NULL, killer_main, &k), 0);
	wait_queued(fx->f_tf.tf_db, 2);
	inserter_start(&in[1], fx->f_tf.tf_db, "after", 1);
	wait_queued(fx->f_tf.tf_db, 3);
	tgate_open(&g);
	pthread_join(k.k_thread, NULL);
	pthread_join(in[0].ni_thread, NULL);
	pthread_join(in[1].ni_thread, NULL);

	assert_int_equal(k.k_rc, -1);
	/* "before" went down with the transaction and is told so */
	assert_int_equal(in[0].ni_ok, 0);
	assert_int_equal(in[0].ni_errno, EIO);
	assert_int_equal(stored(fx, "before", &got), -1);
	/* "after" ran in a new transaction */
	assert_int_equal(in[1].ni_ok, 1);
	assert_int_equal(stored(fx, "after", &got), 0);
	db_vm_row_clear(&got);
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	assert_int_equal(c1 - c0, 2); /* the gate's and "after"'s */
	assert_int_equal(w1 - w0, 2);
}

static void
token_init(struct db_token_row *t, const char *id, unsigned char fill)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->tr_id, sizeof(t->tr_id), "%s", id);
	memset(t->tr_hash, fill, sizeof(t->tr_hash));
	t->tr_uid = 1001;
	snprintf(t->tr_gids, sizeof(t->tr_gids), "100,200");
	snprintf(t->tr_jail, sizeof(t->tr_jail), "j1");
	t->tr_expires_ms = 4102444800000LL;
	snprintf(t->tr_description, sizeof(t->tr_description), "ci runner");
}

struct tokens {
	struct db_token_row t_rows[4];
	size_t t_n;
};

static int
tokens_add(void *arg, const struct db_token_row *row)
{
	struct tokens *ts = arg;

	if (ts->t_n == 4)
		return -1;
	ts->t_rows[ts->t_n++] = *row;
	return 0;
}

static void
test_db__tokens_insert_load_and_count(void **state)
{
	struct fx *fx = *state;
	struct db_token_row a, b;
	struct tokens ts;
	int64_t before = now_ms();

	assert_int_equal(db_token_count(fx->f_tf.tf_db), 0);
	token_init(&a, "aaaa", 0xaa);
	token_init(&b, "bbbb", 0xbb);
	b.tr_created_ms = 1234;
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &a), 0);
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &b), 0);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 2);

	reopen(fx);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(db_token_load_all(fx->f_tf.tf_db, tokens_add, &ts), 0);
	assert_int_equal(ts.t_n, 2);
	assert_string_equal(ts.t_rows[0].tr_id, "aaaa");
	assert_memory_equal(ts.t_rows[0].tr_hash, a.tr_hash, 32);
	assert_int_equal(ts.t_rows[0].tr_uid, 1001);
	assert_string_equal(ts.t_rows[0].tr_gids, "100,200");
	assert_string_equal(ts.t_rows[0].tr_jail, "j1");
	assert_string_equal(ts.t_rows[0].tr_description, "ci runner");
	assert_int_equal(ts.t_rows[0].tr_expires_ms, 4102444800000LL);
	/* created 0 means now */
	assert_true(ts.t_rows[0].tr_created_ms >= before);
	assert_string_equal(ts.t_rows[1].tr_id, "bbbb");
	assert_memory_equal(ts.t_rows[1].tr_hash, b.tr_hash, 32);
	assert_int_equal(ts.t_rows[1].tr_created_ms, 1234);
}

static int
tokens_stop(void *arg, const struct db_token_row *row)
{
	(void)arg;
	(void)row;
	return 7;
}

static void
test_db__token_load_stops_on_callback_result(void **state)
{
	struct fx *fx = *state;
	struct db_token_row a;

	token_init(&a, "aaaa", 1);
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &a), 0);
	assert_int_equal(db_token_load_all(fx->f_tf.tf_db, tokens_stop, NULL),
			 7);
}

static void
test_db__token_with_existing_id_or_hash_is_eexist(void **state)
{
	struct fx *fx = *state;
	struct db_token_row a, b;

	token_init(&a, "aaaa", 0x11);
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &a), 0);
	token_init(&b, "aaaa", 0x22);
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &b), -1);
	assert_int_equal(errno, EEXIST);
	token_init(&b, "cccc", 0x11);
	assert_int_equal(db_token_insert(fx->f_tf.tf_db, &b), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(db_token_count(fx->f_tf.tf_db), 1);
}

static int
vms_stop(void *arg, const struct db_vm_row *row)
{
	int *calls = arg;

	(void)row;
	(*calls)++;
	return 5;
}

static void
test_db__vm_load_stops_on_callback_result(void **state)
{
	struct fx *fx = *state;
	int calls = 0;

	insert(fx, "a");
	insert(fx, "b");
	assert_int_equal(db_vm_load_all(fx->f_tf.tf_db, vms_stop, &calls), 5);
	assert_int_equal(calls, 1);
}

/* What the event sink was handed, in order. */
struct evlog {
	int64_t el_id[32];
	char el_type[32][32];
	size_t el_n;
};

static void
evlog_sink(void *arg, const struct db_event *e)
{
	struct evlog *el = arg;

	if (el->el_n < 32) {
		el->el_id[el->el_n] = e->ev_id;
		snprintf(el->el_type[el->el_n], sizeof(el->el_type[0]), "%s",
			 e->ev_type);
		el->el_n++;
	}
}

static int
evlog_each(void *arg, const struct db_event *e)
{
	evlog_sink(arg, e);
	return 0;
}

/*
 * Each committed write is one event, published after its COMMIT, in id
 * order with no hole; a refused write (EEXIST, ESTALE, EBUSY) leaves no
 * event in the journal and publishes none.  The journal holds exactly
 * what was published.
 */
static void
test_db__each_write_is_one_event_and_a_refused_one_none(void **state)
{
	static const char *const want[] = {"vm.defined", "vm.started",
					   "vm.paused",  "vm.resumed",
					   "vm.stopped", "vm.deleted"};
	struct fx *fx = *state;
	struct evlog pub = {0}, kept = {0};
	struct db_vm_row row;
	int64_t oldest, newest;
	size_t i;

	assert_int_equal(
	    db_event_config(fx->f_tf.tf_db, evlog_sink, &pub, 0, 0), 0);
	insert(fx, "a");
	row_init(&row, "a", "{}");
	assert_int_equal(db_vm_insert(fx->f_tf.tf_db, &row, NULL, NULL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(
	    db_vm_update_spec(fx->f_tf.tf_db, &row, 999, NULL, NULL), -1);
	assert_int_equal(errno, ESTALE);
	db_vm_row_clear(&row);
	set_state(fx, "a", "running");
	set_state(fx, "a", "paused");
	set_state(fx, "a", "running");
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "a", 0, NULL, NULL), -1);
	assert_int_equal(errno, EBUSY);
	set_state(fx, "a", "stopped");
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "a", 0, NULL, NULL), 0);

	assert_int_equal(pub.el_n, 6);
	for (i = 0; i < pub.el_n; i++) {
		assert_string_equal(pub.el_type[i], want[i]);
		assert_int_equal(pub.el_id[i], pub.el_id[0] + (int64_t)i);
	}
	assert_int_equal(
	    db_event_list(fx->f_tf.tf_db, 0, INT64_MAX, 100, evlog_each, &kept),
	    0);
	assert_int_equal(kept.el_n, pub.el_n);
	assert_memory_equal(kept.el_id, pub.el_id, sizeof(pub.el_id));
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_int_equal(oldest, pub.el_id[0]);
	assert_int_equal(newest, pub.el_id[5]);
	assert_int_equal(db_event_config(fx->f_tf.tf_db, NULL, NULL, 0, 0), 0);
}

/* --events-keep: configuring prunes to the newest n, ids go on. */
static void
test_db__journal_keeps_the_newest_events_and_never_reuses_ids(void **state)
{
	struct fx *fx = *state;
	int64_t oldest, newest, o2, n2;
	char name[8];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		insert(fx, name);
	}
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_int_equal(newest - oldest, 4);
	assert_int_equal(db_event_config(fx->f_tf.tf_db, NULL, NULL, 2, 0), 0);
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &o2, &n2), 0);
	assert_int_equal(n2, newest);
	assert_int_equal(o2, newest - 1);
	assert_int_equal(db_event_config(fx->f_tf.tf_db, NULL, NULL, 0, 0), 0);
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "k4", 0, NULL, NULL), 0);
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &o2, &n2), 0);
	assert_int_equal(n2, newest + 1);
}

/*
 * A file marked as a backup's copy (meta.copy = 1, as db_backup marks
 * it) opened as the database is a restore: the revision counter and the
 * event ids move past the wall clock in microseconds, what they skip is
 * recorded (db_lost, db_lost_next), the mark is cleared, and
 * --events-keep still keeps the newest n events across the skip.
 */
static void
test_db__a_restored_copy_skips_what_its_lost_timeline_handed_out(void **state)
{
	struct fx *fx = *state;
	struct db_vm_row got;
	int64_t oldest, newest, before;
	sqlite3 *sql;
	char name[8];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		insert(fx, name);
	}
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &before), 0);
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(sql, "UPDATE meta SET copy = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(sql);
	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);

	/* Nothing is lost of what the copy has; what follows it is. */
	assert_false(db_lost(fx->f_tf.tf_db, DB_LOST_EVENT, (uint64_t)before));
	assert_true(
	    db_lost(fx->f_tf.tf_db, DB_LOST_EVENT, (uint64_t)before + 1));
	assert_true(db_lost(fx->f_tf.tf_db, DB_LOST_REVISION, 4));
	assert_false(db_lost(fx->f_tf.tf_db, DB_LOST_REVISION, 3));
	insert(fx, "r3");
	assert_int_equal(stored(fx, "r3", &got), 0);
	assert_true(got.vr_revision > 1000000000000000ull);
	assert_true(
	    db_lost(fx->f_tf.tf_db, DB_LOST_REVISION, got.vr_revision - 1));
	db_vm_row_clear(&got);
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_true(newest > 1000000000000000ll);
	assert_int_equal((int64_t)db_lost_next(fx->f_tf.tf_db, DB_LOST_EVENT,
					       (uint64_t)before),
			 newest);
	assert_int_equal((int64_t)db_lost_next(fx->f_tf.tf_db, DB_LOST_EVENT,
					       (uint64_t)newest),
			 newest + 1);
	/* The newest two: the copy's last and the restore's first. */
	assert_int_equal(db_event_config(fx->f_tf.tf_db, NULL, NULL, 2, 0), 0);
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_int_equal(oldest, before);
	assert_int_equal(db_event_config(fx->f_tf.tf_db, NULL, NULL, 0, 0), 0);

	/* Opened again: no second move, the ranges still known. */
	before = newest;
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_true(
	    db_lost(fx->f_tf.tf_db, DB_LOST_EVENT, (uint64_t)oldest + 1));
	insert(fx, "r4");
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_int_equal(newest, before + 1);
}

/* Collects the scopes of the events db_event_list hands out. */
static int
scope_each(void *arg, const struct db_event *e)
{
	int *scopes = arg;

	if (e->ev_id >= 1 && e->ev_id < 16)
		scopes[e->ev_id] = (int)e->ev_scope;
	return 0;
}

/*
 * Version 9 widens the journal's scope CHECK (scope 4: pptdev events):
 * the rows are kept, pptdev.* rows move to scope 4, and the id counter
 * goes on from where it was, not from the newest row left.
 */
static void
test_db__version_8_journal_is_migrated_with_its_counter(void **state)
{
	struct fx *fx = *state;
	int64_t oldest, newest;
	int scopes[16] = {0};
	sqlite3 *sql;
	const char *v8 =
	    "CREATE TABLE events_8 ("
	    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " time_ms INTEGER NOT NULL,"
	    " type TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 31),"
	    " scope INTEGER NOT NULL CHECK (scope BETWEEN 0 AND 3),"
	    " vm TEXT NOT NULL DEFAULT '' CHECK (length(vm) <= 64),"
	    " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
	    " owner_uid INTEGER NOT NULL DEFAULT -1,"
	    " data TEXT NOT NULL);"
	    "INSERT INTO events_8 SELECT * FROM events;"
	    "INSERT INTO events_8 (id, time_ms, type, scope, data)"
	    " VALUES (3, 1, 'pptdev.reserved', 2, '{}');"
	    "DROP TABLE events;"
	    "ALTER TABLE events_8 RENAME TO events;"
	    /* Ids up to 10 were handed out, the newest pruned. */
	    "UPDATE sqlite_sequence SET seq = 10 WHERE name = "
	    "'events';"
	    "PRAGMA user_version = 8;";

	insert(fx, "m1");
	insert(fx, "m2");
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sql, v8, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);
	assert_int_equal(user_version(fx->f_tf.tf_db_path), 8);

	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version());
	assert_int_equal(db_event_list(fx->f_tf.tf_db, 0, INT64_MAX, 100,
				       scope_each, scopes),
			 0);
	assert_int_equal(scopes[1], DB_EVENT_VM);
	assert_int_equal(scopes[2], DB_EVENT_VM);
	assert_int_equal(scopes[3], DB_EVENT_PPT);
	insert(fx, "m3");
	assert_int_equal(db_event_bounds(fx->f_tf.tf_db, &oldest, &newest), 0);
	assert_int_equal(oldest, 1);
	assert_int_equal(newest, 11);
}

/* Each event's VM, jail and document, by id (db_event_list). */
struct ev_seen {
	char es_vm[16][65];
	char es_jail[16][65];
	char es_data[16][512];
};

static int
ev_seen_each(void *arg, const struct db_event *e)
{
	struct ev_seen *es = arg;

	if (e->ev_id >= 1 && e->ev_id < 16) {
		snprintf(es->es_vm[e->ev_id], 65, "%s", e->ev_vm);
		snprintf(es->es_jail[e->ev_id], 65, "%s", e->ev_jail);
		snprintf(es->es_data[e->ev_id], 512, "%s", e->ev_data);
	}
	return 0;
}

/*
 * Version 10 keys a VM by its jail and name (base/names.h): a version-9
 * file's host VM keeps its name as key, a jail's VM becomes "JAIL/NAME",
 * and each keeps its spec (passthrough devices with it), its status (its
 * run identity), its revision and its guestinfo keys, which still go
 * with their VM; its events keep the VM's name and gain its jail.
 * Afterwards the host may have a VM of the jail's VM's name.
 */
static void
test_db__version_9_vms_are_keyed_by_jail_and_name(void **state)
{
	struct fx *fx = *state;
	struct db_guestinfo_row gi;
	struct db_vm_row got;
	struct ev_seen *es = calloc(1, sizeof(*es));
	sqlite3 *sql;
	const char *v9 =
	    "DROP TABLE guestinfo;"
	    "DROP TABLE vms;"
	    "CREATE TABLE vms ("
	    " name TEXT NOT NULL PRIMARY KEY"
	    "  CHECK (length(name) BETWEEN 1 AND 64),"
	    " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
	    " owner_uid INTEGER NOT NULL CHECK (owner_uid >= 0),"
	    " owner_gid INTEGER NOT NULL CHECK (owner_gid >= 0),"
	    " spec TEXT NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'defined' CHECK ("
	    "  state = 'defined' OR state = 'starting' OR state = 'running' OR"
	    "  state = 'paused' OR state = 'stopping' OR state = 'stopped' OR"
	    "  state = 'crashed'),"
	    " status TEXT NOT NULL DEFAULT '{}',"
	    " generation INTEGER NOT NULL CHECK (generation >= 1),"
	    " revision INTEGER NOT NULL CHECK (revision >= 1),"
	    " created_ms INTEGER NOT NULL,"
	    " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE guestinfo ("
	    " vm TEXT NOT NULL REFERENCES vms (name) ON DELETE CASCADE,"
	    " key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 128),"
	    " value BLOB NOT NULL CHECK (length(value) <= 65536),"
	    " revision INTEGER NOT NULL UNIQUE CHECK (revision >= 1),"
	    " updated_ms INTEGER NOT NULL,"
	    " updated_by TEXT NOT NULL CHECK (updated_by IN ('api', 'guest')),"
	    " PRIMARY KEY (vm, key)) WITHOUT ROWID;"
	    "INSERT INTO vms VALUES ('web1', '', 1000, 100,"
	    " '{\"name\":\"web1\",\"pptdevs\":[\"0/31/0\"]}', 'stopped',"
	    " '{\"run\":1700000000000001}', 2, 5, 1, 2);"
	    "INSERT INTO vms VALUES ('db1', 'j1', 0, 0, '{\"name\":\"db1\"}',"
	    " 'defined', '{\"run\":1700000000000002}', 1, 6, 3, 4);"
	    "INSERT INTO guestinfo VALUES ('web1', 'role', 'host', 7, 5, "
	    "'api');"
	    "INSERT INTO guestinfo VALUES ('db1', 'role', 'jail', 8, 6,"
	    " 'guest');"
	    "UPDATE meta SET revision = 8;"
	    "DELETE FROM events;"
	    "INSERT INTO events (id, time_ms, type, scope, vm, jail, owner_uid,"
	    " data) VALUES (1, 1, 'vm.defined', 0, 'db1', 'j1', 0,"
	    " '{\"type\":\"vm.defined\",\"vm\":\"db1\"}');"
	    "INSERT INTO events (id, time_ms, type, scope, vm, jail, owner_uid,"
	    " data) VALUES (2, 2, 'vm.defined', 0, 'web1', '', 1000,"
	    " '{\"type\":\"vm.defined\",\"vm\":\"web1\"}');"
	    "PRAGMA user_version = 9;";

	assert_non_null(es);
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sql, v9, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);
	assert_int_equal(user_version(fx->f_tf.tf_db_path), 9);

	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_int_equal(user_version(fx->f_tf.tf_db_path),
			 db_schema_version());
	/* The host's VM, as it was. */
	assert_int_equal(stored(fx, "web1", &got), 0);
	assert_string_equal(got.vr_jail, "");
	assert_int_equal(got.vr_owner_uid, 1000);
	assert_int_equal(got.vr_state, VM_STOPPED);
	assert_string_equal(got.vr_spec,
			    "{\"name\":\"web1\",\"pptdevs\":[\"0/31/0\"]}");
	assert_string_equal(got.vr_status, "{\"run\":1700000000000001}");
	assert_int_equal(got.vr_revision, 5);
	assert_int_equal(got.vr_generation, 2);
	db_vm_row_clear(&got);
	/* The jail's, under its key. */
	assert_int_equal(stored(fx, "db1", &got), -1);
	assert_int_equal(stored(fx, "j1/db1", &got), 0);
	assert_string_equal(got.vr_jail, "j1");
	assert_int_equal(got.vr_owner_uid, 0);
	assert_string_equal(got.vr_spec, "{\"name\":\"db1\"}");
	assert_string_equal(got.vr_status, "{\"run\":1700000000000002}");
	assert_int_equal(got.vr_revision, 6);
	assert_int_equal(got.vr_created_ms, 3);
	db_vm_row_clear(&got);
	/* Each VM's guestinfo key. */
	assert_int_equal(db_guestinfo_get(fx->f_tf.tf_db, "web1", "role", &gi),
			 0);
	assert_string_equal(gi.gr_value, "host");
	db_guestinfo_row_clear(&gi);
	assert_int_equal(
	    db_guestinfo_get(fx->f_tf.tf_db, "j1/db1", "role", &gi), 0);
	assert_string_equal(gi.gr_value, "jail");
	assert_int_equal(gi.gr_by_guest, 1);
	db_guestinfo_row_clear(&gi);
	/* Events keep the VM's name and scope, and now say the jail. */
	assert_int_equal(
	    db_event_list(fx->f_tf.tf_db, 0, INT64_MAX, 100, ev_seen_each, es),
	    0);
	assert_string_equal(es->es_vm[1], "db1");
	assert_string_equal(es->es_jail[1], "j1");
	assert_non_null(strstr(es->es_data[1], "\"jail\":\"j1\""));
	assert_string_equal(es->es_vm[2], "web1");
	assert_non_null(strstr(es->es_data[2], "\"jail\":\"\""));
	/* The host may now have a db1 of its own; the jail's stays. */
	insert(fx, "db1");
	assert_int_equal(stored(fx, "j1/db1", &got), 0);
	db_vm_row_clear(&got);
	/* A key goes with its VM, and only with it (the reference moved
	 * to the new table). */
	assert_int_equal(db_vm_delete(fx->f_tf.tf_db, "j1/db1", 0, NULL, NULL),
			 0);
	assert_int_equal(
	    db_guestinfo_get(fx->f_tf.tf_db, "j1/db1", "role", &gi), -1);
	assert_int_equal(db_guestinfo_get(fx->f_tf.tf_db, "web1", "role", &gi),
			 0);
	db_guestinfo_row_clear(&gi);
	/* A key and its jail must agree. */
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(sql,
			 "INSERT INTO vms VALUES ('j2/x', 'j1', 0, 0, '{}',"
			 " 'defined', '{}', 1, 99, 1, 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(sql,
			 "INSERT INTO vms VALUES ('j2/x', '', 0, 0, '{}',"
			 " 'defined', '{}', 1, 99, 1, 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(sql);
	free(es);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_db__open_creates_schema_at_current_version),
	    T(test_db__open_uses_wal),
	    T(test_db__wal_is_preallocated_and_a_crashed_copy_keeps_its_rows),
	    T(test_db__an_existing_0644_database_and_its_wal_and_shm_become_0600),
	    T(test_db__open_in_missing_directory_fails_with_enoent),
	    T(test_db__reopen_keeps_rows_and_schema),
	    T(test_db__version_4_file_is_migrated_with_its_rows),
	    T(test_db__version_8_journal_is_migrated_with_its_counter),
	    T(test_db__version_9_vms_are_keyed_by_jail_and_name),
	    T(test_db__newer_user_version_is_refused_with_eproto),
	    T(test_db__ping_answers),
	    T(test_db__insert_assigns_revision_generation_and_times),
	    T(test_db__insert_of_existing_name_is_eexist),
	    T(test_db__insert_with_unknown_state_is_einval),
	    T(test_db__insert_without_name_or_spec_is_einval),
	    T(test_db__update_spec_bumps_generation_and_returns_stored_row),
	    T(test_db__update_spec_of_missing_vm_is_enoent),
	    T(test_db__update_spec_with_stale_revision_is_estale),
	    T(test_db__update_state_takes_new_revision_and_keeps_generation),
	    T(test_db__update_state_of_missing_vm_is_enoent),
	    T(test_db__update_state_to_unknown_state_is_einval),
	    T(test_db__delete_removes_row_and_hook_gets_stored_row),
	    T(test_db__delete_of_missing_vm_is_enoent),
	    T(test_db__delete_with_stale_revision_is_estale),
	    T(test_db__delete_of_running_vm_is_ebusy),
	    T(test_db__failed_write_takes_no_revision),
	    T(test_db__revision_is_not_reused_after_deleting_newest_and_reopening),
	    T(test_db__hooks_run_in_commit_order_and_only_after_commit),
	    T(test_db__failed_write_runs_no_hook),
	    T(test_db__write_from_a_commit_hook_is_edeadlk),
	    T(test_db__single_write_counts_one_commit),
	    T(test_db__concurrent_inserts_share_commits),
	    T(test_db__batch_holds_at_most_the_batch_limit),
	    T(test_db__failing_write_in_a_batch_does_not_fail_the_others),
	    T(test_db__close_waits_for_queued_writes),
	    T(test_db__full_disk_is_enospc_and_recovers),
	    T(test_db__full_disk_in_a_batch_fails_no_write_it_did_not_store),
	    T(test_db__lost_transaction_fails_the_writes_before_it_only),
	    T(test_db__tokens_insert_load_and_count),
	    T(test_db__token_load_stops_on_callback_result),
	    T(test_db__token_with_existing_id_or_hash_is_eexist),
	    T(test_db__vm_load_stops_on_callback_result),
	    T(test_db__each_write_is_one_event_and_a_refused_one_none),
	    T(test_db__journal_keeps_the_newest_events_and_never_reuses_ids),
	    T(test_db__a_restored_copy_skips_what_its_lost_timeline_handed_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
