/*
 * The vms table.  Every write runs on the writer thread (db_writer.c) and
 * hands the full stored row to the commit hook, so the hook sees the row
 * exactly as the database holds it: updates and deletes read it back
 * through RETURNING, an insert builds it from the values it bound.
 *
 * Revisions: every insert and update takes the next value of one counter
 * (db_revision), so revisions increase in commit order and are never
 * handed out twice.  The counter is not written per write: at open it
 * starts past both the largest revision stored in vms and meta.revision,
 * and a delete (which could remove the largest) records the counter in
 * meta.revision in its own transaction.  A revision given to a write that
 * rolled back is simply never seen.  A delete takes no revision: the hook
 * gets the row as it was stored, revision included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_vm_row_read expects. */
#define DB_VM_COLUMNS                                                          \
	"name, jail, owner_uid, owner_gid, spec, state, status, generation, "  \
	"revision, created_ms, updated_ms, spec_revision"

/*
 * One vms write, in the caller's frame: the writer job's j_arg, with the
 * stored row its run leaves for the commit hook.
 */
struct db_vm_args {
	const struct db_vm_row *va_in; /* insert, update_spec, update_state */
	const char *va_name;           /* delete */
	uint64_t va_expect;            /* 0: any revision */
	struct db_vm_row *va_out;      /* the row as stored */
	const struct db_guestinfo_kv *va_keys; /* insert: its first keys */
	size_t va_nkeys;
	const char *va_event;   /* update_state: its event; NULL: implied */
	db_commit_hook va_hook; /* NULL: none */
	void *va_hook_arg;
};

/*
 * Frees the strings row owns and sets their pointers to NULL; the rest of
 * the row stays.
 */
void
db_vm_row_clear(struct db_vm_row *row)
{
	if (row == NULL)
		return;
	free(row->vr_spec);
	free(row->vr_status);
	row->vr_spec = NULL;
	row->vr_status = NULL;
}

/*
 * Reads the current result row of st (DB_VM_COLUMNS) into row.  copy:
 * the strings are malloc'd for row; else they point into st and are valid
 * until st steps again (db_vm_load_all lends rows that way).
 */
static int
db_vm_row_read(sqlite3_stmt *st, struct db_vm_row *row, int copy)
{
	const char *spec, *status;

	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 0, row->vr_name, sizeof(row->vr_name)) == -1 ||
	    db_column_copy(st, 1, row->vr_jail, sizeof(row->vr_jail)) == -1 ||
	    db_column_state(st, 5, &row->vr_state) == -1)
		return -1;
	row->vr_owner_uid = (uid_t)sqlite3_column_int64(st, 2);
	row->vr_owner_gid = (gid_t)sqlite3_column_int64(st, 3);
	row->vr_generation = (uint64_t)sqlite3_column_int64(st, 7);
	row->vr_revision = (uint64_t)sqlite3_column_int64(st, 8);
	row->vr_created_ms = sqlite3_column_int64(st, 9);
	row->vr_updated_ms = sqlite3_column_int64(st, 10);
	/* 0: written before schema 11, which has not kept it (the newest
	 * revision stands in, as it did). */
	row->vr_spec_revision = (uint64_t)sqlite3_column_int64(st, 11);
	if (row->vr_spec_revision == 0)
		row->vr_spec_revision = row->vr_revision;
	spec = (const char *)sqlite3_column_text(st, 4);
	status = (const char *)sqlite3_column_text(st, 6);
	if (spec == NULL || status == NULL) {
		errno = ENOMEM; /* both are NOT NULL */
		return -1;
	}
	if (!copy) {
		/* the callback gets a const row and cannot free these */
		row->vr_spec = (char *)spec;
		row->vr_status = (char *)status;
		return 0;
	}
	row->vr_spec = strdup(spec);
	row->vr_status = strdup(status);
	if (row->vr_spec == NULL || row->vr_status == NULL) {
		db_vm_row_clear(row);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * Steps a write ... RETURNING DB_VM_COLUMNS statement that changes at most
 * one row, reading that row into out.  ENOENT when it changed none.
 */
static int
db_vm_step_returning(struct db *db, sqlite3_stmt *st, struct db_vm_row *out,
		     const char *what)
{
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		errno = ENOENT;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		db_fail(db->db_wconn.dc_sql, rc, what);
		goto fail;
	}
	if (db_vm_row_read(st, out, 1) == -1)
		goto fail;
	/* RETURNING applies every change at the first step; finish it */
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_ROW)
			log_warnx("db: %s: changed more than one row", what);
		db_fail(db->db_wconn.dc_sql,
			rc == SQLITE_ROW ? SQLITE_ERROR : rc, what);
		db_vm_row_clear(out);
		goto fail;
	}
	db_stmt_done(st);
	return 0;
