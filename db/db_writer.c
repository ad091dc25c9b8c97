/*
 * Group commit, leader and followers.
 *
 * A caller queues its job.  When no batch is being committed, the caller
 * itself leads: it takes every job queued at that moment (at most
 * DB_BATCH_MAX), runs them in one BEGIN IMMEDIATE transaction, each
 * inside its own SAVEPOINT so a failing job is rolled back alone, and
 * COMMITs once; only after COMMIT returned does it run the commit hooks,
 * in job order, and wake the other callers of the batch.  Callers that
 * arrive while a batch commits wait; the jobs they queued form the next
 * batch, which the writer thread leads.  A lone write thus costs no
 * hand-off between threads, and concurrent writes still share commits.
 * There is no timer: batches form from the jobs that queue while the
 * previous COMMIT waits for its fsync, so a lone write is never delayed.
 *
 * Detached jobs (the audit log's appends) queue apart and nobody sleeps
 * on them: the writer thread commits them together, DB_ASYNC_DELAY_MS
 * after the first, along with any writes queued by then, frees each once
 * its transaction is over, and counts them done so that a reader can
 * wait for them.  A caller leading its own write leaves them queued: they
 * would add their table's pages to every commit someone waits for.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

/* Steps a transaction-control statement; returns SQLite's result. */
static int
db_writer_exec(struct db *db, enum db_stmt_id id, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(&db->db_wconn, id, sql)) == NULL)
		return errno == ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
	rc = sqlite3_step(st);
	db_stmt_done(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
db_writer_rollback(struct db *db)
{
	int rc;

	if (sqlite3_get_autocommit(db->db_wconn.dc_sql))
		return 0;
	rc = db_writer_exec(db, DB_STMT_ROLLBACK, "ROLLBACK");
	if (rc != SQLITE_OK)
		return db_fail(db->db_wconn.dc_sql, rc, "ROLLBACK");
	return 0;
}

/*
 * Runs job inside a savepoint of the open transaction and sets its
 * j_errno; alone: the transaction holds this job only, so it needs no
 * savepoint (db_writer_commit rolls back a transaction whose jobs all
 * failed).  Returns 1 when the transaction is gone (SQLite rolls a whole
 * transaction back on some errors, e.g. SQLITE_FULL or an I/O error), so
 * the jobs before it in the transaction are lost too; else 0.
 */
static int
db_writer_run_job(struct db *db, struct db_job *job, int alone)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	int rc;

	if (alone) {
		/* The only job: a failure rolls the transaction back. */
		errno = 0;
		if (job->j_run(db, job) == 0) {
			job->j_errno = 0;
			return 0;
		}
		job->j_errno = errno != 0 ? errno : EIO;
		return sqlite3_get_autocommit(sql) ? 1 : 0;
	}
	rc = db_writer_exec(db, DB_STMT_SAVEPOINT, "SAVEPOINT db_job");
	if (rc != SQLITE_OK) {
		db_fail(sql, rc, "SAVEPOINT");
		job->j_errno = errno;
		return sqlite3_get_autocommit(sql) ? 1 : 0;
	}
	errno = 0;
	if (job->j_run(db, job) == 0) {
		rc = db_writer_exec(db, DB_STMT_RELEASE, "RELEASE db_job");
		if (rc == SQLITE_OK) {
			job->j_errno = 0;
			return 0;
		}
		db_fail(sql, rc, "RELEASE");
	}
	job->j_errno = errno != 0 ? errno : EIO;
	if (sqlite3_get_autocommit(sql))
		return 1;
	/* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
	rc = db_writer_exec(db, DB_STMT_ROLLBACK_TO, "ROLLBACK TO db_job");
	if (rc == SQLITE_OK)
		rc = db_writer_exec(db, DB_STMT_RELEASE, "RELEASE db_job");
	if (rc != SQLITE_OK) {
		db_fail(sql, rc, "ROLLBACK TO");
		return 1;
	}
	return 0;
}

const uint64_t db_commit_us_bounds[DB_COMMIT_US_BUCKETS] = {
    50,    100,   250,   500,    1000,   2500,    5000,
    10000, 25000, 50000, 100000, 250000, 1000000, 5000000};
const unsigned db_batch_bounds[DB_BATCH_BUCKETS] = {1,  2,  4,   8,  16,
						    32, 64, 128, 256};

/* Counts a COMMIT of us microseconds holding writes jobs. */
static void
db_writer_measure(struct db *db, uint64_t us, size_t writes)
{
	struct db_commit_stats *cs = &db->db_cstats;
	size_t b, w;

	for (b = 0; b < DB_COMMIT_US_BUCKETS && us > db_commit_us_bounds[b];
	     b++)
		;
	for (w = 0; w < DB_BATCH_BUCKETS && writes > db_batch_bounds[w]; w++)
		;
	pthread_mutex_lock(&db->db_lock);
	cs->cs_us_sum += us;
	cs->cs_us[b]++;
	cs->cs_batch[w]++;
	cs->cs_batch_sum += writes;
	pthread_mutex_unlock(&db->db_lock);
}

/*
 * Commits the transaction holding jobs[0..n-1] and, once COMMIT returned,
 * runs the successful jobs' hooks in order.  A transaction in which every
 * job failed is rolled back instead: there is nothing to make durable.
 */
static void
db_writer_commit(struct db *db, struct db_job **jobs, size_t n,
		 uint64_t *commits, uint64_t *writes)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	size_t i, ok = 0;
	uint64_t t0;
	int rc, err;

	for (i = 0; i < n; i++)
		if (jobs[i]->j_errno == 0)
			ok++;
	if (ok == 0) {
		(void)db_writer_rollback(db);
		return;
	}
	t0 = timefmt_mono_us();
	rc = db_writer_exec(db, DB_STMT_COMMIT, "COMMIT");
	if (rc == SQLITE_OK)
		db_writer_measure(db, timefmt_mono_us() - t0, ok);
	if (rc != SQLITE_OK) {
		db_fail(sql, rc, "COMMIT");
		/* ENOSPC tells the operator more than EIO does */
		err = errno == ENOSPC ? ENOSPC : EIO;
		(void)db_writer_rollback(db);
		for (i = 0; i < n; i++)
			if (jobs[i]->j_errno == 0)
				jobs[i]->j_errno = err;
		return;
	}
	(*commits)++;
	*writes += ok;
	for (i = 0; i < n; i++) {
		if (jobs[i]->j_errno != 0)
			continue;
		if (jobs[i]->j_committed != NULL)
			jobs[i]->j_committed(jobs[i]);
		/* After the hook: whoever an event wakes sees the change. */
		db_event_publish(db, jobs[i]);
	}
}

