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
	char detail[128];
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
	snprintf(detail, sizeof(detail), "{\"uid\":%lld,\"jail\":\"%s\"}",
		 (long long)in->tr_uid, in->tr_jail);
	return db_event_simple(db, job, "token.created", DB_EVENT_ADMIN,
			       "token", in->tr_id, detail);
}

/*
 * Inserts row, durably.  tr_created_ms 0 stores the current time.
 * EEXIST: the id or the hash exists.  EINVAL: an unterminated string, an
 * empty id or a negative expiry.
 */
int
db_token_insert(struct db *db, const struct db_token_row *row)
{
	if (!db_is_cstr(row->tr_id, sizeof(row->tr_id)) ||
	    row->tr_id[0] == '\0' ||
	    !db_is_cstr(row->tr_gids, sizeof(row->tr_gids)) ||
	    !db_is_cstr(row->tr_jail, sizeof(row->tr_jail)) ||
	    !db_is_cstr(row->tr_description, sizeof(row->tr_description)) ||
	    row->tr_expires_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	/* the run only reads it */
	return db_writer_run(db, db_token_insert_run, (void *)row);
}

/* Prepared per call: deletes come at an administrator's pace. */
static int
db_token_delete_run(struct db *db, struct db_job *job)
{
	if (db_exec_key(db, "DELETE FROM tokens WHERE id = ?1", job->j_arg,
			"delete token") == -1)
		return -1;
	return db_event_simple(db, job, "token.revoked", DB_EVENT_ADMIN,
			       "token", job->j_arg, NULL);
}

/*
 * Deletes token id, durably.  ENOENT: no such token.  EINVAL: an empty id.
 */
int
db_token_delete(struct db *db, const char *id)
{
	if (id == NULL || id[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	/* the run only reads it */
	return db_writer_run(db, db_token_delete_run, (void *)id);
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

/* db_read_each()'s step of db_token_load_all: one row to the caller. */
struct db_token_each {
	int (*te_cb)(void *arg, const struct db_token_row *row);
	void *te_arg;
};

static int
db_token_each(void *arg, sqlite3_stmt *st)
{
	const struct db_token_each *e = arg;
	struct db_token_row row;

	return db_token_row_read(st, &row) == -1 ? -1
						 : e->te_cb(e->te_arg, &row);
}

static const struct db_query db_token_all = {
    DB_STMT_TOKEN_LOAD_ALL,
    "SELECT " DB_TOKEN_COLUMNS " FROM tokens ORDER BY id", NULL, db_token_each,
    "load tokens"};

static const struct db_query db_token_count_query = {
    DB_STMT_TOKEN_COUNT, "SELECT count(*) FROM tokens", NULL, db_each_int64,
    "count tokens"};

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
	struct db_token_each e = {cb, arg};

	return db_read_each(db, &db_token_all, &e);
}

/*
 * Number of tokens stored, as of the last COMMIT; -1 with errno.
 */
int64_t
db_token_count(struct db *db)
{
	int64_t n = -1;

	if (db_read_each(db, &db_token_count_query, &n) == -1)
		return -1;
	if (n < 0) {
		/* count(*) always has its row */
		errno = EIO;
		return -1;
	}
	return n;
}
