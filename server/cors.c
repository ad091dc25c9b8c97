/* Cross-origin requests: the allowed origins (server/cors.h). */
#include "server/cors.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static pthread_rwlock_t cors_lock = PTHREAD_RWLOCK_INITIALIZER;
static char **cors_origins; /* cors_lock */
static int cors_n;          /* cors_lock */

int
cors_set(char *const *origins, int n)
{
	char **copy = NULL, **old;
	int i, oldn;

	if (n > 0 && (copy = calloc((size_t)n, sizeof(*copy))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((copy[i] = strdup(origins[i])) == NULL) {
			while (i-- > 0)
				free(copy[i]);
			free(copy);
			errno = ENOMEM;
			return -1;
		}
	}
	pthread_rwlock_wrlock(&cors_lock);
	old = cors_origins;
	oldn = cors_n;
	cors_origins = copy;
	cors_n = n;
	pthread_rwlock_unlock(&cors_lock);
	for (i = 0; i < oldn; i++)
		free(old[i]);
	free(old);
	return 0;
}

void
cors_clear(void)
{
	(void)cors_set(NULL, 0);
}

int
cors_enabled(void)
{
	int n;

	pthread_rwlock_rdlock(&cors_lock);
	n = cors_n;
	pthread_rwlock_unlock(&cors_lock);
	return n > 0;
}

int
cors_allowed(const char *origin)
{
	int i, ok = 0;

	if (origin == NULL)
		return 0;
	pthread_rwlock_rdlock(&cors_lock);
	for (i = 0; i < cors_n && !ok; i++)
		ok = strcmp(cors_origins[i], origin) == 0;
	pthread_rwlock_unlock(&cors_lock);
	return ok;
}

void
cors_methods(unsigned allowed, char *buf, unsigned len)
{
	static const struct {
		unsigned m;
		const char *name;
	} names[] = {
	    {API_GET, "GET"}, {API_GET, "HEAD"},    {API_POST, "POST"},
	    {API_PUT, "PUT"}, {API_PATCH, "PATCH"}, {API_DELETE, "DELETE"},
	};
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name);

		if (!(allowed & names[i].m) || used + n + 3 > len)
			continue;
		if (used > 0) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		memcpy(buf + used, names[i].name, n + 1);
		used += n;
	}
}
