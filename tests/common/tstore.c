/*
 * An in-memory guestinfo store for the backdoor's tests (tstore.h).
 */
#include "tstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
tstore_init(struct tstore *ts)
{
	memset(ts, 0, sizeof(*ts));
	pthread_mutex_init(&ts->ts_lock, NULL);
}

void
tstore_clear(struct tstore *ts)
{
	unsigned i;

	pthread_mutex_lock(&ts->ts_lock);
	for (i = 0; i < ts->ts_n; i++) {
		free(ts->ts_key[i]);
		free(ts->ts_val[i]);
		ts->ts_key[i] = ts->ts_val[i] = NULL;
	}
	ts->ts_n = ts->ts_gets = ts->ts_sets = 0;
	ts->ts_fail = 0;
	pthread_mutex_unlock(&ts->ts_lock);
}

void
tstore_destroy(struct tstore *ts)
{
	tstore_clear(ts);
	pthread_mutex_destroy(&ts->ts_lock);
}

int
tstore_find(const struct tstore *ts, const char *key)
{
	unsigned i;

	for (i = 0; i < ts->ts_n; i++)
		if (strcmp(ts->ts_key[i], key) == 0)
			return (int)i;
	return -1;
}

int
tstore_get(void *cls, const char *key, char **value, size_t *len)
{
	struct tstore *ts = cls;
	int i, rc = -1;

	pthread_mutex_lock(&ts->ts_lock);
	ts->ts_gets++;
	if (ts->ts_fail) {
		errno = ts->ts_fail;
	} else if ((i = tstore_find(ts, key)) < 0) {
		errno = ENOENT;
	} else if ((*value = malloc(ts->ts_len[i] + 1)) != NULL) {
		memcpy(*value, ts->ts_val[i], ts->ts_len[i] + 1);
		*len = ts->ts_len[i];
		rc = 0;
	}
	pthread_mutex_unlock(&ts->ts_lock);
	return rc;
}

int
tstore_set(void *cls, const char *key, const char *value, size_t len)
{
	struct tstore *ts = cls;
	int i, err = 0;

	pthread_mutex_lock(&ts->ts_lock);
	ts->ts_sets++;
	if (ts->ts_fail) {
		err = ts->ts_fail;
	} else if (strlen(key) > LIMIT_GUESTINFO_KEY_LEN ||
		   len > LIMIT_GUESTINFO_VALUE) {
		err = EINVAL;
	} else if ((i = tstore_find(ts, key)) < 0 &&
		   ts->ts_n == LIMIT_GUESTINFO_KEYS) {
		err = EDQUOT;
	} else {
		if (i < 0) {
			i = (int)ts->ts_n++;
			if ((ts->ts_key[i] = strdup(key)) == NULL)
				abort();
		} else {
			free(ts->ts_val[i]);
		}
		if ((ts->ts_val[i] = malloc(len + 1)) == NULL)
			abort();
		memcpy(ts->ts_val[i], value, len);
		ts->ts_val[i][len] = '\0';
		ts->ts_len[i] = len;
	}
	pthread_mutex_unlock(&ts->ts_lock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
