/*
 * Opening and closing the database: its two connections, the pragmas, the
 * WAL's working size, and db_ping.  The schema is db_migrate.c's, the
 * statements db_stmt.c's, the writer db_writer.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

/* Pages of WAL between automatic checkpoints. */
#define DB_WAL_PAGES 1000
/* The WAL's size at open: its header and DB_WAL_PAGES frames of 4-KiB
 * pages, plus a tenth for the transaction that crosses the mark. */
#define DB_WAL_PREALLOC (32 + (DB_WAL_PAGES + DB_WAL_PAGES / 10) * (24 + 4096))
#define DB_STR(x) DB_STR_(x)
#define DB_STR_(x) #x

/* How long a connection waits for a lock another process holds. */
#define DB_BUSY_TIMEOUT_MS 5000

static int
db_conn_open(struct db *db, struct db_conn *conn, int flags)
{
	int rc, err;

	/*
	 * NOMUTEX: each connection is used by one thread at a time (the
	 * writer's by the writer thread, the reader's under db_rlock), so
	 * SQLite's own per-connection mutex would only cost.
	 */
	rc = sqlite3_open_v2(
	    db->db_path, &conn->dc_sql,
	    flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s: open: %s", db->db_path,
			  conn->dc_sql != NULL ? sqlite3_errmsg(conn->dc_sql)
					       : sqlite3_errstr(rc));
		/* the system's reason (ENOENT, EACCES, ...) says more */
		err = conn->dc_sql != NULL ? sqlite3_system_errno(conn->dc_sql)
					   : 0;
		errno = err != 0 ? err : db_errno_of(rc);
		return -1;
	}
	(void)sqlite3_extended_result_codes(conn->dc_sql, 1);
	(void)sqlite3_busy_timeout(conn->dc_sql, DB_BUSY_TIMEOUT_MS);
	return 0;
}

static void
db_conn_close(struct db *db, struct db_conn *conn)
{
	size_t i;

	for (i = 0; i < DB_STMT_COUNT; i++) {
		sqlite3_finalize(conn->dc_stmts[i]);
		conn->dc_stmts[i] = NULL;
	}
	if (conn->dc_sql != NULL && sqlite3_close(conn->dc_sql) != SQLITE_OK)
		log_warnx("db: %s: close: %s", db->db_path,
			  sqlite3_errmsg(conn->dc_sql));
	conn->dc_sql = NULL;
}

/*
 * Gives the WAL file its working size up front, written (zeros), so that
 * no commit extends it.  A commit that appends past the end of the file
 * makes fdatasync commit the file system's journal too (the size
 * changed; on ext4 also for fallocate's unwritten extents, hence the
 * zeros): on this machine a start's one-page commit took ~500 µs that
 * way against ~200 µs over existing blocks (docs/benchmarks.md).  SQLite
 * reads a WAL only as far as its frames' checksums hold, and a WAL it has
 * reset is as long as before anyway, so zeros past the end are what
 * every checkpointed WAL carries.  SQLite takes no locks on the WAL file
 * itself (they are on -shm and the database), so opening and closing it
 * here disturbs none.  Failure only costs speed: logged, not fatal.
 */
static void
db_wal_preallocate(struct db *db)
{
	static const char zeros[64 * 1024];
	char path[4096];
	struct stat st;
	off_t off, end;
	ssize_t n;
	size_t len;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s-wal", db->db_path) >=
	    sizeof(path))
		return;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("db: %s: preallocating", path);
		return;
	}
	end = DB_WAL_PREALLOC;
	if (fstat(fd, &st) != 0) {
		log_warn("db: %s: preallocating", path);
		goto out;
	}
	for (off = st.st_size; off < end; off += n) {
		len = (size_t)(end - off) < sizeof(zeros) ? (size_t)(end - off)
							  : sizeof(zeros);
		if ((n = pwrite(fd, zeros, len, off)) <= 0) {
			log_warn("db: %s: preallocating", path);
			goto out;
		}
	}
	if (st.st_size < end && fdatasync(fd) != 0)
		log_warn("db: %s: preallocating", path);
out:
	close(fd);
}

/*
 * The writer connection's pragmas.  WAL lets the reader connection read
 * while the writer writes; synchronous=FULL syncs the WAL at every COMMIT,
 * so a write is on disk when its caller hears of it.
 */