/*
 * Runs a batch: normally one transaction.  When SQLite drops the
 * transaction half-way, the jobs it held fail and the rest run in a new
 * one.  They fail with EIO, or with ENOSPC when the job that lost it
 * failed for want of space: their callers hear that the disk is full
 * (507), not of an internal error, and db_writer_retry_full runs them
 * again.
 */
static void
db_writer_batch(struct db *db, struct db_job **jobs, size_t n,
		uint64_t *commits, uint64_t *writes)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	size_t i = 0, start, k;
	int rc, lost, err;

	while (i < n) {
		start = i;
		rc = db_writer_exec(db, DB_STMT_BEGIN, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK) {
			db_fail(sql, rc, "BEGIN IMMEDIATE");
			for (; i < n; i++)
				jobs[i]->j_errno = errno;
			(void)db_writer_rollback(db);
			return;
		}
		lost = 0;
		while (i < n && !lost) {
			lost = db_writer_run_job(db, jobs[i], start + 1 == n);
			i++;
		}
		if (lost) {
			(void)db_writer_rollback(db);
			/* jobs[i - 1] lost it and keeps its own errno */
			err = jobs[i - 1]->j_errno == ENOSPC ? ENOSPC : EIO;
			for (k = start; k + 1 < i; k++)
				if (jobs[k]->j_errno == 0)
					jobs[k]->j_errno = err;
			continue;
		}
		db_writer_commit(db, jobs + start, i - start, commits, writes);
	}
}

/*
 * When jobs of the batch failed for want of space and the headroom was
 * held (db_headroom.c), frees it and runs them once more: those that
 * failed with ENOSPC (with the jobs that lost their transaction with
 * them), and those that failed with EIO.  Every failed job was rolled
 * back, so running it again is safe for the database; a job's run must
 * leave its results (j_arg) as one run would, and the events its first
 * run added went with its transaction, so they are dropped here, or the
 * commit would publish them beside the second run's
 * (tests/unit/test_db_full.c).
 */
