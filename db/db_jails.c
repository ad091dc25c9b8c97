/*
 * The jails table (core/jails.c).  Writes go through the writer thread;
 * db_jail_load_all reads on the reader connection.
 *
 * Statements are prepared per call, as in db_images.c: jails change at an
 * administrator's pace, and the statement cache's slots stay with the
 * tables written at request rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_jail_row_read expects. */
#define DB_JAIL_COLUMNS "name, allow_vmm, allow_vmm_ppt, socket, created_ms"

/* The arguments of a put, in the caller's frame. */
struct db_jail_args {
	struct db_jail_row *ja_row;
	int ja_created; /* no row existed */
};

static int
db_jail_put_run(struct db *db, struct db_job *job)
{
	struct db_jail_args *a = job->j_arg;
	struct db_jail_row *in = a->ja_row;
	char detail[96];
	sqlite3_stmt *st;
	int64_t created_ms = in->jr_created_ms;
	int rc, exists;

	/*
	 * The stored creation time, if any, read in the same transaction as
	 * the write, so the answer cannot go stale.
	 */
	if ((exists = db_probe_key(
		 db, "SELECT created_ms FROM jails WHERE name = ?1",
		 in->jr_name, &created_ms, "probe jail")) == -1)
		return -1;
	if (!exists && created_ms == 0)
		created_ms = timefmt_now_ms();
	if (db_prepare(&db->db_wconn,
		       "INSERT INTO jails (" DB_JAIL_COLUMNS
		       ") VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) "
		       "DO UPDATE SET allow_vmm = excluded.allow_vmm, "
		       "allow_vmm_ppt = excluded.allow_vmm_ppt, socket = "
		       "excluded.socket",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->jr_name, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, in->jr_allow_vmm)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, in->jr_allow_vmm_ppt)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 4, in->jr_socket, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, created_ms)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(db->db_wconn.dc_sql, rc, "bind jail put");
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "put jail");
	/* Written back only once the row is in: a failed put changes none. */
	in->jr_created_ms = created_ms;
	a->ja_created = !exists;
	snprintf(detail, sizeof(detail),
		 "{\"allow_vmm\":%s,\"allow_vmm_ppt\":%s,\"created\":%s}",
		 in->jr_allow_vmm ? "true" : "false",
		 in->jr_allow_vmm_ppt ? "true" : "false",
		 exists ? "false" : "true");
	return db_event_simple(db, job, "jail.changed", DB_EVENT_ADMIN, "jail",
			       in->jr_name, detail);
}

/*
 * Inserts or replaces row; see db.h.
 */
int
db_jail_put(struct db *db, struct db_jail_row *row, int *created)
{
	struct db_jail_args a = {.ja_row = row};
	struct db_jail_row copy = *row;

	if (!db_is_cstr(row->jr_name, sizeof(row->jr_name)) ||
	    row->jr_name[0] == '\0' ||
	    !db_is_cstr(row->jr_socket, sizeof(row->jr_socket)) ||
	    (row->jr_allow_vmm != 0 && row->jr_allow_vmm != 1) ||
	    (row->jr_allow_vmm_ppt != 0 && row->jr_allow_vmm_ppt != 1) ||
	    row->jr_created_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	if (db_writer_run(db, db_jail_put_run, &a) == -1) {
		/*
		 * The run may have written the creation time back before the
		 * COMMIT failed: nothing of a failed put may show.
		 */
		row->jr_created_ms = copy.jr_created_ms;
		return -1;
	}
	if (created != NULL)
		*created = a.ja_created;
	return 0;
}

static int
db_jail_delete_run(struct db *db, struct db_job *job)
{
	if (db_exec_key(db, "DELETE FROM jails WHERE name = ?1", job->j_arg,
			"delete jail") == -1)
		return -1;
	return db_event_simple(db, job, "jail.deleted", DB_EVENT_ADMIN, "jail",
			       job->j_arg, NULL);
}

/*
 * Deletes jail name's row, durably.  ENOENT: no such row.  EINVAL: an
 * empty name.
 */
int
db_jail_delete(struct db *db, const char *name)
{
	if (name == NULL || name[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	/* the run only reads it */
	return db_writer_run(db, db_jail_delete_run, (void *)name);
}

static int
db_jail_row_read(sqlite3_stmt *st, struct db_jail_row *row)
{
	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 0, row->jr_name, sizeof(row->jr_name)) == -1 ||
	    db_column_copy(st, 3, row->jr_socket, sizeof(row->jr_socket)) == -1)
		return -1;
	row->jr_allow_vmm = sqlite3_column_int(st, 1) != 0;
	row->jr_allow_vmm_ppt = sqlite3_column_int(st, 2) != 0;
	row->jr_created_ms = sqlite3_column_int64(st, 4);
	return 0;
}

/* db_read_each()'s step of db_jail_load_all: one row to the caller. */
struct db_jail_each {
	int (*je_cb)(void *arg, const struct db_jail_row *row);
	void *je_arg;
};

static int
db_jail_each(void *arg, sqlite3_stmt *st)
{
	const struct db_jail_each *e = arg;
	struct db_jail_row row;

	return db_jail_row_read(st, &row) == -1 ? -1
						: e->je_cb(e->je_arg, &row);
}

static const struct db_query db_jail_all = {
    DB_STMT_NONE, "SELECT " DB_JAIL_COLUMNS " FROM jails ORDER BY name", NULL,
    db_jail_each, "load jails"};

/*
 * Calls cb for every jail in name order; see db.h.  Takes db_rlock.
 */
int
db_jail_load_all(struct db *db,
		 int (*cb)(void *arg, const struct db_jail_row *row), void *arg)
{
	struct db_jail_each e = {cb, arg};

	return db_read_each(db, &db_jail_all, &e);
}
