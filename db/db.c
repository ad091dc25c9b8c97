/*
 * Opening the database: connections, pragmas, migrations, the statement
 * cache, the SQLite-to-errno mapping, db_ping and the writer's counters.
 */
#include <assert.h>
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

/*
 * Forward-only migrations.  Migration N takes a database at user_version
 * N-1 to N; each runs in its own transaction together with the
 * user_version it sets, so a crash leaves the database at N-1 or at N.
 * Never edit a migration that has shipped: add the next one.
 */
struct db_migration {
	int dm_version;
	const char *dm_sql;
};

static const struct db_migration db_migrations[] = {
    {1,
     /*
      * meta holds the revision counter: vms.revision takes its next
      * value, so a revision is never handed out twice, even when the row
      * that held the highest one is gone.
      */
     "CREATE TABLE meta ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " revision INTEGER NOT NULL CHECK (revision >= 0));"
     "INSERT INTO meta (id, revision) VALUES (1, 0);"
     "CREATE TABLE vms ("
     " name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " owner_uid INTEGER NOT NULL CHECK (owner_uid >= 0),"
     " owner_gid INTEGER NOT NULL CHECK (owner_gid >= 0),"
     " spec TEXT NOT NULL,"
     " state TEXT NOT NULL DEFAULT 'defined' CHECK (state IN ("
     "  'defined', 'starting', 'running', 'paused', 'stopping',"
     "  'stopped', 'crashed')),"
     " status TEXT NOT NULL DEFAULT '{}',"
     " generation INTEGER NOT NULL CHECK (generation >= 1),"
     " revision INTEGER NOT NULL UNIQUE CHECK (revision >= 1),"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL);"
     "CREATE TABLE tokens ("
     " id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 32),"
     " hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
     " uid INTEGER NOT NULL CHECK (uid >= 0),"
     " gids TEXT NOT NULL,"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " created_ms INTEGER NOT NULL,"
     " expires_ms INTEGER NOT NULL DEFAULT 0 CHECK (expires_ms >= 0),"
     " description TEXT NOT NULL DEFAULT '');"
     "PRAGMA user_version = 1;"},
    {2,
     /*
      * The image store's metadata.  A row is written only once its file
      * is complete and renamed into place (core/images.c).
      */
     "CREATE TABLE images ("
     " name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
     " size INTEGER NOT NULL CHECK (size >= 0),"
     " sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
     " created_ms INTEGER NOT NULL);"
     "PRAGMA user_version = 2;"},
    {3,
     /*
      * Jails (core/jails.c) and the audit log (api/audit.c).  A socket
      * path belongs to one jail at most.  audit.uid and gid are -1 for
      * a caller the daemon could not identify; audit.id orders the log
      * and is the list's cursor.
      */
     "CREATE TABLE jails ("
     " name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
     " allow_vmm INTEGER NOT NULL CHECK (allow_vmm IN (0, 1)),"
     " allow_vmm_ppt INTEGER NOT NULL CHECK (allow_vmm_ppt IN (0, 1)),"
     " socket TEXT NOT NULL DEFAULT '' CHECK (length(socket) <= 107),"
     " created_ms INTEGER NOT NULL);"
     "CREATE UNIQUE INDEX jails_socket ON jails (socket) WHERE socket != '';"
     "CREATE TABLE audit ("
     " id INTEGER PRIMARY KEY,"
     " time_ms INTEGER NOT NULL,"
     " uid INTEGER NOT NULL CHECK (uid >= -1),"
     " gid INTEGER NOT NULL CHECK (gid >= -1),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " via TEXT NOT NULL DEFAULT '',"
     " method TEXT NOT NULL,"
     " path TEXT NOT NULL,"
     " status INTEGER NOT NULL);"
     "PRAGMA user_version = 3;"},
    {4,
     /*
      * vms clustered on its name (WITHOUT ROWID), and revision no longer
      * indexed: a create or a change then writes one b-tree instead of
      * three (the rowid table, the name index, the revision index), the
      * bulk of a commit's pages.  Revisions stay unique without the index:
      * the writer hands them out from one counter (db_vms.c).
      */
     "CREATE TABLE vms_new ("
     " name TEXT NOT NULL PRIMARY KEY"
     "  CHECK (length(name) BETWEEN 1 AND 64),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " owner_uid INTEGER NOT NULL CHECK (owner_uid >= 0),"
     " owner_gid INTEGER NOT NULL CHECK (owner_gid >= 0),"
     " spec TEXT NOT NULL,"
     " state TEXT NOT NULL DEFAULT 'defined' CHECK (state IN ("
     "  'defined', 'starting', 'running', 'paused', 'stopping',"
     "  'stopped', 'crashed')),"
     " status TEXT NOT NULL DEFAULT '{}',"
     " generation INTEGER NOT NULL CHECK (generation >= 1),"
     " revision INTEGER NOT NULL CHECK (revision >= 1),"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
     "INSERT INTO vms_new SELECT name, jail, owner_uid, owner_gid, spec,"
     " state, status, generation, revision, created_ms, updated_ms"
     " FROM vms;"
     "DROP TABLE vms;"
     "ALTER TABLE vms_new RENAME TO vms;"
     "PRAGMA user_version = 4;"},
    {5,
     /*
      * vms.state checked by a chain of comparisons instead of IN (...):
      * SQLite codes a constant IN list of more than two values as a
      * temporary table, built again by every INSERT and UPDATE of the
      * row.  The same states are allowed.
      */
     "CREATE TABLE vms_new ("
     " name TEXT NOT NULL PRIMARY KEY"
     "  CHECK (length(name) BETWEEN 1 AND 64),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " owner_uid INTEGER NOT NULL CHECK (owner_uid >= 0),"
     " owner_gid INTEGER NOT NULL CHECK (owner_gid >= 0),"
     " spec TEXT NOT NULL,"
     " state TEXT NOT NULL DEFAULT 'defined' CHECK ("
     "  state = 'defined' OR state = 'starting' OR state = 'running' OR"
     "  state = 'paused' OR state = 'stopping' OR state = 'stopped' OR"
     "  state = 'crashed'),"
     " status TEXT NOT NULL DEFAULT '{}',"
     " generation INTEGER NOT NULL CHECK (generation >= 1),"
     " revision INTEGER NOT NULL CHECK (revision >= 1),"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
     "INSERT INTO vms_new SELECT name, jail, owner_uid, owner_gid, spec,"
     " state, status, generation, revision, created_ms, updated_ms"
     " FROM vms;"
     "DROP TABLE vms;"
     "ALTER TABLE vms_new RENAME TO vms;"
     "PRAGMA user_version = 5;"},
};