fail:
	db_stmt_done(st);
	return -1;
}

/*
 * The next revision; taken only by db_vm_took_revision once the write
 * succeeded, so a failing write leaves no gap.  (The leading thread alone
 * runs jobs.)
 */
int
db_vm_next_revision(struct db *db, uint64_t *revision)
{
	*revision = db->db_revision + 1;
	return 0;
}

/* The write that got revision from db_vm_next_revision succeeded: 0. */
int
db_vm_took_revision(struct db *db, uint64_t revision, int rc)
{
	if (rc == 0)
		db->db_revision = revision;
	return rc;
}

/*
 * Records the counter in meta.revision, so that deleting the VM holding
 * the largest revision does not let a restart hand it out again.
 */
int
db_vm_save_revision(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(
	    &db->db_wconn, DB_STMT_NEXT_REVISION,
	    "UPDATE meta SET revision = max(revision, ?1) WHERE id = 1");
	if (st == NULL)
		return -1;
	rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)db->db_revision);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "save revision");
	return 0;
}

int
db_vm_load_revision(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	/* At open, before the writer thread: the writer connection is ours. */
	st = db_stmt(&db->db_wconn, DB_STMT_LOAD_REVISION,
		     "SELECT max(coalesce((SELECT revision FROM meta WHERE "
		     "id = 1), 0), coalesce((SELECT max(revision) FROM vms), "
		     "0), coalesce((SELECT max(revision) FROM guestinfo), "
		     "0))");
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db->db_revision = (uint64_t)sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc != SQLITE_ROW)
		return db_fail(db->db_wconn.dc_sql, rc, "load revision");
	return 0;
}

/*
 * Reads the stored revision and state of name into *revision and state.
 * ENOENT: no such VM.
 */
static int
db_vm_probe(struct db *db, const char *name, uint64_t *revision,
	    enum vm_state *state)
{
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(&db->db_wconn, DB_STMT_VM_PROBE,
		     "SELECT revision, state FROM vms WHERE name = ?1");
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		errno = ENOENT;
		return -1;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	*revision = (uint64_t)sqlite3_column_int64(st, 0);
	if (db_column_state(st, 1, state) == -1) {
		db_stmt_done(st);
		return -1;
	}
	db_stmt_done(st);
	return 0;
fail:
	db_fail(db->db_wconn.dc_sql, rc, "probe vm");
	db_stmt_done(st);
	return -1;
}

/*
 * The row an INSERT of in stored, as RETURNING would give it: every
 * column is a bound value or a constant of the statement, so it is built
 * here rather than read back (RETURNING costs SQLite a temporary table
 * per statement).
 */
