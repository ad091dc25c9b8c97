/*
 * Bearer tokens: the in-memory set, the bootstrap admin token, checking
 * an Authorization header, and adding and removing tokens at run time.
 *
 * A secret is "vmm_" and 64 hex digits from getrandom(2); only its SHA-256
 * is kept, in memory and in the database.  The public id is 16 hex digits
 * from getrandom too, so ids say nothing about creation order or count.
 */
#include "core/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/names.h"
#include "base/log.h"
#include "base/hex.h"
#include "base/sha256.h"
#include "base/timefmt.h"
#include "db/db.h"

#define TOKEN_BYTES 32
#define TOKEN_ID_BYTES 8
/* Attempts at a fresh id when a random one is taken (never, in practice). */
#define AUTH_ADD_ATTEMPTS 3

struct token {
	unsigned char tk_hash[32];
	struct auth_token tk_info;
};

struct auth {
	struct db *au_db;
	pthread_rwlock_t au_lock; /* guards au_tokens, au_n */
	struct token *au_tokens;
	size_t au_n;
};

static int
auth_hash(const char *secret, size_t len, unsigned char out[32])
{
	sha256(secret, len, out);
	return 0;
}

/* Adds a stored token to the set.  au_lock write-held (or start-up). */
static int
auth_add(void *arg, const struct db_token_row *row)
{
	struct auth *a = arg;
	struct token *t, *n;
	const char *p = row->tr_gids;
	char *end;

	n = realloc(a->au_tokens, (a->au_n + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	a->au_tokens = n;
	t = &a->au_tokens[a->au_n];
	memset(t, 0, sizeof(*t));
	memcpy(t->tk_hash, row->tr_hash, sizeof(t->tk_hash));
	snprintf(t->tk_info.at_id, sizeof(t->tk_info.at_id), "%s", row->tr_id);
	t->tk_info.at_uid = row->tr_uid;
	snprintf(t->tk_info.at_jail, sizeof(t->tk_info.at_jail), "%s",
		 row->tr_jail);
	t->tk_info.at_created_ms = row->tr_created_ms;
	t->tk_info.at_expires_ms = row->tr_expires_ms;
	snprintf(t->tk_info.at_description, sizeof(t->tk_info.at_description),
		 "%s", row->tr_description);
	while (*p != '\0' && t->tk_info.at_ngids < PRINCIPAL_MAX_GROUPS) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			break;
		t->tk_info.at_gids[t->tk_info.at_ngids++] = (gid_t)g;
		p = *end == ',' ? end + 1 : end;
	}
	a->au_n++;
	return 0;
}

int
auth_open(struct auth **out, struct db *db)
{
	struct auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->au_db = db;
	pthread_rwlock_init(&a->au_lock, NULL);
	if (db_token_load_all(db, auth_add, a) != 0) {
		auth_close(a);
		return -1;
	}
	*out = a;
	return 0;
}

void
auth_close(struct auth *a)
{
	if (a == NULL)
		return;
	pthread_rwlock_destroy(&a->au_lock);
	free(a->au_tokens);
	free(a);
}

/*
 * A new secret (AUTH_SECRET_LEN bytes) and, into row, a new id and the
 * secret's hash.  -1 with errno when the kernel gives no randomness.
 */
static int
auth_new_secret(char *secret, struct db_token_row *row)
{
	unsigned char raw[TOKEN_BYTES], idraw[TOKEN_ID_BYTES];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw) ||
	    getrandom(idraw, sizeof(idraw), 0) != sizeof(idraw)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	memcpy(secret, "vmm_", 4);
	hex_encode(raw, sizeof(raw), secret + 4);
	hex_encode(idraw, sizeof(idraw), row->tr_id);
	/* Nothing of the secret stays behind on the stack. */
	explicit_bzero(raw, sizeof(raw));
	return auth_hash(secret, strlen(secret), row->tr_hash);
}

