#include "core/guestinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "base/log.h"
#include "base/names.h"
#include "db/db.h"

int
guestinfo_key_valid(const char *key)
{
	return name_check(key, LIMIT_GUESTINFO_KEY_LEN, "._-");
}

/* Whether s (len bytes) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static int
guestinfo_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (n == 0 || c > 0xf4)
			return 0;
		cp = c & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
guestinfo_value_valid(const char *value, size_t len, char *why, size_t whylen)
{
	if (len > LIMIT_GUESTINFO_VALUE) {
		snprintf(why, whylen,
			 "a value is at most %d bytes; this one has %zu",
			 LIMIT_GUESTINFO_VALUE, len);
		return 0;
	}
	if (len > 0 && memchr(value, '\0', len) != NULL) {
		snprintf(why, whylen,
			 "a value may not hold a NUL byte (U+0000): the "
			 "guest's channel carries text");
		return 0;
	}
	if (!guestinfo_utf8((const unsigned char *)value, len)) {
		snprintf(why, whylen, "a value must be UTF-8 text");
		return 0;
	}
	return 1;
}

/* backdoor_store.bs_get: the key's value, a copy the backdoor frees. */
static int
guestinfo_channel_get(void *cls, const char *key, char **value, size_t *len)
{
	struct guestinfo_channel *gc = cls;
	struct db_guestinfo_row row;

	if (!guestinfo_key_valid(key)) {
		errno = ENOENT;
		return -1;
	}
	if (db_guestinfo_get(gc->gc_db, gc->gc_vm, key, &row) != 0)
		return -1;
	*value = row.gr_value; /* the row's malloc'd copy, handed over */
	*len = row.gr_len;
	return 0;
}

/* backdoor_store.bs_set: an info-set, durable before the guest hears 1. */
static int
guestinfo_channel_set(void *cls, const char *key, const char *value, size_t len)
{
	static const struct db_actor guest = {.da_kind = DB_ACTOR_GUEST};
	struct guestinfo_channel *gc = cls;
	struct db_guestinfo_row row;
	char why[128];

	if (!guestinfo_key_valid(key) ||
	    !guestinfo_value_valid(value, len, why, sizeof(why))) {
		errno = EINVAL;
		return -1;
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.gr_vm, sizeof(row.gr_vm), "%s", gc->gc_vm);
	snprintf(row.gr_key, sizeof(row.gr_key), "%s", key);
	row.gr_value = (char *)value; /* borrowed for the write */
	row.gr_len = len;
	row.gr_by_guest = 1;
	/* The event says the guest wrote it (vCPU threads are otherwise
	 * the daemon's). */
	db_actor_set(&guest);
	if (db_guestinfo_put(gc->gc_db, &row, 0, NULL) != 0) {
		db_actor_set(NULL);
		log_warn("vm %s: the guest's guestinfo.%s", gc->gc_vm, key);
		return -1;
	}
	db_actor_set(NULL);
	log_debug("vm %s: the guest set guestinfo.%s (%zu bytes)", gc->gc_vm,
		  key, len);
	return 0;
}

void
guestinfo_channel_init(struct guestinfo_channel *gc, struct db *db,
		       const char *vm)
{
	memset(gc, 0, sizeof(*gc));
	gc->gc_store.bs_get = guestinfo_channel_get;
	gc->gc_store.bs_set = guestinfo_channel_set;
	gc->gc_store.bs_cls = gc;
	gc->gc_db = db;
	snprintf(gc->gc_vm, sizeof(gc->gc_vm), "%s", vm);
}
