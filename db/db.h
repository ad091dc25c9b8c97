/*
 * The database: SQLite in WAL mode with synchronous=FULL, migrated forward
 * by PRAGMA user_version.  The only module that includes <sqlite3.h>.
 *
 * Writes go through one writer thread that groups the writes waiting at
 * the same moment into one transaction (group commit): each write runs in
 * its own SAVEPOINT, so one failing write does not affect the others, and
 * every caller returns only after the COMMIT that holds its write is on
 * disk.  A write function returns 0 or -1 with errno; db_* functions below
 * return what it returned.
 *
 * Every db_* write takes an optional commit hook: called on the writer
 * thread after the COMMIT succeeded, in commit order, before the caller is
 * woken.  The in-memory state (core/vmreg.c) publishes new versions there,
 * so it sees writes in exactly the order the database applied them.
 */
#ifndef VMMAPID_DB_DB_H
#define VMMAPID_DB_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/limits.h"
#include "base/names.h"
#include "base/vm_state.h"

struct db;

/* One row of the vms table. Strings are owned by the row (malloc'd). */
struct db_vm_row {
	char vr_name[VMKEY_SIZE]; /* the VM's key (base/names.h) */
	char vr_jail[65];         /* "" outside any jail */
	uid_t vr_owner_uid;
	gid_t vr_owner_gid;
	char *vr_spec;          /* normalized spec, JSON text */
	enum vm_state vr_state; /* 0: VM_DEFINED */
	char *vr_status;        /* status details, JSON text ("{}" if none) */
	uint64_t vr_generation; /* bumped when the spec changes */
	uint64_t vr_revision;   /* unique across the database, never reused */
	/* The revision that wrote the spec (the create or the last spec
	 * change); the revisions from it to vr_revision are state changes
	 * of the same definition (If-Match, core/vmreg.c). */
	uint64_t vr_spec_revision;
	int64_t vr_created_ms; /* Unix epoch milliseconds */
	int64_t vr_updated_ms;
};

/* Frees the strings a row owns and zeroes them; the row itself stays. */
void db_vm_row_clear(struct db_vm_row *row);

typedef void (*db_commit_hook)(void *arg, const struct db_vm_row *row);

/*
 * Opens (creating if needed) the database at path, applies pragmas and
 * migrations, and starts the writer thread.  -1 with errno and a logged
 * reason on failure.
 */
int db_open(struct db **out, const char *path);

/*
 * db_open with the headroom beside the database (db/db_headroom.c):
 * PATH.headroom, bytes allocated in it before the database is opened (a
 * file kept from the last run keeps its space).  When the database cannot
 * be opened while the headroom is held (a full disk: SQLite cannot make
 * its -shm or WAL), the headroom is released and the open tried once more.
 * A headroom file that cannot be made is logged and done without.
 */
int db_open_headroom(struct db **out, const char *path, uint64_t bytes);

/* Frees the headroom's space; 1 when it was held, else 0.  Thread-safe. */
int db_headroom_release(struct db *db);

/*
 * 0 when the database's file system has floor bytes free (after taking
 * the headroom back, if it was released and there is room for both); -1
 * with ENOSPC when it has not.  0 when floor is 0 or there is no headroom
 * file (nothing to measure on).  Thread-safe.
 */
int db_space_check(struct db *db, uint64_t floor);

/* Bytes free for the daemon on the database's file system (0: unknown). */
uint64_t db_space_free(struct db *db);

/* Waits for queued writes, stops the writer thread and closes. NULL ok. */
void db_close(struct db *db);

/*
 * Whether a write now would wait for a batch being committed (or queued
 * before it) rather than commit at once on the caller's thread.  A hint.
 */
int db_writer_busy(struct db *db);

/* The schema version (PRAGMA user_version) this build migrates to. */
int db_schema_version(void);

/* Whether the database answers a trivial query (for /v1/health). */
int db_ping(struct db *db);

/*
 * Calls cb for every VM row, in name order, on the caller's thread (at
 * start-up, before requests).  Stops and returns cb's non-zero result.
 */
int db_vm_load_all(struct db *db,
		   int (*cb)(void *arg, const struct db_vm_row *row),
		   void *arg);

