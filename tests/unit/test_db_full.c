/*
 * db/: the writer on a full disk (#14 finding 6).  A batch that fails for
 * want of space while the headroom is held frees the headroom and runs its
 * failed jobs once more (db_writer_retry_full); without headroom the
 * writes fail with ENOSPC (507 at the API) and leave nothing behind.
 *
 * The disk is SQLite's: a VFS of this test ("fullvfs") wraps the default
 * one and, while a case says the disk is full, answers SQLITE_FULL (what
 * the unix VFS answers for ENOSPC) to every write of the database, its
 * WAL and its journal.  A real disk cannot stand in: the WAL keeps its
 * preallocated size (db/db.c), so commits on a full disk need no new
 * blocks.  The disk is full until the headroom file's space is released
 * (it is empty then, as db_headroom_release leaves it): what a real disk
 * does when the headroom goes.  Or it stays full (no headroom to give),
 * or only the next N writes fail.
 *
 * Like test_db.c, this test reaches into db_internal.h for the writer's
 * queue (the batches of tgate, tfixture.h) and opens the file with SQLite
 * itself to check what is on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"

#include "tfixture.h"

/* The headroom the cases hold: small, the size does not matter here. */
#define HEADROOM_BYTES (1u << 20)

/* How the disk behaves; see full_refuses. */
enum full_mode {
	FULL_NEVER,    /* every write finds space */
	FULL_HEADROOM, /* full while the headroom file has any size */
	FULL_ALWAYS,   /* full, and stays so */
	FULL_COUNT,    /* the next fu_count writes fail, then space is back */
};

/* The disk's state: set by the test's thread, read by the writer's. */
static struct {
	atomic_int fu_mode;  /* enum full_mode */
	atomic_int fu_allow; /* writes that still find space, first */
	atomic_int fu_count; /* FULL_COUNT: writes still to refuse */
	atomic_int fu_hits;  /* writes refused since full_set */
	char fu_headroom[256];
} full;

static sqlite3_vfs *full_real; /* the default VFS, wrapped */

/* Makes the disk behave as mode after allow more writes. */
static void
full_set(enum full_mode mode, int allow, int count)
{
	atomic_store(&full.fu_mode, FULL_NEVER);
	atomic_store(&full.fu_hits, 0);
	atomic_store(&full.fu_allow, allow);
	atomic_store(&full.fu_count, count);
	atomic_store(&full.fu_mode, (int)mode);
}

/* Whether a write now finds the disk full; counts those it refuses. */
static int
full_refuses(void)
{
	struct stat st;
	int refuse = 0;

	switch (atomic_load(&full.fu_mode)) {
	case FULL_NEVER:
		return 0;
	case FULL_HEADROOM:
		if (atomic_fetch_sub(&full.fu_allow, 1) > 0)
			return 0;
		refuse = stat(full.fu_headroom, &st) == 0 && st.st_size > 0;
		break;
	case FULL_ALWAYS:
		refuse = atomic_fetch_sub(&full.fu_allow, 1) <= 0;
		break;
	case FULL_COUNT:
		if (atomic_fetch_sub(&full.fu_allow, 1) > 0)
			return 0;
		refuse = atomic_fetch_sub(&full.fu_count, 1) > 0;
		break;
	}
	if (refuse)
		atomic_fetch_add(&full.fu_hits, 1);
	return refuse;
}

/* A file of fullvfs; the real VFS's file follows it in memory. */
struct full_file {
	sqlite3_file ff_base; /* first */
	sqlite3_file *ff_real;
	int ff_guarded; /* database, WAL or journal: its writes can fail */
};

/* Where the real file begins after ours. */
#define FULL_FILE_SIZE                                                         \
	((sizeof(struct full_file) + _Alignof(max_align_t) - 1) /              \
	 _Alignof(max_align_t) * _Alignof(max_align_t))

#define REAL(f) (((struct full_file *)(f))->ff_real)