#define DB_NMIGRATIONS (sizeof(db_migrations) / sizeof(db_migrations[0]))

/* How long a connection waits for a lock another process holds. */
#define DB_BUSY_TIMEOUT_MS 5000

/*
 * The schema version this build migrates to: the last migration's.
 */
int
db_schema_version(void)
{
	return db_migrations[DB_NMIGRATIONS - 1].dm_version;
}

int
db_errno_of(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return EEXIST;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_NOMEM:
		return ENOMEM;
	}
	/* CHECK, NOT NULL and the rest: the values given were not valid. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return EINVAL;
	return EIO;
}

int
db_fail(sqlite3 *sql, int rc, const char *what)
{
	int err = db_errno_of(rc);

	/* Constraint violations are the caller's to report; the rest are
	 * the database's, and only the log says which. */
	if (err != EEXIST && err != EINVAL)
		log_warnx(
		    "db: %s: %s (%d)", what,
		    sql != NULL ? sqlite3_errmsg(sql) : sqlite3_errstr(rc), rc);
	errno = err;
	return -1;
}

sqlite3_stmt *
db_stmt(struct db_conn *conn, enum db_stmt_id id, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	assert(id < DB_STMT_COUNT);
	if (conn->dc_stmts[id] != NULL)
		return conn->dc_stmts[id];
	rc = sqlite3_prepare_v3(conn->dc_sql, sql, -1,
				SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: prepare \"%s\": %s", sql,
			  sqlite3_errmsg(conn->dc_sql));
		errno = db_errno_of(rc) == ENOMEM ? ENOMEM : EIO;
		return NULL;
	}
	conn->dc_stmts[id] = st;
	return st;
}

void
db_stmt_done(sqlite3_stmt *st)
{
	/* reset returns the last step's error, which the caller has seen */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

int
db_prepare(struct db_conn *conn, const char *sql, sqlite3_stmt **st)
{
	int rc;

	rc = sqlite3_prepare_v2(conn->dc_sql, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		log_warnx("db: prepare \"%s\": %s", sql,
			  sqlite3_errmsg(conn->dc_sql));
		errno = db_errno_of(rc) == ENOMEM ? ENOMEM : EIO;
		return -1;
	}
	return 0;
}

int
db_read_each(struct db *db, const char *sql,
	     int (*each)(void *arg, sqlite3_stmt *st), void *arg,
	     const char *what)
{
	sqlite3_stmt *st;
	int rc, saved, ret = 0;

	pthread_mutex_lock(&db->db_rlock);
	if (db_prepare(&db->db_rconn, sql, &st) == -1) {
		pthread_mutex_unlock(&db->db_rlock);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = each(arg, st)) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE) {
		db_fail(db->db_rconn.dc_sql, rc, what);
		ret = -1;
	}
	saved = errno;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->db_rlock);
	errno = saved;
	return ret;
}

int
db_column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsz)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL) {
		/* the columns we read are NOT NULL: only memory is missing */
		errno = sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM
			    ? ENOMEM
			    : EIO;
		return -1;
	}
	if ((size_t)n >= dstsz) {
		log_warnx("db: stored %s is %d bytes, more than %zu",
			  sqlite3_column_name(st, col), n, dstsz - 1);
		errno = EIO;
		return -1;
	}
	memcpy(dst, s, (size_t)n);
	dst[n] = '\0';
	return 0;
}