/*
 * Inserts row.  The database assigns vr_revision, vr_generation (1),
 * vr_created_ms and vr_updated_ms (now) and writes them back into *row.
 * EEXIST: a VM of that name exists.
 */
struct db_guestinfo_kv;

/*
 * db_vm_insert with the VM's first guestinfo keys (nkeys of them, at most
 * LIMIT_GUESTINFO_KEYS), written by the API in the same transaction: the
 * VM and its keys are on disk together or not at all.  EINVAL as well
 * for a key or value the guestinfo table refuses.
 */
int db_vm_insert_keys(struct db *db, struct db_vm_row *row,
		      const struct db_guestinfo_kv *keys, size_t nkeys,
		      db_commit_hook hook, void *arg);
int db_vm_insert(struct db *db, struct db_vm_row *row, db_commit_hook hook,
		 void *arg);

/*
 * Replaces the spec of VM row->vr_name (row->vr_spec) when its revision is
 * expect_revision (0: any).  Bumps generation, assigns a new revision and
 * updated time; the full stored row is written back into *row (owner,
 * state, status, created time as stored).
 * ENOENT: no such VM.  ESTALE: revision differs.
 */
int db_vm_update_spec(struct db *db, struct db_vm_row *row,
		      uint64_t expect_revision, db_commit_hook hook, void *arg);

/*
 * Sets state and status of VM row->vr_name (row->vr_state, vr_status),
 * assigning a new revision; generation stays. The full row is written back.
 * ENOENT: no such VM.
 */
int db_vm_update_state(struct db *db, struct db_vm_row *row,
		       db_commit_hook hook, void *arg);

/*
 * db_vm_update_state told as event type (a "vm.*" name) instead of the
 * event the change of state implies: a change of status details that
 * has a name of its own (vm.autostart_failed).  The event's detail is
 * the stored status, as for every state event.
 */
int db_vm_update_state_as(struct db *db, struct db_vm_row *row,
			  const char *type, db_commit_hook hook, void *arg);

/*
 * Deletes VM name when its revision is expect_revision (0: any) and its
 * state is one of defined, stopped, crashed. The hook gets the deleted row.
 * ENOENT: no such VM.  ESTALE: revision differs.  EBUSY: it is running
 * (or starting, paused, stopping).
 */
int db_vm_delete(struct db *db, const char *name, uint64_t expect_revision,
		 db_commit_hook hook, void *arg);

/*
 * Counters of the writer: transactions committed and writes they held.
 * writes / commits > 1 means writes shared commits.
 */
void db_write_stats(struct db *db, uint64_t *commits, uint64_t *writes);

/*
 * Copies the database, online and consistent (SQLite's backup API, one
 * snapshot), into a new file dest (mode 0600; EEXIST when it exists),
 * synced to disk.  *revision: the revision counter the copy holds (every
 * VM and key in it has one at most that); *size: its bytes.  -1 with
 * errno (the file is removed).
 */
/*
 * What a restore from a backup left out (db_restore.c): revisions and
 * event ids that the database's lost timeline may have handed out and it
 * will never hand out again.
 */
enum db_lost_kind { DB_LOST_REVISION, DB_LOST_EVENT };

/* 1 when value (a revision or an event id) is one a restore left out. */
int db_lost(const struct db *db, enum db_lost_kind kind, uint64_t value);

/* The value that can follow value: value + 1, or past what a restore
 * left out when that begins at value + 1. */
uint64_t db_lost_next(const struct db *db, enum db_lost_kind kind,
		      uint64_t value);

int db_backup(struct db *db, const char *dest, uint64_t *revision,
	      uint64_t *size);

/* The upper bounds of db_commit_stats' buckets. */
#define DB_COMMIT_US_BUCKETS 14
extern const uint64_t db_commit_us_bounds[DB_COMMIT_US_BUCKETS]; /* µs */
#define DB_BATCH_BUCKETS 9
extern const unsigned db_batch_bounds[DB_BATCH_BUCKETS]; /* writes */

/*
 * The writer's commits as histograms, for /metrics: how long each COMMIT
 * took (the statement alone: the WAL's write and fsync), and how many
 * writes each transaction held.  Buckets are not cumulative; the last
 * of each counts what is past every bound.
 */