static int
db_pragmas(struct db *db)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	char buf[32];

	if (db_exec_one(db, sql, "PRAGMA journal_mode = WAL", buf,
			sizeof(buf)) == -1)
		return -1;
	if (strcmp(buf, "wal") != 0) {
		log_warnx("db: %s: journal_mode is \"%s\", not \"wal\" (is the "
			  "file on a file system without shared memory?)",
			  db->db_path, buf);
		errno = ENOTSUP;
		return -1;
	}
	if (db_exec_one(db, sql, "PRAGMA synchronous = FULL", NULL, 0) == -1)
		return -1;
	/*
	 * Checkpoint every DB_WAL_PAGES pages (4 MiB of WAL; SQLite's
	 * default).  Once a checkpoint is through, commits write the WAL
	 * again from its start, over blocks the file already has: an
	 * fdatasync then flushes data only.  db_wal_preallocate makes that
	 * true from the first commit on.
	 */
	if (db_exec_one(db, sql,
			"PRAGMA wal_autocheckpoint = " DB_STR(DB_WAL_PAGES),
			buf, sizeof(buf)) == -1)
		return -1;
	if (db_exec_one(db, sql, "PRAGMA foreign_keys = ON", NULL, 0) == -1 ||
	    db_exec_one(db, sql, "PRAGMA foreign_keys", buf, sizeof(buf)) == -1)
		return -1;
	if (strcmp(buf, "1") != 0) {
		log_warnx("db: %s: this SQLite does not enforce foreign keys",
			  db->db_path);
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

/*
 * Makes file path mode 0600 when it exists (create: make it, 0600, when
 * it does not), through the open file: never chmod by path.  0, or -1
 * with errno.
 */
static int
db_private_file(const char *path, int create)
{
	struct stat st;
	int fd;

	/* The database may be a symlink an operator made; SQLite's side
	 * files are never one. */
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : O_NOFOLLOW),
		  0600);
	if (fd == -1)
		return !create && errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if ((st.st_mode & 07777) != 0600) {
		if (fchmod(fd, 0600) == -1)
			goto fail;
		log_info("db: %s was mode %04o, now 0600", path,
			 (unsigned)(st.st_mode & 07777));
	}
	close(fd);
	return 0;
fail:
	log_warn("db: %s: making it private (0600)", path);
	close(fd);
	return -1;
}

/*
 * The database, its -wal and its -shm are the daemon's alone (0600): they
 * hold token hashes and every VM.  Done before SQLite opens the database,
 * that is before its first write: SQLite creates -wal and -shm with the
 * database's mode, so a database left 0644 (made by hand, by an older
 * version, restored from a backup) would give them 0644 too, and -wal and
 * -shm left from such a run keep theirs.  A new database is created here
 * for the same reason (SQLite would make it 0644 less the umask).
 */
static int
db_private_files(const char *path)
{
	char side[4096];

	if (db_private_file(path, 1) == -1)
		return -1;
	if ((size_t)snprintf(side, sizeof(side), "%s-wal", path) >=
		sizeof(side) ||
	    db_private_file(side, 0) == -1)
		return -1;
	(void)snprintf(side, sizeof(side), "%s-shm", path);
	return db_private_file(side, 0);
}

static void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_conn_close(db, &db->db_rconn);
	db_conn_close(db, &db->db_wconn);
	pthread_mutex_destroy(&db->db_rlock);
	pthread_mutex_destroy(&db->db_lock);
	pthread_cond_destroy(&db->db_wake);
	pthread_cond_destroy(&db->db_idle);
	pthread_cond_destroy(&db->db_async_cond);
	if (db->db_hr_fd >= 0)
		close(db->db_hr_fd);
	free(db->db_lost);
	free(db->db_path);
	free(db);
}

/*
 * Opens path (creating it), applies pragmas and migrations, opens the
 * reader connection and starts the writer thread.  EPROTO: the database
 * is newer than this build.  ENOTSUP: WAL or foreign keys unavailable.
 */
int
db_open(struct db **out, const char *path)
{
	struct db *db = NULL;
	int saved;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (!sqlite3_threadsafe()) {
		log_warnx("db: this SQLite is built without threads");
		errno = ENOTSUP;
		return -1;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return -1;
	db->db_hr_fd = -1;
	db->db_rlock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	db->db_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	db->db_wake = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	db->db_idle = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	db->db_async_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if ((db->db_path = strdup(path)) == NULL)
		goto fail;
	if (db_private_files(path) == -1)
		goto fail;
	if (db_conn_open(db, &db->db_wconn,
			 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) == -1)
		goto fail;
	if (db_pragmas(db) == -1 || db_migrate(db) == -1)
		goto fail;
	/* The migrations' transactions made the WAL file exist. */
	db_wal_preallocate(db);
	/* After the migrations, so the reader sees the schema. */
	if (db_conn_open(db, &db->db_rconn, SQLITE_OPEN_READONLY) == -1)
		goto fail;
	if (db_restore_check(db) == -1 || db_vm_load_revision(db) == -1)
		goto fail;
	if (db_writer_start(db) == -1)
		goto fail;
	*out = db;
	return 0;
fail:
	saved = errno;
	db_free(db);
	errno = saved;
	return -1;
}

/*
 * Waits for every queued write, stops the writer thread and closes both
 * connections.  No db_* call may start during or after it.
 */
void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_writer_stop(db);
	db_free(db);
}

static const struct db_query db_ping_query = {
    DB_STMT_PING, "SELECT revision FROM meta WHERE id = 1", NULL, db_each_int64,
    "ping"};

/*
 * 0 when the reader connection answers a query that reads the file, else
 * -1 with errno (logged).  Takes db_rlock.
 */
int
db_ping(struct db *db)
{
	int64_t revision = -1;

	if (db_read_each(db, &db_ping_query, &revision) == -1)
		return -1;
	if (revision < 0) {
		log_warnx("db: %s: the meta row is missing", db->db_path);
		errno = EIO;
		return -1;
	}
	return 0;
}
