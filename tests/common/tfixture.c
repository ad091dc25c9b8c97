/*
 * The unit tests' fixture; see tfixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "tfixture.h"

#ifdef __GLIBC__
extern char *program_invocation_short_name;
#define TFIXTURE_PROGNAME() program_invocation_short_name
#else
#define TFIXTURE_PROGNAME() getprogname()
#endif

void
tfixture_rmtree(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				tfixture_rmtree(path);
			else
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

void *
tfixture_new(size_t size)
{
	struct tfixture *tf;

	if (size < sizeof(*tf) || (tf = calloc(1, size)) == NULL)
		return (NULL);
	snprintf(tf->tf_dir, sizeof(tf->tf_dir), "/tmp/%s.XXXXXX",
		 TFIXTURE_PROGNAME());
	if (mkdtemp(tf->tf_dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", tf->tf_dir,
			strerror(errno));
		free(tf);
		return (NULL);
	}
	snprintf(tf->tf_db_path, sizeof(tf->tf_db_path), "%s/vmmapid.db",
		 tf->tf_dir);
	if (db_open(&tf->tf_db, tf->tf_db_path) != 0) {
		fprintf(stderr, "db_open %s: %s\n", tf->tf_db_path,
			strerror(errno));
		tfixture_rmtree(tf->tf_dir);
		free(tf);
		return (NULL);
	}
	return (tf);
}

void
tfixture_free(void *fx)
{
	struct tfixture *tf = fx;

	if (tf == NULL)
		return;
	if (tf->tf_db != NULL)
		db_close(tf->tf_db);
	tfixture_rmtree(tf->tf_dir);
	free(tf);
}

int
tfixture_setup(void **state)
{
	*state = tfixture_new(sizeof(struct tfixture));
	return (*state != NULL ? 0 : -1);
}

int
tfixture_teardown(void **state)
{
	tfixture_free(*state);
	return (0);
}

void
tfixture_reopen_db(struct tfixture *tf)
{
	db_close(tf->tf_db);
	tf->tf_db = NULL;
	assert_int_equal(db_open(&tf->tf_db, tf->tf_db_path), 0);
}

static int
tgate_run(struct db *db, struct db_job *job)
{
	struct tgate *g = job->j_arg;

	(void)db;
	pthread_mutex_lock(&g->g_lock);
	g->g_running = 1;
	pthread_cond_broadcast(&g->g_cond);
	while (!g->g_open)
		pthread_cond_wait(&g->g_cond, &g->g_lock);
	pthread_mutex_unlock(&g->g_lock);
	return (0);
}

static void *
tgate_main(void *arg)
{
	struct tgate *g = arg;
	struct db_job job;

	memset(&job, 0, sizeof(job));
	job.j_run = tgate_run;
	job.j_arg = g;
	g->g_rc = db_writer_submit(g->g_db, &job);
	return (NULL);
}

void
tgate_close(struct tgate *g, struct db *db)
{
	memset(g, 0, sizeof(*g));
	g->g_db = db;
	pthread_mutex_init(&g->g_lock, NULL);
	pthread_cond_init(&g->g_cond, NULL);
	assert_int_equal(pthread_create(&g->g_thread, NULL, tgate_main, g), 0);
	pthread_mutex_lock(&g->g_lock);
	while (!g->g_running)
		pthread_cond_wait(&g->g_cond, &g->g_lock);
	pthread_mutex_unlock(&g->g_lock);
}

void
tgate_open(struct tgate *g)
{
	pthread_mutex_lock(&g->g_lock);
	g->g_open = 1;
	pthread_cond_broadcast(&g->g_cond);
	pthread_mutex_unlock(&g->g_lock);
	pthread_join(g->g_thread, NULL);
	assert_int_equal(g->g_rc, 0);
	pthread_mutex_destroy(&g->g_lock);
	pthread_cond_destroy(&g->g_cond);
}
