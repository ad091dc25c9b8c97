/*
 * Bearer tokens for TCP callers.  Tokens are random, shown once, and
 * stored only as SHA-256 hashes; the set is loaded at start-up and kept in
 * memory.  Locking: one rwlock guards the token set.
 */
#ifndef VMMAPID_SERVER_AUTH_H
#define VMMAPID_SERVER_AUTH_H

#include "api/api.h"

struct auth;
struct db;

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

#endif
