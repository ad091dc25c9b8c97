#include "server/auth.h"

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

#include <openssl/evp.h>

#include "core/log.h"
#include "core/timefmt.h"
#include "db/db.h"

#define TOKEN_BYTES 32

struct token {
	unsigned char tk_hash[32];
	uid_t tk_uid;
	gid_t tk_gids[PRINCIPAL_MAX_GROUPS];
	int tk_ngids;
	char tk_jail[65];
	int64_t tk_expires_ms;
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
	unsigned int n = 0;

	if (EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != 32) {
		errno = EIO;
		return -1;
	}
	return 0;
}

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
	t->tk_uid = row->tr_uid;
	snprintf(t->tk_jail, sizeof(t->tk_jail), "%s", row->tr_jail);
	t->tk_expires_ms = row->tr_expires_ms;
	while (*p != '\0' && t->tk_ngids < PRINCIPAL_MAX_GROUPS) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			break;
		t->tk_gids[t->tk_ngids++] = (gid_t)g;
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

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
auth_bootstrap(struct auth *a, const char *state_dir)
{
	unsigned char raw[TOKEN_BYTES], idraw[8];
	char secret[2 * TOKEN_BYTES + 8], path[4096];
	struct db_token_row row;
	size_t n;
	int fd, rc;

	pthread_rwlock_rdlock(&a->au_lock);
	n = a->au_n;
	pthread_rwlock_unlock(&a->au_lock);
	if (n > 0)
		return 0;
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw) ||
	    getrandom(idraw, sizeof(idraw), 0) != sizeof(idraw)) {
		log_warn("bootstrap token: getrandom");
		return -1;
	}
	memcpy(secret, "vmm_", 4);
	hex(raw, sizeof(raw), secret + 4);

	memset(&row, 0, sizeof(row));
	hex(idraw, sizeof(idraw), row.tr_id);
	if (auth_hash(secret, strlen(secret), row.tr_hash) != 0)
		return -1;
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

		/* Comparing hashes: timing reveals nothing of the secret. */
		if (memcmp(t->tk_hash, h, sizeof(h)) != 0)
			continue;
		if (t->tk_expires_ms != 0 && t->tk_expires_ms <= now)
			break;
		pr->pr_known = 1;
		pr->pr_uid = t->tk_uid;
		pr->pr_gid = t->tk_ngids > 0 ? t->tk_gids[0] : 0;
		pr->pr_ngroups = t->tk_ngids;
		memcpy(pr->pr_groups, t->tk_gids,
		       (size_t)t->tk_ngids * sizeof(gid_t));
		pr->pr_pid = 0;
		snprintf(pr->pr_jail, sizeof(pr->pr_jail), "%s", t->tk_jail);
		snprintf(pr->pr_via, sizeof(pr->pr_via), "token");
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
