/*
 * The guestinfo table: each VM's keys (core/guestinfo.c).  Writes go
 * through the writer thread, one durable transaction each (shared with
 * whatever else commits then); reads run on the reader connection.  A
 * key goes with its VM (ON DELETE CASCADE).
 *
 * Statements are prepared per call, as in db_images.c: keys change at a
 * guest's or an operator's pace, and the statement cache's slots stay
 * with the tables written at request rate.
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

/* The column order db_guestinfo_row_read expects. */
#define DB_GI_COLUMNS "vm, key, value, revision, updated_ms, updated_by"

void
db_guestinfo_row_clear(struct db_guestinfo_row *row)
{
	free(row->gr_value);
	row->gr_value = NULL;
	row->gr_len = 0;
}

/* The arguments of a put or delete, in the caller's frame. */
struct db_gi_args {
	struct db_guestinfo_row *ga_row; /* put */
	const char *ga_vm, *ga_key;      /* delete */
	uint64_t ga_expect;
	int ga_created;
};

/*
 * The stored revision of vm's key into *revision: 1, or 0 when there is
 * none; and how many keys vm has into *count.  -1 with errno.
 */
static int
db_gi_probe(struct db *db, const char *vm, const char *key, uint64_t *revision,
	    int64_t *count)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(&db->db_wconn,
		       "SELECT (SELECT revision FROM guestinfo WHERE vm = ?1 "
		       "AND key = ?2), (SELECT count(*) FROM guestinfo WHERE "
		       "vm = ?1)",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(db->db_wconn.dc_sql, rc, "probe guestinfo");
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*revision = (uint64_t)sqlite3_column_int64(st, 0);
		found = 1;
	}
	*count = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return found;
}

/* Whether the precondition expect holds for a key found or not. */
static int
db_gi_expected(uint64_t expect, int found, uint64_t revision)
{
	if (expect == 0)
		return 1;
	if (expect == UINT64_MAX)
		return !found;
	return found && revision == expect;
}

int
db_guestinfo_write(struct db *db, const char *vm,
		   const struct db_guestinfo_kv *kv, int by_guest,
		   uint64_t *revision, int64_t *now)
{
	sqlite3_stmt *st;
	int rc;

	*now = timefmt_now_ms();
	if (db_vm_next_revision(db, revision) == -1 ||
	    db_prepare(&db->db_wconn,
		       "INSERT INTO guestinfo (" DB_GI_COLUMNS
		       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (vm, "
		       "key) DO UPDATE SET value = excluded.value, revision = "
		       "excluded.revision, updated_ms = excluded.updated_ms, "
		       "updated_by = excluded.updated_by",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, kv->gk_key, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_blob(
		 st, 3, kv->gk_value != NULL ? kv->gk_value : "",
		 (int)kv->gk_len, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)*revision)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, *now)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 6, by_guest ? "guest" : "api", -1,
				    SQLITE_STATIC)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(db->db_wconn.dc_sql, rc, "bind guestinfo put");
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "put guestinfo");
	return db_vm_took_revision(db, *revision, 0);
}

/* Records event type about key of VM vm (revision: the key's, 0 none). */
int
db_guestinfo_event(struct db *db, struct db_job *job, const char *type,
		   const char *vm, const char *key, uint64_t revision)
{
	struct db_event_in in = {type, DB_EVENT_VM, "guestinfo", key,
				 vm,   NULL,        -1,          revision,
				 0,    VM_NSTATES,  NULL};

	return db_event_add(db, job, &in);
}

static int
db_gi_put_run(struct db *db, struct db_job *job)
{
	struct db_gi_args *a = job->j_arg;
	struct db_guestinfo_row *in = a->ga_row;
	struct db_guestinfo_kv kv;
	uint64_t stored = 0, revision;
	int64_t count = 0, now;
	int found;

	if ((found = db_probe_key(db, "SELECT 1 FROM vms WHERE name = ?1",
				  in->gr_vm, NULL, "probe vm")) == -1)
		return -1;
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	if ((found = db_gi_probe(db, in->gr_vm, in->gr_key, &stored, &count)) ==
	    -1)
		return -1;
	if (!db_gi_expected(a->ga_expect, found, stored)) {
		errno = ESTALE;
		return -1;
	}
	if (!found && count >= LIMIT_GUESTINFO_KEYS) {
		/* not ENOSPC: that is a full disk (507), this the VM's quota */
		errno = EDQUOT;
		return -1;
	}
	kv.gk_key = in->gr_key;
	kv.gk_value = in->gr_value;
	kv.gk_len = in->gr_len;
	if (db_guestinfo_write(db, in->gr_vm, &kv, in->gr_by_guest, &revision,
			       &now) == -1)
		return -1;
	in->gr_revision = revision;
	in->gr_updated_ms = now;
	a->ga_created = !found;
	return db_guestinfo_event(db, job, "guestinfo.set", in->gr_vm,
				  in->gr_key, revision);
}

int
db_guestinfo_put(struct db *db, struct db_guestinfo_row *row,
		 uint64_t expect_revision, int *created)
{
	struct db_gi_args a = {.ga_row = row, .ga_expect = expect_revision};
	struct db_guestinfo_row copy = *row;

	if (!db_is_cstr(row->gr_vm, sizeof(row->gr_vm)) ||
	    !db_is_cstr(row->gr_key, sizeof(row->gr_key)) ||
	    row->gr_vm[0] == '\0' || row->gr_key[0] == '\0' ||
	    (row->gr_value == NULL && row->gr_len > 0) ||
	    row->gr_len > LIMIT_GUESTINFO_VALUE) {
		errno = EINVAL;
		return -1;
	}
	if (db_writer_run(db, db_gi_put_run, &a) == -1) {
		/* Nothing of a put that did not commit may show. */
		row->gr_revision = copy.gr_revision;
		row->gr_updated_ms = copy.gr_updated_ms;
		return -1;
	}
	if (created != NULL)
		*created = a.ga_created;
	return 0;
}