static int
db_vm_row_inserted(const struct db_vm_row *in, uint64_t revision, int64_t now,
		   struct db_vm_row *out)
{
	*out = *in;
	out->vr_generation = 1;
	out->vr_revision = out->vr_spec_revision = revision;
	out->vr_created_ms = out->vr_updated_ms = now;
	out->vr_spec = strdup(in->vr_spec);
	out->vr_status = strdup(in->vr_status != NULL ? in->vr_status : "{}");
	if (out->vr_spec == NULL || out->vr_status == NULL) {
		db_vm_row_clear(out);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * Records event type about the VM row holds (as stored), with detail (a
 * JSON object's text, or NULL), in job's transaction.
 */
static int
db_vm_event(struct db *db, struct db_job *job, const char *type,
	    const struct db_vm_row *row, const char *detail)
{
	struct db_event_in in = {type,
				 DB_EVENT_VM,
				 "vm",
				 row->vr_name,
				 row->vr_name,
				 row->vr_jail,
				 (int64_t)row->vr_owner_uid,
				 row->vr_revision,
				 row->vr_generation,
				 row->vr_state,
				 detail};

	return db_event_add(db, job, &in);
}

/* The event a state change from was to now reports. */
static const char *
db_vm_state_event(enum vm_state was, enum vm_state now)
{
	switch (now) {
	case VM_RUNNING:
		return was == VM_PAUSED ? "vm.resumed" : "vm.started";
	case VM_PAUSED:
		return "vm.paused";
	case VM_STOPPING:
		return "vm.stopping";
	case VM_STOPPED:
		return "vm.stopped";
	case VM_CRASHED:
		return "vm.crashed";
	default:
		/* A start that failed puts the state it had back. */
		return "vm.status";
	}
}

/*
 * A write runs again after a full disk (db_writer.c): what its first,
 * rolled-back run stored in a->va_out goes.  va_out is zeroed before the
 * first run (db_vm_submit).
 */
static void
db_vm_rerun(const struct db_vm_args *a)
{
	db_vm_row_clear(a->va_out);
}

static int
db_vm_insert_run(struct db *db, struct db_job *job)
{
	const struct db_vm_args *a = job->j_arg;
	const struct db_vm_row *in = a->va_in;
	sqlite3_stmt *st;
	uint64_t revision = 0;
	int64_t now;
	size_t i;
	int rc;

	db_vm_rerun(a);
	if (db_vm_next_revision(db, &revision) == -1)
		return -1;
	now = timefmt_now_ms();
	st = db_stmt(&db->db_wconn, DB_STMT_VM_INSERT,
		     "INSERT INTO vms (" DB_VM_COLUMNS ") VALUES (?1, ?2, ?3, "
		     "?4, ?5, ?6, ?7, 1, ?8, ?9, ?9, ?8)");
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->vr_name, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, in->vr_jail, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, in->vr_owner_uid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, in->vr_owner_gid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, in->vr_spec, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 6, vm_state_name(in->vr_state), -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(
		 st, 7, in->vr_status != NULL ? in->vr_status : "{}", -1,
		 SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 8, (sqlite3_int64)revision)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 9, now)) != SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind vm insert");
		db_stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc != SQLITE_DONE) {
		db_fail(db->db_wconn.dc_sql, rc, "insert vm");
		return -1;
	}
	if (db_vm_took_revision(
		db, revision,
		db_vm_row_inserted(in, revision, now, a->va_out)) == -1)
		return -1;
	if (db_vm_event(db, job, "vm.defined", a->va_out, NULL) == -1)
		return -1;
	/* The VM first, then its keys, each as a key set later is told. */
	for (i = 0; i < a->va_nkeys; i++) {
		uint64_t key_revision;
		int64_t key_ms;

		if (db_guestinfo_write(db, in->vr_name, &a->va_keys[i], 0,
				       &key_revision, &key_ms) == -1 ||
		    db_guestinfo_event(db, job, "guestinfo.set", in->vr_name,
				       a->va_keys[i].gk_key,
				       key_revision) == -1)
			return -1;
	}
	return 0;
}

