/*
 * The tokens table: bearer tokens, stored as the SHA-256 of the secret.
 * Inserts go through the writer thread; reads use the reader connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_token_row_read expects. */
#define DB_TOKEN_COLUMNS                                                       \
	"id, hash, uid, gids, jail, created_ms, expires_ms, description"

static int
db_token_insert_run(struct db *db, struct db_job *job)
{
	const struct db_token_row *in = job->j_arg;
	sqlite3_stmt *st;
	int rc;

	st =
	    db_stmt(&db->db_wconn, DB_STMT_TOKEN_INSERT,
		    "INSERT INTO tokens (" DB_TOKEN_COLUMNS ") VALUES (?1, ?2, "
		    "?3, ?4, ?5, ?6, ?7, ?8)");
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->tr_id, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, in->tr_hash, sizeof(in->tr_hash),
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, in->tr_uid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 4, in->tr_gids, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, in->tr_jail, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6,
				     in->tr_created_ms != 0
					 ? in->tr_created_ms
					 : timefmt_now_ms())) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 7, in->tr_expires_ms)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 8, in->tr_description, -1,
				    SQLITE_STATIC)) != SQLITE_OK) {
		db_fail(db->db_wconn.dc_sql, rc, "bind token insert");
		db_stmt_done(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "insert token");
	return 0;
}

/*
 * Inserts row, durably.  tr_created_ms 0 stores the current time.
 * EEXIST: the id or the hash exists.  EINVAL: an unterminated string, an
 * empty id or a negative expiry.
 */
int
db_token_insert(struct db *db, const struct db_token_row *row)
{
	struct db_job job;

	if (!db_is_cstr(row->tr_id, sizeof(row->tr_id)) ||
	    row->tr_id[0] == '\0' ||
	    !db_is_cstr(row->tr_gids, sizeof(row->tr_gids)) ||
	    !db_is_cstr(row->tr_jail, sizeof(row->tr_jail)) ||
	    !db_is_cstr(row->tr_description, sizeof(row->tr_description)) ||
	    row->tr_expires_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&job, 0, sizeof(job));
	job.j_run = db_token_insert_run;
	/* the run only reads it */
	job.j_arg = (void *)row;
	return db_writer_submit(db, &job);
}

static int
db_token_delete_run(struct db *db, struct db_job *job)
{
	const char *id = job->j_arg;
	sqlite3_stmt *st;
	int rc;

	/* Prepared per call: deletes come at an administrator's pace. */
	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql,
				"DELETE FROM tokens WHERE id = ?1", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->db_wconn.dc_sql, rc, "prepare token delete");
	if ((rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC)) == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "delete token");
	if (sqlite3_changes(db->db_wconn.dc_sql) == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/*
 * Deletes token id, durably.  ENOENT: no such token.  EINVAL: an empty id.
 */
int
db_token_delete(struct db *db, const char *id)
{
	struct db_job job;

	if (id == NULL || id[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	memset(&job, 0, sizeof(job));
	job.j_run = db_token_delete_run;
	/* the run only reads it */
	job.j_arg = (void *)id;
	return db_writer_submit(db, &job);
}

static int
db_token_row_read(sqlite3_stmt *st, struct db_token_row *row)
{
	const void *hash;

	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 0, row->tr_id, sizeof(row->tr_id)) == -1 ||
	    db_column_copy(st, 3, row->tr_gids, sizeof(row->tr_gids)) == -1 ||
	    db_column_copy(st, 4, row->tr_jail, sizeof(row->tr_jail)) == -1 ||
	    db_column_copy(st, 7, row->tr_description,
			   sizeof(row->tr_description)) == -1)
		return -1;
	hash = sqlite3_column_blob(st, 1);
	if (hash == NULL ||
	    sqlite3_column_bytes(st, 1) != (int)sizeof(row->tr_hash)) {
		log_warnx("db: token %s: stored hash is not %zu bytes",
			  row->tr_id, sizeof(row->tr_hash));
		errno = EIO;
		return -1;
	}
	memcpy(row->tr_hash, hash, sizeof(row->tr_hash));
	row->tr_uid = (uid_t)sqlite3_column_int64(st, 2);
	row->tr_created_ms = sqlite3_column_int64(st, 5);
	row->tr_expires_ms = sqlite3_column_int64(st, 6);
	return 0;
}

/*
 * Calls cb for every token in id order, on the caller's thread, from one
 * read transaction.  Same rules for cb as db_vm_load_all.  Returns 0,
 * cb's non-zero result, or -1 with errno.
 */
int
db_token_load_all(struct db *db,
		  int (*cb)(void *arg, const struct db_token_row *row),
		  void *arg)
{
	struct db_token_row row;
	sqlite3_stmt *st;
	int rc, saved, ret = 0;

	pthread_mutex_lock(&db->db_rlock);
	st = db_stmt(&db->db_rconn, DB_STMT_TOKEN_LOAD_ALL,
		     "SELECT " DB_TOKEN_COLUMNS " FROM tokens ORDER BY id");
	if (st == NULL) {
		pthread_mutex_unlock(&db->db_rlock);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_token_row_read(st, &row) == -1)
			goto fail;
		if ((ret = cb(arg, &row)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(db->db_rconn.dc_sql, rc, "load tokens");
		goto fail;
	}
	db_stmt_done(st);
	pthread_mutex_unlock(&db->db_rlock);
	return ret;
fail:
	saved = errno;
	db_stmt_done(st);
	pthread_mutex_unlock(&db->db_rlock);
	errno = saved;
	return -1;
}

/*
 * Number of tokens stored, as of the last COMMIT; -1 with errno.
 */
int64_t
db_token_count(struct db *db)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	pthread_mutex_lock(&db->db_rlock);
	st = db_stmt(&db->db_rconn, DB_STMT_TOKEN_COUNT,
		     "SELECT count(*) FROM tokens");
	if (st == NULL)
		goto fail;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		db_fail(db->db_rconn.dc_sql, rc, "count tokens");
		db_stmt_done(st);
		goto fail;
	}
	n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	pthread_mutex_unlock(&db->db_rlock);
	return n;
fail:
	pthread_mutex_unlock(&db->db_rlock);
	return -1;
}
