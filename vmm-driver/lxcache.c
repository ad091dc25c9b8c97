/*
 * The decompressed-kernel cache (see lxcache.h).
 *
 * The checksum is Fletcher's over 64-bit words in four lanes, not
 * SHA-256: it guards against a file damaged on disk, not against
 * someone who can write the daemon's cache directory (who could as well
 * replace its images).  It costs ~10 ms for a 66 MB vmlinux, where a
 * multiplying hash cost ~70 ms and SHA-256 ~250 ms here, and a hit is
 * meant to cost a small part of a decompression.
 */
#include "vmm-driver/lxcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LXCACHE_MAGIC "VMMLXC01"
#define LXCACHE_KEY_LEN 64
/* Temporary files older than this are a crash's leftovers. */
#define LXCACHE_STALE_TMP_S 3600

struct lxcache_hdr {
	char ch_magic[8];
	uint64_t ch_len; /* bytes of vmlinux after the header */
	uint64_t ch_sum; /* lxcache_sum of them */
	char ch_key[LXCACHE_KEY_LEN];
};

_Static_assert(sizeof(struct lxcache_hdr) == 88, "no padding on disk");

int
lxcache_key_ok(const char *key)
{
	size_t i;

	if (key == NULL)
		return 0;
	for (i = 0; i < LXCACHE_KEY_LEN; i++)
		if (!((key[i] >= '0' && key[i] <= '9') ||
		      (key[i] >= 'a' && key[i] <= 'f')))
			return 0;
	return key[i] == '\0';
}

static uint64_t
lxcache_sum(const uint8_t *p, size_t n)
{
	uint64_t a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0}, w, h;
	size_t i = 0;
	int k;

	for (; n - i >= 32; i += 32)
		for (k = 0; k < 4; k++) {
			memcpy(&w, p + i + 8 * k, 8);
			a[k] += w;
			b[k] += a[k];
		}
	h = n;
	for (k = 0; k < 4; k++)
		h = (h ^ a[k]) * 0x100000001b3ull ^
		    b[k] * 0x9e3779b97f4a7c15ull;
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int
lxcache_path(char *buf, size_t size, const char *dir, const char *key)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, key, LXCACHE_SUFFIX);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return 0;
}

static int
lxcache_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return (-1);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
lxcache_get(const char *dir, const char *key, size_t max_len,
	    struct lxcache_map *m)
{
	char path[4096];
	struct lxcache_hdr h;
	struct stat st;
	void *base = MAP_FAILED;
	int fd, saved;

