#include "base/sha256.h"

#include <sodium.h>

_Static_assert(sizeof(crypto_hash_sha256_state) <=
		   sizeof(((struct sha256_ctx *)0)->sc_state),
	       "struct sha256_ctx is too small for libsodium's state");

/* libsodium's SHA-256 needs no sodium_init(): it keeps no global state. */
void
sha256_init(struct sha256_ctx *ctx)
{
	crypto_hash_sha256_init((crypto_hash_sha256_state *)ctx->sc_state);
}

void
sha256_update(struct sha256_ctx *ctx, const void *buf, size_t len)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)ctx->sc_state,
				  buf, len);
}

void
sha256_final(struct sha256_ctx *ctx, unsigned char out[32])
{
	crypto_hash_sha256_final((crypto_hash_sha256_state *)ctx->sc_state,
				 out);
}

void
sha256(const void *buf, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, buf, len);
}
