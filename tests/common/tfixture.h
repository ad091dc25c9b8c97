/*
 * The unit tests' fixture: a fresh directory under /tmp with a database
 * in it, made before each case and removed after it.  A test's own
 * fixture struct starts with a struct tfixture and adds what it opens on
 * top of the database:
 *
 *	struct fx {
 *		struct tfixture f_tf;	(first)
 *		struct vmreg *f_reg;
 *	};
 *
 *	struct fx *fx = tfixture_new(sizeof(*fx));
 *	...
 *	tfixture_free(fx);
 *
 * Include after <cmocka.h>.
 */
#ifndef VMMAPID_TESTS_COMMON_TFIXTURE_H
#define VMMAPID_TESTS_COMMON_TFIXTURE_H

#include <pthread.h>
#include <stddef.h>

struct db;

struct tfixture {
	char tf_dir[64];      /* /tmp/PROGRAM.XXXXXX */
	char tf_db_path[128]; /* tf_dir/vmmapid.db */
	struct db *tf_db;     /* open */
};

/*
 * size bytes, zeroed, that begin with a struct tfixture whose directory
 * is made and whose database is open; NULL, with a message on stderr
 * and nothing left behind, when any of that fails.
 */
void *tfixture_new(size_t size);

/* Closes the database (when open), removes the directory, frees fx. */
void tfixture_free(void *fx);

/* cmocka setup and teardown for a case that needs only a tfixture. */
int tfixture_setup(void **state);
int tfixture_teardown(void **state);

/* Closes the database and opens it again, as a restart does; fails the
 * case when it does not open. */
void tfixture_reopen_db(struct tfixture *tf);

/* Removes dir and everything below it; quiet about what is missing. */
void tfixture_rmtree(const char *dir);

/*
 * The gate: a job that holds the database's writer until opened, so that
 * the writes queued meanwhile are all waiting when the writer next looks,
 * and a write now would wait for a commit (db_writer_busy() is 1).
 */
struct tgate {
	struct db *g_db;
	pthread_mutex_t g_lock;
	pthread_cond_t g_cond; /* g_running or g_open changed */
	int g_running;
	int g_open;
	int g_rc;
	pthread_t g_thread;
};

/* Returns once db's writer is held inside the gate. */
void tgate_close(struct tgate *g, struct db *db);

/* Lets the writer go on and waits for the gate's job to end. */
void tgate_open(struct tgate *g);

#endif