static void
db_writer_retry_full(struct db *db, struct db_job **jobs, size_t n,
		     uint64_t *commits, uint64_t *writes)
{
	struct db_job *again[DB_BATCH_MAX];
	size_t i, k = 0;
	int full = 0;

	for (i = 0; i < n; i++)
		if (jobs[i]->j_errno == ENOSPC)
			full = 1;
	if (!full || !db_headroom_release(db))
		return;
	for (i = 0; i < n && k < DB_BATCH_MAX; i++)
		if (jobs[i]->j_errno == ENOSPC || jobs[i]->j_errno == EIO) {
			jobs[i]->j_errno = 0;
			db_event_drop(jobs[i]);
			again[k++] = jobs[i];
		}
	db_writer_batch(db, again, k, commits, writes);
}

/* Set while this thread runs a batch: a write from a commit hook would
 * wait for itself. */
static _Thread_local int db_writer_in_batch;

/* Moves up to max jobs from the head of q to batch; returns how many. */
static size_t
db_queue_take(struct db_queue *q, struct db_job **batch, size_t max)
{
	size_t n = 0;

	while (n < max && q->q_head != NULL) {
		batch[n] = q->q_head;
		q->q_head = q->q_head->j_next;
		batch[n++]->j_next = NULL;
	}
	if (q->q_head == NULL)
		q->q_tail = NULL;
	q->q_n -= n;
	return n;
}

static void
db_queue_put(struct db_queue *q, struct db_job *job)
{
	if (q->q_tail != NULL)
		q->q_tail->j_next = job;
	else
		q->q_head = job;
	q->q_tail = job;
	q->q_n++;
}

/*
 * Leads one batch: the jobs queued now, committed together.  db_lock is
 * held on entry and on return, released while the batch runs.  A caller
 * leads only the writes someone waits for (sync_only): a detached job
 * would add its table's pages to that caller's commit, and the writer
 * thread commits the detached ones together a little later.
 */
static void
db_writer_lead(struct db *db, int sync_only)
{
	struct db_job *batch[DB_BATCH_MAX];
	uint64_t commits, writes;
	size_t n, i, ndetached;

	assert(!db->db_leading && db->db_sync.q_n + db->db_async.q_n > 0);
	db->db_leading = 1;
	n = db_queue_take(&db->db_sync, batch, DB_BATCH_MAX);
	if (!sync_only) {
		n += db_queue_take(&db->db_async, batch + n, DB_BATCH_MAX - n);
		db->db_async_urgent = 0;
	}
	pthread_mutex_unlock(&db->db_lock);

	commits = writes = 0;
	db_writer_in_batch = 1;
	db_writer_batch(db, batch, n, &commits, &writes);
	db_writer_retry_full(db, batch, n, &commits, &writes);
	db_writer_in_batch = 0;

	/* Detached jobs are the writer's: their transaction is over. */
	ndetached = 0;
	for (i = 0; i < n; i++) {
		/* Events of jobs that did not commit (published: none). */
		db_event_drop(batch[i]);
		if (batch[i]->j_free == NULL)
			continue;
		batch[i]->j_free(batch[i]);
		batch[i] = NULL;
		ndetached++;
	}

	pthread_mutex_lock(&db->db_lock);
	db->db_commits += commits;
	db->db_writes += writes;
	if (ndetached > 0) {
		db->db_async_done += ndetached;
		pthread_cond_broadcast(&db->db_async_cond);
	}
	/*
	 * Signalled under db_lock: a caller cannot see j_done, return
	 * and destroy j_cond until we unlock, after the signal.
	 */
	for (i = 0; i < n; i++) {
		if (batch[i] == NULL)
			continue;
		batch[i]->j_done = 1;
		pthread_cond_signal(&batch[i]->j_cond);
	}
	db->db_leading = 0;
	/*
	 * What queued meanwhile is the writer thread's to lead: writes
	 * someone waits for at once, detached ones when its timer says.
	 */
	if (db->db_sync.q_n > 0 || db->db_stopping ||
	    (db->db_async.q_n > 0 && !db->db_writer_timed))
		pthread_cond_signal(&db->db_wake);
}

/* Waits on db_wake until due (CLOCK_REALTIME ms).  db_lock held. */
static void
db_writer_wait_until(struct db *db, int64_t due)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(due / 1000);
	ts.tv_nsec = (long)(due % 1000) * 1000000L;
	pthread_cond_timedwait(&db->db_wake, &db->db_lock, &ts);
}

