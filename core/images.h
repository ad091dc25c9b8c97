/*
 * The image store: flat binaries, kernels and initrds uploaded over HTTP,
 * kept as files under one directory with their metadata (size, SHA-256,
 * time) in the database.  A file is complete before it has a name: the
 * upload is spooled to a temporary file in the same directory, hashed,
 * fsynced and renamed into place, so a failed upload leaves nothing.
 * Start-up removes stray temporary files and files the database does not
 * know.
 *
 * An image is pinned while a running VM uses it; deleting or replacing a
 * pinned image fails with EBUSY.
 *
 * Locking: one mutex guards the pin counts and the metadata cache.
 */
#ifndef VMMAPID_CORE_IMAGES_H
#define VMMAPID_CORE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct images;

struct image_info {
	char ii_name[65];
	uint64_t ii_size;
	char ii_sha256[65]; /* lowercase hex */
	int64_t ii_created_ms;
	unsigned ii_pins; /* running VMs using it */
};

/* Opens the store in dir (created 0750 if missing). -1 with errno. */
int images_open(struct images **out, struct db *db, const char *dir);
void images_close(struct images *im);

/* The directory uploads must be spooled to (rename works from there). */
const char *images_spool_dir(struct images *im);

/*
 * Stores the file at tmp_path (open as fd, len bytes, a spool file in the
 * store's directory) as image name, replacing an unpinned image of that
 * name.  *created says whether it is new.  EBUSY: pinned.  EINVAL: bad
 * name.  On failure tmp_path is left for the caller to remove.
 */
int images_put(struct images *im, const char *name, int fd,
	       const char *tmp_path, uint64_t len, struct image_info *info,
	       int *created);

/* ENOENT. */
int images_get(struct images *im, const char *name, struct image_info *info);

/*
 * Every image in name order, as a new array the caller frees. -1 ENOMEM.
 */
int images_list(struct images *im, struct image_info **list, size_t *n);

/* ENOENT, EBUSY (pinned). */
int images_delete(struct images *im, const char *name);

/*
 * Pins image name and reads it whole into a new buffer (the caller frees
 * it) when it is at most max bytes.  ENOENT, EFBIG (larger than max).
 */
int images_load(struct images *im, const char *name, uint64_t max, void **buf,
		size_t *len);
/* Releases a pin taken by images_load. */
void images_unpin(struct images *im, const char *name);

#endif