static int
full_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
full_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
full_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (((struct full_file *)f)->ff_guarded && full_refuses())
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
full_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
full_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
full_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int
full_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int
full_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
full_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
full_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
full_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
full_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, out);
}

static int
full_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void
full_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
full_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int
full_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int
full_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods full_io = {
    3,
    full_close,
    full_read,
    full_write,
    full_truncate,
    full_sync,
    full_file_size,
    full_lock,
    full_unlock,
    full_check_reserved,
    full_file_control,
    full_sector_size,
    full_device_characteristics,
    full_shm_map,
    full_shm_lock,
    full_shm_barrier,
    full_shm_unmap,
    full_fetch,
    full_unfetch,
};

static int
full_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
	  int *out_flags)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->ff_real = (sqlite3_file *)((char *)f + FULL_FILE_SIZE);
	ff->ff_guarded = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
				   SQLITE_OPEN_MAIN_JOURNAL)) != 0;
	rc = full_real->xOpen(full_real, name, ff->ff_real, flags, out_flags);
	/* Without methods SQLite will not close it: nor do we. */
	f->pMethods = ff->ff_real->pMethods != NULL ? &full_io : NULL;
	return rc;
}

static int
full_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return full_real->xDelete(full_real, name, sync_dir);
}

static int
full_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return full_real->xAccess(full_real, name, flags, out);
}

static int
full_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return full_real->xFullPathname(full_real, name, n, out);
}

static void *
full_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return full_real->xDlOpen(full_real, name);
}

static void
full_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	full_real->xDlError(full_real, n, out);
}

static void (*full_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return full_real->xDlSym(full_real, h, sym);
}

static void
full_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	full_real->xDlClose(full_real, h);
}

static int
full_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return full_real->xRandomness(full_real, n, out);
}

static int
full_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return full_real->xSleep(full_real, us);
}

static int
full_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return full_real->xCurrentTime(full_real, out);
}

static int
full_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return full_real->xGetLastError(full_real, n, out);
}

static int
full_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return full_real->xCurrentTimeInt64(full_real, out);
}

static sqlite3_vfs full_vfs;