struct db_commit_stats {
	uint64_t cs_commits, cs_writes;
	uint64_t cs_us_sum; /* microseconds, all COMMITs together */
	uint64_t cs_us[DB_COMMIT_US_BUCKETS + 1];
	uint64_t cs_batch[DB_BATCH_BUCKETS + 1];
	uint64_t cs_batch_sum; /* writes, all commits together */
};

/* A copy of the writer's commit histograms, under its lock. */
void db_commit_stats(struct db *db, struct db_commit_stats *out);

/* Bearer tokens: only a hash is stored. */
struct db_token_row {
	char tr_id[33];            /* public id, hex */
	unsigned char tr_hash[32]; /* SHA-256 of the secret */
	uid_t tr_uid;
	char tr_gids[512]; /* comma-separated gids */
	char tr_jail[65];
	int64_t tr_created_ms;
	int64_t tr_expires_ms; /* 0: never */
	char tr_description[256];
};

/* Calls cb for every token (start-up), stops on cb's non-zero result. */
int db_token_load_all(struct db *db,
		      int (*cb)(void *arg, const struct db_token_row *row),
		      void *arg);

/* Inserts a token. EEXIST: the id or hash exists. */
int db_token_insert(struct db *db, const struct db_token_row *row);

/* Number of tokens stored, or -1 with errno. */
int64_t db_token_count(struct db *db);

/*
 * Images (core/images.c): the metadata of the files in the image store.
 * The store keeps the files; these rows say which of them are complete.
 */
struct db_image_row {
	char ir_name[65];
	uint64_t ir_size;      /* bytes */
	char ir_sha256[65];    /* lowercase hex */
	int64_t ir_created_ms; /* when this content was stored */
};

/*
 * Calls cb for every image row in name order (strcmp order), on the
 * caller's thread, from one read transaction.  Same rules for cb as
 * db_vm_load_all.  Returns 0, cb's non-zero result, or -1 with errno.
 */
int db_image_load_all(struct db *db,
		      int (*cb)(void *arg, const struct db_image_row *row),
		      void *arg);

/*
 * Inserts row, or replaces the row of that name, durably.
 * ir_created_ms 0 stores the current time, written back into *row.
 * *created (may be NULL) says whether no row of that name existed.
 * EINVAL: an empty or unterminated name or hash.
 */
int db_image_put(struct db *db, struct db_image_row *row, int *created);

/* Deletes image name's row, durably.  ENOENT: no such row. */
int db_image_delete(struct db *db, const char *name);

/* Deletes token id, durably.  ENOENT: no such token. */
int db_token_delete(struct db *db, const char *id);

/* Jails (core/jails.c): one row per jail. */
struct db_jail_row {
	char jr_name[65];
	int jr_allow_vmm;     /* 0 or 1 */
	int jr_allow_vmm_ppt; /* 0 or 1 */
	char jr_socket[108];  /* absolute path of its Unix socket, "" none */
	int64_t jr_created_ms;
};

/*
 * Calls cb for every jail row in name order, on the caller's thread, from
 * one read transaction.  Same rules for cb as db_vm_load_all.  Returns 0,
 * cb's non-zero result, or -1 with errno.
 */
int db_jail_load_all(struct db *db,
		     int (*cb)(void *arg, const struct db_jail_row *row),
		     void *arg);

/*
 * Inserts row, or replaces the flags and socket of the row of that name,
 * durably.  A new row's jr_created_ms 0 stores the current time; a
 * replaced row keeps its own.  Either way the stored creation time is
 * written back into *row, and *created (may be NULL) says whether no row
 * of that name existed.  EEXIST: another jail has that socket.  EINVAL:
 * an empty or unterminated name or socket, a flag other than 0 or 1.
 */
int db_jail_put(struct db *db, struct db_jail_row *row, int *created);

/* Deletes jail name's row, durably.  ENOENT: no such row. */
int db_jail_delete(struct db *db, const char *name);

/* The audit log: one row per mutating request (api/audit.c). */
struct db_audit_row {
	int64_t ar_id;      /* assigned by the database; ignored on append */
	int64_t ar_time_ms; /* when the request was answered */
	int64_t ar_uid;     /* -1: the caller is unknown */
	int64_t ar_gid;     /* -1: the caller is unknown */
	char ar_jail[65];   /* "" outside any jail */
	char ar_via[16];    /* "unix", "token", "" */
	char ar_method[16];
	const char *ar_path; /* path and query as received */
	int ar_status;
};

