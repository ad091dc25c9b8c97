/*
 * libFuzzer harness of the Authorization header (core/auth.c auth_check)
 * against a token set holding one real token, made through
 * auth_token_add in the harness's database (fuzz_ctx.c).  The value is
 * cut at a NUL as libmicrohttpd keeps header lines; the first byte puts
 * the real secret around the fuzzer's bytes ("Bearer " SECRET INPUT,
 * INPUT SECRET) or leaves the input alone.  The rule checked: a value is
 * accepted if and only if it is "Bearer" (any case), one blank or more,
 * and exactly the secret; the principal is then the token's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/auth.h"
#include "fuzz_ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_secret[AUTH_SECRET_LEN];

static struct auth *
fuzz_auth(void)
{
	const struct api_context *ctx = fuzz_ctx();
	struct auth_token tok;

	if (fuzz_secret[0] != '\0')
		return ctx->ac_auth;
	memset(&tok, 0, sizeof(tok));
	tok.at_uid = 1000;
	tok.at_gids[0] = 1000;
	tok.at_gids[1] = 27;
	tok.at_ngids = 2;
	snprintf(tok.at_description, sizeof(tok.at_description), "fuzz");
	if (auth_token_add(ctx->ac_auth, &tok, fuzz_secret) != 0)
		abort();
	return ctx->ac_auth;
}

/* What auth_check must accept: "Bearer", blanks, the secret. */
static int
fuzz_expected(const char *v)
{
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return 0;
	v += 7;
	while (*v == ' ')
		v++;
	return strcmp(v, fuzz_secret) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth *a = fuzz_auth();
	struct principal pr;
	size_t n, slen = strlen(fuzz_secret);
	char *v;
	int rc;

	if (size < 1)
		return 0;
	n = size - 1;
	if ((v = calloc(1, n + slen + 8)) == NULL)
		abort();
	switch (data[0] % 3) {
	case 0:
		memcpy(v, data + 1, n);
		break;
	case 1:
		memcpy(v, "Bearer ", 7);
		memcpy(v + 7, fuzz_secret, slen);
		memcpy(v + 7 + slen, data + 1, n);
		break;
	default:
		memcpy(v, data + 1, n);
		memcpy(v + n, fuzz_secret, slen);
		break;
	}
	memset(&pr, 0, sizeof(pr));
	rc = auth_check(a, v, &pr);
	if ((rc == 0) != fuzz_expected(v))
		abort();
	if (rc == 0 && (!pr.pr_known || pr.pr_uid != 1000 ||
			pr.pr_ngroups != 2 || pr.pr_groups[1] != 27))
		abort();
	if (rc != 0 && pr.pr_known)
		abort();
	free(v);
	return 0;
}
