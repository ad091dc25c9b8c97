/*
 * Jails: the sorted in-memory copy of the jails table.
 *
 * Writes are serialized by jl_write (the database write and the cache
 * update together), so the cache changes in the order the database did,
 * and a replaced jail keeps the creation time the database kept.
 * Readers take jl_lock only, never waiting for the disk.
 */
#include "core/jails.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/log.h"
#include "db/db.h"

struct jails {
	struct db *jl_db;
	pthread_mutex_t jl_write;  /* held across a write and its caching */
	pthread_rwlock_t jl_lock;  /* guards jl_ents, jl_n, jl_cap */
	struct jail_info *jl_ents; /* sorted by name (strcmp) */
	size_t jl_n, jl_cap;
};

/*
 * Finds name: 1 with its index in *at, or 0 with the index it would be
 * inserted at.  jl_lock held (or start-up).
 */
static const char *
jails_name_at(const void *ents, size_t i)
{
	return ((const struct jail_info *)ents)[i].ji_name;
}

static int
jails_find(const struct jails *j, const char *name, size_t *at)
{
	return name_search(j->jl_ents, j->jl_n, jails_name_at, name, at);
}

/* Makes room for one more entry.  -1 ENOMEM.  jl_lock write-held. */
static int
jails_reserve(struct jails *j)
{
	struct jail_info *ents;
	size_t cap;

	if (j->jl_n < j->jl_cap)
		return 0;
	cap = j->jl_cap ? j->jl_cap * 2 : 16;
	if ((ents = realloc(j->jl_ents, cap * sizeof(*ents))) == NULL)
		return -1;
	j->jl_ents = ents;
	j->jl_cap = cap;
	return 0;
}

/* Inserts or replaces ji in the cache.  -1 ENOMEM.  jl_lock write-held. */
static int
jails_cache_put(struct jails *j, const struct jail_info *ji)
{
	size_t at;

	if (jails_find(j, ji->ji_name, &at)) {
		j->jl_ents[at] = *ji;
		return 0;
	}
	if (jails_reserve(j) != 0)
		return -1;
	memmove(&j->jl_ents[at + 1], &j->jl_ents[at],
		(j->jl_n - at) * sizeof(*j->jl_ents));
	j->jl_ents[at] = *ji;
	j->jl_n++;
	return 0;
}

static void
jails_from_row(const struct db_jail_row *row, struct jail_info *ji)
{
	memset(ji, 0, sizeof(*ji));
	memcpy(ji->ji_name, row->jr_name, sizeof(ji->ji_name));
	ji->ji_allow_vmm = row->jr_allow_vmm;
	ji->ji_allow_vmm_ppt = row->jr_allow_vmm_ppt;
	memcpy(ji->ji_socket, row->jr_socket, sizeof(ji->ji_socket));
	ji->ji_created_ms = row->jr_created_ms;
}

static int
jails_load_one(void *arg, const struct db_jail_row *row)
{
	struct jail_info ji;

	jails_from_row(row, &ji);
	return jails_cache_put(arg, &ji);
}

/*
 * Loads every jail of db.  -1 with errno (and nothing to close).
 */
int
jails_open(struct jails **out, struct db *db)
{
	struct jails *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->jl_db = db;
	pthread_mutex_init(&j->jl_write, NULL);
	pthread_rwlock_init(&j->jl_lock, NULL);
	if (db_jail_load_all(db, jails_load_one, j) != 0) {
		if (errno == 0)
			errno = EIO;
		jails_close(j);
		return -1;
	}
	log_info("%zu jails loaded", j->jl_n);
	*out = j;
	return 0;
}

/* Frees the cache (the db stays open).  NULL ok. */
void
jails_close(struct jails *j)
{
	if (j == NULL)
		return;
	pthread_rwlock_destroy(&j->jl_lock);
	pthread_mutex_destroy(&j->jl_write);
	free(j->jl_ents);
	free(j);
}