static int
db_vm_update_spec_run(struct db *db, struct db_job *job)
{
	const struct db_vm_args *a = job->j_arg;
	const struct db_vm_row *in = a->va_in;
	enum vm_state state;
	sqlite3_stmt *st;
	uint64_t revision = 0, stored;
	int rc;

	db_vm_rerun(a);
	if (db_vm_probe(db, in->vr_name, &stored, &state) == -1)
		return -1;
	if (a->va_expect != 0 && a->va_expect != stored) {
		errno = ESTALE;
		return -1;
	}
	if (db_vm_next_revision(db, &revision) == -1)
		return -1;
	st = db_stmt(&db->db_wconn, DB_STMT_VM_UPDATE_SPEC,
		     "UPDATE vms SET spec = ?2, generation = generation + 1, "
		     "revision = ?3, spec_revision = ?3, updated_ms = ?4 "
		     "WHERE name = ?1 RETURNING " DB_VM_COLUMNS);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->vr_name, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, in->vr_spec, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)revision)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, timefmt_now_ms())) != SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind vm update spec");
		db_stmt_done(st);
		return -1;
	}
	if (db_vm_took_revision(db, revision,
				db_vm_step_returning(db, st, a->va_out,
						     "update vm spec")) == -1)
		return -1;
	return db_vm_event(db, job, "vm.changed", a->va_out, NULL);
}

static int
db_vm_update_state_run(struct db *db, struct db_job *job)
{
	const struct db_vm_args *a = job->j_arg;
	const struct db_vm_row *in = a->va_in;
	sqlite3_stmt *st;
	uint64_t revision = 0, stored;
	enum vm_state was;
	int rc;

	db_vm_rerun(a);
	/* The state it leaves says which event this is. */
	if (db_vm_probe(db, in->vr_name, &stored, &was) == -1)
		return -1;
	if (db_vm_next_revision(db, &revision) == -1)
		return -1;
	st =
	    db_stmt(&db->db_wconn, DB_STMT_VM_UPDATE_STATE,
		    "UPDATE vms SET state = ?2, status = ?3, revision = ?4, "
		    "updated_ms = ?5 WHERE name = ?1 RETURNING " DB_VM_COLUMNS);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->vr_name, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, vm_state_name(in->vr_state), -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(
		 st, 3, in->vr_status != NULL ? in->vr_status : "{}", -1,
		 SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)revision)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, timefmt_now_ms())) != SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind vm update state");
		db_stmt_done(st);
		return -1;
	}
	if (db_vm_took_revision(db, revision,
				db_vm_step_returning(db, st, a->va_out,
						     "update vm state")) == -1)
		return -1;
	return db_vm_event(db, job,
			   a->va_event != NULL
			       ? a->va_event
			       : db_vm_state_event(was, in->vr_state),
			   a->va_out, a->va_out->vr_status);
}

static int
db_vm_delete_run(struct db *db, struct db_job *job)
{
	const struct db_vm_args *a = job->j_arg;
	enum vm_state state;
	sqlite3_stmt *st;
	uint64_t stored;
	int rc;

	db_vm_rerun(a);
	if (db_vm_probe(db, a->va_name, &stored, &state) == -1)
		return -1;
	if (a->va_expect != 0 && a->va_expect != stored) {
		errno = ESTALE;
		return -1;
	}
	if (vm_state_is_live(state)) {
		errno = EBUSY;
		return -1;
	}
	if (db_vm_save_revision(db) == -1)
		return -1;
	st =
	    db_stmt(&db->db_wconn, DB_STMT_VM_DELETE,
		    "DELETE FROM vms WHERE name = ?1 RETURNING " DB_VM_COLUMNS);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, a->va_name, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind vm delete");
		db_stmt_done(st);
		return -1;
	}
	if (db_vm_step_returning(db, st, a->va_out, "delete vm") == -1)
		return -1;
	return db_vm_event(db, job, "vm.deleted", a->va_out, NULL);
}

/*
 * Whether row's fixed-size strings are terminated, its name is set and,
 * when need_spec, it has a spec.
 */
static int
db_vm_row_valid(const struct db_vm_row *row, int need_spec)
{
	return db_is_cstr(row->vr_name, sizeof(row->vr_name)) &&
	       row->vr_name[0] != '\0' &&
	       db_is_cstr(row->vr_jail, sizeof(row->vr_jail)) &&
	       (unsigned)row->vr_state < VM_NSTATES &&
	       (!need_spec || row->vr_spec != NULL);
}

