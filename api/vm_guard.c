/*
 * The guard of a VM's key; see vm_guard.h.  One entry per key with a
 * request in flight (or a delete), in a small hash table under one
 * mutex: entries live only as long as their requests.
 */
#include "api/vm_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/names.h"

#define VM_GUARD_BUCKETS 64

struct vm_guard_entry {
	char ge_key[VMKEY_SIZE];
	unsigned ge_requests; /* in flight, deletes aside */
	int ge_deleting;      /* a delete entered, or waits for requests */
	unsigned ge_queued;   /* deletes waiting for that one */
	struct vm_guard_entry *ge_next;
};

struct vm_guard {
	pthread_mutex_t g_lock;
	pthread_cond_t g_left; /* a request or a delete left */
	struct vm_guard_entry *g_buckets[VM_GUARD_BUCKETS];
};

struct vm_guard *
vm_guard_new(void)
{
	struct vm_guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	if (g == NULL)
		return NULL;
	pthread_mutex_init(&g->g_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->g_left, &ca);
	pthread_condattr_destroy(&ca);
	return g;
}

void
vm_guard_free(struct vm_guard *g)
{
	struct vm_guard_entry *e, *next;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < VM_GUARD_BUCKETS; i++)
		for (e = g->g_buckets[i]; e != NULL; e = next) {
			next = e->ge_next;
			free(e);
		}
	pthread_cond_destroy(&g->g_left);
	pthread_mutex_destroy(&g->g_lock);
	free(g);
}

/* FNV-1a: key's bucket. */
static struct vm_guard_entry **
vm_guard_bucket(struct vm_guard *g, const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return &g->g_buckets[h % VM_GUARD_BUCKETS];
}

/* key's entry, made when there is none (NULL: no memory); g_lock. */
static struct vm_guard_entry *
vm_guard_get(struct vm_guard *g, const char *key)
{
	struct vm_guard_entry **b = vm_guard_bucket(g, key), *e;

	for (e = *b; e != NULL; e = e->ge_next)
		if (strcmp(e->ge_key, key) == 0)
			return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	strncpy(e->ge_key, key, sizeof(e->ge_key) - 1);
	e->ge_next = *b;
	*b = e;
	return e;
}

/* Drops e once nothing holds it; g_lock. */
static void
vm_guard_put(struct vm_guard *g, struct vm_guard_entry *e)
{
	struct vm_guard_entry **p;

	if (e->ge_requests > 0 || e->ge_deleting || e->ge_queued > 0)
		return;
	for (p = vm_guard_bucket(g, e->ge_key); *p != e; p = &(*p)->ge_next)
		;
	*p = e->ge_next;
	free(e);
}

int
vm_guard_enter(struct vm_guard *g, const char *key)
{
	struct vm_guard_entry *e;
	int err = 0;

	pthread_mutex_lock(&g->g_lock);
	if ((e = vm_guard_get(g, key)) == NULL)
		err = ENOMEM;
	else if (e->ge_deleting)
		err = EBUSY;
	else
		e->ge_requests++;
	pthread_mutex_unlock(&g->g_lock);
	errno = err;
	return err == 0 ? 0 : -1;
}

int
vm_guard_enter_delete(struct vm_guard *g, const char *key, unsigned wait_ms)
{
	struct vm_guard_entry *e;
	struct timespec until;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->g_lock);
	if ((e = vm_guard_get(g, key)) == NULL) {
		pthread_mutex_unlock(&g->g_lock);
		errno = ENOMEM;
		return -1;
	}
	/* Behind another delete of the key first (it answers, then this
	 * one finds no VM), then until the requests in flight have left. */
	e->ge_queued++;
	while (e->ge_deleting && err == 0)
		err = pthread_cond_timedwait(&g->g_left, &g->g_lock, &until);
	e->ge_queued--;
	if (!e->ge_deleting) {
		err = 0;
		e->ge_deleting = 1;
		while (e->ge_requests > 0 && err == 0)
			err = pthread_cond_timedwait(&g->g_left, &g->g_lock,
						     &until);
		if (e->ge_requests == 0)
			err = 0; /* they left as the time ran out */
		else
			e->ge_deleting = 0;
	}
	if (err != 0) {
		pthread_cond_broadcast(&g->g_left);
		vm_guard_put(g, e);
	}
	pthread_mutex_unlock(&g->g_lock);
	errno = err != 0 ? ETIMEDOUT : 0;
	return err != 0 ? -1 : 0;
}

void
vm_guard_leave(struct vm_guard *g, const char *key, int deleting)
{
	struct vm_guard_entry *e;

	pthread_mutex_lock(&g->g_lock);
	for (e = *vm_guard_bucket(g, key); e != NULL; e = e->ge_next)
		if (strcmp(e->ge_key, key) == 0)
			break;
	if (e != NULL) {
		if (deleting) {
			e->ge_deleting = 0;
			pthread_cond_broadcast(&g->g_left);
		} else if (e->ge_requests > 0 && --e->ge_requests == 0) {
			pthread_cond_broadcast(&g->g_left);
		}
		vm_guard_put(g, e);
	}
	pthread_mutex_unlock(&g->g_lock);
}
