/*
 * sqlite_commit: the raw rate of durable single-row SQLite commits on one
 * disk, the baseline of bench/creates.sh.  Opens a fresh database in DIR
 * with journal_mode=WAL and synchronous=FULL (as vmmapid does), creates a
 * table shaped like vmmapid's vms table, and inserts rows with one prepared
 * statement, one commit per row, until ROWS rows or SECONDS seconds.
 *
 *   sqlite_commit [-n ROWS] [-t SECONDS] [-k] DIR
 *
 * Prints one line: "sqlite_commit rows=N seconds=S commits_per_sec=R".
 * The database files are removed at the end unless -k is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite_row.h"

#define SQLITE_COMMIT_DB "sqlite_commit.db"

struct sqlite_commit_conf {
	unsigned long cc_rows;
	double cc_seconds;
	int cc_keep;
	const char *cc_dir;
};

static void
sqlite_commit_usage(void)
{
	fprintf(stderr, "usage: sqlite_commit [-n ROWS] [-t SECONDS] [-k] DIR\n"
			"  -n  rows to insert, one commit each (default 2000)\n"
			"  -t  stop after this many seconds (default 10)\n"
			"  -k  keep the database files\n");
}

static int
sqlite_commit_parse_args(int argc, char **argv, struct sqlite_commit_conf *c)
{
	char *end;
	int ch;

	c->cc_rows = 2000;
	c->cc_seconds = 10;
	c->cc_keep = 0;
	while ((ch = getopt(argc, argv, "n:t:k")) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			c->cc_rows = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || c->cc_rows == 0)
				goto fail;
			break;
		case 't':
			errno = 0;
			c->cc_seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(c->cc_seconds > 0))
				goto fail;
			break;
		case 'k':
			c->cc_keep = 1;
			break;
		default:
			goto fail;
		}
	}
	if (optind != argc - 1)
		goto fail;
	c->cc_dir = argv[optind];
	return 0;
fail:
	sqlite_commit_usage();
	errno = EINVAL;
	return -1;
}

static double
sqlite_commit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Removes the database and its WAL and shared-memory files; ENOENT is ok. */
static int
sqlite_commit_unlink(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char buf[4096];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (snprintf(buf, sizeof(buf), "%s%s", path, suffixes[i]) >=
		    (int)sizeof(buf)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (unlink(buf) == -1 && errno != ENOENT)
			return -1;
	}
	return 0;
}

/* Runs sql and checks that its first column of its first row is want. */
static int
sqlite_commit_pragma(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *got;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	got = sqlite3_column_text(st, 0);
	if (got == NULL || strcmp((const char *)got, want) != 0) {
		fprintf(stderr, "sqlite_commit: %s gave %s, want %s\n", sql,
			got ? (const char *)got : "NULL", want);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
fail:
	fprintf(stderr, "sqlite_commit: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

int
main(int argc, char **argv)
{
	struct sqlite_commit_conf conf;
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	char path[4096];
	double start, elapsed, deadline;
	unsigned long i;
	int rc = 1;

	if (sqlite_commit_parse_args(argc, argv, &conf) == -1)
		return 2;
	if (snprintf(path, sizeof(path), "%s/%s", conf.cc_dir,
		     SQLITE_COMMIT_DB) >= (int)sizeof(path)) {
		fprintf(stderr, "sqlite_commit: %s: path too long\n",
			conf.cc_dir);
		return 1;
	}
	if (sqlite_commit_unlink(path) == -1) {
		fprintf(stderr, "sqlite_commit: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto fail;
	if (sqlite_commit_pragma(db, "PRAGMA journal_mode=WAL", "wal") == -1)
		goto out;
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* 2 is FULL: make sure the setting took before measuring it. */
	if (sqlite_commit_pragma(db, "PRAGMA synchronous", "2") == -1)
		goto out;
	if (sqlite3_exec(db, sqlite_row_schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, sqlite_row_insert, -1, &ins, NULL) !=
	    SQLITE_OK)
		goto fail;

	start = sqlite_commit_now();
	deadline = start + conf.cc_seconds;
	for (i = 0; i < conf.cc_rows; i++) {
		if (sqlite_row_commit(ins, i) != SQLITE_OK)
			goto fail;
		if (sqlite_commit_now() >= deadline) {
			i++;
			break;
		}
	}
	elapsed = sqlite_commit_now() - start;
	printf("sqlite_commit rows=%lu seconds=%.3f commits_per_sec=%.1f\n", i,
	       elapsed, (double)i / elapsed);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "sqlite_commit: %s: %s\n", path,
		db ? sqlite3_errmsg(db) : "cannot open");
out:
	sqlite3_finalize(ins);
	sqlite3_close(db);
	if (!conf.cc_keep && sqlite_commit_unlink(path) == -1) {
		fprintf(stderr, "sqlite_commit: %s: %s\n", path,
			strerror(errno));
		rc = 1;
	}
	return rc;
}
