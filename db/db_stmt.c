/*
 * Statements: the per-connection statement cache, statements prepared per
 * call, the read loop every table's readers share, the one-key writes and
 * probes of the tables written at an administrator's pace, the column
 * helpers, and the one mapping from SQLite's result codes to errno.
 *
 * The connection layer of db/: it uses a struct db's connections and
 * db_rlock, and nothing of the writer or of the tables.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

int
db_errno_of(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return EEXIST;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_NOMEM:
		return ENOMEM;
	}
	/* CHECK, NOT NULL and the rest: the values given were not valid. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return EINVAL;
	return EIO;
}

int
db_fail(sqlite3 *sql, int rc, const char *what)
{
	int err = db_errno_of(rc);

	/* Constraint violations are the caller's to report; the rest are
	 * the database's, and only the log says which. */
	if (err != EEXIST && err != EINVAL)
		log_warnx(
		    "db: %s: %s (%d)", what,
		    sql != NULL ? sqlite3_errmsg(sql) : sqlite3_errstr(rc), rc);
	errno = err;
	return -1;
}

/* Prepares sql on conn into *st, cached (flags PERSISTENT) or not. */
static int
db_stmt_prepare(struct db_conn *conn, const char *sql, unsigned flags,
		sqlite3_stmt **st)
{
	int rc;

	rc = sqlite3_prepare_v3(conn->dc_sql, sql, -1, flags, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		log_warnx("db: prepare \"%s\": %s", sql,
			  sqlite3_errmsg(conn->dc_sql));
		errno = db_errno_of(rc) == ENOMEM ? ENOMEM : EIO;
		return -1;
	}
	return 0;
}

sqlite3_stmt *
db_stmt(struct db_conn *conn, enum db_stmt_id id, const char *sql)
{
	assert(id < DB_STMT_COUNT);
	if (conn->dc_stmts[id] == NULL &&
	    db_stmt_prepare(conn, sql, SQLITE_PREPARE_PERSISTENT,
			    &conn->dc_stmts[id]) == -1)
		return NULL;
	return conn->dc_stmts[id];
}

void
db_stmt_done(sqlite3_stmt *st)
{
	/* reset returns the last step's error, which the caller has seen */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

int
db_prepare(struct db_conn *conn, const char *sql, sqlite3_stmt **st)
{
	return db_stmt_prepare(conn, sql, 0, st);
}

/* The statement id of conn (DB_STMT_NONE: sql prepared now), or NULL. */
static sqlite3_stmt *
db_stmt_get(struct db_conn *conn, enum db_stmt_id id, const char *sql)
{
	sqlite3_stmt *st;

	if (id != DB_STMT_NONE)
		return db_stmt(conn, id, sql);
	return db_prepare(conn, sql, &st) == 0 ? st : NULL;
}

/* Gives back what db_stmt_get gave: reset if cached, else finalized. */
static void
db_stmt_put(enum db_stmt_id id, sqlite3_stmt *st)
{
	if (id != DB_STMT_NONE)
		db_stmt_done(st);
	else
		sqlite3_finalize(st);
}

int
db_read_each(struct db *db, const struct db_query *q, void *arg)
{
	sqlite3_stmt *st;
	int rc, saved, ret = 0;

	pthread_mutex_lock(&db->db_rlock);
	if ((st = db_stmt_get(&db->db_rconn, q->dq_id, q->dq_sql)) == NULL) {
		pthread_mutex_unlock(&db->db_rlock);
		return -1;
	}
	if (q->dq_bind != NULL && (rc = q->dq_bind(arg, st)) != SQLITE_OK) {
		ret = db_fail(db->db_rconn.dc_sql, rc, q->dq_what);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = q->dq_each(arg, st)) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(db->db_rconn.dc_sql, rc, q->dq_what);
out:
	saved = errno;
	db_stmt_put(q->dq_id, st);
	pthread_mutex_unlock(&db->db_rlock);
	errno = saved;
	return ret;
}

int
db_each_int64(void *arg, sqlite3_stmt *st)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 0;
}

/*
 * Prepares sql on the writer connection and binds key to ?1.  NULL with
 * errno (logged as what) when either fails.
 */
static sqlite3_stmt *
db_stmt_keyed(struct db *db, const char *sql, const char *key, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(&db->db_wconn, sql, &st) == -1)
		return NULL;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		db_fail(db->db_wconn.dc_sql, rc, what);
		return NULL;
	}
	return st;
}

int
db_exec_key(struct db *db, const char *sql, const char *key, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_keyed(db, sql, key, what)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, what);
	if (sqlite3_changes(db->db_wconn.dc_sql) == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
db_probe_key(struct db *db, const char *sql, const char *key, int64_t *col0,
	     const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_keyed(db, sql, key, what)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && col0 != NULL)
		*col0 = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db->db_wconn.dc_sql, rc, what);
}

int
db_exec_one(struct db *db, sqlite3 *sql, const char *text, char *out,
	    size_t outsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	rc = sqlite3_prepare_v2(sql, text, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		if (out != NULL && outsz > 0 && out[0] == '\0' && v != NULL)
			snprintf(out, outsz, "%s", (const char *)v);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	log_warnx("db: %s: %s: %s", db->db_path, text, sqlite3_errmsg(sql));
	errno = db_errno_of(rc);
	sqlite3_finalize(st);
	return -1;
}

int
db_column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsz)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL) {
		/* the columns we read are NOT NULL: only memory is missing */
		errno = sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM
			    ? ENOMEM
			    : EIO;
		return -1;
	}
	if ((size_t)n >= dstsz) {
		log_warnx("db: stored %s is %d bytes, more than %zu",
			  sqlite3_column_name(st, col), n, dstsz - 1);
		errno = EIO;
		return -1;
	}
	memcpy(dst, s, (size_t)n);
	dst[n] = '\0';
	return 0;
}

int
db_column_state(sqlite3_stmt *st, int col, enum vm_state *state)
{
	char name[VM_STATE_NAME_MAX];

	if (db_column_copy(st, col, name, sizeof(name)) == -1)
		return -1;
	if (vm_state_parse(name, state) == -1) {
		log_warnx("db: stored %s \"%s\" is no VM state (%s)",
			  sqlite3_column_name(st, col), name, vm_state_names());
		errno = EIO;
		return -1;
	}
	return 0;
}

int
db_is_cstr(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}
