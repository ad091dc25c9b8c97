/*
 * Objects made ahead of need (see spare.h).
 */
#include "vmm-driver/spare.h"

#include "base/log.h"
#include "base/timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A refill waits this long after the last take: the start that took the
 * spare is through by then (~1 ms on this PVM host, far less on hardware
 * KVM), and the refill does not compete with it for the CPU or for the
 * kernel locks VM creation takes (mmap_lock among them, which every page
 * fault of the daemon needs too).
 */
#define SPARE_QUIET_US 1000ULL

/* After a failed make, the next try waits this long. */
#define SPARE_RETRY_US 1000000ULL

struct spare_pool {
	spare_make_fn sp_make;
	spare_discard_fn sp_discard;
	unsigned sp_target;
	pthread_t sp_thread;
	/* sp_lock guards everything below. */
	pthread_mutex_t sp_lock;
	pthread_cond_t sp_cond; /* a take, or sp_stop; CLOCK_MONOTONIC */
	void *sp_ready[VMM_SPARES_MAX];
	unsigned sp_nready;
	int sp_stop;
	int sp_warned;         /* a failure logged, none succeeded since */
	uint64_t sp_last_take; /* monotonic µs */
	unsigned long sp_taken, sp_missed, sp_failed;
};

/* Waits on sp_cond for a take, sp_stop, or until (µs).  sp_lock held. */
static void
spare_wait_until(struct spare_pool *sp, uint64_t until)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(until / 1000000);
	ts.tv_nsec = (long)(until % 1000000) * 1000;
	(void)pthread_cond_timedwait(&sp->sp_cond, &sp->sp_lock, &ts);
}

static void *
spare_main(void *arg)
{
	struct spare_pool *sp = arg;
	uint64_t now;
	void *obj;
	int err;

	pthread_mutex_lock(&sp->sp_lock);
	while (!sp->sp_stop) {
		if (sp->sp_nready >= sp->sp_target) {
			pthread_cond_wait(&sp->sp_cond, &sp->sp_lock);
			continue;
		}
		/* Not while the start that took one is still under way. */
		now = timefmt_mono_us();
		if (now < sp->sp_last_take + SPARE_QUIET_US) {
			spare_wait_until(sp, sp->sp_last_take + SPARE_QUIET_US);
			continue;
		}
		pthread_mutex_unlock(&sp->sp_lock);
		obj = sp->sp_make();
		err = errno;
		pthread_mutex_lock(&sp->sp_lock);
		if (obj == NULL) {
			sp->sp_failed++;
			if (!sp->sp_warned)
				log_warnx("spare: making one ahead failed "
					  "(%s); retrying every %llu s",
					  strerror(err),
					  SPARE_RETRY_US / 1000000);
			sp->sp_warned = 1;
			spare_wait_until(sp,
					 timefmt_mono_us() + SPARE_RETRY_US);
			continue;
		}
		sp->sp_warned = 0;
		sp->sp_ready[sp->sp_nready++] = obj;
	}
	pthread_mutex_unlock(&sp->sp_lock);
	return NULL;
}

/*
 * Starts the pool; see spare.h.
 */
int
spare_pool_open(struct spare_pool **out, unsigned target, spare_make_fn make,
		spare_discard_fn discard)
{
	struct spare_pool *sp;
	pthread_condattr_t ca;
	int err;

	if (target < 1 || target > VMM_SPARES_MAX || make == NULL ||
	    discard == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return -1;
	sp->sp_make = make;
	sp->sp_discard = discard;
	sp->sp_target = target;
	pthread_mutex_init(&sp->sp_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->sp_cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&sp->sp_thread, NULL, spare_main, sp)) != 0) {
		pthread_cond_destroy(&sp->sp_cond);
		pthread_mutex_destroy(&sp->sp_lock);
		free(sp);
		errno = err;
		return -1;
	}
	*out = sp;
	return 0;
}

void *
spare_pool_take(struct spare_pool *sp)
{
	void *obj = NULL;

	pthread_mutex_lock(&sp->sp_lock);
	sp->sp_last_take = timefmt_mono_us();
	if (sp->sp_nready > 0) {
		obj = sp->sp_ready[--sp->sp_nready];
		sp->sp_taken++;
		pthread_cond_signal(&sp->sp_cond);
	} else {
		sp->sp_missed++;
	}
	pthread_mutex_unlock(&sp->sp_lock);
	return obj;
}

void
spare_pool_stats(struct spare_pool *sp, struct vmm_spares *st)
{
	pthread_mutex_lock(&sp->sp_lock);
	st->vs_target = sp->sp_target;
	st->vs_ready = sp->sp_nready;
	st->vs_taken = sp->sp_taken;
	st->vs_missed = sp->sp_missed;
	st->vs_failed = sp->sp_failed;
	pthread_mutex_unlock(&sp->sp_lock);
}

void
spare_pool_close(struct spare_pool *sp)
{
	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->sp_lock);
	sp->sp_stop = 1;
	pthread_cond_signal(&sp->sp_cond);
	pthread_mutex_unlock(&sp->sp_lock);
	pthread_join(sp->sp_thread, NULL);
	while (sp->sp_nready > 0)
		sp->sp_discard(sp->sp_ready[--sp->sp_nready]);
	pthread_cond_destroy(&sp->sp_cond);
	pthread_mutex_destroy(&sp->sp_lock);
	free(sp);
}