int
auth_bootstrap(struct auth *a, const char *state_dir)
{
	char secret[AUTH_SECRET_LEN], path[4096];
	struct db_token_row row;
	size_t n;
	int fd, rc;

	pthread_rwlock_rdlock(&a->au_lock);
	n = a->au_n;
	pthread_rwlock_unlock(&a->au_lock);
	if (n > 0)
		return 0;
	memset(&row, 0, sizeof(row));
	if (auth_new_secret(secret, &row) != 0) {
		log_warn("bootstrap token: getrandom");
		return -1;
	}
	row.tr_uid = 0;
	snprintf(row.tr_gids, sizeof(row.tr_gids), "0");
	row.tr_created_ms = timefmt_now_ms();
	snprintf(row.tr_description, sizeof(row.tr_description),
		 "bootstrap admin token");

	snprintf(path, sizeof(path), "%s/admin.token", state_dir);
	/*
	 * An old file keeps its mode through O_TRUNC, hence the fchmod; a
	 * link planted at the path is not followed.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		log_warn("bootstrap token: %s", path);
		return -1;
	}
	rc = dprintf(fd, "%s\n", secret) < 0 || fsync(fd) != 0;
	close(fd);
	if (rc != 0) {
		log_warn("bootstrap token: writing %s", path);
		unlink(path);
		return -1;
	}
	if (db_token_insert(a->au_db, &row) != 0) {
		log_warn("bootstrap token: storing it");
		unlink(path);
		return -1;
	}
	pthread_rwlock_wrlock(&a->au_lock);
	rc = auth_add(a, &row);
	pthread_rwlock_unlock(&a->au_lock);
	if (rc != 0)
		return -1;
	/* The secret goes to the terminal only, never to syslog. */
	if (log_is_foreground())
		log_info("created the admin token %s (uid 0), saved in %s; it "
			 "is shown only this once",
			 secret, path);
	else
		log_info("created the admin token (uid 0), saved in %s", path);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

int
auth_check(struct auth *a, const char *authorization, struct principal *pr)
{
	unsigned char h[32];
	const char *tok;
	int64_t now;
	size_t i;
	int rc = -1;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7))
		goto denied;
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	if (*tok == '\0' || strlen(tok) > 256 ||
	    auth_hash(tok, strlen(tok), h) != 0)
		goto denied;
	now = timefmt_now_ms();
	pthread_rwlock_rdlock(&a->au_lock);
	for (i = 0; i < a->au_n; i++) {
		const struct token *t = &a->au_tokens[i];
		const struct auth_token *ti = &t->tk_info;

		/* Comparing hashes: timing reveals nothing of the secret. */
		if (memcmp(t->tk_hash, h, sizeof(h)) != 0)
			continue;
		if (ti->at_expires_ms != 0 && ti->at_expires_ms <= now)
			break;
		pr->pr_known = 1;
		pr->pr_uid = ti->at_uid;
		pr->pr_gid = ti->at_ngids > 0 ? ti->at_gids[0] : 0;
		pr->pr_ngroups = ti->at_ngids;
		memcpy(pr->pr_groups, ti->at_gids,
		       (size_t)ti->at_ngids * sizeof(gid_t));
		pr->pr_pid = 0;
		snprintf(pr->pr_jail, sizeof(pr->pr_jail), "%s", ti->at_jail);
		snprintf(pr->pr_via, sizeof(pr->pr_via), "token");
		memcpy(pr->pr_token, ti->at_id, sizeof(pr->pr_token));
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&a->au_lock);
	if (rc == 0)
		return 0;
denied:
	errno = EACCES;
	return -1;
}

/* Whether tok's fields are those a new token may have. */
static int
auth_token_valid(const struct auth_token *tok, int64_t now)
{
	int i;

	if (tok->at_uid == (uid_t)-1 || tok->at_ngids < 1 ||
	    tok->at_ngids > AUTH_MAX_GIDS)
		return 0;
	for (i = 0; i < tok->at_ngids; i++)
		if (tok->at_gids[i] == (gid_t)-1)
			return 0;
	if (memchr(tok->at_jail, '\0', sizeof(tok->at_jail)) == NULL ||
	    (tok->at_jail[0] != '\0' && !name_valid(tok->at_jail)))
		return 0;
	if (memchr(tok->at_description, '\0', sizeof(tok->at_description)) ==
	    NULL)
		return 0;
	return tok->at_expires_ms == 0 || tok->at_expires_ms > now;
}

/*
 * Creates a token; see auth.h.  The row is durable before the token is
 * in the set, so a token that works is one that survives a restart.
 */
