/*
 * Spares: a few objects made ahead of need, for a backend whose set-up is
 * slow (kvm.c keeps VMs with their first vCPU and guest RAM: that is
 * ~300-800 µs of a start on this PVM host).
 *
 * One thread per pool makes them, at normal priority, but only once a
 * millisecond has passed since the last take: a refill never competes
 * with the start that took the spare.  (An idle-priority thread was tried
 * first: it could hold kernel locks VM creation takes, mmap_lock among
 * them, while preempted, and stall the start's own page faults.)  When
 * starts come faster than that, they find the pool empty and do their own
 * set-up, as without a pool.  A failed make is retried after a second and
 * logged once until one succeeds again.
 */
#ifndef VMMAPID_VMM_DRIVER_SPARE_H
#define VMMAPID_VMM_DRIVER_SPARE_H

#include "vmm-driver/vmm.h"

struct spare_pool;

/* Makes one object (NULL with errno on failure); discards one. */
typedef void *(*spare_make_fn)(void);
typedef void (*spare_discard_fn)(void *obj);

/*
 * Starts a pool that keeps target (1..VMM_SPARES_MAX) objects ready.  The
 * caller's signal mask is the thread's.  0, or -1 with errno (EINVAL,
 * ENOMEM, or pthread_create's).
 */
int spare_pool_open(struct spare_pool **out, unsigned target,
		    spare_make_fn make, spare_discard_fn discard);

/* A ready object, now the caller's, or NULL when there is none (any
 * thread).  Either way the pool's thread refills. */
void *spare_pool_take(struct spare_pool *sp);

/* The counters, consistent with each other (taken and missed count the
 * takes, failed the makes). */
void spare_pool_stats(struct spare_pool *sp, struct vmm_spares *st);

/* Stops the thread (waiting for a make in progress) and discards what is
 * ready.  sp may be NULL. */
void spare_pool_close(struct spare_pool *sp);

#endif
