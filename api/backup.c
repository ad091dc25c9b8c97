/*
 * POST /v1/admin/backup: an online, consistent copy of the database into
 * the state directory (db_backup), named after the moment it was made.
 * Restoring it is the operator's: stop the daemon, put the copy in the
 * database's place (removing the old -wal and -shm), start it
 * (docs/operations.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"

void
api_admin_backup(const struct api_context *ctx, const struct api_call *call,
		 struct api_response *rs)
{
	char name[64], path[4096], when[40];
	int64_t ms = timefmt_now_ms();
	time_t secs = (time_t)(ms / 1000);
	uint64_t revision = 0, size = 0;
	struct tm tm;
	json_t *doc;

	(void)call;
	gmtime_r(&secs, &tm);
	/* Milliseconds in the name: two backups in one second both work. */
	snprintf(name, sizeof(name),
		 "vmmapid-backup-%04d%02d%02dT%02d%02d%02d.%03dZ.db",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	if (ctx->ac_state_dir == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", ctx->ac_state_dir,
			     name) >= sizeof(path)) {
		problem_raise(rs, PROBLEM_INTERNAL, NULL,
			      "the state directory's path is too long");
		return;
	}
	if (db_backup(ctx->ac_db, path, &revision, &size) != 0) {
		int err = errno;

		log_warn("backup %s", path);
		problem_errno(rs, err, "copying the database to %s failed: %s",
			      path, strerror(err));
		return;
	}
	log_info("backup %s: %llu bytes, revision %llu", path,
		 (unsigned long long)size, (unsigned long long)revision);
	timefmt_rfc3339(ms, when, sizeof(when));
	doc = json_pack("{s:s, s:s, s:I, s:I, s:s}", "name", name, "path", path,
			"size", (json_int_t)size, "revision",
			(json_int_t)revision, "created_at", when);
	api_response_json(rs, 201, doc);
	json_decref(doc);
}
