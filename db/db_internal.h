/*
 * Private to db/: the database handle, the statement cache, the writer's
 * job queue and the SQLite error mapping.  Only the sources in db/,
 * tests/unit/test_db.c and tests/unit/test_audit.c (for writer jobs of
 * their own) include this.
 *
 * The files of db/, each calling only those listed after it:
 *
 *   db.c          db_open, db_close, db_ping: connections and pragmas
 *   db_vms.c, db_tokens.c, db_images.c, db_jails.c, db_audit.c
 *                 one table each: its rows, reads and writer jobs
 *   db_writer.c   the writer: group commit of jobs it knows nothing of
 *   db_migrate.c  the schema and its migrations
 *   db_stmt.c     statements, the read loop, the errno mapping
 *
 * Two connections:
 * - the writer connection (db_wconn) is used by db_open for pragmas and
 *   migrations, then only by the writer thread until db_close joins it;
 * - the reader connection (db_rconn, read-only) serves db_ping, the
 *   *_load_all functions, db_token_count and db_audit_list on the
 *   caller's thread, one caller at a time under db_rlock.  WAL lets it
 *   read while the writer writes, and a callback run from it may submit
 *   writes.
 */
#ifndef VMMAPID_DB_DB_INTERNAL_H
#define VMMAPID_DB_DB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db/db.h"

/* Jobs one transaction may hold; more wait for the next transaction. */
#define DB_BATCH_MAX 256

/*
 * Detached jobs (db_writer_submit_async) queued and not yet done; a
 * submitter past it waits for room, so a disk that cannot keep up slows
 * the callers down instead of filling memory.
 */
#define DB_ASYNC_MAX 8192

/* Slots of the statement cache; each connection has its own array. */
enum db_stmt_id {
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	DB_STMT_SAVEPOINT,
	DB_STMT_RELEASE,
	DB_STMT_ROLLBACK_TO,
	DB_STMT_PING,
	DB_STMT_NEXT_REVISION,
	DB_STMT_LOAD_REVISION,
	DB_STMT_VM_INSERT,
	DB_STMT_VM_UPDATE_SPEC,
	DB_STMT_VM_UPDATE_STATE,
	DB_STMT_VM_DELETE,
	DB_STMT_VM_PROBE,
	DB_STMT_VM_LOAD_ALL,
	DB_STMT_TOKEN_INSERT,
	DB_STMT_TOKEN_LOAD_ALL,
	DB_STMT_TOKEN_COUNT,
	DB_STMT_AUDIT_INSERT,
	DB_STMT_EVENT_INSERT,
	DB_STMT_COUNT
};

/* No slot: the statement is prepared for the call and finalized after. */
#define DB_STMT_NONE DB_STMT_COUNT

/* A connection and its prepared statements, prepared on first use. */
struct db_conn {
	sqlite3 *dc_sql;
	sqlite3_stmt *dc_stmts[DB_STMT_COUNT];
};

struct db_job;

/*
 * Runs one write on the writer thread, inside its own SAVEPOINT of the
 * current transaction.  Returns 0, or -1 with errno; on -1 the writer
 * rolls the savepoint back.
 */
typedef int (*db_job_fn)(struct db *db, struct db_job *job);

/*
 * One write waiting for, or going through, the writer.  Lives in the
 * submitting caller's frame; j_done and j_next are guarded by db_lock,
 * everything else belongs to the writer between submit and j_done.
 * A detached job (j_free set, db_writer_submit_async) lives on the heap
 * instead and belongs to the writer from submit on: nobody waits for it,
 * and the writer calls j_free(job) once its transaction ended, with
 * j_errno saying whether it committed.
 *
 * The writer knows nothing of tables: j_arg is the submitting table
 * file's (its arguments, and where its run leaves results), and so is
 * what j_committed does with it.
 */