/*
 * Moves the stored row out into the caller's row.  Strings the caller
 * gave as input (keep_spec, keep_status) stay: they equal what is stored
 * and the caller may hold them elsewhere.  The others are replaced.
 */
static void
db_vm_row_adopt(struct db_vm_row *row, struct db_vm_row *out, int keep_spec,
		int keep_status)
{
	char *spec = keep_spec ? row->vr_spec : out->vr_spec;
	char *status = keep_status ? row->vr_status : out->vr_status;

	if (keep_spec)
		free(out->vr_spec);
	else
		free(row->vr_spec);
	if (keep_status)
		free(out->vr_status);
	else
		free(row->vr_status);
	*row = *out;
	row->vr_spec = spec;
	row->vr_status = status;
	memset(out, 0, sizeof(*out));
}

/* The write committed: the caller's hook gets the stored row. */
static void
db_vm_committed(struct db_job *job)
{
	const struct db_vm_args *a = job->j_arg;

	a->va_hook(a->va_hook_arg, a->va_out);
}

/*
 * Submits the vms write a with run; its hook (a->va_hook) gets the
 * stored row, kept in *out.
 */
static int
db_vm_submit(struct db *db, db_job_fn run, struct db_vm_args *a,
	     struct db_vm_row *out)
{
	struct db_job job;
	int saved;

