/*
 * The cache of decompressed kernels: a bzImage's vmlinux, kept in a
 * directory under the kernel file's SHA-256, so that the next boot of
 * the same kernel reads it instead of decompressing it again.
 *
 * A file is DIR/<64 lowercase hex digits>.vmlinux: a header (magic,
 * length, a 64-bit checksum of the contents, the key) and the vmlinux.
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

/*
 * Reads the vmlinux cached under key into a new buffer: 0 with *out
 * (malloc'd; the caller frees it) and *out_len; -1 with errno:
 *   ENOENT   not cached
 *   EBADMSG  a file that is short, corrupt, or longer than max_len
 *   EINVAL   key is not a cache key
 *   other    the file's I/O, ENOMEM
 */
int lxcache_get(const char *dir, const char *key, size_t max_len, uint8_t **out,
		size_t *out_len);

/*
 * Stores data under key (replacing what was there) and trims the cache
 * to LXCACHE_MAX_FILES.  0, or -1 with errno (EINVAL for a bad key, the
 * directory's I/O errors); nothing is left behind on failure.
 */
int lxcache_put(const char *dir, const char *key, const uint8_t *data,
		size_t len);

#endif