/*
 * The writer thread leads what no caller leads: batches queued while
 * another committed, and detached jobs (audit records).  Those get
 * DB_ASYNC_DELAY_MS to ride in the commit of a write someone waits for
 * rather than cost an fsync of their own after every request.  While
 * they keep coming, the writer keeps a timer instead of being woken for
 * each one (db_writer_timed).
 */
static void *
db_writer_main(void *arg)
{
	struct db *db = arg;

	pthread_mutex_lock(&db->db_lock);
	for (;;) {
		int64_t now = timefmt_now_ms();
		int ready =
		    db->db_sync.q_n + db->db_async.q_n > 0 && !db->db_leading;

		if (ready && (db->db_sync.q_n > 0 || db->db_async_urgent ||
			      db->db_stopping ||
			      now >= db->db_async_since + DB_ASYNC_DELAY_MS)) {
			db_writer_lead(db, 0);
			continue;
		}
		if (db->db_stopping &&
		    db->db_sync.q_n + db->db_async.q_n == 0 && !db->db_leading)
			break;
		if (ready) {
			db->db_writer_timed = 1;
			db_writer_wait_until(db, db->db_async_since +
						     DB_ASYNC_DELAY_MS);
		} else if (db->db_writer_timed && !db->db_stopping &&
			   now < db->db_async_last + DB_ASYNC_DELAY_MS) {
			/* Records came lately: more will, keep the timer. */
			db_writer_wait_until(db, db->db_async_last +
						     DB_ASYNC_DELAY_MS);
		} else {
			db->db_writer_timed = 0;
			pthread_cond_wait(&db->db_wake, &db->db_lock);
		}
	}
	pthread_mutex_unlock(&db->db_lock);
	return NULL;
}

/*
 * Starts the writer thread with every signal blocked, so that process
 * signals go to the threads that wait for them.
 */
int
db_writer_start(struct db *db)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&db->db_thread, NULL, db_writer_main, db);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("db: writer thread: %s", strerror(rc));
		errno = rc;
		return -1;
	}
	db->db_started = 1;
	return 0;
}

/*
 * Refuses new jobs, lets the writer finish the queued ones, joins it, and
 * waits until every woken caller has left db_writer_submit.
 */
void
db_writer_stop(struct db *db)
{
	pthread_mutex_lock(&db->db_lock);
	if (!db->db_started || db->db_stopping) {
		pthread_mutex_unlock(&db->db_lock);
		return;
	}
	db->db_stopping = 1;
	pthread_cond_signal(&db->db_wake);
	/* Submitters waiting for room give up; flushes wait for the drain. */
	pthread_cond_broadcast(&db->db_async_cond);
	pthread_mutex_unlock(&db->db_lock);
	pthread_join(db->db_thread, NULL);

	/* Woken callers still need db_lock on their way out. */
	pthread_mutex_lock(&db->db_lock);
	while (db->db_waiting > 0)
		pthread_cond_wait(&db->db_idle, &db->db_lock);
	pthread_mutex_unlock(&db->db_lock);
}

/*
 * Queues job; a detached one wakes the writer (nobody waits for it, so
 * the writer must lead it) unless the writer already keeps a timer.
 * db_lock held.
 */
static void
db_writer_enqueue(struct db *db, struct db_job *job)
{
	if (job->j_free == NULL) {
		db_queue_put(&db->db_sync, job);
		return;
	}
	db_queue_put(&db->db_async, job);
	if (!db->db_leading && !db->db_writer_timed)
		pthread_cond_signal(&db->db_wake);
}

/*
 * A caller leaves db_writer_submit*: the last one out while db_close
 * waits says so.  Releases db_lock, held on entry.
 */
static void
db_writer_leave(struct db *db)
{
	if (--db->db_waiting == 0 && db->db_stopping)
		pthread_cond_signal(&db->db_idle);
	pthread_mutex_unlock(&db->db_lock);
}

/*
 * Queues job and returns when it is committed (or failed): leading the
 * batch when none runs, else waiting for the one that takes it.  Not from
 * a commit hook: that write gets EDEADLK.
 */