int
auth_token_add(struct auth *a, struct auth_token *tok, char *secret)
{
	struct db_token_row row;
	int64_t now = timefmt_now_ms();
	size_t used = 0;
	int i, attempt, rc;

	if (!auth_token_valid(tok, now)) {
		errno = EINVAL;
		return -1;
	}
	memset(&row, 0, sizeof(row));
	row.tr_uid = tok->at_uid;
	for (i = 0; i < tok->at_ngids; i++)
		used += (size_t)snprintf(
		    row.tr_gids + used, sizeof(row.tr_gids) - used, "%s%lu",
		    i > 0 ? "," : "", (unsigned long)tok->at_gids[i]);
	/* AUTH_MAX_GIDS gids of 10 digits and their commas fit. */
	if (used >= sizeof(row.tr_gids)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(row.tr_jail, tok->at_jail, sizeof(row.tr_jail));
	memcpy(row.tr_description, tok->at_description,
	       sizeof(row.tr_description));
	row.tr_created_ms = now;
	row.tr_expires_ms = tok->at_expires_ms;
	for (attempt = 0;; attempt++) {
		if (auth_new_secret(secret, &row) != 0)
			goto fail;
		if (db_token_insert(a->au_db, &row) == 0)
			break;
		/* A random id or hash already taken: draw again. */
		if (errno != EEXIST || attempt + 1 == AUTH_ADD_ATTEMPTS)
			goto fail;
	}
	pthread_rwlock_wrlock(&a->au_lock);
	rc = auth_add(a, &row);
	pthread_rwlock_unlock(&a->au_lock);
	if (rc != 0) {
		/* Stored but not usable: take it back rather than keep a
		 * token that starts working only after a restart. */
		rc = errno;
		if (db_token_delete(a->au_db, row.tr_id) != 0)
			log_warn("token %s: stored, but neither usable nor "
				 "removed",
				 row.tr_id);
		errno = rc;
		goto fail;
	}
	memcpy(tok->at_id, row.tr_id, sizeof(tok->at_id));
	tok->at_created_ms = now;
	return 0;
fail:
	rc = errno;
	explicit_bzero(secret, AUTH_SECRET_LEN);
	errno = rc;
	return -1;
}

/* Index of token id in the set, or -1.  au_lock held. */
static ssize_t
auth_find(const struct auth *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->au_n; i++)
		if (strcmp(a->au_tokens[i].tk_info.at_id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * Removes token id; see auth.h.  The database first: a token removed from
 * the set only would come back at the next start.
 */
int
auth_token_remove(struct auth *a, const char *id)
{
	ssize_t i;

	if (db_token_delete(a->au_db, id) != 0)
		return -1;
	pthread_rwlock_wrlock(&a->au_lock);
	if ((i = auth_find(a, id)) >= 0) {
		memmove(&a->au_tokens[i], &a->au_tokens[i + 1],
			(a->au_n - (size_t)i - 1) * sizeof(*a->au_tokens));
		a->au_n--;
	}
	pthread_rwlock_unlock(&a->au_lock);
	return 0;
}

int
auth_token_get(struct auth *a, const char *id, struct auth_token *out)
{
	ssize_t i;

	pthread_rwlock_rdlock(&a->au_lock);
	if ((i = auth_find(a, id)) >= 0)
		*out = a->au_tokens[i].tk_info;
	pthread_rwlock_unlock(&a->au_lock);
	if (i < 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static int
auth_token_cmp(const void *x, const void *y)
{
	const struct auth_token *p = x, *q = y;

	if (p->at_created_ms != q->at_created_ms)
		return p->at_created_ms < q->at_created_ms ? -1 : 1;
	return strcmp(p->at_id, q->at_id);
}

int
auth_token_list(struct auth *a, struct auth_token **list, size_t *n)
{
	size_t i;

	*list = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&a->au_lock);
	if (a->au_n > 0 && (*list = calloc(a->au_n, sizeof(**list))) == NULL) {
		pthread_rwlock_unlock(&a->au_lock);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < a->au_n; i++)
		(*list)[i] = a->au_tokens[i].tk_info;
	*n = a->au_n;
	pthread_rwlock_unlock(&a->au_lock);
	if (*n > 1)
		qsort(*list, *n, sizeof(**list), auth_token_cmp);
	return 0;
}

size_t
auth_token_count_in_jail(struct auth *a, const char *jail)
{
	size_t i, n = 0;

	pthread_rwlock_rdlock(&a->au_lock);
	for (i = 0; i < a->au_n; i++)
		if (strcmp(a->au_tokens[i].tk_info.at_jail, jail) == 0)
			n++;
	pthread_rwlock_unlock(&a->au_lock);
	return n;
}
