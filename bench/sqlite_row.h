/*
 * The row the raw-commit baselines write: a table shaped like vmmapid's
 * vms table and one INSERT per commit, shared by bench/sqlite_commit.c
 * (commits alone) and bench/mhd_fixed.c -d (one commit per HTTP request).
 */
#ifndef VMMAPID_BENCH_SQLITE_ROW_H
#define VMMAPID_BENCH_SQLITE_ROW_H

#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

static const char sqlite_row_schema[] = "CREATE TABLE vms ("
					" name TEXT PRIMARY KEY,"
					" jail TEXT NOT NULL DEFAULT '',"
					" owner_uid INTEGER NOT NULL,"
					" owner_gid INTEGER NOT NULL,"
					" spec TEXT NOT NULL,"
					" state TEXT NOT NULL,"
					" status TEXT NOT NULL,"
					" generation INTEGER NOT NULL,"
					" revision INTEGER NOT NULL UNIQUE,"
					" created_ms INTEGER NOT NULL,"
					" updated_ms INTEGER NOT NULL)";

static const char sqlite_row_insert[] =
    "INSERT INTO vms (name, owner_uid, owner_gid, spec, state, status,"
    " generation, revision, created_ms, updated_ms)"
    " VALUES (?1, 0, 0, ?2, 'defined', '{}', 1, ?3, ?4, ?4)";

/*
 * Inserts row number i (from 0) with ins, a prepared sqlite_row_insert,
 * in its own transaction (autocommit).  Returns SQLite's result.
 */
static inline int
sqlite_row_commit(sqlite3_stmt *ins, unsigned long i)
{
	char name[32], spec[256];
	int n, rc;

	snprintf(name, sizeof(name), "vm-%07lu", i);
	/* About the size of a normalized spec of a small VM. */
	n = snprintf(spec, sizeof(spec),
		     "{\"name\":\"%s\",\"vcpus\":1,\"memory_mib\":64,"
		     "\"boot\":{\"kind\":\"flat\",\"image\":"
		     "\"hello.bin\",\"load_address\":4096,\"entry\":"
		     "4096},\"labels\":{\"bench\":\"create\"},"
		     "\"pptdevs\":[],\"autostart\":false,"
		     "\"description\":\"\"}",
		     name);
	if ((rc = sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(ins, 2, spec, n, SQLITE_TRANSIENT)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(ins, 3, (sqlite3_int64)i + 1)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(
		 ins, 4, (sqlite3_int64)time(NULL) * 1000)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(ins);
	(void)sqlite3_reset(ins);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

#endif
