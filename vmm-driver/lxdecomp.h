/*
 * A Linux bzImage's payload, decompressed on the host: the compressed
 * vmlinux (ELF) that arch/x86/boot/compressed carries, in whichever of
 * the kernel's formats it was built with.  Each format is decompressed
 * by its maintained library (zlib, liblzma, liblz4, libzstd, libbz2);
 * a library the build did not find leaves its format answering ENOTSUP.
 *
 * The kernel's build appends the uncompressed size as a le32 after the
 * compressed stream (scripts/Makefile.lib, size_append); the output is
 * exactly that long, or the payload is refused.  The input is untrusted:
 * every length is checked, and the output is bounded by the caller.
 *
 * No globals: safe to call from any thread.
 */
#ifndef VMMAPID_VMM_DRIVER_LXDECOMP_H
#define VMMAPID_VMM_DRIVER_LXDECOMP_H

#include <stddef.h>
#include <stdint.h>

/* The most any payload may decompress to (bytes). */
#define LXDECOMP_MAX_OUT (256u << 20)

/*
 * The compression of a payload by its magic: "gzip", "xz", "lzma",
 * "lz4", "zstd", "bzip2"; NULL when none matches.
 */
const char *lxdecomp_detect(const uint8_t *p, size_t len);

/*
 * Whether this build can decompress the format lxdecomp_detect named
 * (1) or lacks its library (0).
 */
int lxdecomp_supported(const char *format);

/*
 * Decompresses in (in_len bytes: the compressed stream, then its le32
 * uncompressed size) into a new buffer of exactly that size.  0 with
 * *out (released with lxdecomp_free), *out_len and *format (a static
 * name); -1 with errno and a sentence in why:
 *   EINVAL   no known magic, a corrupt stream, or an output whose size
 *            differs from the size appended to it
 *   E2BIG    the appended size is over max_out
 *   ENOTSUP  the build lacks the format's library (why names it)
 *   ENOMEM
 */
int lxdecomp_payload(const uint8_t *in, size_t in_len, size_t max_out,
		     uint8_t **out, size_t *out_len, const char **format,
		     char *why, size_t len);

/* Releases what lxdecomp_payload made; NULL is nothing. */
void lxdecomp_free(uint8_t *out, size_t out_len);

#endif
