/*
 * The images table: the metadata of the image store (core/images.c).
 * Writes go through the writer thread; db_image_load_all reads on the
 * reader connection.
 *
 * These statements are prepared on every call rather than kept in the
 * statement cache: image writes come one per upload or delete, so the
 * preparation is lost in the fsyncs around them, and the cache's slots
 * stay with the tables written at request rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* The column order db_image_row_read expects. */
#define DB_IMAGE_COLUMNS "name, size, sha256, created_ms"

/* The arguments of a put, in the caller's frame. */
struct db_image_args {
	struct db_image_row *ia_row;
	int ia_created; /* no row existed */
};

static int
db_image_put_run(struct db *db, struct db_job *job)
{
	struct db_image_args *a = job->j_arg;
	const struct db_image_row *in = a->ia_row;
	char detail[160];
	sqlite3_stmt *st;
	int rc, exists;

	/* Same transaction as the write, so the answer cannot go stale. */
	if ((exists = db_probe_key(db, "SELECT 1 FROM images WHERE name = ?1",
				   in->ir_name, NULL, "probe image")) == -1)
		return -1;
	if (db_prepare(&db->db_wconn,
		       "INSERT INTO images (" DB_IMAGE_COLUMNS
		       ") VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO "
		       "UPDATE SET size = excluded.size, sha256 = "
		       "excluded.sha256, created_ms = excluded.created_ms",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, in->ir_name, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)in->ir_size)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 3, in->ir_sha256, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, in->ir_created_ms)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(db->db_wconn.dc_sql, rc, "bind image put");
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "put image");
	a->ia_created = !exists;
	snprintf(detail, sizeof(detail),
		 "{\"size\":%llu,\"sha256\":\"%s\",\"replaced\":%s}",
		 (unsigned long long)in->ir_size, in->ir_sha256,
		 exists ? "true" : "false");
	return db_event_simple(db, job, "image.uploaded", DB_EVENT_IMAGES,
			       "image", in->ir_name, detail);
}

/*
 * Inserts or replaces row; see db.h.  EINVAL also for a size SQLite's
 * signed integers cannot hold.
 */
int
db_image_put(struct db *db, struct db_image_row *row, int *created)
{
	struct db_image_args a = {.ia_row = row};
	int64_t saved_ms = row->ir_created_ms;

	if (!db_is_cstr(row->ir_name, sizeof(row->ir_name)) ||
	    row->ir_name[0] == '\0' ||
	    !db_is_cstr(row->ir_sha256, sizeof(row->ir_sha256)) ||
	    row->ir_sha256[0] == '\0' || row->ir_size > INT64_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (row->ir_created_ms == 0)
		row->ir_created_ms = timefmt_now_ms();
	if (db_writer_run(db, db_image_put_run, &a) == -1) {
		row->ir_created_ms = saved_ms;
		return -1;
	}
	if (created != NULL)
		*created = a.ia_created;
	return 0;
}

static int
db_image_delete_run(struct db *db, struct db_job *job)
{
	if (db_exec_key(db, "DELETE FROM images WHERE name = ?1", job->j_arg,
			"delete image") == -1)
		return -1;
	return db_event_simple(db, job, "image.deleted", DB_EVENT_IMAGES,
			       "image", job->j_arg, NULL);
}

/*
 * Deletes image name's row; see db.h.  EINVAL: an empty or overlong name.
 */
int
db_image_delete(struct db *db, const char *name)
{
	if (name == NULL || name[0] == '\0' ||
	    strnlen(name, sizeof(((struct db_image_row *)0)->ir_name)) >=
		sizeof(((struct db_image_row *)0)->ir_name)) {
		errno = EINVAL;
		return -1;
	}
	/* the run only reads it */
	return db_writer_run(db, db_image_delete_run, (void *)name);
}

static int
db_image_row_read(sqlite3_stmt *st, struct db_image_row *row)
{
	sqlite3_int64 size;

	memset(row, 0, sizeof(*row));
	if (db_column_copy(st, 0, row->ir_name, sizeof(row->ir_name)) == -1 ||
	    db_column_copy(st, 2, row->ir_sha256, sizeof(row->ir_sha256)) == -1)
		return -1;
	size = sqlite3_column_int64(st, 1);
	if (size < 0) {
		/* the CHECK forbids it: only a hand-edited file has it */
		log_warnx("db: image %s: stored size %lld is negative",
			  row->ir_name, (long long)size);
		errno = EIO;
		return -1;
	}
	row->ir_size = (uint64_t)size;
	row->ir_created_ms = sqlite3_column_int64(st, 3);
	return 0;
}

/* db_read_each()'s step of db_image_load_all: one row to the caller. */
struct db_image_each {
	int (*ie_cb)(void *arg, const struct db_image_row *row);
	void *ie_arg;
};

static int
db_image_each(void *arg, sqlite3_stmt *st)
{
	const struct db_image_each *e = arg;
	struct db_image_row row;

	return db_image_row_read(st, &row) == -1 ? -1
						 : e->ie_cb(e->ie_arg, &row);
}

static const struct db_query db_image_all = {
    DB_STMT_NONE, "SELECT " DB_IMAGE_COLUMNS " FROM images ORDER BY name", NULL,
    db_image_each, "load images"};

/*
 * Calls cb for every image row in name order; see db.h.  Takes db_rlock.
 */
int
db_image_load_all(struct db *db,
		  int (*cb)(void *arg, const struct db_image_row *row),
		  void *arg)
{
	struct db_image_each e = {cb, arg};

	return db_read_each(db, &db_image_all, &e);
}