/*
 * Queues row (copied) to be appended to the audit log in the writer's
 * next transaction, and returns without waiting for the disk; waits only
 * when the writer is far behind.  A record whose transaction fails is
 * lost, with a log line saying so.  -1 with errno: ENOMEM, ESHUTDOWN
 * (db_close has begun), EINVAL (an unterminated string, a NULL path).
 */
int db_audit_append(struct db *db, const struct db_audit_row *row);

/*
 * Calls cb for at most limit audit rows, newest first, starting below id
 * before (0: with the newest), on the caller's thread.  Appends queued
 * before the call are waited for first, so a caller sees its own earlier
 * requests.  The row's ar_path is valid during the call only.  Returns
 * 0, cb's non-zero result, or -1 with errno.
 */
int db_audit_list(struct db *db, int64_t before, size_t limit,
		  int (*cb)(void *arg, const struct db_audit_row *row),
		  void *arg);

/* One guestinfo key of a VM (db/db_guestinfo.c). */
struct db_guestinfo_row {
	char gr_vm[VMKEY_SIZE]; /* the VM's key */
	char gr_key[LIMIT_GUESTINFO_KEY_LEN + 1];
	char *gr_value; /* gr_len bytes and a NUL; the row's (malloc'd) */
	size_t gr_len;
	uint64_t gr_revision; /* from the VMs' counter: the key's ETag */
	int64_t gr_updated_ms;
	int gr_by_guest; /* 0: written through the API; 1: by the guest */
};

/* Frees what row owns (its value). */
void db_guestinfo_row_clear(struct db_guestinfo_row *row);

/* A key a VM is created with (db_vm_insert_keys). */
struct db_guestinfo_kv {
	const char *gk_key;
	const char *gk_value; /* gk_len bytes */
	size_t gk_len;
};

/*
 * Sets row->gr_key of VM row->gr_vm to gr_value (gr_len bytes), durably,
 * as written by the API or the guest (gr_by_guest).  expect_revision 0:
 * whatever is there; UINT64_MAX: only when the key does not exist
 * (If-None-Match: *); else only when the key's revision is that.  Fills
 * gr_revision and gr_updated_ms; *created says whether the key is new.
 * ENOENT: no such VM.  ESTALE: the precondition failed.  EDQUOT: the VM
 * has LIMIT_GUESTINFO_KEYS keys and this one is new.  ENOSPC: the disk is
 * full.  EINVAL: a key or
 * value the table refuses.
 */
int db_guestinfo_put(struct db *db, struct db_guestinfo_row *row,
		     uint64_t expect_revision, int *created);

/*
 * Deletes key of VM vm, durably.  ENOENT: no such key.  ESTALE: its
 * revision is not expect_revision (0: any).
 */
int db_guestinfo_delete(struct db *db, const char *vm, const char *key,
			uint64_t expect_revision);

/* Key of VM vm into *out (caller clears).  ENOENT: no such key. */
int db_guestinfo_get(struct db *db, const char *vm, const char *key,
		     struct db_guestinfo_row *out);

/*
 * Calls cb for each key of VM vm in key order, on the caller's thread;
 * the row is valid during the call only.  0, cb's non-zero result, or -1
 * with errno.
 */
int db_guestinfo_list(struct db *db, const char *vm,
		      int (*cb)(void *arg, const struct db_guestinfo_row *row),
		      void *arg);

/*
 * PCI passthrough reservations (core/pptdevs.c), one row per device,
 * keyed by loader.conf's "bus/slot/func" (db/db_pptdevs.c).
 */
struct db_pptdev_row {
	unsigned pr_bus;         /* 0-255 */
	unsigned pr_slot;        /* 0-31 */
	unsigned pr_func;        /* 0-7 */
	char pr_address[17];     /* "dddd:bb:ss.f" when reserved, or "" */
	char pr_orig_driver[64]; /* driver before --ppt-bind, "" none */
	int pr_bound;            /* 1: the daemon bound it to vfio-pci */
	int64_t pr_created_ms;   /* 0 on insert: now, written back */
};

/*
 * Calls cb for every reservation in (bus, slot, func) order, on the
 * caller's thread, from one read transaction.  Returns 0, cb's non-zero
 * result, or -1 with errno.
 */
