/*
 * Bearer tokens for TCP callers.  Tokens are random, shown once, and
 * stored only as SHA-256 hashes; the set is loaded at start-up and kept in
 * memory.  A token stands for a uid, its groups (the first is the primary
 * group) and optionally a jail, until it expires or is removed.
 *
 * Locking: one rwlock guards the token set.  Adding and removing write
 * the database first and change the set once the write is durable.
 */
#ifndef VMMAPID_CORE_AUTH_H
#define VMMAPID_CORE_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/principal.h"

/* Groups a new token may carry (the stored list has room for these). */
#define AUTH_MAX_GIDS 32
/* Bytes of a token's description. */
#define AUTH_DESCRIPTION_MAX 255
/* The longest lifetime a new token may be given: ten years, in seconds. */
#define AUTH_EXPIRES_MAX_S (10LL * 366 * 24 * 3600)
/* Room for a token's secret: "vmm_", 64 hex digits, NUL. */
#define AUTH_SECRET_LEN 69

struct auth;
struct db;

/* A token as the API shows it: everything but the secret. */
struct auth_token {
	char at_id[33]; /* public id, hex */
	uid_t at_uid;
	gid_t at_gids[PRINCIPAL_MAX_GROUPS]; /* [0] is the primary group */
	int at_ngids;
	char at_jail[65]; /* "" outside any jail */
	int64_t at_created_ms;
	int64_t at_expires_ms; /* 0: never */
	char at_description[AUTH_DESCRIPTION_MAX + 1];
};

/* Loads the tokens of db. -1 with errno. */
int auth_open(struct auth **out, struct db *db);

void auth_close(struct auth *a);

/*
 * On a database without tokens, creates an admin token (uid 0), writes
 * it to STATE_DIR/admin.token (mode 0600) and prints it once on stderr.
 * Does nothing when a token exists. -1 with a logged reason.
 */
int auth_bootstrap(struct auth *a, const char *state_dir);

/*
 * Fills pr from an Authorization header value ("Bearer <token>").
 * 0 when the token is known and not expired; -1 (EACCES) otherwise.
 */
int auth_check(struct auth *a, const char *authorization, struct principal *pr);

/*
 * Creates a token for tok's at_uid, at_gids (1 to AUTH_MAX_GIDS), at_jail
 * and at_expires_ms (0: never, else a time in the future) with
 * at_description, durably, and usable as soon as this returns.  Fills
 * tok's at_id and at_created_ms, and secret (AUTH_SECRET_LEN bytes) with
 * the token itself, which is stored nowhere.  The caller checks that the
 * jail exists.  EINVAL: a field out of range.
 */
int auth_token_add(struct auth *a, struct auth_token *tok, char *secret);

/*
 * Removes token id, durably; from when this returns, the token is
 * refused.  ENOENT: no such token.
 */
int auth_token_remove(struct auth *a, const char *id);

/* Token id into *out. ENOENT. */
int auth_token_get(struct auth *a, const char *id, struct auth_token *out);

/*
 * Every token, oldest first (ties by id), as a new array the caller
 * frees (NULL when there are none).  -1 ENOMEM.
 */
int auth_token_list(struct auth *a, struct auth_token **list, size_t *n);

/* The number of tokens scoped to jail. */
size_t auth_token_count_in_jail(struct auth *a, const char *jail);

#endif
