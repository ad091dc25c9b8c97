/*
 * A restore from a backup, seen at open.  POST /v1/admin/backup marks
 * its copy (meta.copy = 1, db_backup.c); a daemon that opens such a file
 * as its database is a restore.  Revisions and event ids would go on
 * from the copy's, handing out again the ones the lost timeline (what
 * was written after the copy) had given clients: a Last-Event-ID or an
 * If-Match tag from it would be taken for another event or definition.
 *
 * Decisions:
 *   - The counter and the events' id sequence move to the wall clock in
 *     microseconds, past anything the lost timeline handed out unless
 *     it did more than one a microsecond or the clock was set back, as
 *     run identities do (core/vmrun.c); below 2^53 until the year 2255.
 *   - What was skipped is recorded (table lost) and loaded at every
 *     open: a Last-Event-ID in it is 410 (api/events.c), an If-Match tag
 *     in it matches nothing (api/vms.c).
 *   - The mark is cleared in the same transaction: the next start of
 *     the same file is no restore.
 *   - A copy from before schema 12 has no mark, and is not told apart
 *     (docs/operations.md says what clients must do then).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* One integer from sql (no parameters) on the writer connection. */
static int
db_restore_int(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : db_fail(db->db_wconn.dc_sql, rc, sql);
}

/* Runs sql with ?1 bound to value on the writer connection. */
static int
db_restore_set(struct db *db, const char *sql, int64_t value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql, sql, -1, &st, NULL);
	if (rc == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 1, value)) == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db->db_wconn.dc_sql, rc, sql);
}

/* Records kind's range lo..hi as left out; the writer connection's. */
static int
db_restore_skip(struct db *db, const char *kind, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql,
				"INSERT INTO lost (kind, lo, hi, at_ms) VALUES "
				"(?1, ?2, ?3, ?4)",
				-1, &st, NULL);
	if (rc == SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC)) ==
		SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, lo)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 3, hi)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 4, timefmt_now_ms())) == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? 0
		   : db_fail(db->db_wconn.dc_sql, rc, "record what was lost");
}

/* The move of a marked copy, in one transaction. */
static int
db_restore_move(struct db *db)
{
	struct timespec ts;
	int64_t floor, rev = 0, ev = 0;
	char *err = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	floor = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (sqlite3_exec(db->db_wconn.dc_sql, "BEGIN IMMEDIATE", NULL, NULL,
			 &err) != SQLITE_OK)
		goto fail;
	if (db_restore_int(
		db,
		"SELECT max(coalesce((SELECT revision FROM meta WHERE id = 1), "
		"0), coalesce((SELECT max(revision) FROM vms), 0), "
		"coalesce((SELECT max(revision) FROM guestinfo), 0))",
		&rev) != 0 ||
	    db_restore_int(
		db,
		"SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
		"WHERE name = 'events'), 0), coalesce((SELECT "
		"max(id) FROM events), 0))",
		&ev) != 0)
		goto rollback;
	if (rev < floor - 1 &&
	    (db_restore_skip(db, "revision", rev + 1, floor - 1) != 0 ||
	     db_restore_set(db, "UPDATE meta SET revision = ?1 WHERE id = 1",
			    floor - 1) != 0))
		goto rollback;
	/* sqlite_sequence has no key: its one row for events is updated,
	 * or made when the journal never had a row. */
	if (ev < floor - 1 &&
	    (db_restore_skip(db, "event", ev + 1, floor - 1) != 0 ||
	     db_restore_set(db,
			    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = "
			    "'events'",
			    floor - 1) != 0 ||
	     (sqlite3_changes(db->db_wconn.dc_sql) == 0 &&
	      db_restore_set(db,
			     "INSERT INTO sqlite_sequence (name, seq) VALUES "
			     "('events', ?1)",
			     floor - 1) != 0)))
		goto rollback;
	if (sqlite3_exec(db->db_wconn.dc_sql,
			 "UPDATE meta SET copy = 0 WHERE id = 1; COMMIT", NULL,
			 NULL, &err) != SQLITE_OK)
		goto rollback;
	log_warnx("db: %s is a copy POST /v1/admin/backup made: a restore. "
		  "Revisions after %lld and event ids after %lld, which the "
		  "lost timeline may have handed out, are never handed out "
		  "again (both go on from %lld); a Last-Event-ID among them is "
		  "410, an If-Match among them matches nothing",
		  db->db_path, (long long)rev, (long long)ev, (long long)floor);
	return 0;
rollback:
	(void)sqlite3_exec(db->db_wconn.dc_sql, "ROLLBACK", NULL, NULL, NULL);
fail:
	if (err != NULL) {
		log_warnx("db: %s: restore: %s", db->db_path, err);
		sqlite3_free(err);
	}
	errno = EIO;
	return -1;
}

/* Loads every range recorded into db_lost. */
static int
db_restore_load(struct db *db)
{
	sqlite3_stmt *st = NULL;
	struct db_lost_range *v;
	int rc;

	rc = sqlite3_prepare_v2(db->db_wconn.dc_sql,
				"SELECT kind, lo, hi FROM lost ORDER BY lo", -1,
				&st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);

		rc = SQLITE_OK;
		if ((v = realloc(db->db_lost,
				 (db->db_nlost + 1) * sizeof(*v))) == NULL) {
			sqlite3_finalize(st);
			errno = ENOMEM;
			return -1;
		}
		db->db_lost = v;
		v[db->db_nlost].lr_kind =
		    kind != NULL && strcmp(kind, "event") == 0
			? DB_LOST_EVENT
			: DB_LOST_REVISION;
		v[db->db_nlost].lr_lo = (uint64_t)sqlite3_column_int64(st, 1);
		v[db->db_nlost].lr_hi = (uint64_t)sqlite3_column_int64(st, 2);
		db->db_nlost++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? 0
		   : db_fail(db->db_wconn.dc_sql, rc, "load what was lost");
}

int
db_restore_check(struct db *db)
{
	int64_t copy = 0;

	if (db_restore_int(db, "SELECT copy FROM meta WHERE id = 1", &copy) !=
		0 ||
	    (copy != 0 && db_restore_move(db) != 0))
		return -1;
	return db_restore_load(db);
}

uint64_t
db_lost_next(const struct db *db, enum db_lost_kind kind, uint64_t value)
{
	size_t i;

	for (i = 0; db != NULL && i < db->db_nlost; i++)
		if (db->db_lost[i].lr_kind == kind &&
		    value + 1 >= db->db_lost[i].lr_lo &&
		    value + 1 <= db->db_lost[i].lr_hi)
			return db->db_lost[i].lr_hi + 1;
	return value + 1;
}

int
db_lost(const struct db *db, enum db_lost_kind kind, uint64_t value)
{
	size_t i;

	for (i = 0; db != NULL && i < db->db_nlost; i++)
		if (db->db_lost[i].lr_kind == kind &&
		    value >= db->db_lost[i].lr_lo &&
		    value <= db->db_lost[i].lr_hi)
			return 1;
	return 0;
}
