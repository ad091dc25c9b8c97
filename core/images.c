/*
 * The image store: files under one directory, their metadata in the
 * database, and a sorted in-memory copy of that metadata with the pins.
 *
 * Durability: an upload is fsynced, renamed to its name and the directory
 * fsynced before its row commits, so a row always names a complete file.
 * A crash between the rename and the COMMIT leaves a file with no row
 * (removed at the next start) or, when it replaced an image, a file whose
 * row describes the content it replaced; images_open hashes such a file
 * again when its size betrays it.
 *
 * Per-name claims: a put or delete claims its name for the time it
 * renames, commits and unlinks, without holding im_lock across that I/O.
 * Writers of the same name and images_load wait for the claim, so a pin
 * is never taken on a file that is being swapped, and an image is never
 * swapped under a pin.
 */
#include "core/images.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/names.h"
#include "base/log.h"
#include "base/hex.h"
#include "base/sha256.h"
#include "db/db.h"

/* What an interrupted upload leaves; start-up removes these. */
#define IMAGES_SPOOL_PREFIX ".upload-"
/*
 * The replaced content of an image while its replacement commits, so a
 * failed commit can put it back.  A spool name, so start-up removes it.
 */
#define IMAGES_PREV_PREFIX ".upload-prev-"

/* Bytes read at a time when hashing or loading. */
#define IMAGES_IO_CHUNK (128 * 1024)

/* A name being written or deleted; lives in the claiming caller's frame. */
struct images_claim {
	const char *ic_name;
	struct images_claim *ic_next;
};

struct images {
	struct db *im_db;
	char *im_dir; /* absolute */
	int im_dirfd;
	pthread_mutex_t im_lock;    /* guards the fields below */
	pthread_cond_t im_released; /* a claim was released */
	struct image_info *im_ents; /* sorted by name (strcmp) */
	size_t im_n, im_cap;
	struct images_claim *im_claims; /* names being written or deleted */
};

/*
 * Finds name in the sorted entries: 1 with its index in *at, or 0 with
 * the index it would be inserted at.  im_lock held (or start-up).
 */
static const char *
images_name_at(const void *ents, size_t i)
{
	return ((const struct image_info *)ents)[i].ii_name;
}

static int
images_find(struct images *im, const char *name, size_t *at)
{
	return name_search(im->im_ents, im->im_n, images_name_at, name, at);
}

/* Inserts info at index at.  -1 ENOMEM.  im_lock held (or start-up). */
static int
images_insert_at(struct images *im, size_t at, const struct image_info *info)
{
	struct image_info *ents;
	size_t cap;

	if (im->im_n == im->im_cap) {
		cap = im->im_cap ? im->im_cap * 2 : 16;
		ents = realloc(im->im_ents, cap * sizeof(*ents));
		if (ents == NULL)
			return -1;
		im->im_ents = ents;
		im->im_cap = cap;
	}
	memmove(&im->im_ents[at + 1], &im->im_ents[at],
		(im->im_n - at) * sizeof(*im->im_ents));
	im->im_ents[at] = *info;
	im->im_n++;
	return 0;
}

static void
images_remove_at(struct images *im, size_t at)
{
	memmove(&im->im_ents[at], &im->im_ents[at + 1],
		(im->im_n - at - 1) * sizeof(*im->im_ents));
	im->im_n--;
}

static int
images_claimed(struct images *im, const char *name)
{
	struct images_claim *c;

	for (c = im->im_claims; c != NULL; c = c->ic_next)
		if (strcmp(c->ic_name, name) == 0)
			return 1;
	return 0;
}

/* Waits until nobody claims claim->ic_name, then claims it.  im_lock held. */
static void
images_claim(struct images *im, struct images_claim *claim)
{
	while (images_claimed(im, claim->ic_name))
		pthread_cond_wait(&im->im_released, &im->im_lock);
	claim->ic_next = im->im_claims;
	im->im_claims = claim;
}

/* Releases a claim and wakes its waiters.  im_lock held. */
static void
images_unclaim(struct images *im, struct images_claim *claim)
{
	struct images_claim **p;

	for (p = &im->im_claims; *p != NULL; p = &(*p)->ic_next) {
		if (*p == claim) {
			*p = claim->ic_next;
			break;
		}
	}
	pthread_cond_broadcast(&im->im_released);
}

