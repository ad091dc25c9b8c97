/*
 * The schema: forward-only migrations, applied at open by PRAGMA
 * user_version.
 */
#include <errno.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

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
    {6,
     /*
      * Guestinfo keys (db/db_guestinfo.c): a VM's, gone with it.
      * revision comes from the counter the VMs' revisions come from, so
      * a key's ETag is never one a deleted key had.
      */
     "CREATE TABLE guestinfo ("
     " vm TEXT NOT NULL REFERENCES vms (name) ON DELETE CASCADE,"
     " key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 128),"
     " value BLOB NOT NULL CHECK (length(value) <= 65536),"
     " revision INTEGER NOT NULL UNIQUE CHECK (revision >= 1),"
     " updated_ms INTEGER NOT NULL,"
     " updated_by TEXT NOT NULL CHECK (updated_by IN ('api', 'guest')),"
     " PRIMARY KEY (vm, key)) WITHOUT ROWID;"
     "PRAGMA user_version = 6;"},
    {7,
     /*
      * PCI passthrough reservations (db/db_pptdevs.c), keyed by
      * loader.conf's "bus/slot/func".  orig_driver is the driver the
      * device had before --ppt-bind bound it to vfio-pci ("" none),
      * bound whether the daemon did bind it, so a release puts back
      * what it changed and nothing else.
      */
     "CREATE TABLE pptdevs ("
     " dev TEXT NOT NULL PRIMARY KEY CHECK (length(dev) BETWEEN 5 AND 9),"
     " bus INTEGER NOT NULL CHECK (bus BETWEEN 0 AND 255),"
     " slot INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 31),"
     " func INTEGER NOT NULL CHECK (func BETWEEN 0 AND 7),"
     " address TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 16),"
     " orig_driver TEXT NOT NULL DEFAULT ''"
     "  CHECK (length(orig_driver) <= 63),"
     " bound INTEGER NOT NULL DEFAULT 0 CHECK (bound IN (0, 1)),"
     " created_ms INTEGER NOT NULL) WITHOUT ROWID;"
     "PRAGMA user_version = 7;"},
    {8,
     /*
      * The event journal (db/db_events.c) behind GET /v1/events: one row
      * per change, written in the change's own transaction.  AUTOINCREMENT
      * so that an id is never handed out twice, even once the newest
      * events were pruned.  vm, jail and owner_uid say who may see a
      * VM's event (scope 0); data is the document without its id.
      */
     "CREATE TABLE events ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " time_ms INTEGER NOT NULL,"
     " type TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 31),"
     " scope INTEGER NOT NULL CHECK (scope BETWEEN 0 AND 3),"
     " vm TEXT NOT NULL DEFAULT '' CHECK (length(vm) <= 64),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " owner_uid INTEGER NOT NULL DEFAULT -1,"
     " data TEXT NOT NULL);"
     "PRAGMA user_version = 8;"},
    {9,
     /*
      * Scope 4: passthrough reservations, seen by whoever may read
      * GET /v1/pptdevs (a jail root with allow_vmm_ppt too, not only
      * host root).  A CHECK cannot be altered: the journal is copied into
      * a table with the wider one, its AUTOINCREMENT counter with it (the
      * newest ids may have been pruned: max(id) is not enough).
      */
     "CREATE TABLE events_9 ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " time_ms INTEGER NOT NULL,"
     " type TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 31),"
     " scope INTEGER NOT NULL CHECK (scope BETWEEN 0 AND 4),"
     " vm TEXT NOT NULL DEFAULT '' CHECK (length(vm) <= 64),"
     " jail TEXT NOT NULL DEFAULT '' CHECK (length(jail) <= 64),"
     " owner_uid INTEGER NOT NULL DEFAULT -1,"
     " data TEXT NOT NULL);"
     "INSERT INTO events_9 SELECT id, time_ms, type, scope, vm, jail,"
     " owner_uid, data FROM events;"
     "DELETE FROM sqlite_sequence WHERE name = 'events_9';"
     "INSERT INTO sqlite_sequence (name, seq)"
     " SELECT 'events_9', seq FROM sqlite_sequence WHERE name = 'events';"
     "UPDATE events_9 SET scope = 4 WHERE type LIKE 'pptdev.%';"
     "DROP TABLE events;"
     "ALTER TABLE events_9 RENAME TO events;"
     "PRAGMA user_version = 9;"},
    {10,
     /*
      * A VM namespace per jail (docs/access.md, "What a caller can
      * tell"): vms.name becomes the VM's key, its name for a host VM
      * and "JAIL/NAME" for a jail's (base/names.h), so the host and
      * each jail may each have a web1.  Up to 129 bytes, and the key
      * agrees with the jail column.  guestinfo.vm follows its VM's key;
      * it is copied first and refers to the new table, so that no
      * DROP cascades into a key.  events.vm stays the VM's name with
      * events.jail its scope, as before; an event's document gains the
      * "jail" member new events have.  Run identities and passthrough
      * assignments live in a VM's row (status, spec) and move with it.
      */
     "CREATE TABLE vms_10 ("
     " name TEXT NOT NULL PRIMARY KEY"
     "  CHECK (length(name) BETWEEN 1 AND 129),"
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
     " updated_ms INTEGER NOT NULL,"
     " CHECK (CASE WHEN jail = '' THEN instr(name, '/') = 0"
     "  ELSE substr(name, 1, length(jail) + 1) = jail || '/' END))"
     " WITHOUT ROWID;"
     "INSERT INTO vms_10 SELECT"
     " CASE WHEN jail = '' THEN name ELSE jail || '/' || name END,"
     " jail, owner_uid, owner_gid, spec, state, status, generation,"
     " revision, created_ms, updated_ms FROM vms;"
     "CREATE TABLE guestinfo_10 ("
     " vm TEXT NOT NULL REFERENCES vms_10 (name) ON DELETE CASCADE,"
     " key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 128),"
     " value BLOB NOT NULL CHECK (length(value) <= 65536),"
     " revision INTEGER NOT NULL UNIQUE CHECK (revision >= 1),"
     " updated_ms INTEGER NOT NULL,"
     " updated_by TEXT NOT NULL CHECK (updated_by IN ('api', 'guest')),"
     " PRIMARY KEY (vm, key)) WITHOUT ROWID;"
     "INSERT INTO guestinfo_10 SELECT"
     " CASE WHEN v.jail = '' THEN g.vm ELSE v.jail || '/' || g.vm END,"
     " g.key, g.value, g.revision, g.updated_ms, g.updated_by"
     " FROM guestinfo AS g JOIN vms AS v ON v.name = g.vm;"
     "DROP TABLE guestinfo;"
     "DROP TABLE vms;"
     "ALTER TABLE vms_10 RENAME TO vms;"
     "ALTER TABLE guestinfo_10 RENAME TO guestinfo;"
     "UPDATE events SET data = json_set(data, '$.jail', jail)"
     " WHERE vm != '' AND json_valid(data)"
     " AND json_type(data, '$.jail') IS NULL;"
     "PRAGMA user_version = 10;"},
    /* 11: the revision that wrote each VM's spec, so that If-Match
     * across a restart is about the definition as it is within one run
     * (it was kept in memory only: after a restart any tag from before
     * a state change failed).  0 for rows from before: their newest
     * revision stands in, as before. */
    {11, "ALTER TABLE vms ADD COLUMN spec_revision INTEGER NOT NULL"
	 " DEFAULT 0 CHECK (spec_revision >= 0);"
	 "PRAGMA user_version = 11;"},
    /* 12: a backup's copy says it is one (meta.copy = 1, set in the copy
     * by db_backup), so that the daemon that opens it, a restore, moves
     * the revision counter and the event ids past the lost timeline's
     * and records what it skipped (db_restore.c).  meta is made anew
     * rather than altered, whatever columns the old one has. */
    {12, "CREATE TABLE meta_12 ("
	 " id INTEGER PRIMARY KEY CHECK (id = 1),"
	 " revision INTEGER NOT NULL CHECK (revision >= 0),"
	 " copy INTEGER NOT NULL DEFAULT 0 CHECK (copy IN (0, 1)));"
	 "INSERT INTO meta_12 (id, revision) SELECT id, revision FROM meta;"
	 "DROP TABLE meta;"
	 "ALTER TABLE meta_12 RENAME TO meta;"
	 "CREATE TABLE IF NOT EXISTS lost ("
	 " kind TEXT NOT NULL CHECK (kind IN ('revision', 'event')),"
	 " lo INTEGER NOT NULL CHECK (lo >= 1),"
	 " hi INTEGER NOT NULL CHECK (hi >= lo),"
	 " at_ms INTEGER NOT NULL);"
	 "PRAGMA user_version = 12;"},
};

#define DB_NMIGRATIONS (sizeof(db_migrations) / sizeof(db_migrations[0]))

/*
 * The schema version this build migrates to: the last migration's.
 */
int
db_schema_version(void)
{
	return db_migrations[DB_NMIGRATIONS - 1].dm_version;
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

/* Applies the migrations past the stored version; see db_internal.h. */
int
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