/* Jail name into *out.  ENOENT.  Does not wait for the disk. */
int
jails_get(struct jails *j, const char *name, struct jail_info *out)
{
	size_t at;
	int found;

	pthread_rwlock_rdlock(&j->jl_lock);
	if ((found = jails_find(j, name, &at)))
		*out = j->jl_ents[at];
	pthread_rwlock_unlock(&j->jl_lock);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* Every jail in name order, as a new array (NULL when none). -1 ENOMEM. */
int
jails_list(struct jails *j, struct jail_info **list, size_t *n)
{
	*list = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&j->jl_lock);
	if (j->jl_n > 0 && (*list = malloc(j->jl_n * sizeof(**list))) == NULL) {
		pthread_rwlock_unlock(&j->jl_lock);
		errno = ENOMEM;
		return -1;
	}
	if (j->jl_n > 0)
		memcpy(*list, j->jl_ents, j->jl_n * sizeof(**list));
	*n = j->jl_n;
	pthread_rwlock_unlock(&j->jl_lock);
	return 0;
}

/* Whether s is an absolute path that fits a sockaddr_un, or "". */
static int
jails_socket_valid(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	return len < size && (len == 0 || s[0] == '/');
}

/*
 * Creates or replaces jail ji->ji_name durably, then caches it; a
 * replaced jail keeps its creation time (ji_created_ms is ignored).
 * EINVAL: a bad name, a socket path that is not absolute, flags other
 * than 0 and 1.  EEXIST: another jail has that socket.
 */
int
jails_put(struct jails *j, const struct jail_info *ji, int *created)
{
	struct db_jail_row row;
	struct jail_info cached;
	int rc, c = 0;

	if (memchr(ji->ji_name, '\0', sizeof(ji->ji_name)) == NULL ||
	    !name_valid(ji->ji_name) ||
	    !jails_socket_valid(ji->ji_socket, sizeof(ji->ji_socket)) ||
	    (ji->ji_allow_vmm != 0 && ji->ji_allow_vmm != 1) ||
	    (ji->ji_allow_vmm_ppt != 0 && ji->ji_allow_vmm_ppt != 1)) {
		errno = EINVAL;
		return -1;
	}
	memset(&row, 0, sizeof(row));
	memcpy(row.jr_name, ji->ji_name, sizeof(row.jr_name));
	row.jr_allow_vmm = ji->ji_allow_vmm;
	row.jr_allow_vmm_ppt = ji->ji_allow_vmm_ppt;
	memcpy(row.jr_socket, ji->ji_socket, sizeof(row.jr_socket));
	pthread_mutex_lock(&j->jl_write);
	/*
	 * Room first: once the row is stored, caching it cannot fail (only
	 * writers add entries, and jl_write keeps the others out).
	 */
	pthread_rwlock_wrlock(&j->jl_lock);
	rc = jails_reserve(j);
	pthread_rwlock_unlock(&j->jl_lock);
	if (rc != 0 || db_jail_put(j->jl_db, &row, &c) != 0) {
		rc = errno;
		pthread_mutex_unlock(&j->jl_write);
		errno = rc;
		return -1;
	}
	jails_from_row(&row, &cached);
	pthread_rwlock_wrlock(&j->jl_lock);
	rc = jails_cache_put(j, &cached);
	pthread_rwlock_unlock(&j->jl_lock);
	pthread_mutex_unlock(&j->jl_write);
	assert(rc == 0);
	if (created != NULL)
		*created = c;
	return 0;
}

/*
 * Deletes jail name durably, then from the cache.  ENOENT.
 */
int
jails_delete(struct jails *j, const char *name)
{
	size_t at;

	pthread_mutex_lock(&j->jl_write);
	if (db_jail_delete(j->jl_db, name) != 0) {
		pthread_mutex_unlock(&j->jl_write);
		return -1;
	}
	pthread_rwlock_wrlock(&j->jl_lock);
	if (jails_find(j, name, &at)) {
		memmove(&j->jl_ents[at], &j->jl_ents[at + 1],
			(j->jl_n - at - 1) * sizeof(*j->jl_ents));
		j->jl_n--;
	}
	pthread_rwlock_unlock(&j->jl_lock);
	pthread_mutex_unlock(&j->jl_write);
	return 0;
}