	memset(&job, 0, sizeof(job));
	memset(out, 0, sizeof(*out));
	job.j_run = run;
	job.j_arg = a;
	job.j_committed = a->va_hook != NULL ? db_vm_committed : NULL;
	a->va_out = out;
	if (db_writer_submit(db, &job) == -1) {
		/* the write may have run and then lost its COMMIT */
		saved = errno;
		db_vm_row_clear(out);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Validates row (need_spec: it must have a spec), submits the write a
 * with run, and moves the stored row into *row, which keeps its own spec
 * and status where keep_spec and keep_status say so (db_vm_row_adopt).
 * *row is unchanged on failure.
 */
static int
db_vm_write(struct db *db, db_job_fn run, struct db_vm_args *a,
	    struct db_vm_row *row, int need_spec, int keep_spec,
	    int keep_status)
{
	struct db_vm_row out;

	if (!db_vm_row_valid(row, need_spec)) {
		errno = EINVAL;
		return -1;
	}
	if (db_vm_submit(db, run, a, &out) == -1)
		return -1;
	db_vm_row_adopt(row, &out, keep_spec, keep_status);
	return 0;
}

/*
 * Inserts row (vr_status NULL means "{}").
 * On success the stored revision, generation, times, state and status
 * are written back into *row; the caller's vr_spec and a non-NULL
 * vr_status stay as they were.  *row is unchanged on failure.
 * EEXIST: the name is taken.  EINVAL: a missing name or spec, or a value
 * the schema refuses (an unknown state).
 */
int
db_vm_insert_keys(struct db *db, struct db_vm_row *row,
		  const struct db_guestinfo_kv *keys, size_t nkeys,
		  db_commit_hook hook, void *arg)
{
	struct db_vm_args a = {.va_in = row,
			       .va_keys = keys,
			       .va_nkeys = nkeys,
			       .va_hook = hook,
			       .va_hook_arg = arg};

	if (nkeys > LIMIT_GUESTINFO_KEYS) {
		errno = EINVAL;
		return -1;
	}
	return db_vm_write(db, db_vm_insert_run, &a, row, 1, 1,
			   row->vr_status != NULL);
}

int
db_vm_insert(struct db *db, struct db_vm_row *row, db_commit_hook hook,
	     void *arg)
{
	return db_vm_insert_keys(db, row, NULL, 0, hook, arg);
}

/*
 * Replaces the spec of row->vr_name; see db.h.  The caller's vr_spec
 * stays, vr_status is replaced by the stored one.  *row is unchanged on
 * failure.  ENOENT, ESTALE, EINVAL.
 */
int
db_vm_update_spec(struct db *db, struct db_vm_row *row,
		  uint64_t expect_revision, db_commit_hook hook, void *arg)
{
	struct db_vm_args a = {.va_in = row,
			       .va_expect = expect_revision,
			       .va_hook = hook,
			       .va_hook_arg = arg};

	return db_vm_write(db, db_vm_update_spec_run, &a, row, 1, 1, 0);
}

/*
 * Sets state and status of row->vr_name (vr_status NULL means "{}"); see
 * db.h.  The caller's vr_spec, if any, is freed and replaced by the
 * stored spec.  *row is unchanged on failure.  ENOENT; EINVAL: an unknown
 * state.
 */
int
db_vm_update_state(struct db *db, struct db_vm_row *row, db_commit_hook hook,
		   void *arg)
{
	struct db_vm_args a = {
	    .va_in = row, .va_hook = hook, .va_hook_arg = arg};

	return db_vm_write(db, db_vm_update_state_run, &a, row, 0, 0,
			   row->vr_status != NULL);
}

int
db_vm_update_state_as(struct db *db, struct db_vm_row *row, const char *type,
		      db_commit_hook hook, void *arg)
{
	struct db_vm_args a = {.va_in = row,
			       .va_event = type,
			       .va_hook = hook,
			       .va_hook_arg = arg};

	if (type == NULL || strncmp(type, "vm.", 3) != 0 ||
	    strlen(type) >= sizeof(((struct db_event *)0)->ev_type)) {
		errno = EINVAL;
		return -1;
	}
	return db_vm_write(db, db_vm_update_state_run, &a, row, 0, 0,
			   row->vr_status != NULL);
}

/*
 * Deletes VM name; see db.h.  The hook's row is the row as it was stored
 * (its last revision).  ENOENT, ESTALE, EBUSY, EINVAL (no name).
 */
int
db_vm_delete(struct db *db, const char *name, uint64_t expect_revision,
	     db_commit_hook hook, void *arg)
{
	struct db_vm_args a = {.va_name = name,
			       .va_expect = expect_revision,
			       .va_hook = hook,
			       .va_hook_arg = arg};
	struct db_vm_row out;

	if (name == NULL || name[0] == '\0' ||
	    strnlen(name, sizeof(out.vr_name)) >= sizeof(out.vr_name)) {
		errno = EINVAL;
		return -1;
	}
	if (db_vm_submit(db, db_vm_delete_run, &a, &out) == -1)
		return -1;
	db_vm_row_clear(&out);
	return 0;
}

/* db_read_each()'s step of db_vm_load_all: one lent row to the caller. */
struct db_vm_each {
	int (*ve_cb)(void *arg, const struct db_vm_row *row);
	void *ve_arg;
};

static int
db_vm_each(void *arg, sqlite3_stmt *st)
{
	const struct db_vm_each *e = arg;
	struct db_vm_row row;

	return db_vm_row_read(st, &row, 0) == -1 ? -1
						 : e->ve_cb(e->ve_arg, &row);
}

static const struct db_query db_vm_all = {
    DB_STMT_VM_LOAD_ALL, "SELECT " DB_VM_COLUMNS " FROM vms ORDER BY name",
    NULL, db_vm_each, "load vms"};

/*
 * Calls cb for every row in name order, on the caller's thread, from one
 * read transaction (a consistent snapshot).  The row is lent: its strings
 * are valid during the call only.  cb may submit writes, but must not
 * call db_ping, db_vm_load_all or db_token_* readers (they take
 * db_rlock, held here).  Returns 0, cb's non-zero result, or -1 with
 * errno.
 */
int
db_vm_load_all(struct db *db, int (*cb)(void *arg, const struct db_vm_row *row),
	       void *arg)
{
	struct db_vm_each e = {cb, arg};

	return db_read_each(db, &db_vm_all, &e);
}