/* Makes fullvfs SQLite's default VFS, over the default it had. */
static int
full_register(void)
{
	if ((full_real = sqlite3_vfs_find(NULL)) == NULL ||
	    full_real->iVersion < 2)
		return -1;
	full_vfs.iVersion = 2;
	full_vfs.szOsFile = (int)FULL_FILE_SIZE + full_real->szOsFile;
	full_vfs.mxPathname = full_real->mxPathname;
	full_vfs.zName = "fullvfs";
	full_vfs.xOpen = full_open;
	full_vfs.xDelete = full_delete;
	full_vfs.xAccess = full_access;
	full_vfs.xFullPathname = full_full_pathname;
	full_vfs.xDlOpen = full_dlopen;
	full_vfs.xDlError = full_dlerror;
	full_vfs.xDlSym = full_dlsym;
	full_vfs.xDlClose = full_dlclose;
	full_vfs.xRandomness = full_randomness;
	full_vfs.xSleep = full_sleep;
	full_vfs.xCurrentTime = full_current_time;
	full_vfs.xGetLastError = full_last_error;
	full_vfs.xCurrentTimeInt64 = full_current_time64;
	return sqlite3_vfs_register(&full_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* The events a case's database published, by type and VM. */
#define EVENTS_MAX 64

struct fx {
	char f_dir[64];
	char f_path[128];
	struct db *f_db;
	pthread_mutex_t f_lock; /* guards f_events, f_nevents */
	struct {
		char e_type[32];
		char e_vm[65];
	} f_events[EVENTS_MAX];
	size_t f_nevents;
};

/* The sink: the writer's thread, once each event committed. */
static void
fx_event(void *arg, const struct db_event *ev)
{
	struct fx *fx = arg;

	pthread_mutex_lock(&fx->f_lock);
	if (fx->f_nevents < EVENTS_MAX) {
		snprintf(fx->f_events[fx->f_nevents].e_type,
			 sizeof(fx->f_events[0].e_type), "%s", ev->ev_type);
		snprintf(fx->f_events[fx->f_nevents].e_vm,
			 sizeof(fx->f_events[0].e_vm), "%s", ev->ev_vm);
	}
	fx->f_nevents++;
	pthread_mutex_unlock(&fx->f_lock);
}

/* Opens the case's database with its headroom held, the disk not full. */
static void
fx_open(struct fx *fx)
{
	full_set(FULL_NEVER, 0, 0);
	assert_int_equal(
	    db_open_headroom(&fx->f_db, fx->f_path, HEADROOM_BYTES), 0);
	assert_int_equal(db_event_config(fx->f_db, fx_event, fx, 0, 0), 0);
}

static void
fx_close(struct fx *fx)
{
	full_set(FULL_NEVER, 0, 0);
	db_close(fx->f_db);
	fx->f_db = NULL;
}

/* A restart: closed, its events forgotten, opened again. */
static void
fx_reopen(struct fx *fx)
{
	fx_close(fx);
	pthread_mutex_lock(&fx->f_lock);
	fx->f_nevents = 0;
	pthread_mutex_unlock(&fx->f_lock);
	fx_open(fx);
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	pthread_mutex_init(&fx->f_lock, NULL);
	snprintf(fx->f_dir, sizeof(fx->f_dir), "/tmp/test_db_full.XXXXXX");
	if (mkdtemp(fx->f_dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->f_path, sizeof(fx->f_path), "%s/vmmapid.db", fx->f_dir);
	snprintf(full.fu_headroom, sizeof(full.fu_headroom), "%s.headroom",
		 fx->f_path);
	*state = fx;
	fx_open(fx);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->f_db != NULL)
		fx_close(fx);
	tfixture_rmtree(fx->f_dir);
	pthread_mutex_destroy(&fx->f_lock);
	free(fx);
	return 0;
}

/* The headroom file's size: what its space is. */
static off_t
headroom_size(void)
{
	struct stat st;

	assert_int_equal(stat(full.fu_headroom, &st), 0);
	return st.st_size;
}

/* Inserts VM name with spec; 0, or -1 with errno. */
static int
insert(struct fx *fx, const char *name, const char *spec)
{
	struct db_vm_row row;
	int rc, saved;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	row.vr_owner_uid = 1000;
	row.vr_owner_gid = 100;
	row.vr_spec = strdup(spec);
	assert_non_null(row.vr_spec);
	rc = db_vm_insert(fx->f_db, &row, NULL, NULL);
	saved = errno;
	db_vm_row_clear(&row);
	errno = saved;
	return rc;
}

/* What load_row looks for, and what it found. */
struct find {
	const char *fi_name;
	char *fi_spec; /* NULL: no such row */
	uint64_t fi_revision;
};

static int
find_row(void *arg, const struct db_vm_row *row)
{
	struct find *fi = arg;

	if (strcmp(row->vr_name, fi->fi_name) == 0) {
		fi->fi_spec = strdup(row->vr_spec);
		fi->fi_revision = row->vr_revision;
	}
	return 0;
}

/* Whether VM name is stored, with spec as its spec. */
static void
assert_stored(struct fx *fx, const char *name, const char *spec)
{
	struct find fi = {name, NULL, 0};

	assert_int_equal(db_vm_load_all(fx->f_db, find_row, &fi), 0);
	if (fi.fi_spec == NULL)
		fail_msg("VM %s is not stored", name);
	if (strcmp(fi.fi_spec, spec) != 0)
		fail_msg("VM %s is stored with another spec (%zu bytes, not "
			 "%zu)",
			 name, strlen(fi.fi_spec), strlen(spec));
	free(fi.fi_spec);
}

static void
assert_not_stored(struct fx *fx, const char *name)
{
	struct find fi = {name, NULL, 0};

	assert_int_equal(db_vm_load_all(fx->f_db, find_row, &fi), 0);
	if (fi.fi_spec != NULL)
		fail_msg("VM %s is stored, and its write failed", name);
}

/* How many events of type about vm were published. */
static size_t
published(struct fx *fx, const char *type, const char *vm)
{
	size_t i, n = 0;

	pthread_mutex_lock(&fx->f_lock);
	for (i = 0; i < fx->f_nevents && i < EVENTS_MAX; i++)
		if (strcmp(fx->f_events[i].e_type, type) == 0 &&
		    strcmp(fx->f_events[i].e_vm, vm) == 0)
			n++;
	pthread_mutex_unlock(&fx->f_lock);
	return n;
}

/*
 * Reads the file with SQLite itself: PRAGMA integrity_check must say ok,
 * and the journal must hold n events about vm.
 */
static void
assert_file(struct fx *fx, const char *vm, int n)
{
	sqlite3 *sql;
	sqlite3_stmt *st;

	assert_int_equal(
	    sqlite3_open_v2(fx->f_path, &sql, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_busy_timeout(sql, 5000), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(sql, "PRAGMA integrity_check", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(sql, "SELECT count(*) FROM events WHERE vm = ?1",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), n);
	sqlite3_finalize(st);
	sqlite3_close(sql);
}

static void
test_db_full__a_write_on_a_full_disk_succeeds_once_the_headroom_is_released(
    void **state)
{
	struct fx *fx = *state;

	assert_int_equal(insert(fx, "before", "{\"n\":0}"), 0);
	assert_int_equal(headroom_size(), HEADROOM_BYTES);

	full_set(FULL_HEADROOM, 0, 0);
	assert_int_equal(insert(fx, "vm1", "{\"n\":1}"), 0);
	/* it did meet the full disk, and then the headroom went */
	assert_true(atomic_load(&full.fu_hits) > 0);
	assert_int_equal(headroom_size(), 0);
	assert_stored(fx, "vm1", "{\"n\":1}");
	assert_stored(fx, "before", "{\"n\":0}");
	/* its event once: the first run's was rolled back with it */
	assert_int_equal(published(fx, "vm.defined", "vm1"), 1);
	assert_file(fx, "vm1", 1);

	fx_reopen(fx);
	assert_stored(fx, "vm1", "{\"n\":1}");
	assert_stored(fx, "before", "{\"n\":0}");
	assert_file(fx, "vm1", 1);
}

static void
test_db_full__without_headroom_a_write_on_a_full_disk_is_enospc_and_leaves_nothing(
    void **state)
{
	struct fx *fx = *state;

	assert_int_equal(insert(fx, "before", "{\"n\":0}"), 0);
	/* the headroom is gone already: an earlier write took it */
	assert_int_equal(db_headroom_release(fx->f_db), 1);
	assert_int_equal(headroom_size(), 0);

	full_set(FULL_ALWAYS, 0, 0);
	errno = 0;
	assert_int_equal(insert(fx, "vm1", "{\"n\":1}"), -1);
	assert_int_equal(errno, ENOSPC);
	assert_true(atomic_load(&full.fu_hits) > 0);
	full_set(FULL_NEVER, 0, 0);
	assert_not_stored(fx, "vm1");
	assert_int_equal(published(fx, "vm.defined", "vm1"), 0);
	assert_file(fx, "vm1", 0);

	/* space back: the same write works, once */
	assert_int_equal(insert(fx, "vm1", "{\"n\":1}"), 0);
	assert_stored(fx, "vm1", "{\"n\":1}");
	assert_int_equal(published(fx, "vm.defined", "vm1"), 1);
	fx_reopen(fx);
	assert_stored(fx, "vm1", "{\"n\":1}");
	assert_stored(fx, "before", "{\"n\":0}");
	assert_file(fx, "vm1", 1);
}

/* The headroom released, and still no space: ENOSPC after the retry. */
static void
test_db_full__a_write_that_finds_no_space_after_the_headroom_is_enospc(
    void **state)
{
	struct fx *fx = *state;

	assert_int_equal(insert(fx, "before", "{\"n\":0}"), 0);
	full_set(FULL_ALWAYS, 0, 0);
	errno = 0;
	assert_int_equal(insert(fx, "vm1", "{\"n\":1}"), -1);
	assert_int_equal(errno, ENOSPC);
	/* both runs met the full disk: the headroom went between them */
	assert_true(atomic_load(&full.fu_hits) >= 2);
	assert_int_equal(headroom_size(), 0);
	full_set(FULL_NEVER, 0, 0);
	assert_not_stored(fx, "vm1");
	assert_int_equal(published(fx, "vm.defined", "vm1"), 0);
	assert_file(fx, "vm1", 0);
	fx_reopen(fx);
	assert_not_stored(fx, "vm1");
	assert_stored(fx, "before", "{\"n\":0}");
}

/*
 * The disk fills at each write of a commit in turn (the WAL's header,
 * each frame): with the headroom held the write succeeds, without it the
 * write is ENOSPC, and either way the file is whole and holds the write
 * exactly when it was answered 0.
 */
static void
test_db_full__a_commit_that_fills_the_disk_at_any_write_is_whole(void **state)
{
	struct fx *fx = *state;
	char name[32], spec[32];
	int at, hits;

	assert_int_equal(insert(fx, "before", "{\"n\":0}"), 0);
	for (at = 0; at < 64; at++) {
		/* the headroom taken back, as a create's check does */
		assert_int_equal(db_space_check(fx->f_db, 1), 0);
		assert_int_equal(headroom_size(), HEADROOM_BYTES);
		snprintf(name, sizeof(name), "held%d", at);
		snprintf(spec, sizeof(spec), "{\"at\":%d}", at);
		full_set(FULL_HEADROOM, at, 0);
		assert_int_equal(insert(fx, name, spec), 0);
		hits = atomic_load(&full.fu_hits);
		full_set(FULL_NEVER, 0, 0);
		assert_stored(fx, name, spec);
		assert_int_equal(published(fx, "vm.defined", name), 1);
		assert_file(fx, name, 1);
		if (hits == 0) /* the commit needs fewer writes than at */
			break;
		assert_int_equal(headroom_size(), 0);

		snprintf(name, sizeof(name), "gone%d", at);
		full_set(FULL_ALWAYS, at, 0);
		errno = 0;
		assert_int_equal(insert(fx, name, spec), -1);
		assert_int_equal(errno, ENOSPC);
		assert_true(atomic_load(&full.fu_hits) > 0);
		full_set(FULL_NEVER, 0, 0);
		assert_not_stored(fx, name);
		assert_int_equal(published(fx, "vm.defined", name), 0);
		assert_file(fx, name, 0);
	}
	/* a commit is more than a write, and fewer than 64 */
	assert_true(at > 1 && at < 64);
	fx_reopen(fx);
	assert_stored(fx, "before", "{\"n\":0}");
	for (int i = 0; i < at; i++) {
		snprintf(name, sizeof(name), "held%d", i);
		snprintf(spec, sizeof(spec), "{\"at\":%d}", i);
		assert_stored(fx, name, spec);
		snprintf(name, sizeof(name), "gone%d", i);
		assert_not_stored(fx, name);
	}
}

/* A thread inserting one VM; what it heard. */
struct inserter {
	struct fx *in_fx;
	const char *in_name;
	const char *in_spec;
	int in_rc;
	int in_errno;
	pthread_t in_thread;
};

static void *
inserter_main(void *arg)
{
	struct inserter *in = arg;

	in->in_rc = insert(in->in_fx, in->in_name, in->in_spec);
	in->in_errno = in->in_rc == 0 ? 0 : errno;
	return NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Waits (up to 30 s) until n jobs are queued behind the gate. */
static void
wait_queued(struct db *db, size_t n)
{
	int i;

	for (i = 0; i < 30000 && db_writer_queued(db) < n; i++)
		sleep_ms(1);
	assert_int_equal(db_writer_queued(db), n);
}

/*
 * The batch of the two cases below: seven inserts in one transaction,
 * in this order.  "big" is larger than SQLite's page cache (2 MB), so
 * SQLite writes its pages to the WAL while it runs, before the COMMIT:
 * it meets a full disk on its own, in the middle of the batch.  "dup"
 * fails on its own (its name is taken).
 */
#define BATCH 7
#define BIG_AT 3
#define DUP_AT 6
static const char *const batch_names[BATCH] = {"ok0", "ok1", "ok2", "big",
					       "ok4", "ok5", "dup"};

/* Queues the batch behind a gate, sets the disk, lets the batch run. */
static void
run_batch(struct fx *fx, struct inserter *in, char *big, enum full_mode mode,
	  int count)
{
	struct tgate g;
	size_t i;

	tgate_close(&g, fx->f_db);
	for (i = 0; i < BATCH; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].in_fx = fx;
		in[i].in_name = batch_names[i];
		in[i].in_spec = i == BIG_AT ? big : "{\"batch\":1}";
		assert_int_equal(pthread_create(&in[i].in_thread, NULL,
						inserter_main, &in[i]),
				 0);
		/* one at a time, so the queue order is known */
		wait_queued(fx->f_db, i + 1);
	}
	/* The gate's own transaction wrote nothing: no page to commit. */
	full_set(mode, 0, count);
	tgate_open(&g);
	for (i = 0; i < BATCH; i++)
		pthread_join(in[i].in_thread, NULL);
	full_set(FULL_NEVER, 0, 0);
}

/*
 * Each job: answered 0 and stored with one event, or failed and absent;
 * live: the events published since the batch are still counted (not
 * after a reopen).
 */
static void
assert_batch_kept_its_word(struct fx *fx, const struct inserter *in, int live)
{
	size_t i;

	for (i = 0; i < BATCH; i++) {
		if (i == DUP_AT) {
			/* the first "dup" stays as it was */
			assert_int_equal(in[i].in_rc, -1);
			assert_int_equal(in[i].in_errno, EEXIST);
			assert_stored(fx, "dup", "{\"first\":1}");
			continue;
		}
		if (in[i].in_rc == 0)
			assert_stored(fx, in[i].in_name, in[i].in_spec);
		else
			assert_not_stored(fx, in[i].in_name);
		if (live)
			assert_int_equal(
			    published(fx, "vm.defined", in[i].in_name),
			    in[i].in_rc == 0 ? 1 : 0);
		assert_file(fx, in[i].in_name, in[i].in_rc == 0 ? 1 : 0);
	}
	/* the one event about "dup" is its first insert's */
	if (live)
		assert_int_equal(published(fx, "vm.defined", "dup"), 1);
	assert_file(fx, "dup", 1);
}

/* A spec of about 3 MiB, more than SQLite's page cache holds. */
static char *
big_spec(void)
{
	size_t len = 3u << 20;
	char *s = malloc(len + 16);

	assert_non_null(s);
	memcpy(s, "{\"pad\":\"", 8);
	memset(s + 8, 'x', len);
	memcpy(s + 8 + len, "\"}", 3);
	return s;
}

static void
test_db_full__a_batch_that_meets_a_full_disk_with_the_headroom_held_commits_whole(
    void **state)
{
	struct fx *fx = *state;
	struct inserter in[BATCH];
	char *big = big_spec();
	size_t i;

	assert_int_equal(insert(fx, "dup", "{\"first\":1}"), 0);
	run_batch(fx, in, big, FULL_HEADROOM, 0);
	assert_int_equal(headroom_size(), 0);
	for (i = 0; i < BATCH; i++)
		if (i != DUP_AT && in[i].in_rc != 0)
			fail_msg("%s: %s", in[i].in_name,
				 strerror(in[i].in_errno));
	assert_batch_kept_its_word(fx, in, 1);
	fx_reopen(fx);
	assert_batch_kept_its_word(fx, in, 0);
	free(big);
}

/*
 * Without headroom, one write of "big" finds the disk full, while it runs:
 * SQLite drops the whole transaction then, so the writes before it in the
 * batch fail with it (ENOSPC: 507, not a 500), and those after it commit
 * in a transaction of their own.
 */
static void
test_db_full__a_batch_that_meets_a_full_disk_without_headroom_answers_each_job_truly(
    void **state)
{
	struct fx *fx = *state;
	struct inserter in[BATCH];
	char *big = big_spec();
	size_t i;

	assert_int_equal(insert(fx, "dup", "{\"first\":1}"), 0);
	assert_int_equal(db_headroom_release(fx->f_db), 1);
	run_batch(fx, in, big, FULL_COUNT, 1);
	assert_batch_kept_its_word(fx, in, 1);
	for (i = 0; i < BIG_AT; i++) {
		assert_int_equal(in[i].in_rc, -1);
		assert_int_equal(in[i].in_errno, ENOSPC);
	}
	assert_int_equal(in[BIG_AT].in_rc, -1);
	assert_int_equal(in[BIG_AT].in_errno, ENOSPC);
	for (i = BIG_AT + 1; i < DUP_AT; i++)
		assert_int_equal(in[i].in_rc, 0);
	fx_reopen(fx);
	assert_batch_kept_its_word(fx, in, 0);
	free(big);
}

/*
 * A guestinfo write on a full disk fails with ENOSPC, which the API
 * answers 507: not EDQUOT, a VM's most keys (409).  It answered 409
 * "the most keys a VM may hold" while both were ENOSPC.
 */
static void
test_db_full__a_guestinfo_write_on_a_full_disk_is_enospc_not_the_key_limit(
    void **state)
{
	struct fx *fx = *state;
	struct db_guestinfo_row row;

	assert_int_equal(insert(fx, "vm1", "{\"n\":1}"), 0);
	assert_int_equal(db_headroom_release(fx->f_db), 1);
	memset(&row, 0, sizeof(row));
	snprintf(row.gr_vm, sizeof(row.gr_vm), "vm1");
	snprintf(row.gr_key, sizeof(row.gr_key), "k");
	row.gr_value = "v";
	row.gr_len = 1;
	full_set(FULL_ALWAYS, 0, 0);
	errno = 0;
	assert_int_equal(db_guestinfo_put(fx->f_db, &row, 0, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_true(atomic_load(&full.fu_hits) > 0);
	full_set(FULL_NEVER, 0, 0);
	assert_int_equal(db_guestinfo_put(fx->f_db, &row, 0, NULL), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_db_full__a_write_on_a_full_disk_succeeds_once_the_headroom_is_released),
	    T(test_db_full__without_headroom_a_write_on_a_full_disk_is_enospc_and_leaves_nothing),
	    T(test_db_full__a_write_that_finds_no_space_after_the_headroom_is_enospc),
	    T(test_db_full__a_commit_that_fills_the_disk_at_any_write_is_whole),
	    T(test_db_full__a_batch_that_meets_a_full_disk_with_the_headroom_held_commits_whole),
	    T(test_db_full__a_batch_that_meets_a_full_disk_without_headroom_answers_each_job_truly),
	    T(test_db_full__a_guestinfo_write_on_a_full_disk_is_enospc_not_the_key_limit),
	};

	if (full_register() != 0) {
		fprintf(stderr, "cannot register the full-disk VFS\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
