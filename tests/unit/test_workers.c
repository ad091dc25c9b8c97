/*
 * server/workers.c: the pool that runs requests which may block.  Every
 * job runs exactly once; destroy runs what is still queued; threads start
 * when work waits and no thread is idle, never more than the maximum; a
 * stopping pool refuses new work with ESHUTDOWN.
 *
 * Threads of the pool are counted in /proc/self/task, so these tests need
 * Linux's procfs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/workers.h"

/* Upper bound on any wait in these tests; a pass takes milliseconds. */
#define WAIT_MS 10000

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Threads of this process. */
static int
count_threads(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Waits until the process has want threads: a joined thread can linger
 * in /proc for a moment after pthread_join returns.
 */
static void
wait_threads(int want)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (count_threads() != want) {
		if (now_ms() > deadline)
			fail_msg("%d threads, want %d", count_threads(), want);
		sleep_ms(1);
	}
}

/* Waits until *counter reaches want; fails after WAIT_MS. */
static void
wait_for(unsigned *counter, unsigned want)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want) {
		if (now_ms() > deadline)
			fail_msg("waited %d ms: %u of %u", WAIT_MS,
				 __atomic_load_n(counter, __ATOMIC_ACQUIRE),
				 want);
		sleep_ms(1);
	}
}

/* A job that counts its runs. */
struct count_job {
	struct work cj_work; /* first: the pool hands back this pointer */
	unsigned *cj_counter;
	unsigned cj_runs;
};