static int
db_gi_delete_run(struct db *db, struct db_job *job)
{
	struct db_gi_args *a = job->j_arg;
	uint64_t stored = 0;
	int64_t count;
	sqlite3_stmt *st;
	int rc, found;

	if ((found = db_gi_probe(db, a->ga_vm, a->ga_key, &stored, &count)) ==
	    -1)
		return -1;
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	if (!db_gi_expected(a->ga_expect, found, stored)) {
		errno = ESTALE;
		return -1;
	}
	if (db_vm_save_revision(db) == -1 ||
	    db_prepare(&db->db_wconn,
		       "DELETE FROM guestinfo WHERE vm = ?1 AND key = ?2",
		       &st) == -1)
		return -1;
	if ((rc = sqlite3_bind_text(st, 1, a->ga_vm, -1, SQLITE_STATIC)) ==
		SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 2, a->ga_key, -1, SQLITE_STATIC)) ==
		SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db->db_wconn.dc_sql, rc, "delete guestinfo");
	return db_guestinfo_event(db, job, "guestinfo.deleted", a->ga_vm,
				  a->ga_key, 0);
}

int
db_guestinfo_delete(struct db *db, const char *vm, const char *key,
		    uint64_t expect_revision)
{
	struct db_gi_args a = {
	    .ga_vm = vm, .ga_key = key, .ga_expect = expect_revision};

	if (vm == NULL || key == NULL || vm[0] == '\0' || key[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	return db_writer_run(db, db_gi_delete_run, &a);
}

/* Row st (DB_GI_COLUMNS) into out, its value copied.  -1 with errno. */
static int
db_gi_row_read(sqlite3_stmt *st, struct db_guestinfo_row *out)
{
	const void *v = sqlite3_column_blob(st, 2);
	int n = sqlite3_column_bytes(st, 2);
	const char *by;

	memset(out, 0, sizeof(*out));
	if (db_column_copy(st, 0, out->gr_vm, sizeof(out->gr_vm)) == -1 ||
	    db_column_copy(st, 1, out->gr_key, sizeof(out->gr_key)) == -1)
		return -1;
	if ((out->gr_value = malloc((size_t)n + 1)) == NULL)
		return -1;
	if (n > 0)
		memcpy(out->gr_value, v, (size_t)n);
	out->gr_value[n] = '\0';
	out->gr_len = (size_t)n;
	out->gr_revision = (uint64_t)sqlite3_column_int64(st, 3);
	out->gr_updated_ms = sqlite3_column_int64(st, 4);
	by = (const char *)sqlite3_column_text(st, 5);
	out->gr_by_guest = by != NULL && strcmp(by, "guest") == 0;
	return 0;
}

/* A read of one VM's keys (key NULL: all of them) for db_read_each. */
struct db_gi_read {
	const char *gd_vm, *gd_key;
	struct db_guestinfo_row *gd_out; /* get */
	int (*gd_cb)(void *arg, const struct db_guestinfo_row *row);
	void *gd_arg;
};

static int
db_gi_bind(void *arg, sqlite3_stmt *st)
{
	const struct db_gi_read *r = arg;
	int rc = sqlite3_bind_text(st, 1, r->gd_vm, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK && r->gd_key != NULL)
		rc = sqlite3_bind_text(st, 2, r->gd_key, -1, SQLITE_STATIC);
	return rc;
}

static int
db_gi_each(void *arg, sqlite3_stmt *st)
{
	struct db_gi_read *r = arg;
	struct db_guestinfo_row row;
	int ret;

	if (r->gd_out != NULL)
		return db_gi_row_read(st, r->gd_out) == -1 ? -1 : 1;
	if (db_gi_row_read(st, &row) == -1)
		return -1;
	ret = r->gd_cb(r->gd_arg, &row);
	db_guestinfo_row_clear(&row);
	return ret;
}

static const struct db_query db_gi_one = {
    DB_STMT_NONE,
    "SELECT " DB_GI_COLUMNS " FROM guestinfo WHERE vm = ?1 AND key = ?2",
    db_gi_bind, db_gi_each, "read guestinfo"};

static const struct db_query db_gi_all = {
    DB_STMT_NONE,
    "SELECT " DB_GI_COLUMNS " FROM guestinfo WHERE vm = ?1 ORDER BY key",
    db_gi_bind, db_gi_each, "list guestinfo"};

int
db_guestinfo_get(struct db *db, const char *vm, const char *key,
		 struct db_guestinfo_row *out)
{
	struct db_gi_read r = {.gd_vm = vm, .gd_key = key, .gd_out = out};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_read_each(db, &db_gi_one, &r)) == 1)
		return 0;
	if (rc == 0)
		errno = ENOENT;
	return -1;
}

int
db_guestinfo_list(struct db *db, const char *vm,
		  int (*cb)(void *arg, const struct db_guestinfo_row *row),
		  void *arg)
{
	struct db_gi_read r = {.gd_vm = vm, .gd_cb = cb, .gd_arg = arg};

	return db_read_each(db, &db_gi_all, &r);
}
