/*
 * The cache of decompressed kernels: a bzImage's vmlinux, kept in a
 * directory under the kernel file's SHA-256, so that the next boot of
 * the same kernel reads it instead of decompressing it again.
 *
 * A file is DIR/<64 lowercase hex digits>.vmlinux: a header (magic,
 * length, a 64-bit Fletcher checksum of the contents, the key) and the
 * vmlinux.
 * It is written to a temporary file in DIR, fsynced and renamed over
 * the name, and DIR fsynced, so a reader sees a whole file or none.  A
 * file that is short, or whose header or checksum does not match, is a
 * miss (EBADMSG), and the put that follows replaces it.
 *
 * At most LXCACHE_MAX_FILES files are kept: a put removes the least
 * recently used beyond that (by mtime; a hit touches its file), and
 * temporary files a crash left behind once they are an hour old.
 *
 * Threads and processes: any number may get and put at once; the
 * worst case is two of them decompressing the same kernel.
 */
#ifndef VMMAPID_VMM_DRIVER_LXCACHE_H
#define VMMAPID_VMM_DRIVER_LXCACHE_H

#include <stddef.h>
#include <stdint.h>

/* Decompressed kernels kept (each ~60-70 MiB for a distribution's). */
#define LXCACHE_MAX_FILES 4

/* The suffix after the key. */
#define LXCACHE_SUFFIX ".vmlinux"

/* Whether key is a cache key: 64 lowercase hex digits. */
int lxcache_key_ok(const char *key);

/* A cached vmlinux, mapped read-only from its file. */
struct lxcache_map {
	const uint8_t *cm_data; /* the vmlinux */
	size_t cm_len;
	void *cm_base; /* the whole file's mapping */
	size_t cm_size;
};

/*
 * Maps the vmlinux cached under key: 0 with *m filled (release it with
 * lxcache_release); -1 with errno:
 *   ENOENT   not cached
 *   EBADMSG  a file that is short, corrupt, or longer than max_len
 *   EINVAL   key is not a cache key
 *   other    the file's I/O, ENOMEM
 * The file is mapped, not copied: lxcache_put replaces a file by a
 * rename and never writes one in place, so a mapping held meanwhile
 * keeps the old contents.
 */
int lxcache_get(const char *dir, const char *key, size_t max_len,
		struct lxcache_map *m);

/* Unmaps what lxcache_get mapped; a zeroed *m is nothing. */
void lxcache_release(struct lxcache_map *m);

/*
 * Stores data under key (replacing what was there) and trims the cache
 * to LXCACHE_MAX_FILES.  0, or -1 with errno (EINVAL for a bad key, the
 * directory's I/O errors); nothing is left behind on failure.
 */
int lxcache_put(const char *dir, const char *key, const uint8_t *data,
		size_t len);

#endif