int db_pptdev_load_all(struct db *db,
		       int (*cb)(void *arg, const struct db_pptdev_row *row),
		       void *arg);

/*
 * Inserts row, durably.  EEXIST: the device is reserved already.
 * EINVAL: a number out of range, an unterminated string.
 */
int db_pptdev_insert(struct db *db, struct db_pptdev_row *row);

/* Deletes the reservation of bus/slot/func, durably.  ENOENT: none. */
int db_pptdev_delete(struct db *db, unsigned bus, unsigned slot, unsigned func);

/*
 * The event journal (db/db_events.c): every change is recorded as an
 * event in the same transaction as the change itself, so the journal
 * holds exactly the changes that committed.  Ids come from AUTOINCREMENT:
 * strictly increasing, never reused, even after pruning.
 */

/* Who is making the writes of the calling thread (db_actor_set). */
enum db_actor_kind {
	DB_ACTOR_DAEMON = 0, /* the daemon itself: start-up, a run ending */
	DB_ACTOR_API,        /* an HTTP caller */
	DB_ACTOR_GUEST,      /* a guest, through its backdoor channel */
};

struct db_actor {
	enum db_actor_kind da_kind;
	int64_t da_uid;    /* DB_ACTOR_API: the caller's uid */
	char da_jail[65];  /* "" outside any jail */
	char da_via[16];   /* "unix", "token" */
	char da_token[33]; /* the token's public id, "" none */
};

/*
 * Sets the actor every write submitted from the calling thread records
 * in its events, until set again; NULL: the daemon (the default of every
 * thread).  Thread-local: no lock.
 */
void db_actor_set(const struct db_actor *actor);

/* Who may see an event (api/events.c applies docs/access.md). */
enum db_event_scope {
	DB_EVENT_VM = 0,     /* a VM's: who may read that VM */
	DB_EVENT_IMAGES = 1, /* who may list images */
	DB_EVENT_ADMIN = 2,  /* host root: tokens, jails */
	DB_EVENT_ALL = 3,    /* every caller: the daemon started */
	DB_EVENT_PPT = 4,    /* who may use pptdevs: reservations */
};

/* One event as stored and as published. */
struct db_event {
	int64_t ev_id;
	int64_t ev_time_ms;
	char ev_type[32];
	enum db_event_scope ev_scope;
	char ev_vm[65];       /* the VM it is about (its name), "" none */
	char ev_jail[65];     /* that VM's jail */
	int64_t ev_owner_uid; /* that VM's owner, -1 none */
	const char *ev_data;  /* the JSON document, id included */
	size_t ev_data_len;
};

/*
 * Called on the writer's thread for each event of a committed write, in
 * id order, after the write's own commit hook.  ev is valid during the
 * call only.
 */
typedef void (*db_event_sink)(void *arg, const struct db_event *ev);

/*
 * Sets the sink (one; NULL: none) and the journal's bounds: keep at most
 * keep events (0: no count bound) and none older than max_age_ms (0: no
 * age bound).  Call before the first write that records an event.
 * Pruning happens in the transactions that add events (every
 * DB_EVENT_PRUNE_EVERY of them) and once here.
 */
int db_event_config(struct db *db, db_event_sink sink, void *arg, int64_t keep,
		    int64_t max_age_ms);

/*
 * The oldest event kept (0: none kept) and the newest id ever handed out
 * (0: none ever), as committed.
 */
int db_event_bounds(struct db *db, int64_t *oldest, int64_t *newest);

/*
 * Calls cb for at most limit events with after < id <= upto, in id order,
 * on the caller's thread (the reader connection); ev is valid during the
 * call.  0, cb's non-zero result, or -1 with errno.
 */
int db_event_list(struct db *db, int64_t after, int64_t upto, size_t limit,
		  int (*cb)(void *arg, const struct db_event *ev), void *arg);

/*
 * Records an event that comes with no other change (a VM reset, the
 * daemon's start), durably.  vm NULL: not about a VM (scope says who
 * sees it); else about VM vm, whose owner, jail, revision and state it
 * reads in the same transaction (ENOENT: no such VM).  detail: a JSON
 * object's text or NULL.
 */
int db_event_append(struct db *db, const char *type, enum db_event_scope scope,
		    const char *vm, const char *detail);

#endif