int
db_column_state(sqlite3_stmt *st, int col, enum vm_state *state)
{
	char name[VM_STATE_NAME_MAX];

	if (db_column_copy(st, col, name, sizeof(name)) == -1)
		return -1;
	if (vm_state_parse(name, state) == -1) {
		log_warnx("db: stored %s \"%s\" is no VM state (%s)",
			  sqlite3_column_name(st, col), name, vm_state_names());
		errno = EIO;
		return -1;
	}
	return 0;
}

int
db_is_cstr(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * Runs one statement that takes no values (a pragma) to completion;
 * copies the first column of its first row, if any, into out.
 */
static int
db_exec_one(struct db *db, sqlite3 *sql, const char *text, char *out,
	    size_t outsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	rc = sqlite3_prepare_v2(sql, text, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		if (out != NULL && outsz > 0 && out[0] == '\0' && v != NULL)
			snprintf(out, outsz, "%s", (const char *)v);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	log_warnx("db: %s: %s: %s", db->db_path, text, sqlite3_errmsg(sql));
	errno = db_errno_of(rc);
	sqlite3_finalize(st);
	return -1;
}

static int
db_user_version(struct db *db, sqlite3 *sql, int *version)
{
	char buf[32];

	if (db_exec_one(db, sql, "PRAGMA user_version", buf, sizeof(buf)) == -1)
		return -1;
	*version = atoi(buf);
	return 0;
}

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

/* Applies migration m unless another process already has. */
static int
db_migrate_one(struct db *db, const struct db_migration *m)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	char *msg = NULL;
	int version, rc;

	/* IMMEDIATE: the write lock before reading the version, so two
	 * daemons starting on one file cannot both migrate. */
	if (db_exec_one(db, sql, "BEGIN IMMEDIATE", NULL, 0) == -1)
		return -1;
	if (db_user_version(db, sql, &version) == -1)
		goto fail;
	if (version >= m->dm_version) {
		(void)db_exec_one(db, sql, "ROLLBACK", NULL, 0);
		return 0;
	}
	rc = sqlite3_exec(sql, m->dm_sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s: migration to version %d: %s", db->db_path,
			  m->dm_version,
			  msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		errno = db_errno_of(rc);
		goto fail;
	}
	if (db_exec_one(db, sql, "COMMIT", NULL, 0) == -1)
		goto fail;
	log_info("db: %s: migrated to schema version %d", db->db_path,
		 m->dm_version);
	return 0;
fail:
	rc = errno;
	if (!sqlite3_get_autocommit(sql))
		(void)db_exec_one(db, sql, "ROLLBACK", NULL, 0);
	errno = rc;
	return -1;
}

static int
db_migrate(struct db *db)
{
	int version;
	size_t i;

	if (db_user_version(db, db->db_wconn.dc_sql, &version) == -1)
		return -1;
	if (version > db_schema_version()) {
		log_warnx(
		    "db: %s: schema version %d is newer than this build's "
		    "%d; refusing to open it (upgrade vmmapid or restore a "
		    "backup)",
		    db->db_path, version, db_schema_version());
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < DB_NMIGRATIONS; i++) {
		if (db_migrations[i].dm_version <= version)
			continue;
		if (db_migrate_one(db, &db_migrations[i]) == -1)
			return -1;
	}
	return 0;
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
	int saved, fd;

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
	db->db_rlock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	db->db_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	db->db_wake = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	db->db_idle = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	db->db_async_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if ((db->db_path = strdup(path)) == NULL)
		goto fail;
	/*
	 * A new database is created 0600 here, not by SQLite (0644 less the
	 * umask): SQLite gives its -wal and -shm files the database's mode
	 * when it creates them, and the WAL holds token hashes and every VM.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		goto fail;
	close(fd);
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
	if (db_vm_load_revision(db) == -1)
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

/*
 * 0 when the reader connection answers a query that reads the file, else
 * -1 with errno (logged).  Takes db_rlock.
 */
int
db_ping(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&db->db_rlock);
	st = db_stmt(&db->db_rconn, DB_STMT_PING,
		     "SELECT revision FROM meta WHERE id = 1");
	if (st == NULL)
		goto fail;
	rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc == SQLITE_DONE) {
		log_warnx("db: %s: the meta row is missing", db->db_path);
		errno = EIO;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		db_fail(db->db_rconn.dc_sql, rc, "ping");
		goto fail;
	}
	pthread_mutex_unlock(&db->db_rlock);
	return 0;
fail:
	pthread_mutex_unlock(&db->db_rlock);
	return -1;
}

/*
 * The writer's counters: transactions committed, and the writes those
 * transactions held.  Writes that failed are in neither.
 */
void
db_write_stats(struct db *db, uint64_t *commits, uint64_t *writes)
{
	pthread_mutex_lock(&db->db_lock);
	if (commits != NULL)
		*commits = db->db_commits;
	if (writes != NULL)
		*writes = db->db_writes;
	pthread_mutex_unlock(&db->db_lock);
}