struct db_job {
	db_job_fn j_run;
	void *j_arg; /* the submitter's: arguments and results */
	/* Called once the COMMIT holding a successful j_run returned, in
	 * commit order, on the writer's thread (db.h: commit hooks).  NULL:
	 * nothing to do then. */
	void (*j_committed)(struct db_job *job);
	int j_errno; /* 0: the write is committed */
	int j_done;
	pthread_cond_t j_cond; /* signalled when j_done is set */
	struct db_job *j_next;
	void (*j_free)(struct db_job *job); /* detached jobs only */
	/* Who submitted it (db_actor_set), and the events its run added
	 * (db_event_add), published once it committed; the writer's. */
	struct db_actor j_actor;
	struct db_event_node *j_events, **j_events_tail;
};

/*
 * How long detached jobs (audit records) wait for a write to share a
 * commit with before the writer commits them alone.
 */
#define DB_ASYNC_DELAY_MS 50

/* An event a job added, waiting for its COMMIT (db_events.c). */
struct db_event_node {
	struct db_event en_ev; /* en_ev.ev_data points into en_data */
	struct db_event_node *en_next;
	char en_data[];
};

/* Events between prunings of the journal (db_event_config). */
#define DB_EVENT_PRUNE_EVERY 64

/* Jobs waiting for a transaction, oldest first. */
struct db_queue {
	struct db_job *q_head;
	struct db_job *q_tail;
	size_t q_n;
};

struct db {
	char *db_path;
	struct db_conn db_wconn; /* writer thread only, once started */
	struct db_conn db_rconn; /* under db_rlock */
	pthread_mutex_t db_rlock;

	pthread_mutex_t db_lock;  /* guards the fields below */
	pthread_cond_t db_wake;   /* the writer waits here for jobs */
	struct db_queue db_sync;  /* queued writes someone waits for */
	struct db_queue db_async; /* queued detached jobs */
	size_t db_waiting;        /* callers inside db_writer_submit */
	pthread_cond_t db_idle;   /* db_waiting fell to 0 while stopping */
	int db_stopping;
	int db_started;
	int db_leading; /* a batch is being run (by a caller or the writer) */
	int db_async_urgent;    /* db_writer_flush_async waits: no delay */
	int64_t db_async_since; /* when the oldest of them was queued (ms) */
	int64_t db_async_last;  /* when the newest was queued (ms) */
	int db_writer_timed;    /* the writer waits on a timer, not a wake */
	pthread_t db_thread;
	uint64_t db_commits;
	uint64_t db_writes;
	struct db_commit_stats db_cstats; /* cs_commits, cs_writes unused */
	/* The last revision handed out; the leading thread's (db_vms.c). */
	uint64_t db_revision;
	/* Detached jobs ever queued and ever done (committed or failed):
	 * the writer finishes jobs in queue order, so done counts up to
	 * queued. */
	uint64_t db_async_queued;
	uint64_t db_async_done;
	pthread_cond_t db_async_cond; /* db_async_done grew, or stopping */
	/* The journal (db_events.c), set before writes by db_event_config;
	 * db_ev_added is the leading thread's. */
	db_event_sink db_ev_sink;
	void *db_ev_sink_arg;
	int64_t db_ev_keep;
	int64_t db_ev_max_age_ms;
	uint64_t db_ev_added;
	/* The headroom file (db_headroom.c); db_hr_fd -1: none. */
	int db_hr_fd;
	uint64_t db_hr_bytes;
	atomic_int db_hr_held; /* its space is allocated */
	/* Revisions and event ids a restore left out (db_restore.c): set
	 * at open, read-only after. */
	struct db_lost_range *db_lost;
	size_t db_nlost;
};

/* db_restore.c */

/* Values handed out by a timeline a restored database does not have. */
struct db_lost_range {
	enum db_lost_kind lr_kind;
	uint64_t lr_lo, lr_hi;
};

/*
 * At open, after the migrations and before the revision counter is
 * loaded: when the database is a copy POST /v1/admin/backup made (a
 * restore), moves the revision counter and the events' id sequence past
 * any value the lost timeline can have handed out, and records the
 * ranges skipped; then loads every range recorded.  -1 with errno.
 */
int db_restore_check(struct db *db);

/* db_stmt.c */

/*
 * The cached statement id of conn, prepared from sql on first use.  The
 * caller binds, steps, then calls db_stmt_done.  NULL with errno (and a
 * log line) when it does not prepare.
 */
