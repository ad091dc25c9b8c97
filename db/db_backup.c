/*
 * An online copy of the database (POST /v1/admin/backup) through SQLite's
 * backup API.  The copy reads from a connection of its own, in one read
 * transaction (sqlite3_backup_step(-1)): in WAL mode that is a snapshot,
 * so the copy holds exactly the transactions committed when it began,
 * while writers go on committing to the WAL meanwhile (they never wait
 * for it, and it never waits for them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

/*
 * The revision the copy holds, read from the copy itself: as db_vms.c's
 * counter starts at open, the largest of meta.revision (what deletes
 * recorded) and the revisions stored in vms and guestinfo.
 */
static int
db_backup_revision(sqlite3 *copy, uint64_t *revision)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(
	    copy,
	    "SELECT max(coalesce((SELECT revision FROM meta WHERE id = 1), 0), "
	    "coalesce((SELECT max(revision) FROM vms), 0), "
	    "coalesce((SELECT max(revision) FROM guestinfo), 0))",
	    -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*revision = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int
db_backup(struct db *db, const char *dest, uint64_t *revision, uint64_t *size)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	struct stat st;
	int rc, fd, err = EIO;

	/* Made 0600 first, by us: SQLite would make it with the umask's
	 * mode, and it holds the token hashes.  O_EXCL: never overwrite. */
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -1;
	close(fd);
	rc = sqlite3_open_v2(db->db_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: backup to %s: open: %s", dest,
			  sqlite3_errstr(rc));
		goto fail;
	}
	(void)sqlite3_busy_timeout(src, 5000);
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		log_warnx("db: backup to %s: %s", dest, sqlite3_errmsg(dst));
		goto fail;
	}
	/* All pages in one step: one read transaction, one snapshot. */
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		log_warnx("db: backup to %s: %s", dest, sqlite3_errstr(rc));
		if (rc == SQLITE_FULL)
			err = ENOSPC;
		goto fail;
	}
	/* Marked as a copy: the daemon that opens it is a restore
	 * (db_restore.c).  The revision, read from the copy: what it holds,
	 * whatever was committed since.  Closing it folds its own WAL (the
	 * copy keeps the source's WAL mode) into the file, which is then
	 * synced. */
	if (sqlite3_exec(dst, "UPDATE meta SET copy = 1 WHERE id = 1", NULL,
			 NULL, NULL) != SQLITE_OK) {
		log_warnx("db: backup to %s: marking it a copy: %s", dest,
			  sqlite3_errmsg(dst));
		goto fail;
	}
	if (db_backup_revision(dst, revision) != 0) {
		log_warnx("db: backup to %s: no revision in the copy", dest);
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		goto fail;
	}
	dst = NULL;
	sqlite3_close(src);
	src = NULL;
	if ((fd = open(dest, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
		close(fd);
		goto fail;
	}
	close(fd);
	*size = (uint64_t)st.st_size;
	return 0;

fail:
	if (dst != NULL)
		sqlite3_close(dst);
	if (src != NULL)
		sqlite3_close(src);
	unlink(dest);
	errno = err;
	return -1;
}
