/*
 * core/images.c over a real database and directory: put, get, list,
 * delete and replace; pins (EBUSY); images_load and its EFBIG; what
 * start-up removes (spool leftovers, files without a row) and drops (rows
 * without a file); concurrent replaces of one name; and the schema
 * migration that added the images table (db/db.c, version 2), checked
 * here with SQLite directly because it is the images table's.
 *
 * Each test gets a fresh directory under /tmp with the database and the
 * store's directory in it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/images.h"
#include "db/db.h"

#include "tfixture.h"

/* SHA-256 of "abc" (FIPS 180-2, appendix B.1) and of nothing. */
#define SHA256_ABC                                                             \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_EMPTY                                                           \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A name of 64 characters, the most a name may have. */
#define NAME64                                                                 \
	"a234567890123456789012345678901234567890123456789012345678901234"

struct fx {
	struct tfixture f_tf; /* first */
	char f_img_dir[128];
	struct images *f_im;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->f_img_dir, sizeof(fx->f_img_dir), "%s/images",
		 fx->f_tf.tf_dir);
	if (images_open(&fx->f_im, fx->f_tf.tf_db, fx->f_img_dir) == -1) {
		tfixture_free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	images_close(fx->f_im);
	tfixture_free(fx);
	return 0;
}

/* Closes and opens store and database again, as a restart does. */
static void
reopen(struct fx *fx)
{
	images_close(fx->f_im);
	fx->f_im = NULL;
	tfixture_reopen_db(&fx->f_tf);
	assert_int_equal(images_open(&fx->f_im, fx->f_tf.tf_db, fx->f_img_dir),
			 0);
}

/* A spool file as server/ makes one: in the store's directory, at 0. */
struct spool {
	char s_path[256];
	int s_fd;
	uint64_t s_len;
};