int
db_writer_submit(struct db *db, struct db_job *job)
{
	int err;

	assert(job->j_run != NULL && job->j_free == NULL);
	job->j_errno = 0;
	job->j_done = 0;
	job->j_next = NULL;
	job->j_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	db_event_actor_take(job);

	pthread_mutex_lock(&db->db_lock);
	if (!db->db_started || db->db_stopping) {
		pthread_mutex_unlock(&db->db_lock);
		errno = ESHUTDOWN;
		return -1;
	}
	/* from a commit hook: the leader would wait for itself */
	if (db_writer_in_batch) {
		pthread_mutex_unlock(&db->db_lock);
		log_warnx("db: a write from the writer thread (a commit "
			  "hook?) would deadlock");
		errno = EDEADLK;
		return -1;
	}
	db_writer_enqueue(db, job);
	db->db_waiting++;
	while (!job->j_done) {
		if (!db->db_leading)
			db_writer_lead(db, 1); /* this job, or older ones */
		else
			pthread_cond_wait(&job->j_cond, &db->db_lock);
	}
	err = job->j_errno;
	db_writer_leave(db);
	pthread_cond_destroy(&job->j_cond);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* A job of run with arg, submitted and waited for; see db_internal.h. */
int
db_writer_run(struct db *db, db_job_fn run, void *arg)
{
	struct db_job job;

	memset(&job, 0, sizeof(job));
	job.j_run = run;
	job.j_arg = arg;
	return db_writer_submit(db, &job);
}

/*
 * Queues a detached job; see db_internal.h.  From the writer thread (a
 * commit hook) it never waits for room: the writer would wait for itself.
 */
int
db_writer_submit_async(struct db *db, struct db_job *job)
{
	int on_writer;

	assert(job->j_run != NULL && job->j_free != NULL);
	assert(job->j_committed == NULL);
	job->j_errno = 0;
	job->j_done = 0;
	job->j_next = NULL;
	db_event_actor_take(job);

	pthread_mutex_lock(&db->db_lock);
	on_writer = db->db_started && db_writer_in_batch;
	db->db_waiting++;
	while (!on_writer && db->db_started && !db->db_stopping &&
	       db->db_async_queued - db->db_async_done >= DB_ASYNC_MAX)
		pthread_cond_wait(&db->db_async_cond, &db->db_lock);
	if (!db->db_started || db->db_stopping) {
		db_writer_leave(db);
		errno = ESHUTDOWN;
		return -1;
	}
	db->db_async_last = timefmt_now_ms();
	if (db->db_async.q_n == 0)
		db->db_async_since = db->db_async_last; /* the oldest waiting */
	db_writer_enqueue(db, job);
	db->db_async_queued++;
	db_writer_leave(db);
	return 0;
}

/*
 * Waits until the detached jobs queued so far are done.  The writer
 * drains the queue even while stopping, so this always ends.
 */
int
db_writer_flush_async(struct db *db)
{
	uint64_t target;

	pthread_mutex_lock(&db->db_lock);
	if (db->db_started && db_writer_in_batch) {
		pthread_mutex_unlock(&db->db_lock);
		errno = EDEADLK;
		return -1;
	}
	target = db->db_async_queued;
	/* Someone waits for them: no delay for company. */
	db->db_async_urgent = 1;
	pthread_cond_signal(&db->db_wake);
	db->db_waiting++;
	while (db->db_async_done < target)
		pthread_cond_wait(&db->db_async_cond, &db->db_lock);
	db_writer_leave(db);
	return 0;
}

/*
 * Jobs queued and not yet taken by the writer.
 */
size_t
db_writer_queued(struct db *db)
{
	size_t n;

	pthread_mutex_lock(&db->db_lock);
	n = db->db_sync.q_n + db->db_async.q_n;
	pthread_mutex_unlock(&db->db_lock);
	return n;
}

/*
 * Whether a batch is being committed or writes wait: a write now would
 * wait for a commit rather than lead its own.  Detached jobs waiting for
 * company (audit records) do not count: a write now leads them along.
 */
int
db_writer_busy(struct db *db)
{
	int busy;

	pthread_mutex_lock(&db->db_lock);
	busy = db->db_leading || db->db_sync.q_n > 0;
	pthread_mutex_unlock(&db->db_lock);
	return busy;
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

void
db_commit_stats(struct db *db, struct db_commit_stats *out)
{
	pthread_mutex_lock(&db->db_lock);
	*out = db->db_cstats;
	out->cs_commits = db->db_commits;
	out->cs_writes = db->db_writes;
	pthread_mutex_unlock(&db->db_lock);
}