sqlite3_stmt *db_stmt(struct db_conn *conn, enum db_stmt_id id,
		      const char *sql);

/* Resets st and clears its bindings so the cache can hand it out again. */
void db_stmt_done(sqlite3_stmt *st);

/*
 * Maps SQLite result rc on sql to errno and returns -1: UNIQUE and
 * PRIMARY KEY violations EEXIST, CHECK and NOT NULL violations EINVAL,
 * SQLITE_FULL ENOSPC, SQLITE_NOMEM ENOMEM, the rest EIO.  Logs what
 * failed with SQLite's message unless the errno speaks for itself.
 */
int db_fail(sqlite3 *sql, int rc, const char *what);

/* The errno db_fail sets for rc, without logging. */
int db_errno_of(int rc);

/* Prepares sql on conn into *st; -1 with errno (logged) when it fails. */
int db_prepare(struct db_conn *conn, const char *sql, sqlite3_stmt **st);

/* A query on the reader connection, as db_read_each runs it. */
struct db_query {
	enum db_stmt_id dq_id; /* cache slot, or DB_STMT_NONE */
	const char *dq_sql;
	/* Binds the query's values (NULL: it has none): SQLite's result. */
	int (*dq_bind)(void *arg, sqlite3_stmt *st);
	/* Takes one result row; a non-zero result stops the query. */
	int (*dq_each)(void *arg, sqlite3_stmt *st);
	const char *dq_what; /* what failed, for the log */
};

/*
 * Runs query q on the reader connection, under db_rlock, and calls
 * q->dq_each(arg, st) for every result row; stops at its first non-zero
 * result and returns it.  0 when every row was seen; -1 with errno
 * (logged) when the query failed.
 */
int db_read_each(struct db *db, const struct db_query *q, void *arg);

/* A dq_each that stores column 0 of the row, an integer, in *(int64_t *)arg. */
int db_each_int64(void *arg, sqlite3_stmt *st);

/*
 * On the writer connection (a job's run): runs sql, a write that takes
 * one text value ?1 = key, prepared for the call.  0, or -1 with errno:
 * ENOENT when it changed no row, else db_fail's (logged as what).
 */
int db_exec_key(struct db *db, const char *sql, const char *key,
		const char *what);

/*
 * On the writer connection: runs the query sql with ?1 = key.  1 when it
 * has a row (its first column, an integer, into *col0 unless NULL), 0
 * when not, -1 with errno (logged as what).
 */
int db_probe_key(struct db *db, const char *sql, const char *key, int64_t *col0,
		 const char *what);

/*
 * Runs text, a statement that takes no values (a pragma, BEGIN), to
 * completion on sql; copies the first column of its first row, if any,
 * into out (may be NULL).  -1 with errno, logged with db's path.
 */
int db_exec_one(struct db *db, sqlite3 *sql, const char *text, char *out,
		size_t outsz);

/*
 * Copies column col of st (TEXT) into dst of size dstsz.  EIO when the
 * stored value does not fit, which only a database edited by hand has.
 */
int db_column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsz);

/*
 * Reads column col of st, a VM state's name, into *state.  EIO when it
 * names no state (a database edited by hand, or by a newer daemon).
 */
int db_column_state(sqlite3_stmt *st, int col, enum vm_state *state);

/* Whether s has a NUL within its size bytes (a fixed-size member is a C
 * string). */
int db_is_cstr(const char *s, size_t size);

/* db_migrate.c */

/*
 * Takes the database on db's writer connection to this build's schema
 * version.  EPROTO: it is newer than this build.  -1 with errno, logged.
 */
int db_migrate(struct db *db);

/* db_writer.c */

/* Starts the writer thread on db->db_wconn. -1 with errno. */
int db_writer_start(struct db *db);

/* Lets the writer finish every queued job, then joins it. */
void db_writer_stop(struct db *db);

/*
 * Queues job (j_run, j_arg, j_committed set by the caller) and waits
 * until the writer has finished it: 0 once the COMMIT holding it returned
 * and its j_committed ran, else -1 with the job's errno.
 * ESHUTDOWN once db_close has begun; EDEADLK on the writer thread (from a
 * commit hook).
 */
