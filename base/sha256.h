/*
 * SHA-256, from libsodium: a maintained crypto library (token hashes must
 * not come from hand-written cryptography), and a small one: OpenSSL's
 * libcrypto alone made the idle daemon 3.4 MiB larger (docs/benchmarks.md).
 * The only file that includes <sodium.h>.
 */
#ifndef VMMAPID_BASE_SHA256_H
#define VMMAPID_BASE_SHA256_H

#include <stddef.h>

/* Big enough for libsodium's state (checked at compile time). */
struct sha256_ctx {
	_Alignas(16) unsigned char sc_state[128];
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *buf, size_t len);
void sha256_final(struct sha256_ctx *ctx, unsigned char out[32]);

/* One call for a whole buffer. */
void sha256(const void *buf, size_t len, unsigned char out[32]);

#endif
