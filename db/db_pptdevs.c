/*
 * The pptdevs table (core/pptdevs.c): PCI passthrough reservations.
 * Writes go through the writer thread; db_pptdev_load_all reads on the
 * reader connection.
 *
 * Statements are prepared per call, as in db_jails.c: reservations change
 * at an administrator's pace.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_pptdev_row_read expects. */
#define DB_PPTDEV_COLUMNS                                                      \
	"bus, slot, func, address, orig_driver, bound, created_ms"

/* loader.conf's spelling of a device, the table's key. */
static void
db_pptdev_key(unsigned bus, unsigned slot, unsigned func, char key[16])
{
	snprintf(key, 16, "%u/%u/%u", bus & 0xff, slot & 0x1f, func & 0x7);
}

static int
db_pptdev_insert_run(struct db *db, struct db_job *job)
{
	struct db_pptdev_row *in = job->j_arg;
	int64_t created_ms = in->pr_created_ms;
	sqlite3_stmt *st;
	char key[16], detail[128];
	int rc, exists;

	db_pptdev_key(in->pr_bus, in->pr_slot, in->pr_func, key);
	if ((exists = db_probe_key(db, "SELECT 1 FROM pptdevs WHERE dev = ?1",
				   key, NULL, "probe pptdev")) == -1)
		return -1;
	if (exists) {
		errno = EEXIST;
		return -1;
	}
	if (created_ms == 0)
		created_ms = timefmt_now_ms();
	if (db_prepare(&db->db_wconn,
		       "INSERT INTO pptdevs (dev, " DB_PPTDEV_COLUMNS
		       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, (int)in->pr_bus)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, (int)in->pr_slot)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 4, (int)in->pr_func)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, in->pr_address, -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 6, in->pr_orig_driver, -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 7, in->pr_bound)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 8, created_ms)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(db->db_wconn.dc_sql, rc, "bind pptdev insert");
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "insert pptdev");
	/* An address is hex digits, ':' and '.' (pcihost's names); one
	 * that is not is left out rather than escaped. */
	snprintf(detail, sizeof(detail), "{\"address\":\"%s\",\"bound\":%s}",
		 strspn(in->pr_address, "0123456789abcdefABCDEF:.") ==
			 strlen(in->pr_address)
		     ? in->pr_address
		     : "",
		 in->pr_bound ? "true" : "false");
	if (db_event_simple(db, job, "pptdev.reserved", DB_EVENT_PPT, "pptdev",
			    key, detail) == -1)
		return -1;
	in->pr_created_ms = created_ms;
	return 0;
}

/*
 * Inserts row, durably; see db.h.
 */
int
db_pptdev_insert(struct db *db, struct db_pptdev_row *row)
{
	int64_t created = row->pr_created_ms;

	if (row->pr_bus > 255 || row->pr_slot > 31 || row->pr_func > 7 ||
	    !db_is_cstr(row->pr_address, sizeof(row->pr_address)) ||
	    !db_is_cstr(row->pr_orig_driver, sizeof(row->pr_orig_driver)) ||
	    (row->pr_bound != 0 && row->pr_bound != 1) ||
	    row->pr_created_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	if (db_writer_run(db, db_pptdev_insert_run, row) == -1) {
		/* Nothing of a failed insert may show. */
		row->pr_created_ms = created;
		return -1;
	}
	return 0;
}

static int
db_pptdev_delete_run(struct db *db, struct db_job *job)
{
	if (db_exec_key(db, "DELETE FROM pptdevs WHERE dev = ?1", job->j_arg,
			"delete pptdev") == -1)
		return -1;
	return db_event_simple(db, job, "pptdev.released", DB_EVENT_PPT,
			       "pptdev", job->j_arg, NULL);
}

/*
 * Deletes the reservation of bus/slot/func, durably; see db.h.
 */
int
db_pptdev_delete(struct db *db, unsigned bus, unsigned slot, unsigned func)
{
	char key[16];

	if (bus > 255 || slot > 31 || func > 7) {
		errno = EINVAL;
		return -1;
	}
	db_pptdev_key(bus, slot, func, key);
	return db_writer_run(db, db_pptdev_delete_run, key);
}

static int
db_pptdev_row_read(sqlite3_stmt *st, struct db_pptdev_row *row)
{
	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 3, row->pr_address, sizeof(row->pr_address)) ==
		-1 ||
	    db_column_copy(st, 4, row->pr_orig_driver,
			   sizeof(row->pr_orig_driver)) == -1)
		return -1;
	row->pr_bus = (unsigned)sqlite3_column_int(st, 0);
	row->pr_slot = (unsigned)sqlite3_column_int(st, 1);
	row->pr_func = (unsigned)sqlite3_column_int(st, 2);
	row->pr_bound = sqlite3_column_int(st, 5) != 0;
	row->pr_created_ms = sqlite3_column_int64(st, 6);
	return 0;
}

/* db_read_each()'s step of db_pptdev_load_all: one row to the caller. */
struct db_pptdev_each {
	int (*pe_cb)(void *arg, const struct db_pptdev_row *row);
	void *pe_arg;
};

static int
db_pptdev_each(void *arg, sqlite3_stmt *st)
{
	const struct db_pptdev_each *e = arg;
	struct db_pptdev_row row;

	return db_pptdev_row_read(st, &row) == -1 ? -1
						  : e->pe_cb(e->pe_arg, &row);
}

static const struct db_query db_pptdev_all = {
    DB_STMT_NONE,
    "SELECT " DB_PPTDEV_COLUMNS " FROM pptdevs ORDER BY bus, slot, func", NULL,
    db_pptdev_each, "load pptdevs"};

/*
 * Calls cb for every reservation in device order; see db.h.  Takes
 * db_rlock.
 */
int
db_pptdev_load_all(struct db *db,
		   int (*cb)(void *arg, const struct db_pptdev_row *row),
		   void *arg)
{
	struct db_pptdev_each e = {cb, arg};

	return db_read_each(db, &db_pptdev_all, &e);
}