int db_writer_submit(struct db *db, struct db_job *job);

/*
 * db_writer_submit of a job of run with arg and nothing to do at the
 * commit: the common write of a table file.
 */
int db_writer_run(struct db *db, db_job_fn run, void *arg);

/*
 * Queues job, allocated by the caller with j_run, j_arg and j_free set
 * (no j_committed), and returns without waiting for it: the writer runs
 * it in the next transaction, together with the other jobs queued then,
 * and calls j_free(job) once that transaction committed or failed.  Waits
 * only while DB_ASYNC_MAX detached jobs are pending.  -1 ESHUTDOWN once
 * db_close has begun; the job is then still the caller's.
 */
int db_writer_submit_async(struct db *db, struct db_job *job);

/*
 * Waits until every detached job queued before the call is done (its
 * transaction committed or failed), so a read that follows sees them.
 * Any thread but the writer's (EDEADLK).
 */
int db_writer_flush_async(struct db *db);

/* Jobs queued and not yet taken by the writer (tests, metrics). */
size_t db_writer_queued(struct db *db);

/*
 * db_vms.c: the revision counter every revisioned row takes from (VMs,
 * guestinfo keys), on the writer thread: next gives the value a write
 * would take, took(rc) keeps it once the write succeeded (rc 0), save
 * records the counter in meta before a delete, so that a restart never
 * hands out a revision a deleted row had.
 */
int db_vm_next_revision(struct db *db, uint64_t *revision);
int db_vm_took_revision(struct db *db, uint64_t revision, int rc);
int db_vm_save_revision(struct db *db);

/*
 * db_guestinfo.c, on the writer thread inside a job: sets kv of VM vm as
 * written by the API or the guest, with the next revision; fills
 * *revision and *now (ms).  -1 with errno.
 */
int db_guestinfo_write(struct db *db, const char *vm,
		       const struct db_guestinfo_kv *kv, int by_guest,
		       uint64_t *revision, int64_t *now);

/*
 * db_guestinfo.c, on the writer thread inside job's run: records event
 * type (guestinfo.set, guestinfo.deleted) about key of VM vm, whose
 * revision is the key's (0: none).  -1 with errno.
 */
int db_guestinfo_event(struct db *db, struct db_job *job, const char *type,
		       const char *vm, const char *key, uint64_t revision);

/*
 * db_events.c, on the writer thread inside job's run: records an event
 * in the journal and keeps it in job for publishing after the COMMIT.
 * The VM fields say whom it is about (vm NULL: no VM); revision 0 and
 * state VM_NSTATES leave those out; detail is a JSON object's text or
 * NULL.  -1 with errno: the job fails, and so its change.
 */
struct db_event_in {
	const char *ei_type;
	enum db_event_scope ei_scope;
	const char *ei_kind;   /* the target's kind: "vm", "image", ... */
	const char *ei_target; /* its name or id */
	const char *ei_vm;     /* the VM it is about, NULL none */
	const char *ei_jail;   /* that VM's jail (NULL: read from vms) */
	int64_t ei_owner_uid;
	uint64_t ei_revision;
	uint64_t ei_generation;
	enum vm_state ei_state;
	const char *ei_detail;
};
int db_event_add(struct db *db, struct db_job *job,
		 const struct db_event_in *in);

/* db_event_add of an event about no VM: kind target, with detail. */
int db_event_simple(struct db *db, struct db_job *job, const char *type,
		    enum db_event_scope scope, const char *kind,
		    const char *target, const char *detail);

/* db_events.c: frees the events a job added (not published). */
void db_event_drop(struct db_job *job);

/* db_events.c: publishes and frees the events of a committed job. */
void db_event_publish(struct db *db, struct db_job *job);

/* db_events.c: the calling thread's actor into job (submit). */
void db_event_actor_take(struct db_job *job);

/* db_vms.c: sets db_revision past every revision ever handed out. */
int db_vm_load_revision(struct db *db);

/*
 * How many audit records are kept (LIMIT_AUDIT_RECORDS; n <= 0: that
 * again): for tests, which cannot write 100,000 records to see it.
 */
void db_audit_keep_set(int64_t n);

#endif