static void
spool_make(struct fx *fx, struct spool *sp, const void *data, size_t len)
{
	snprintf(sp->s_path, sizeof(sp->s_path), "%s/.upload-XXXXXX",
		 images_spool_dir(fx->f_im));
	sp->s_fd = mkostemp(sp->s_path, O_CLOEXEC);
	assert_true(sp->s_fd >= 0);
	assert_int_equal(write(sp->s_fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(sp->s_fd, 0, SEEK_SET), 0);
	sp->s_len = len;
}

/* What server/ does after the handler: close, remove what is left. */
static void
spool_done(struct spool *sp)
{
	close(sp->s_fd);
	unlink(sp->s_path);
}

/* Stores data as image name; returns images_put's result. */
static int
put(struct fx *fx, const char *name, const void *data, size_t len,
    struct image_info *info, int *created)
{
	struct spool sp;
	int rc, saved;

	spool_make(fx, &sp, data, len);
	rc = images_put(fx->f_im, name, sp.s_fd, sp.s_path, sp.s_len, info,
			created);
	saved = errno;
	spool_done(&sp);
	errno = saved;
	return rc;
}

static void
put_ok(struct fx *fx, const char *name, const char *text)
{
	struct image_info info;
	int created;

	assert_int_equal(put(fx, name, text, strlen(text), &info, &created), 0);
}

/* Writes a file into the store's directory behind its back. */
static void
write_file(struct fx *fx, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->f_img_dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* The content of a file in the store's directory, or NULL (malloc'd). */
static char *
read_file(struct fx *fx, const char *name)
{
	char path[256], *buf;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", fx->f_img_dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	buf = calloc(1, 4096);
	assert_non_null(buf);
	n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
file_exists(struct fx *fx, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", fx->f_img_dir, name);
	return lstat(path, &st) == 0;
}

/* Entries of the store's directory, "." and ".." aside. */
static int
dir_count(struct fx *fx)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(fx->f_img_dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_images__open_creates_directory_0750_and_spools_there(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	char *real;

	assert_int_equal(stat(fx->f_img_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_non_null(real = realpath(fx->f_img_dir, NULL));
	assert_string_equal(images_spool_dir(fx->f_im), real);
	free(real);
}

static void
test_images__put_of_abc_records_size_and_known_sha256(void **state)
{
	struct fx *fx = *state;
	struct image_info info, got;
	int created = -1;
	char *content;
	int64_t before = (int64_t)time(NULL) * 1000 - 1000;

	assert_int_equal(put(fx, "abc.bin", "abc", 3, &info, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(info.ii_name, "abc.bin");
	assert_int_equal(info.ii_size, 3);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
	assert_true(info.ii_created_ms >= before);
	assert_int_equal(info.ii_pins, 0);

	assert_int_equal(images_get(fx->f_im, "abc.bin", &got), 0);
	assert_memory_equal(&got, &info, sizeof(got));
	assert_non_null(content = read_file(fx, "abc.bin"));
	assert_string_equal(content, "abc");
	free(content);
	/* The spool file became the image: only it is in the directory. */
	assert_int_equal(dir_count(fx), 1);
}

static void
test_images__put_of_empty_file_hashes_nothing(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	int created;

	assert_int_equal(put(fx, "empty", "", 0, &info, &created), 0);
	assert_int_equal(info.ii_size, 0);
	assert_string_equal(info.ii_sha256, SHA256_EMPTY);
}

static void
test_images__put_hashes_a_file_larger_than_one_read(void **state)
{
	struct fx *fx = *state;
	size_t len = 300 * 1024 + 7, i;
	unsigned char *data = malloc(len);
	struct image_info info;
	void *buf = NULL;
	size_t got = 0;
	int created;

	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 8));
	assert_int_equal(put(fx, "big", data, len, &info, &created), 0);
	assert_int_equal(info.ii_size, len);
	assert_int_equal(images_load(fx->f_im, "big", len, &buf, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(buf, data, len);
	images_unpin(fx->f_im, "big");
	free(buf);
	free(data);
}

static void
test_images__put_with_invalid_name_is_einval_and_leaves_spool(void **state)
{
	static const char *const bad[] = {
	    "", ".hidden", "-x", "a/b", "..", ".upload-x", "a b", "x" NAME64,
	};
	struct fx *fx = *state;
	struct spool sp;
	size_t i;

	spool_make(fx, &sp, "x", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(images_put(fx->f_im, bad[i], sp.s_fd,
					    sp.s_path, 1, NULL, NULL),
				 -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(access(sp.s_path, F_OK), 0);
	}
	spool_done(&sp);
	assert_int_equal(dir_count(fx), 0);
}

static void
test_images__put_of_64_character_name_works(void **state)
{
	struct fx *fx = *state;
	struct image_info info;

	/* 65 is past the limit (see above); 64 is at it. */
	assert_int_equal(strlen(NAME64), 64);
	put_ok(fx, NAME64, "x");
	assert_true(file_exists(fx, NAME64));
	assert_int_equal(images_get(fx->f_im, NAME64, &info), 0);
	assert_string_equal(info.ii_name, NAME64);
}

static void
test_images__put_with_wrong_length_is_eio_and_stores_nothing(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	struct spool sp;

	spool_make(fx, &sp, "abcd", 4);
	assert_int_equal(
	    images_put(fx->f_im, "short", sp.s_fd, sp.s_path, 5, &info, NULL),
	    -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(access(sp.s_path, F_OK), 0);
	spool_done(&sp);
	assert_int_equal(images_get(fx->f_im, "short", &info), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(dir_count(fx), 0);
}

static void
test_images__replace_says_not_created_and_swaps_content(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	int created = -1;
	char *content;

	assert_int_equal(put(fx, "k", "old", 3, &info, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(put(fx, "k", "abc", 3, &info, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
	assert_non_null(content = read_file(fx, "k"));
	assert_string_equal(content, "abc");
	free(content);
	/* No copy of the old content stays behind. */
	assert_int_equal(dir_count(fx), 1);

	reopen(fx);
	assert_int_equal(images_get(fx->f_im, "k", &info), 0);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
}

static void
test_images__get_and_delete_of_unknown_are_enoent(void **state)
{
	struct fx *fx = *state;
	struct image_info info;

	assert_int_equal(images_get(fx->f_im, "nope", &info), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(images_delete(fx->f_im, "nope"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(images_delete(fx->f_im, ".."), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_images__list_is_in_name_order_and_survives_reopen(void **state)
{
	struct fx *fx = *state;
	static const char *const names[] = {"B", "a", "a.b", "a-b", "z9", "0"};
	static const char *const sorted[] = {"0", "B", "a", "a-b", "a.b", "z9"};
	struct image_info *list;
	size_t n, i, round;

	assert_int_equal(images_list(fx->f_im, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	for (i = 0; i < 6; i++)
		put_ok(fx, names[i], names[i]);
	for (round = 0; round < 2; round++) {
		assert_int_equal(images_list(fx->f_im, &list, &n), 0);
		assert_int_equal(n, 6);
		for (i = 0; i < n; i++) {
			assert_string_equal(list[i].ii_name, sorted[i]);
			assert_int_equal(list[i].ii_size, strlen(sorted[i]));
		}
		free(list);
		reopen(fx);
	}
}

static void
test_images__delete_removes_row_and_file(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	struct image_info *list;
	size_t n;

	put_ok(fx, "a", "1");
	put_ok(fx, "b", "2");
	assert_int_equal(images_delete(fx->f_im, "a"), 0);
	assert_false(file_exists(fx, "a"));
	assert_int_equal(images_get(fx->f_im, "a", &info), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(images_delete(fx->f_im, "a"), -1);
	assert_int_equal(errno, ENOENT);

	reopen(fx);
	assert_int_equal(images_list(fx->f_im, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].ii_name, "b");
	free(list);
}

static void
test_images__pinned_image_cannot_be_deleted_or_replaced(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	struct spool sp;
	void *buf, *buf2;
	size_t len;
	char *content;

	put_ok(fx, "kernel", "abc");
	assert_int_equal(images_load(fx->f_im, "kernel", 3, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(images_get(fx->f_im, "kernel", &info), 0);
	assert_int_equal(info.ii_pins, 1);
	/* A second VM on the same image: two pins. */
	assert_int_equal(images_load(fx->f_im, "kernel", 3, &buf2, &len), 0);
	assert_int_equal(images_get(fx->f_im, "kernel", &info), 0);
	assert_int_equal(info.ii_pins, 2);

	assert_int_equal(images_delete(fx->f_im, "kernel"), -1);
	assert_int_equal(errno, EBUSY);
	spool_make(fx, &sp, "new!", 4);
	assert_int_equal(
	    images_put(fx->f_im, "kernel", sp.s_fd, sp.s_path, 4, &info, NULL),
	    -1);
	assert_int_equal(errno, EBUSY);
	/* Left for the caller, and the image untouched. */
	assert_int_equal(access(sp.s_path, F_OK), 0);
	spool_done(&sp);
	assert_non_null(content = read_file(fx, "kernel"));
	assert_string_equal(content, "abc");
	free(content);
	assert_int_equal(images_get(fx->f_im, "kernel", &info), 0);
	assert_string_equal(info.ii_sha256, SHA256_ABC);

	images_unpin(fx->f_im, "kernel");
	assert_int_equal(images_delete(fx->f_im, "kernel"), -1);
	assert_int_equal(errno, EBUSY);
	images_unpin(fx->f_im, "kernel");
	assert_int_equal(images_get(fx->f_im, "kernel", &info), 0);
	assert_int_equal(info.ii_pins, 0);
	put_ok(fx, "kernel", "new!");
	assert_int_equal(images_delete(fx->f_im, "kernel"), 0);
	free(buf);
	free(buf2);
}

static void
test_images__load_past_max_is_efbig_and_pins_nothing(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	void *buf = NULL;
	size_t len = 0;

	put_ok(fx, "four", "1234");
	assert_int_equal(images_load(fx->f_im, "four", 3, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
	assert_int_equal(images_get(fx->f_im, "four", &info), 0);
	assert_int_equal(info.ii_pins, 0);
	assert_int_equal(images_delete(fx->f_im, "four"), 0);
}

static void
test_images__load_at_max_works_and_unknown_is_enoent(void **state)
{
	struct fx *fx = *state;
	void *buf = NULL;
	size_t len = 0;

	put_ok(fx, "four", "1234");
	assert_int_equal(images_load(fx->f_im, "four", 4, &buf, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "1234", 4);
	images_unpin(fx->f_im, "four");
	free(buf);
	assert_int_equal(images_load(fx->f_im, "none", 4, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_images__load_of_a_file_changed_behind_our_back_is_eio(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	void *buf = NULL;
	size_t len;

	put_ok(fx, "img", "1234");
	write_file(fx, "img", "12345");
	assert_int_equal(images_load(fx->f_im, "img", 100, &buf, &len), -1);
	assert_int_equal(errno, EIO);
	/* The failed load keeps no pin. */
	assert_int_equal(images_get(fx->f_im, "img", &info), 0);
	assert_int_equal(info.ii_pins, 0);
}

static void
test_images__open_removes_spool_leftovers_and_orphans(void **state)
{
	struct fx *fx = *state;
	struct image_info *list;
	size_t n;
	char *content;

	put_ok(fx, "keep", "kept");
	write_file(fx, ".upload-AbC123", "half an upload");
	write_file(fx, ".upload-prev-keep", "an old version");
	write_file(fx, "orphan", "renamed, never committed");
	assert_int_equal(dir_count(fx), 4);
	reopen(fx);
	assert_int_equal(dir_count(fx), 1);
	assert_non_null(content = read_file(fx, "keep"));
	assert_string_equal(content, "kept");
	free(content);
	assert_int_equal(images_list(fx->f_im, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].ii_name, "keep");
	free(list);
}

static void
test_images__open_drops_rows_whose_file_is_missing(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	char path[256];

	put_ok(fx, "gone", "x");
	put_ok(fx, "here", "y");
	snprintf(path, sizeof(path), "%s/gone", fx->f_img_dir);
	assert_int_equal(unlink(path), 0);
	reopen(fx);
	assert_int_equal(images_get(fx->f_im, "gone", &info), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(images_get(fx->f_im, "here", &info), 0);
	/* Dropped from the database too, not only from memory. */
	reopen(fx);
	assert_int_equal(images_get(fx->f_im, "gone", &info), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_images__open_hashes_again_a_file_whose_size_changed(void **state)
{
	struct fx *fx = *state;
	struct image_info info;

	/* What a crash between a replace's rename and COMMIT leaves. */
	put_ok(fx, "img", "old content");
	write_file(fx, "img", "abc");
	reopen(fx);
	assert_int_equal(images_get(fx->f_im, "img", &info), 0);
	assert_int_equal(info.ii_size, 3);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
	reopen(fx);
	assert_int_equal(images_get(fx->f_im, "img", &info), 0);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
}

/* Runs sql on the database file through a connection of its own. */
static void
sql_exec(struct fx *fx, const char *text)
{
	sqlite3 *sql;

	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	sqlite3_busy_timeout(sql, 5000);
	assert_int_equal(sqlite3_exec(sql, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);
}

static void
test_images__failed_commit_puts_old_content_back(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	int created;
	char *content;

	put_ok(fx, "old", "abc");
	/* Every write of the table now fails inside the writer's job. */
	sql_exec(fx, "CREATE TRIGGER refuse_insert BEFORE INSERT ON images "
		     "BEGIN SELECT RAISE(ABORT, 'refused'); END;"
		     "CREATE TRIGGER refuse_update BEFORE UPDATE ON images "
		     "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
	assert_int_equal(put(fx, "old", "replacement", 11, &info, &created),
			 -1);
	assert_int_equal(put(fx, "new", "fresh", 5, &info, &created), -1);

	/* The replaced image as it was, the new one nowhere. */
	assert_non_null(content = read_file(fx, "old"));
	assert_string_equal(content, "abc");
	free(content);
	assert_int_equal(images_get(fx->f_im, "old", &info), 0);
	assert_string_equal(info.ii_sha256, SHA256_ABC);
	assert_int_equal(images_get(fx->f_im, "new", &info), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(dir_count(fx), 1);

	sql_exec(fx, "DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update;");
	assert_int_equal(put(fx, "new", "fresh", 5, &info, &created), 0);
	assert_int_equal(created, 1);
}

/* One of several threads replacing the same image over and over. */
struct racer {
	struct fx *r_fx;
	int r_id;
	int r_failures;
};

#define RACERS 6
#define RACES 15

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	char text[32];
	int i, created;
	struct image_info info;
	struct spool sp;

	for (i = 0; i < RACES; i++) {
		snprintf(text, sizeof(text), "racer %d round %d", r->r_id, i);
		/* no cmocka asserts off the main thread */
		snprintf(sp.s_path, sizeof(sp.s_path), "%s/.upload-XXXXXX",
			 images_spool_dir(r->r_fx->f_im));
		if ((sp.s_fd = mkostemp(sp.s_path, O_CLOEXEC)) < 0 ||
		    write(sp.s_fd, text, strlen(text)) !=
			(ssize_t)strlen(text)) {
			r->r_failures++;
			continue;
		}
		if (images_put(r->r_fx->f_im, "shared", sp.s_fd, sp.s_path,
			       strlen(text), &info, &created) != 0)
			r->r_failures++;
		spool_done(&sp);
	}
	return NULL;
}

static void
test_images__concurrent_replaces_leave_file_and_row_agreeing(void **state)
{
	struct fx *fx = *state;
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	struct image_info info, again;
	struct spool sp;
	char *content;
	int i, created;

	for (i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){fx, i, 0};
		assert_int_equal(
		    pthread_create(&threads[i], NULL, racer_main, &racers[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(racers[i].r_failures, 0);
	}
	assert_int_equal(dir_count(fx), 1);
	assert_int_equal(images_get(fx->f_im, "shared", &info), 0);
	assert_non_null(content = read_file(fx, "shared"));
	assert_int_equal(strlen(content), info.ii_size);
	/* Hash what is on disk by storing it again under another name. */
	spool_make(fx, &sp, content, strlen(content));
	assert_int_equal(images_put(fx->f_im, "check", sp.s_fd, sp.s_path,
				    sp.s_len, &again, &created),
			 0);
	spool_done(&sp);
	assert_string_equal(again.ii_sha256, info.ii_sha256);
	free(content);
}

/*
 * A database at schema version 1 (before the images table) migrates to
 * version 2 and then stores images.
 */
static void
test_images__version_1_database_migrates_to_images_table(void **state)
{
	struct fx *fx = *state;
	struct image_info info;
	sqlite3 *sql;
	sqlite3_stmt *st;
	int version = -1;

	assert_true(db_schema_version() >= 2);
	images_close(fx->f_im);
	fx->f_im = NULL;
	db_close(fx->f_tf.tf_db);
	fx->f_tf.tf_db = NULL;
	/* Undo migration 2 by hand: what a version 1 daemon left. */
	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		sql,
		"DROP TABLE events; DROP TABLE pptdevs; DROP TABLE guestinfo; "
		"DROP TABLE images; "
		"DROP TABLE jails; DROP TABLE audit; "
		"PRAGMA user_version = 1;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(sql);

	assert_int_equal(db_open(&fx->f_tf.tf_db, fx->f_tf.tf_db_path), 0);
	assert_int_equal(images_open(&fx->f_im, fx->f_tf.tf_db, fx->f_img_dir),
			 0);
	put_ok(fx, "after", "abc");
	assert_int_equal(images_get(fx->f_im, "after", &info), 0);

	assert_int_equal(sqlite3_open(fx->f_tf.tf_db_path, &sql), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(version, db_schema_version());
	assert_int_equal(sqlite3_prepare_v2(sql,
					    "SELECT size, sha256 FROM images "
					    "WHERE name = 'after'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	assert_string_equal((const char *)sqlite3_column_text(st, 1),
			    SHA256_ABC);
	sqlite3_finalize(st);
	sqlite3_close(sql);
}

static void
test_images__db_put_and_delete_report_their_errnos(void **state)
{
	struct fx *fx = *state;
	struct db_image_row row;
	int created = -1;

	memset(&row, 0, sizeof(row));
	assert_int_equal(db_image_put(fx->f_tf.tf_db, &row, &created), -1);
	assert_int_equal(errno, EINVAL);
	snprintf(row.ir_name, sizeof(row.ir_name), "r");
	assert_int_equal(db_image_put(fx->f_tf.tf_db, &row, &created), -1);
	assert_int_equal(errno, EINVAL); /* no hash */
	snprintf(row.ir_sha256, sizeof(row.ir_sha256), "short");
	assert_int_equal(db_image_put(fx->f_tf.tf_db, &row, &created), -1);
	assert_int_equal(errno, EINVAL); /* the schema's CHECK */
	snprintf(row.ir_sha256, sizeof(row.ir_sha256), "%s", SHA256_ABC);
	row.ir_size = 3;
	assert_int_equal(db_image_put(fx->f_tf.tf_db, &row, &created), 0);
	assert_int_equal(created, 1);
	assert_true(row.ir_created_ms > 0);
	assert_int_equal(db_image_put(fx->f_tf.tf_db, &row, &created), 0);
	assert_int_equal(created, 0);
	assert_int_equal(db_image_delete(fx->f_tf.tf_db, "r"), 0);
	assert_int_equal(db_image_delete(fx->f_tf.tf_db, "r"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(db_image_delete(fx->f_tf.tf_db, ""), -1);
	assert_int_equal(errno, EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_images__open_creates_directory_0750_and_spools_there),
	    T(test_images__put_of_abc_records_size_and_known_sha256),
	    T(test_images__put_of_empty_file_hashes_nothing),
	    T(test_images__put_hashes_a_file_larger_than_one_read),
	    T(test_images__put_with_invalid_name_is_einval_and_leaves_spool),
	    T(test_images__put_of_64_character_name_works),
	    T(test_images__put_with_wrong_length_is_eio_and_stores_nothing),
	    T(test_images__replace_says_not_created_and_swaps_content),
	    T(test_images__get_and_delete_of_unknown_are_enoent),
	    T(test_images__list_is_in_name_order_and_survives_reopen),
	    T(test_images__delete_removes_row_and_file),
	    T(test_images__pinned_image_cannot_be_deleted_or_replaced),
	    T(test_images__load_past_max_is_efbig_and_pins_nothing),
	    T(test_images__load_at_max_works_and_unknown_is_enoent),
	    T(test_images__load_of_a_file_changed_behind_our_back_is_eio),
	    T(test_images__open_removes_spool_leftovers_and_orphans),
	    T(test_images__open_drops_rows_whose_file_is_missing),
	    T(test_images__open_hashes_again_a_file_whose_size_changed),
	    T(test_images__failed_commit_puts_old_content_back),
	    T(test_images__concurrent_replaces_leave_file_and_row_agreeing),
	    T(test_images__version_1_database_migrates_to_images_table),
	    T(test_images__db_put_and_delete_report_their_errnos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
