/*
 * An in-memory guestinfo store for the backdoor's tests and fuzz harness:
 * the callbacks of a struct backdoor_store (vmm-driver/backdoor.h), as
 * db/ provides them to the daemon, over a small table.  It holds at most
 * LIMIT_GUESTINFO_KEYS keys and refuses one more with EDQUOT, refuses a
 * key or value over its limit with EINVAL, and counts the calls.
 *
 *	static struct tstore ts = TSTORE_INITIALIZER;
 *	struct backdoor_store st = {tstore_get, tstore_set, &ts};
 *	...
 *	tstore_clear(&ts);
 *
 * tstore_get and tstore_set take the struct tstore as their cls.
 */
#ifndef VMMAPID_TESTS_COMMON_TSTORE_H
#define VMMAPID_TESTS_COMMON_TSTORE_H

#include <pthread.h>
#include <stddef.h>

#include "base/limits.h"

struct tstore {
	/* Guards every field below: the runner calls in from its vCPU
	 * thread while a test may look. */
	pthread_mutex_t ts_lock;
	char *ts_key[LIMIT_GUESTINFO_KEYS];
	char *ts_val[LIMIT_GUESTINFO_KEYS]; /* NUL-terminated copies */
	size_t ts_len[LIMIT_GUESTINFO_KEYS];
	unsigned ts_n;
	unsigned ts_gets, ts_sets; /* calls of tstore_get, tstore_set */
	int ts_fail;               /* errno every call fails with; 0: none */
};

#define TSTORE_INITIALIZER                                                     \
	{                                                                      \
		.ts_lock = PTHREAD_MUTEX_INITIALIZER                           \
	}

/* An empty store in *ts (which needs no TSTORE_INITIALIZER then); undone
 * by tstore_destroy. */
void tstore_init(struct tstore *ts);

/* Frees every key and value and zeroes the counters and ts_fail; the
 * store stays usable. */
void tstore_clear(struct tstore *ts);

/* tstore_clear, and the lock destroyed: for a store of tstore_init. */
void tstore_destroy(struct tstore *ts);

/* The index of key in ts_key, or -1.  Does not lock: for a test reading
 * the store while nothing else calls it. */
int tstore_find(const struct tstore *ts, const char *key);

/* bs_get: a malloc'd copy of key's value (NUL-terminated, its length
 * in *len), the caller's to free; -1 with errno ENOENT when there is no
 * such key, ts_fail when set, ENOMEM. */
int tstore_get(void *cls, const char *key, char **value, size_t *len);

/* bs_set: stores len bytes of value under key, replacing its value; -1
 * with errno ts_fail when set, EINVAL for a key or value over its limit,
 * EDQUOT for a key past LIMIT_GUESTINFO_KEYS.  Aborts when out of
 * memory. */
int tstore_set(void *cls, const char *key, const char *value, size_t len);

#endif