static void
count_run(struct work *wk)
{
	struct count_job *cj = (struct count_job *)wk;

	__atomic_add_fetch(&cj->cj_runs, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(cj->cj_counter, 1, __ATOMIC_ACQ_REL);
}

static void
test_workers__pool_of_zero_threads_is_einval(void **state)
{
	struct workers *w = NULL;

	errno = 0;
	assert_int_equal(workers_create(&w, 0), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_workers__every_job_runs_exactly_once(void **state)
{
	enum { N = 5000 };
	struct count_job *jobs = calloc(N, sizeof(*jobs));
	struct workers *w;
	unsigned done = 0;
	int i;

	assert_non_null(jobs);
	assert_int_equal(workers_create(&w, 4), 0);
	for (i = 0; i < N; i++) {
		jobs[i].cj_work.wk_fn = count_run;
		jobs[i].cj_counter = &done;
		assert_int_equal(workers_submit(w, &jobs[i].cj_work), 0);
	}
	/* All run without destroy's help. */
	wait_for(&done, N);
	workers_destroy(w);
	assert_int_equal(done, N);
	for (i = 0; i < N; i++)
		if (jobs[i].cj_runs != 1)
			fail_msg("job %d ran %u times", i, jobs[i].cj_runs);
	free(jobs);
}

struct submitter {
	struct workers *s_w;
	struct count_job *s_jobs;
	int s_n;
	int s_failed;
};

static void *
submit_all(void *arg)
{
	struct submitter *s = arg;
	int i;

	for (i = 0; i < s->s_n; i++)
		if (workers_submit(s->s_w, &s->s_jobs[i].cj_work) != 0)
			s->s_failed++;
	return NULL;
}

static void
test_workers__jobs_from_many_threads_all_run(void **state)
{
	enum { THREADS = 4, EACH = 1000 };
	struct count_job *jobs = calloc(THREADS * EACH, sizeof(*jobs));
	struct submitter s[THREADS];
	pthread_t t[THREADS];
	struct workers *w;
	unsigned done = 0;
	int i;

	assert_non_null(jobs);
	assert_int_equal(workers_create(&w, 8), 0);
	for (i = 0; i < THREADS * EACH; i++) {
		jobs[i].cj_work.wk_fn = count_run;
		jobs[i].cj_counter = &done;
	}
	for (i = 0; i < THREADS; i++) {
		s[i].s_w = w;
		s[i].s_jobs = jobs + i * EACH;
		s[i].s_n = EACH;
		s[i].s_failed = 0;
		assert_int_equal(pthread_create(&t[i], NULL, submit_all, &s[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].s_failed, 0);
	}
	wait_for(&done, THREADS * EACH);
	workers_destroy(w);
	for (i = 0; i < THREADS * EACH; i++)
		assert_int_equal(jobs[i].cj_runs, 1);
	free(jobs);
}

/*
 * A job that keeps queueing probes behind itself until the pool refuses
 * them, which it does once workers_destroy has begun.  With one thread
 * the probes cannot run before it returns, so they are exactly what
 * destroy finds queued.
 */
#define PROBES 20000

struct probe_job {
	struct work pj_work;
	struct workers *pj_w;
	struct count_job *pj_probes;
	unsigned pj_ran_probes; /* counter the probes bump */
	int pj_submitted;
	int pj_errno; /* of the refused submit; 0: never refused */
};

static void
probe_run(struct work *wk)
{
	struct probe_job *pj = (struct probe_job *)wk;
	uint64_t deadline = now_ms() + WAIT_MS;

	while (pj->pj_submitted < PROBES && now_ms() < deadline) {
		struct count_job *p = &pj->pj_probes[pj->pj_submitted];

		p->cj_work.wk_fn = count_run;
		p->cj_counter = &pj->pj_ran_probes;
		if (workers_submit(pj->pj_w, &p->cj_work) != 0) {
			pj->pj_errno = errno;
			return;
		}
		/* Atomic: the case waits for the first one. */
		__atomic_store_n(&pj->pj_submitted, pj->pj_submitted + 1,
				 __ATOMIC_RELEASE);
		sleep_ms(1);
	}
}

static void
test_workers__destroy_runs_what_is_queued(void **state)
{
	struct probe_job pj;
	struct workers *w;
	uint64_t deadline;

	memset(&pj, 0, sizeof(pj));
	pj.pj_probes = calloc(PROBES, sizeof(*pj.pj_probes));
	assert_non_null(pj.pj_probes);
	assert_int_equal(workers_create(&w, 1), 0);
	pj.pj_w = w;
	pj.pj_work.wk_fn = probe_run;
	assert_int_equal(workers_submit(w, &pj.pj_work), 0);
	/* Let some probes queue up behind the running job: on a loaded
	 * host its thread may take a while to start. */
	deadline = now_ms() + WAIT_MS;
	while (__atomic_load_n(&pj.pj_submitted, __ATOMIC_ACQUIRE) < 50 &&
	       now_ms() < deadline)
		sleep_ms(1);
	workers_destroy(w);

	/* The pool refused work once it was stopping... */
	assert_int_equal(pj.pj_errno, ESHUTDOWN);
	assert_true(pj.pj_submitted > 0);
	/* ...and ran every job it had accepted before it went away. */
	assert_int_equal(pj.pj_ran_probes, (unsigned)pj.pj_submitted);
	free(pj.pj_probes);
}

static void
test_workers__destroy_of_an_idle_pool_returns(void **state)
{
	struct count_job job = {{count_run, NULL}, NULL, 0};
	struct workers *w;
	unsigned done = 0;

	job.cj_counter = &done;
	assert_int_equal(workers_create(&w, 4), 0);
	workers_destroy(w); /* no thread ever started */

	assert_int_equal(workers_create(&w, 4), 0);
	assert_int_equal(workers_submit(w, &job.cj_work), 0);
	wait_for(&done, 1);
	workers_destroy(w); /* its thread is idle, waiting */
	assert_int_equal(job.cj_runs, 1);
	workers_destroy(NULL);
}

/* Jobs that wait for each other: all must run at the same time. */
struct meet_job {
	struct work mj_work;
	unsigned *mj_arrived;
	unsigned mj_want;
	int mj_met;
};

static void
meet_run(struct work *wk)
{
	struct meet_job *mj = (struct meet_job *)wk;
	uint64_t deadline = now_ms() + WAIT_MS;

	__atomic_add_fetch(mj->mj_arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(mj->mj_arrived, __ATOMIC_ACQUIRE) <
	       mj->mj_want) {
		if (now_ms() > deadline)
			return;
		sleep_ms(1);
	}
	mj->mj_met = 1;
}

static void
test_workers__threads_start_when_work_waits(void **state)
{
	enum { MAX = 6 };
	struct meet_job jobs[MAX];
	struct workers *w;
	unsigned arrived = 0;
	int before = count_threads(), i;

	assert_int_equal(workers_create(&w, MAX), 0);
	/* No work yet: no threads. */
	assert_int_equal(count_threads(), before);
	for (i = 0; i < MAX; i++) {
		jobs[i].mj_work.wk_fn = meet_run;
		jobs[i].mj_arrived = &arrived;
		jobs[i].mj_want = MAX;
		jobs[i].mj_met = 0;
		assert_int_equal(workers_submit(w, &jobs[i].mj_work), 0);
	}
	wait_for(&arrived, MAX);
	assert_int_equal(count_threads(), before + MAX);
	workers_destroy(w);
	for (i = 0; i < MAX; i++)
		if (!jobs[i].mj_met)
			fail_msg("job %d never ran alongside the others", i);
	/* Destroy joined them all. */
	wait_threads(before);
}

/* A job that records how many jobs run at once. */
struct busy {
	unsigned b_running, b_peak, b_done;
};

struct busy_job {
	struct work bj_work;
	struct busy *bj_busy;
};

static void
busy_run(struct work *wk)
{
	struct busy *b = ((struct busy_job *)wk)->bj_busy;
	unsigned now = __atomic_add_fetch(&b->b_running, 1, __ATOMIC_ACQ_REL);
	unsigned peak = __atomic_load_n(&b->b_peak, __ATOMIC_ACQUIRE);

	while (now > peak &&
	       !__atomic_compare_exchange_n(&b->b_peak, &peak, now, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	sleep_ms(5);
	__atomic_sub_fetch(&b->b_running, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&b->b_done, 1, __ATOMIC_ACQ_REL);
}

static void
test_workers__threads_never_exceed_the_maximum(void **state)
{
	enum { MAX = 3, N = 60 };
	struct busy_job jobs[N];
	struct busy b = {0, 0, 0};
	struct workers *w;
	int before = count_threads(), i, peak_threads = 0;

	assert_int_equal(workers_create(&w, MAX), 0);
	for (i = 0; i < N; i++) {
		jobs[i].bj_work.wk_fn = busy_run;
		jobs[i].bj_busy = &b;
		assert_int_equal(workers_submit(w, &jobs[i].bj_work), 0);
		if (count_threads() - before > peak_threads)
			peak_threads = count_threads() - before;
	}
	wait_for(&b.b_done, N);
	workers_destroy(w);
	assert_true(peak_threads <= MAX);
	assert_true(b.b_peak <= MAX);
	/* 60 jobs of 5 ms queued at once: more than one thread took them. */
	assert_true(b.b_peak > 1);
}

static void
test_workers__sequential_work_reuses_an_idle_thread(void **state)
{
	struct count_job job;
	struct workers *w;
	unsigned done = 0;
	int before = count_threads(), i;

	assert_int_equal(workers_create(&w, 64), 0);
	for (i = 0; i < 20; i++) {
		memset(&job, 0, sizeof(job));
		job.cj_work.wk_fn = count_run;
		job.cj_counter = &done;
		assert_int_equal(workers_submit(w, &job.cj_work), 0);
		wait_for(&done, (unsigned)i + 1);
		/* Give the thread time to go back to waiting. */
		sleep_ms(20);
	}
	/*
	 * One job at a time needs one thread; a few more only if a thread
	 * was slow to become idle, never one per job.
	 */
	assert_true(count_threads() - before >= 1);
	assert_true(count_threads() - before <= 3);
	workers_destroy(w);
}

/* A job that frees itself: the pool must not touch it afterwards. */
struct self_free_job {
	struct work sf_work;
	unsigned *sf_done;
};

static void
self_free_run(struct work *wk)
{
	struct self_free_job *sf = (struct self_free_job *)wk;
	unsigned *done = sf->sf_done;

	free(sf);
	__atomic_add_fetch(done, 1, __ATOMIC_ACQ_REL);
}

static void
test_workers__a_job_may_free_itself(void **state)
{
	enum { N = 500 };
	struct workers *w;
	unsigned done = 0;
	int i;

	assert_int_equal(workers_create(&w, 4), 0);
	for (i = 0; i < N; i++) {
		struct self_free_job *sf = calloc(1, sizeof(*sf));

		assert_non_null(sf);
		sf->sf_work.wk_fn = self_free_run;
		sf->sf_done = &done;
		assert_int_equal(workers_submit(w, &sf->sf_work), 0);
	}
	wait_for(&done, N);
	workers_destroy(w);
}

/* A job that queues a follow-up job on the same pool. */
struct chain_job {
	struct work ch_work;
	struct workers *ch_w;
	struct count_job *ch_next;
	int ch_rc;
};

static void
chain_run(struct work *wk)
{
	struct chain_job *ch = (struct chain_job *)wk;

	ch->ch_rc = workers_submit(ch->ch_w, &ch->ch_next->cj_work);
}

static void
test_workers__a_job_may_submit_more_work(void **state)
{
	struct count_job next;
	struct chain_job ch;
	struct workers *w;
	unsigned done = 0;

	memset(&next, 0, sizeof(next));
	next.cj_work.wk_fn = count_run;
	next.cj_counter = &done;
	assert_int_equal(workers_create(&w, 1), 0);
	memset(&ch, 0, sizeof(ch));
	ch.ch_work.wk_fn = chain_run;
	ch.ch_w = w;
	ch.ch_next = &next;
	ch.ch_rc = -2;
	assert_int_equal(workers_submit(w, &ch.ch_work), 0);
	/* One thread: the follow-up runs after the job that queued it. */
	wait_for(&done, 1);
	workers_destroy(w);
	assert_int_equal(ch.ch_rc, 0);
	assert_int_equal(next.cj_runs, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_workers__pool_of_zero_threads_is_einval),
	    cmocka_unit_test(test_workers__every_job_runs_exactly_once),
	    cmocka_unit_test(test_workers__jobs_from_many_threads_all_run),
	    cmocka_unit_test(test_workers__destroy_runs_what_is_queued),
	    cmocka_unit_test(test_workers__destroy_of_an_idle_pool_returns),
	    cmocka_unit_test(test_workers__threads_start_when_work_waits),
	    cmocka_unit_test(test_workers__threads_never_exceed_the_maximum),
	    cmocka_unit_test(
		test_workers__sequential_work_reuses_an_idle_thread),
	    cmocka_unit_test(test_workers__a_job_may_free_itself),
	    cmocka_unit_test(test_workers__a_job_may_submit_more_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