/* fsyncs the directory, so renames and unlinks in it are durable. */
static int
images_sync_dir(struct images *im)
{
	if (fsync(im->im_dirfd) != 0) {
		log_warn("images: fsync %s", im->im_dir);
		return -1;
	}
	return 0;
}

/*
 * Hashes fd from offset 0 to its end into hex (lowercase, NUL-ended) and
 * stores the byte count in *len.  -1 with errno.
 */
static int
images_hash_fd(int fd, char hex[65], uint64_t *len)
{
	struct sha256_ctx ctx;
	unsigned char md[32], *buf;
	uint64_t off = 0;
	ssize_t n;
	int saved;

	if ((buf = malloc(IMAGES_IO_CHUNK)) == NULL)
		return -1;
	sha256_init(&ctx);
	for (;;) {
		n = pread(fd, buf, IMAGES_IO_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(buf);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(&ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	sha256_final(&ctx, md);
	hex_encode(md, sizeof(md), hex);
	*len = off;
	free(buf);
	return 0;
}

/*
 * Stores the spool file tmp_path (fd, len bytes) as image name; see
 * images.h.  EIO also when the file does not hold len bytes.
 */
int
images_put(struct images *im, const char *name, int fd, const char *tmp_path,
	   uint64_t len, struct image_info *info, int *created)
{
	struct images_claim claim = {name, NULL};
	struct db_image_row row;
	struct image_info ent;
	char prev[sizeof(IMAGES_PREV_PREFIX) + sizeof(ent.ii_name)];
	uint64_t hashed;
	int replacing, have_prev = 0, isnew = 0, err;
	size_t at;

	if (name == NULL || !name_valid(name) || fd < 0 || tmp_path == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.ir_name, sizeof(row.ir_name), "%s", name);
	/* The slow part, before the claim: other writers need not wait. */
	if (images_hash_fd(fd, row.ir_sha256, &hashed) == -1) {
		log_warn("images: reading %s", tmp_path);
		return -1;
	}
	if (hashed != len) {
		log_warnx("images: %s holds %llu bytes, not the %llu uploaded",
			  tmp_path, (unsigned long long)hashed,
			  (unsigned long long)len);
		errno = EIO;
		return -1;
	}
	row.ir_size = len;
	if (fsync(fd) != 0) {
		log_warn("images: fsync %s", tmp_path);
		return -1;
	}

	pthread_mutex_lock(&im->im_lock);
	images_claim(im, &claim);
	replacing = images_find(im, name, &at);
	if (replacing && im->im_ents[at].ii_pins > 0) {
		images_unclaim(im, &claim);
		pthread_mutex_unlock(&im->im_lock);
		errno = EBUSY;
		return -1;
	}
	pthread_mutex_unlock(&im->im_lock);

	if (replacing) {
		snprintf(prev, sizeof(prev), "%s%s", IMAGES_PREV_PREFIX, name);
		(void)unlinkat(im->im_dirfd, prev, 0);
		if (linkat(im->im_dirfd, name, im->im_dirfd, prev, 0) == 0)
			have_prev = 1;
		else
			/* The replace still works; only its undo is lost. */
			log_warn("images: keeping %s/%s as %s", im->im_dir,
				 name, prev);
	}
	if (renameat(AT_FDCWD, tmp_path, im->im_dirfd, name) != 0) {
		err = errno;
		log_warn("images: rename %s to %s/%s", tmp_path, im->im_dir,
			 name);
		goto fail;
	}
	if (images_sync_dir(im) == -1 ||
	    db_image_put(im->im_db, &row, &isnew) == -1) {
		err = errno;
		/* Undo: the old content back, or no file for a new name. */
		if (have_prev
			? renameat(im->im_dirfd, prev, im->im_dirfd, name) != 0
			: unlinkat(im->im_dirfd, name, 0) != 0)
			log_warn("images: undoing the upload of %s", name);
		else
			have_prev = 0;
		(void)images_sync_dir(im);
		goto fail;
	}

	memset(&ent, 0, sizeof(ent));
	memcpy(ent.ii_name, row.ir_name, sizeof(ent.ii_name));
	memcpy(ent.ii_sha256, row.ir_sha256, sizeof(ent.ii_sha256));
	ent.ii_size = row.ir_size;
	ent.ii_created_ms = row.ir_created_ms;
	/* Under the claim: the next writer of name makes its own. */
	if (have_prev && unlinkat(im->im_dirfd, prev, 0) != 0)
		log_warn("images: removing %s/%s", im->im_dir, prev);
	pthread_mutex_lock(&im->im_lock);
	/* The claim kept the name as it was: found iff replacing. */
	if (images_find(im, name, &at))
		im->im_ents[at] = ent;
	else if (images_insert_at(im, at, &ent) == -1)
		/* The row is durable; the next start lists it. */
		log_warnx("images: out of memory listing %s", name);
	images_unclaim(im, &claim);
	pthread_mutex_unlock(&im->im_lock);
	if (info != NULL)
		*info = ent;
	if (created != NULL)
		*created = isnew;
	return 0;
fail:
	if (have_prev)
		(void)unlinkat(im->im_dirfd, prev, 0);
	pthread_mutex_lock(&im->im_lock);
	images_unclaim(im, &claim);
	pthread_mutex_unlock(&im->im_lock);
	errno = err;
	return -1;
}

/*
 * The metadata of image name, pins included.  ENOENT.
 */
int
images_get(struct images *im, const char *name, struct image_info *info)
{
	size_t at;
	int found;

	pthread_mutex_lock(&im->im_lock);
	found = images_find(im, name, &at);
	if (found)
		*info = im->im_ents[at];
	pthread_mutex_unlock(&im->im_lock);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/*
 * A copy of every image's metadata in name order; *list is malloc'd (the
 * caller frees it, even when *n is 0).  ENOMEM.
 */
int
images_list(struct images *im, struct image_info **list, size_t *n)
{
	struct image_info *copy;

	pthread_mutex_lock(&im->im_lock);
	copy = malloc((im->im_n > 0 ? im->im_n : 1) * sizeof(*copy));
	if (copy == NULL) {
		pthread_mutex_unlock(&im->im_lock);
		errno = ENOMEM;
		return -1;
	}
	if (im->im_n > 0) /* im_ents is NULL until the first image */
		memcpy(copy, im->im_ents, im->im_n * sizeof(*copy));
	*n = im->im_n;
	pthread_mutex_unlock(&im->im_lock);
	*list = copy;
	return 0;
}

/*
 * Deletes image name: its row first, then its file (a crash in between
 * leaves a file with no row, which the next start removes).  ENOENT,
 * EBUSY (pinned), or the database's errno.
 */
int
images_delete(struct images *im, const char *name)
{
	struct images_claim claim = {name, NULL};
	size_t at;
	int err;

	pthread_mutex_lock(&im->im_lock);
	images_claim(im, &claim);
	if (!images_find(im, name, &at)) {
		err = ENOENT;
		goto fail;
	}
	if (im->im_ents[at].ii_pins > 0) {
		err = EBUSY;
		goto fail;
	}
	pthread_mutex_unlock(&im->im_lock);

	if (db_image_delete(im->im_db, name) == -1) {
		err = errno;
		pthread_mutex_lock(&im->im_lock);
		goto fail;
	}
	/* Before the claim goes, or a new upload of name could go too. */
	if (unlinkat(im->im_dirfd, name, 0) != 0 && errno != ENOENT)
		log_warn("images: removing %s/%s", im->im_dir, name);
	(void)images_sync_dir(im);

	pthread_mutex_lock(&im->im_lock);
	if (images_find(im, name, &at))
		images_remove_at(im, at);
	images_unclaim(im, &claim);
	pthread_mutex_unlock(&im->im_lock);
	return 0;
fail:
	images_unclaim(im, &claim);
	pthread_mutex_unlock(&im->im_lock);
	errno = err;
	return -1;
}

/* Drops one pin of name.  im_lock not held. */
void
images_unpin(struct images *im, const char *name)
{
	size_t at;

	pthread_mutex_lock(&im->im_lock);
	if (images_find(im, name, &at) && im->im_ents[at].ii_pins > 0)
		im->im_ents[at].ii_pins--;
	else
		log_warnx("images: unpin of %s, which is not pinned", name);
	pthread_mutex_unlock(&im->im_lock);
}

/* Reads exactly len bytes of fd from offset 0 into buf.  EIO if short. */
static int
images_read_all(int fd, unsigned char *buf, size_t len)
{
	size_t off = 0, want;
	ssize_t n;

	while (off < len) {
		want =
		    len - off < IMAGES_IO_CHUNK ? len - off : IMAGES_IO_CHUNK;
		n = pread(fd, buf + off, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Pins image name and reads it into a new buffer; see images.h.  The pin
 * stays only on success.  Waits while a put or delete of name is under
 * way.  ENOENT, EFBIG, EIO (the file is not the size its row says).
 */
int
images_load(struct images *im, const char *name, uint64_t max, void **buf,
	    size_t *len)
{
	unsigned char *data = NULL;
	struct stat st;
	uint64_t size;
	size_t at;
	int fd = -1, err;

	pthread_mutex_lock(&im->im_lock);
	while (images_claimed(im, name))
		pthread_cond_wait(&im->im_released, &im->im_lock);
	if (!images_find(im, name, &at)) {
		pthread_mutex_unlock(&im->im_lock);
		errno = ENOENT;
		return -1;
	}
	size = im->im_ents[at].ii_size;
	if (size > max || size > SIZE_MAX - 1) {
		pthread_mutex_unlock(&im->im_lock);
		errno = EFBIG;
		return -1;
	}
	im->im_ents[at].ii_pins++;
	pthread_mutex_unlock(&im->im_lock);

	fd = openat(im->im_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno;
		log_warn("images: opening %s/%s", im->im_dir, name);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		log_warnx("images: %s/%s is not the %llu-byte file its row "
			  "describes",
			  im->im_dir, name, (unsigned long long)size);
		err = EIO;
		goto fail;
	}
	/* +1: malloc(0) may return NULL, and an empty image is valid. */
	if ((data = malloc((size_t)size + 1)) == NULL) {
		err = ENOMEM;
		goto fail;
	}
	if (images_read_all(fd, data, (size_t)size) == -1) {
		err = errno;
		log_warn("images: reading %s/%s", im->im_dir, name);
		goto fail;
	}
	close(fd);
	*buf = data;
	*len = (size_t)size;
	return 0;
fail:
	free(data);
	if (fd >= 0)
		close(fd);
	images_unpin(im, name);
	errno = err;
	return -1;
}

/* The directory spool files go to: the store's own (rename works). */
const char *
images_spool_dir(struct images *im)
{
	return im->im_dir;
}

/* db_image_load_all's callback: appends a row to the entries. */
static int
images_load_row(void *arg, const struct db_image_row *row)
{
	struct images *im = arg;
	struct image_info ent;
	size_t at;

	memset(&ent, 0, sizeof(ent));
	memcpy(ent.ii_name, row->ir_name, sizeof(ent.ii_name));
	memcpy(ent.ii_sha256, row->ir_sha256, sizeof(ent.ii_sha256));
	ent.ii_size = row->ir_size;
	ent.ii_created_ms = row->ir_created_ms;
	if (images_find(im, ent.ii_name, &at))
		return 0; /* the primary key makes this impossible */
	return images_insert_at(im, at, &ent) == -1 ? -1 : 0;
}

/*
 * Hashes image file ent->ii_name again and records what it holds, for a
 * file whose size differs from its row: the content of a replace whose
 * COMMIT a crash prevented.  Start-up only.
 */
static int
images_rehash(struct images *im, struct image_info *ent, const struct stat *st)
{
	struct db_image_row row;
	int fd;

	memset(&row, 0, sizeof(row));
	memcpy(row.ir_name, ent->ii_name, sizeof(row.ir_name));
	fd = openat(im->im_dirfd, ent->ii_name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || images_hash_fd(fd, row.ir_sha256, &row.ir_size) == -1) {
		log_warn("images: hashing %s/%s", im->im_dir, ent->ii_name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	/* When the content was written, not when we noticed. */
	row.ir_created_ms =
	    (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	if (row.ir_created_ms == 0)
		row.ir_created_ms = 1;
	if (db_image_put(im->im_db, &row, NULL) == -1) {
		log_warn("images: recording %s", ent->ii_name);
		return -1;
	}
	ent->ii_size = row.ir_size;
	memcpy(ent->ii_sha256, row.ir_sha256, sizeof(ent->ii_sha256));
	ent->ii_created_ms = row.ir_created_ms;
	return 0;
}

/*
 * Makes every row name a regular file of its size: drops the rows whose
 * file is missing, hashes again the files whose size changed.  Start-up
 * only.
 */
static int
images_check_rows(struct images *im)
{
	struct image_info *ent;
	struct stat st;
	size_t i = 0;
	int missing;

	while (i < im->im_n) {
		ent = &im->im_ents[i];
		missing = 0;
		if (fstatat(im->im_dirfd, ent->ii_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT) {
				log_warn("images: %s/%s", im->im_dir,
					 ent->ii_name);
				return -1;
			}
			missing = 1;
		}
		if (missing || !S_ISREG(st.st_mode)) {
			log_warnx("images: %s/%s is missing or not a regular "
				  "file; dropping image %s",
				  im->im_dir, ent->ii_name, ent->ii_name);
			if (db_image_delete(im->im_db, ent->ii_name) == -1) {
				log_warn("images: dropping %s", ent->ii_name);
				return -1;
			}
			images_remove_at(im, i);
			continue;
		}
		if ((uint64_t)st.st_size != ent->ii_size) {
			log_warnx("images: %s/%s is %lld bytes, its row says "
				  "%llu (a replace cut short?); hashing it "
				  "again",
				  im->im_dir, ent->ii_name,
				  (long long)st.st_size,
				  (unsigned long long)ent->ii_size);
			if (images_rehash(im, ent, &st) == -1)
				return -1;
		}
		i++;
	}
	return 0;
}

/*
 * Removes what the directory holds besides the images: spool files of
 * uploads that did not finish, and files no row names (an upload that
 * crashed before its COMMIT, or a delete after it).  Start-up only.
 */
static int
images_sweep(struct images *im)
{
	struct dirent *de;
	DIR *d;
	size_t at;
	int fd, removed = 0;
	const char *why;

	if ((fd = dup(im->im_dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("images: reading %s", im->im_dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, IMAGES_SPOOL_PREFIX,
			    strlen(IMAGES_SPOOL_PREFIX)) == 0)
			why = "an upload that did not finish";
		else if (!images_find(im, de->d_name, &at))
			why = "a file no image row names";
		else
			continue;
		if (unlinkat(im->im_dirfd, de->d_name, 0) != 0) {
			log_warn("images: removing %s/%s (%s)", im->im_dir,
				 de->d_name, why);
			continue;
		}
		log_info("images: removed %s/%s, %s", im->im_dir, de->d_name,
			 why);
		removed = 1;
	}
	closedir(d);
	if (removed)
		(void)images_sync_dir(im);
	return 0;
}

/*
 * Opens the store in dir over db; see images.h.  Loads the rows, then
 * makes directory and rows agree (each change logged): rows without
 * their file are dropped, spool leftovers and files without a row are
 * removed.  Start-up only: no other thread may use db's images meanwhile.
 */
int
images_open(struct images **out, struct db *db, const char *dir)
{
	struct images *im;
	int saved;

	*out = NULL;
	if ((im = calloc(1, sizeof(*im))) == NULL)
		return -1;
	im->im_db = db;
	im->im_dirfd = -1;
	im->im_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	im->im_released = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_warn("images: creating %s", dir);
		goto fail;
	}
	/* Absolute, so spool paths built from it survive a chdir. */
	if ((im->im_dir = realpath(dir, NULL)) == NULL) {
		log_warn("images: %s", dir);
		goto fail;
	}
	im->im_dirfd = open(im->im_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im->im_dirfd < 0) {
		log_warn("images: opening %s", im->im_dir);
		goto fail;
	}
	if (db_image_load_all(db, images_load_row, im) != 0) {
		log_warn("images: loading the image rows");
		goto fail;
	}
	if (images_check_rows(im) == -1 || images_sweep(im) == -1)
		goto fail;
	*out = im;
	return 0;
fail:
	saved = errno;
	images_close(im);
	errno = saved;
	return -1;
}

/* Frees the store; pins still held are dropped with it.  NULL ok. */
void
images_close(struct images *im)
{
	if (im == NULL)
		return;
	if (im->im_dirfd >= 0)
		close(im->im_dirfd);
	pthread_mutex_destroy(&im->im_lock);
	pthread_cond_destroy(&im->im_released);
	free(im->im_ents);
	free(im->im_dir);
	free(im);
}