	memset(m, 0, sizeof(*m));
	if (!lxcache_key_ok(key)) {
		errno = EINVAL;
		return (-1);
	}
	if (lxcache_path(path, sizeof(path), dir, key) == -1)
		return (-1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(h) ||
	    (uint64_t)st.st_size - sizeof(h) > max_len) {
		errno = EBADMSG;
		goto fail;
	}
	/* Populated: one call maps the page cache's pages, rather than a
	 * fault for each. */
	base = mmap(NULL, (size_t)st.st_size, PROT_READ,
		    MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED)
		goto fail;
	memcpy(&h, base, sizeof(h));
	if (memcmp(h.ch_magic, LXCACHE_MAGIC, sizeof(h.ch_magic)) != 0 ||
	    memcmp(h.ch_key, key, LXCACHE_KEY_LEN) != 0 || h.ch_len == 0 ||
	    (uint64_t)st.st_size - sizeof(h) != h.ch_len ||
	    lxcache_sum((const uint8_t *)base + sizeof(h), (size_t)h.ch_len) !=
		h.ch_sum) {
		errno = EBADMSG;
		goto fail;
	}
	/* Used now: the trimming keeps the most recently used. */
	(void)futimens(fd, NULL);
	close(fd);
	m->cm_base = base;
	m->cm_size = (size_t)st.st_size;
	m->cm_data = (const uint8_t *)base + sizeof(h);
	m->cm_len = (size_t)h.ch_len;
	return 0;
fail:
	saved = errno;
	if (base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
	close(fd);
	errno = saved;
	return (-1);
}

void
lxcache_release(struct lxcache_map *m)
{
	if (m->cm_base != NULL)
		munmap(m->cm_base, m->cm_size);
	memset(m, 0, sizeof(*m));
}

struct lxcache_entry {
	char ce_name[LXCACHE_KEY_LEN + sizeof(LXCACHE_SUFFIX)];
	struct timespec ce_mtime;
};

static int
lxcache_older(const void *a, const void *b)
{
	const struct lxcache_entry *x = a, *y = b;

	if (x->ce_mtime.tv_sec != y->ce_mtime.tv_sec)
		return x->ce_mtime.tv_sec < y->ce_mtime.tv_sec ? -1 : 1;
	if (x->ce_mtime.tv_nsec != y->ce_mtime.tv_nsec)
		return x->ce_mtime.tv_nsec < y->ce_mtime.tv_nsec ? -1 : 1;
	return strcmp(x->ce_name, y->ce_name);
}

/* Whether name is KEY.vmlinux. */
static int
lxcache_is_entry(const char *name)
{
	char key[LXCACHE_KEY_LEN + 1];

	if (strlen(name) != LXCACHE_KEY_LEN + sizeof(LXCACHE_SUFFIX) - 1 ||
	    strcmp(name + LXCACHE_KEY_LEN, LXCACHE_SUFFIX) != 0)
		return 0;
	memcpy(key, name, LXCACHE_KEY_LEN);
	key[LXCACHE_KEY_LEN] = '\0';
	return lxcache_key_ok(key);
}

/*
 * Removes the least recently used entries beyond LXCACHE_MAX_FILES, and
 * stale temporary files.  Best effort: a file another process removed
 * meanwhile is no error.
 */
static void
lxcache_trim(const char *dir)
{
	struct lxcache_entry *v = NULL, *nv;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd;
	time_t now = time(NULL);

	d = opendir(dir);
	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		int entry = lxcache_is_entry(de->d_name);
		int tmp = de->d_name[0] == '.' &&
			  strstr(de->d_name, LXCACHE_SUFFIX ".tmp.") != NULL;

		if (!entry && !tmp)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (tmp) {
			if (now - st.st_mtim.tv_sec > LXCACHE_STALE_TMP_S)
				(void)unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		memcpy(v[n].ce_name, de->d_name, sizeof(v[n].ce_name));
		v[n].ce_mtime = st.st_mtim;
		n++;
	}
	if (n > LXCACHE_MAX_FILES) {
		qsort(v, n, sizeof(*v), lxcache_older);
		for (i = 0; i < n - LXCACHE_MAX_FILES; i++)
			(void)unlinkat(dfd, v[i].ce_name, 0);
	}
	free(v);
	closedir(d);
}

int
lxcache_put(const char *dir, const char *key, const uint8_t *data, size_t len)
{
	char path[4096], tmp[4096];
	struct lxcache_hdr h;
	int fd = -1, dfd = -1, saved, n;

	if (!lxcache_key_ok(key) || len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (lxcache_path(path, sizeof(path), dir, key) == -1)
		return (-1);
	n = snprintf(tmp, sizeof(tmp), "%s/.%s%s.tmp.XXXXXX", dir, key,
		     LXCACHE_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.ch_magic, LXCACHE_MAGIC, sizeof(h.ch_magic));
	h.ch_len = len;
	h.ch_sum = lxcache_sum(data, len);
	memcpy(h.ch_key, key, LXCACHE_KEY_LEN);

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1)
		return (-1);
	if (lxcache_write_all(fd, (const uint8_t *)&h, sizeof(h)) == -1 ||
	    lxcache_write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	/* The rename itself durable: the directory's entry. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	lxcache_trim(dir);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
	return (-1);
}
