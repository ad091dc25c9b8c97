/*
 * The audit table: one row per mutating request.
 *
 * Appends are detached writer jobs (db_writer_submit_async): the request
 * that is audited does not wait for the disk, and its record shares the
 * next group commit with whatever else is written then.  Reads wait for
 * the appends queued before them, so a client reads its own requests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/limits.h"
#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_audit_row_read expects. */
#define DB_AUDIT_COLUMNS                                                       \
	"id, time_ms, uid, gid, jail, via, method, path, status"

/* A detached append: the job, its row, and the path the row points to. */
struct db_audit_job {
	struct db_job aj_job; /* first: the writer hands back &aj_job */
	struct db_audit_row aj_row;
	char aj_path[]; /* aj_row.ar_path */
};

/*
 * Keeps the newest LIMIT_AUDIT_RECORDS records: every DB_AUDIT_TRIM_EVERY
 * appends, those older go, in the append's own transaction (ids only
 * grow, so the newest are the highest).  The log is then bounded by
 * count, and so in size (a record's target is cut at 4096 bytes,
 * api/audit.c): a caller whose refused requests are recorded by the thousand
 * can push old records out, but not fill the disk (issue #14, finding
 * 6).  A failed trim is logged and tried again at the next turn.
 */
#define DB_AUDIT_TRIM_EVERY 256

/* LIMIT_AUDIT_RECORDS but in the tests (db_audit_keep_set); the
 * writer's thread reads it. */
static _Atomic int64_t db_audit_keep = LIMIT_AUDIT_RECORDS;

void
db_audit_keep_set(int64_t n)
{
	db_audit_keep = n > 0 ? n : LIMIT_AUDIT_RECORDS;
}

static void
db_audit_trim(struct db *db, sqlite3_int64 id)
{
	int64_t keep = db_audit_keep;
	sqlite3_stmt *st;
	int rc;

	if (id <= keep || id % DB_AUDIT_TRIM_EVERY != 0)
		return;
	if (db_prepare(&db->db_wconn, "DELETE FROM audit WHERE id <= ?1",
		       &st) != 0)
		return;
	if ((rc = sqlite3_bind_int64(st, 1, id - keep)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		log_warnx("audit: dropping records older than the newest "
			  "%lld: %s",
			  (long long)keep, sqlite3_errmsg(db->db_wconn.dc_sql));
	sqlite3_finalize(st);
}

static int
db_audit_insert_run(struct db *db, struct db_job *job)
{
	const struct db_audit_row *in = job->j_arg;
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(&db->db_wconn, DB_STMT_AUDIT_INSERT,
		     "INSERT INTO audit (time_ms, uid, gid, jail, via, method, "
		     "path, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_int64(st, 1, in->ar_time_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, in->ar_uid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, in->ar_gid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 4, in->ar_jail, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, in->ar_via, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 6, in->ar_method, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 7, in->ar_path, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 8, in->ar_status)) != SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind audit insert");
		db_stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "insert audit record");
	db_audit_trim(db, sqlite3_last_insert_rowid(db->db_wconn.dc_sql));
	return 0;
}

/* The writer is done with an append: say so when it did not commit. */
static void
db_audit_job_free(struct db_job *job)
{
	struct db_audit_job *aj = (struct db_audit_job *)job;

	if (job->j_errno != 0)
		log_warnx("audit: the record of %s %s (uid %lld, status %d) "
			  "was not stored: %s",
			  aj->aj_row.ar_method, aj->aj_row.ar_path,
			  (long long)aj->aj_row.ar_uid, aj->aj_row.ar_status,
			  strerror(job->j_errno));
	free(aj);
}

/*
 * Queues row for the writer without waiting for it; see db.h.
 */
int
db_audit_append(struct db *db, const struct db_audit_row *row)
{
	struct db_audit_job *aj;
	size_t plen;

	if (row->ar_path == NULL ||
	    !db_is_cstr(row->ar_jail, sizeof(row->ar_jail)) ||
	    !db_is_cstr(row->ar_via, sizeof(row->ar_via)) ||
	    !db_is_cstr(row->ar_method, sizeof(row->ar_method))) {
		errno = EINVAL;
		return -1;
	}
	plen = strlen(row->ar_path);
	if ((aj = calloc(1, sizeof(*aj) + plen + 1)) == NULL)
		return -1;
	aj->aj_row = *row;
	memcpy(aj->aj_path, row->ar_path, plen + 1);
	aj->aj_row.ar_path = aj->aj_path;
	aj->aj_job.j_run = db_audit_insert_run;
	aj->aj_job.j_arg = &aj->aj_row;
	aj->aj_job.j_free = db_audit_job_free;
	if (db_writer_submit_async(db, &aj->aj_job) == -1) {
		free(aj);
		return -1;
	}
	return 0;
}

/* Reads the current row of st (DB_AUDIT_COLUMNS) into *row. */
static int
db_audit_row_read(sqlite3_stmt *st, struct db_audit_row *row)
{
	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 4, row->ar_jail, sizeof(row->ar_jail)) == -1 ||
	    db_column_copy(st, 5, row->ar_via, sizeof(row->ar_via)) == -1 ||
	    db_column_copy(st, 6, row->ar_method, sizeof(row->ar_method)) == -1)
		return -1;
	row->ar_path = (const char *)sqlite3_column_text(st, 7);
	if (row->ar_path == NULL) {
		errno = ENOMEM;
		return -1;
	}
	row->ar_id = sqlite3_column_int64(st, 0);
	row->ar_time_ms = sqlite3_column_int64(st, 1);
	row->ar_uid = sqlite3_column_int64(st, 2);
	row->ar_gid = sqlite3_column_int64(st, 3);
	row->ar_status = sqlite3_column_int(st, 8);
	return 0;
}

/* db_read_each()'s arguments and step of db_audit_list. */
struct db_audit_each {
	int64_t ae_before; /* 0: from the newest */
	size_t ae_limit;
	int (*ae_cb)(void *arg, const struct db_audit_row *row);
	void *ae_arg;
};

/* A plain range on the rowid, so a page costs its own rows only. */
static int
db_audit_bind(void *arg, sqlite3_stmt *st)
{
	const struct db_audit_each *e = arg;
	int rc;

	rc = sqlite3_bind_int64(st, 1,
				e->ae_before != 0 ? e->ae_before : INT64_MAX);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)e->ae_limit);
	return rc;
}

static int
db_audit_each(void *arg, sqlite3_stmt *st)
{
	const struct db_audit_each *e = arg;
	struct db_audit_row row;

	return db_audit_row_read(st, &row) == -1 ? -1
						 : e->ae_cb(e->ae_arg, &row);
}

/* Prepared per call: the log is read at an administrator's pace. */
static const struct db_query db_audit_page = {
    DB_STMT_NONE,
    "SELECT " DB_AUDIT_COLUMNS " FROM audit WHERE id < ?1 ORDER BY id DESC "
    "LIMIT ?2",
    db_audit_bind, db_audit_each, "list audit records"};

/*
 * Calls cb for at most limit rows below before, newest first; see db.h.
 * Takes db_rlock after the flush, so the writer is never waited for
 * while holding it.
 */
int
db_audit_list(struct db *db, int64_t before, size_t limit,
	      int (*cb)(void *arg, const struct db_audit_row *row), void *arg)
{
	struct db_audit_each e = {before, limit, cb, arg};

	if (before < 0 || limit > INT64_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (db_writer_flush_async(db) == -1)
		return -1;
	return db_read_each(db, &db_audit_page, &e);
}
