/*
 * PRAGMA integrity_check of a daemon's database, read-only, for the
 * tests/api programs that link SQLite (test_crash, test_disk: see
 * tests/CMakeLists.txt).  Header-only; a failure fails the case.
 */
#ifndef VMMAPID_TESTS_API_DB_INTEGRITY_H
#define VMMAPID_TESTS_API_DB_INTEGRITY_H

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "harness.h"

/* Fails the case unless the check of path says "ok". */
static inline void
assert_integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *text;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fail_msg("integrity_check of %s: %s", path, sqlite3_errmsg(db));
	text = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (text == NULL || strcmp(text, "ok") != 0)
		fail_msg("integrity_check of %s: %s", path,
			 text != NULL ? text : "(no memory)");
	free(text);
}

#endif
