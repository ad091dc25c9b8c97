/*
 * The headroom file: LIMIT_DISK_HEADROOM bytes allocated beside the
 * database (PATH.headroom), so that once the file system is full the
 * writes a DELETE needs (SQLite's WAL frames) still find space (#14
 * finding 6: on a full disk even DELETE answered 507, and nothing could
 * be freed through the API).
 *
 * Decisions:
 *   - A batch of writes that fails with ENOSPC while the headroom is held
 *     frees it (ftruncate to 0) and runs once more (db_writer.c).  Any
 *     write may use it: creates and uploads are kept off it by
 *     db_space_check, which api/ asks before each: while the headroom is
 *     released they must leave its bytes free besides --disk-reserve-mib,
 *     so that even a floor below the headroom (1 MiB, say) lets no
 *     create eat what the deletes need.
 *   - It is allocated before the database is opened, and kept from one
 *     run to the next: a daemon started on a full disk could not open
 *     its database at all (SQLite makes -shm and the WAL at open), and
 *     exited; now it releases the headroom and opens it (#14 finding 14:
 *     "the WAL's pre-allocation filled a small state file system and
 *     the daemon exited").  While it runs, the WAL keeps its
 *     preallocated size (db.c), so commits need no new space; a WAL that
 *     grows past it, or a start without space for it, is what the
 *     writer's retry serves.
 *   - The space is taken back (posix_fallocate) by the next
 *     db_space_check that finds the floor and the headroom free again.
 *   - Allocated, not written: on file systems without fallocate (and on
 *     tmpfs) glibc writes it, which is the same for this purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

/* Allocates the headroom; 0, or -1 with errno (the file stays empty). */
static int
db_headroom_take(struct db *db)
{
	int err;

	if ((err = posix_fallocate(db->db_hr_fd, 0, (off_t)db->db_hr_bytes)) !=
	    0) {
		(void)ftruncate(db->db_hr_fd, 0);
		errno = err;
		return -1;
	}
	atomic_store(&db->db_hr_held, 1);
	return 0;
}

int
db_open_headroom(struct db **out, const char *path, uint64_t bytes)
{
	char hpath[4096];
	int fd, held = 0, err;

	if ((size_t)snprintf(hpath, sizeof(hpath), "%s.headroom", path) >=
	    sizeof(hpath)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(hpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		log_warn("db: %s: no headroom", hpath);
	else if ((err = posix_fallocate(fd, 0, (off_t)bytes)) == 0)
		held = 1;
	else {
		(void)ftruncate(fd, 0);
		errno = err;
		log_warn("db: %s: cannot hold %llu bytes of headroom now; "
			 "taken when space is free",
			 hpath, (unsigned long long)bytes);
	}
	if (db_open(out, path) != 0) {
		if (!held) {
			err = errno;
			goto fail;
		}
		log_warn("db: %s: cannot open it with the headroom held; "
			 "releasing the headroom and trying again",
			 path);
		(void)ftruncate(fd, 0);
		held = 0;
		if (db_open(out, path) != 0) {
			err = errno;
			goto fail;
		}
	}
	(*out)->db_hr_fd = fd;
	(*out)->db_hr_bytes = bytes;
	atomic_store(&(*out)->db_hr_held, held);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

int
db_headroom_release(struct db *db)
{
	if (db->db_hr_fd < 0 || !atomic_exchange(&db->db_hr_held, 0))
		return 0;
	if (ftruncate(db->db_hr_fd, 0) != 0) {
		log_warn("db: %s: releasing the headroom", db->db_path);
		return 0;
	}
	log_warnx(
	    "db: %s: the file system is full; released the %llu bytes "
	    "of headroom so that deletes can proceed (creates and uploads "
	    "answer 507 until space is free)",
	    db->db_path, (unsigned long long)db->db_hr_bytes);
	return 1;
}

int
db_space_check(struct db *db, uint64_t floor)
{
	struct statvfs sv;
	uint64_t avail;

	if (floor == 0 || db->db_hr_fd < 0)
		return 0;
	if (fstatvfs(db->db_hr_fd, &sv) != 0)
		return 0; /* cannot tell: the writes themselves will */
	avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	if (!atomic_load(&db->db_hr_held) && avail >= floor + db->db_hr_bytes) {
		if (db_headroom_take(db) == 0) {
			log_info("db: %s: space is free again; the headroom is "
				 "held again",
				 db->db_path);
			avail -= db->db_hr_bytes;
		}
	}
	/* Released, its bytes are free but the deletes': not the creates'. */
	if (avail <
	    floor + (atomic_load(&db->db_hr_held) ? 0 : db->db_hr_bytes)) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

uint64_t
db_space_free(struct db *db)
{
	struct statvfs sv;

	if (db->db_hr_fd < 0 || fstatvfs(db->db_hr_fd, &sv) != 0)
		return 0;
	return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}
