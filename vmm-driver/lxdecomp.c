/*
 * Host-side decompression of a bzImage's payload (see lxdecomp.h).
 *
 * Every decoder writes into one buffer of the size the kernel appended,
 * allocated before decoding starts: a stream that would produce more is
 * stopped at that size and refused, so a hostile payload costs at most
 * max_out bytes of memory (plus the decoder's own state, which
 * LXDECOMP_DECODER_MEM bounds where the library lets us).
 *
 * The LXDECOMP_HAVE_* macros come from CMakeLists.txt: one per library
 * pkg-config (or CMake's FindBZip2) found.
 */
#include "vmm-driver/lxdecomp.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef LXDECOMP_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef LXDECOMP_HAVE_LZMA
#include <lzma.h>
#endif
#ifdef LXDECOMP_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef LXDECOMP_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef LXDECOMP_HAVE_BZIP2
#include <bzlib.h>
#endif

/* Memory a decoder may use for its dictionary and tables (xz, lzma). */
#define LXDECOMP_DECODER_MEM (256ull << 20)

/* The lz4 legacy frame (lz4 -l): this magic, then blocks of at most
 * 8 MiB of output, each prefixed by its compressed size (le32). */
#define LXDECOMP_LZ4_MAGIC 0x184c2102u
#define LXDECOMP_LZ4_BLOCK (8u << 20)

struct lxdecomp_format {
	const char *df_name;
	const uint8_t *df_magic;
	size_t df_magic_len;
	const char *df_library; /* what the build needs for it */
	int df_have;
};

static const uint8_t lxdecomp_gzip_magic[] = {0x1f, 0x8b};
static const uint8_t lxdecomp_xz_magic[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
static const uint8_t lxdecomp_lzma_magic[] = {0x5d, 0x00, 0x00};
static const uint8_t lxdecomp_lz4_magic[] = {0x02, 0x21, 0x4c, 0x18};
static const uint8_t lxdecomp_zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};
static const uint8_t lxdecomp_bzip2_magic[] = {'B', 'Z', 'h'};

#define LXDECOMP_MAGIC(m) m, sizeof(m)

/* 1 where the build has the library, for the table below. */
#ifdef LXDECOMP_HAVE_ZLIB
#define LXDECOMP_ZLIB 1
#else
#define LXDECOMP_ZLIB 0
#endif
#ifdef LXDECOMP_HAVE_LZMA
#define LXDECOMP_LZMA 1
#else
#define LXDECOMP_LZMA 0
#endif
#ifdef LXDECOMP_HAVE_LZ4
#define LXDECOMP_LZ4 1
#else
#define LXDECOMP_LZ4 0
#endif
#ifdef LXDECOMP_HAVE_ZSTD
#define LXDECOMP_ZSTD 1
#else
#define LXDECOMP_ZSTD 0
#endif
#ifdef LXDECOMP_HAVE_BZIP2
#define LXDECOMP_BZIP2 1
#else
#define LXDECOMP_BZIP2 0
#endif

static const struct lxdecomp_format lxdecomp_formats[] = {
    {"gzip", LXDECOMP_MAGIC(lxdecomp_gzip_magic), "zlib", LXDECOMP_ZLIB},
    {"xz", LXDECOMP_MAGIC(lxdecomp_xz_magic), "liblzma", LXDECOMP_LZMA},
    /* lzma-alone: properties byte 0x5d (lc=3 lp=0 pb=2, what the kernel's
     * "lzma -9" writes) and a dictionary size whose two low bytes are
     * zero (a multiple of 64 KiB, as every preset's is). */
    {"lzma", LXDECOMP_MAGIC(lxdecomp_lzma_magic), "liblzma", LXDECOMP_LZMA},
    {"lz4", LXDECOMP_MAGIC(lxdecomp_lz4_magic), "liblz4", LXDECOMP_LZ4},
    {"zstd", LXDECOMP_MAGIC(lxdecomp_zstd_magic), "libzstd", LXDECOMP_ZSTD},
    {"bzip2", LXDECOMP_MAGIC(lxdecomp_bzip2_magic), "libbz2", LXDECOMP_BZIP2},
};

#define LXDECOMP_NFORMATS                                                      \
	(sizeof(lxdecomp_formats) / sizeof(lxdecomp_formats[0]))

static int lxdecomp_fail(char *why, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
lxdecomp_fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return (-1);
}

static const struct lxdecomp_format *
lxdecomp_find(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < LXDECOMP_NFORMATS; i++) {
		const struct lxdecomp_format *f = &lxdecomp_formats[i];

		if (len >= f->df_magic_len &&
		    memcmp(p, f->df_magic, f->df_magic_len) == 0)
			return f;
	}
	return NULL;
}

const char *
lxdecomp_detect(const uint8_t *p, size_t len)
{
	const struct lxdecomp_format *f = lxdecomp_find(p, len);

	return f != NULL ? f->df_name : NULL;
}

int
lxdecomp_supported(const char *format)
{
	size_t i;

	for (i = 0; i < LXDECOMP_NFORMATS; i++)
		if (strcmp(lxdecomp_formats[i].df_name, format) == 0)
			return lxdecomp_formats[i].df_have;
	return 0;
}

static uint32_t
lxdecomp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The decoders: each fills out[0 .. cap) from in[0 .. n) and returns 0
 * when the stream ended exactly at cap, -1 with a sentence otherwise.
 */

#ifdef LXDECOMP_HAVE_ZLIB
static int
lxdecomp_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap, char *why,
	      size_t len)
{
	z_stream zs;
	int rc;
	size_t got;

	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: a gzip wrapper, not zlib's. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return lxdecomp_fail(why, len, ENOMEM,
				     "gzip: zlib could not start inflating");
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	got = cap - zs.avail_out;
	inflateEnd(&zs);
	if (rc == Z_STREAM_END && got == cap)
		return 0;
	if (rc == Z_STREAM_END)
		return lxdecomp_fail(why, len, EINVAL,
				     "gzip: the stream ends after %zu bytes, "
				     "but the size appended to it says %zu",
				     got, cap);
	if ((rc == Z_OK || rc == Z_BUF_ERROR) && zs.avail_out == 0)
		return lxdecomp_fail(why, len, EINVAL,
				     "gzip: the stream goes on past the %zu "
				     "bytes the size appended to it says",
				     cap);
	return lxdecomp_fail(why, len, EINVAL,
			     "gzip: corrupt stream after %zu bytes of output "
			     "(zlib: %s)",
			     got, zs.msg != NULL ? zs.msg : "truncated");
}
#endif

#ifdef LXDECOMP_HAVE_LZMA
static int
lxdecomp_lzma(const char *name, const uint8_t *in, size_t n, uint8_t *out,
	      size_t cap, char *why, size_t len)
{
	lzma_stream ls = LZMA_STREAM_INIT;
	lzma_ret rc;
	size_t got;

	/* xz: one stream, its BCJ filter (--x86) handled by the decoder. */
	if (strcmp(name, "xz") == 0)
		rc = lzma_stream_decoder(&ls, LXDECOMP_DECODER_MEM, 0);
	else
		rc = lzma_alone_decoder(&ls, LXDECOMP_DECODER_MEM);
	if (rc != LZMA_OK)
		return lxdecomp_fail(why, len, ENOMEM,
				     "%s: liblzma could not start decoding "
				     "(error %d)",
				     name, (int)rc);
	ls.next_in = in;
	ls.avail_in = n;
	ls.next_out = out;
	ls.avail_out = cap;
	/* Again while it moves: with the output full, the stream's index
	 * and footer are still read without needing room. */
	do {
		size_t ain = ls.avail_in, aout = ls.avail_out;

		rc = lzma_code(&ls, LZMA_FINISH);
		if (ls.avail_in == ain && ls.avail_out == aout)
			break;
	} while (rc == LZMA_OK);
	got = cap - ls.avail_out;
	/* lzma-alone without an end marker ends when its declared size is
	 * out, which lzma_code reports as LZMA_STREAM_END too. */
	if (rc == LZMA_STREAM_END && got == cap) {
		lzma_end(&ls);
		return 0;
	}
	lzma_end(&ls);
	if (rc == LZMA_STREAM_END)
		return lxdecomp_fail(why, len, EINVAL,
				     "%s: the stream ends after %zu bytes, but "
				     "the size appended to it says %zu",
				     name, got, cap);
	if ((rc == LZMA_OK || rc == LZMA_BUF_ERROR) && got == cap)
		return lxdecomp_fail(why, len, EINVAL,
				     "%s: the stream goes on past the %zu "
				     "bytes the size appended to it says",
				     name, cap);
	if (rc == LZMA_MEMLIMIT_ERROR)
		return lxdecomp_fail(why, len, E2BIG,
				     "%s: the stream needs more than %llu MiB "
				     "to decode",
				     name, LXDECOMP_DECODER_MEM >> 20);
	return lxdecomp_fail(why, len, EINVAL,
			     "%s: corrupt or truncated stream after %zu bytes "
			     "of output (liblzma error %d)",
			     name, got, (int)rc);
}
#endif

#ifdef LXDECOMP_HAVE_LZ4
static int
lxdecomp_lz4(const uint8_t *in, size_t n, uint8_t *out, size_t cap, char *why,
	     size_t len)
{
	size_t off = 4, got = 0;

	while (off < n) {
		uint32_t csize;
		size_t room;
		int r;

		if (n - off < 4)
			return lxdecomp_fail(why, len, EINVAL,
					     "lz4: truncated block header at "
					     "offset %zu",
					     off);
		csize = lxdecomp_le32(in + off);
		off += 4;
		/* Legacy frames may follow one another (lz4 -l of a
		 * concatenation): a magic where a block size would be. */
		if (csize == LXDECOMP_LZ4_MAGIC)
			continue;
		if (csize == 0 ||
		    csize > (uint32_t)LZ4_compressBound(LXDECOMP_LZ4_BLOCK) ||
		    csize > n - off)
			return lxdecomp_fail(why, len, EINVAL,
					     "lz4: a block of %u bytes at "
					     "offset %zu does not fit in the "
					     "%zu bytes of the payload",
					     csize, off - 4, n);
		room = cap - got;
		if (room > LXDECOMP_LZ4_BLOCK)
			room = LXDECOMP_LZ4_BLOCK;
		if (room == 0)
			return lxdecomp_fail(why, len, EINVAL,
					     "lz4: the stream goes on past the "
					     "%zu bytes the size appended to "
					     "it says",
					     cap);
		r = LZ4_decompress_safe((const char *)in + off,
					(char *)out + got, (int)csize,
					(int)room);
		if (r < 0)
			return lxdecomp_fail(why, len, EINVAL,
					     "lz4: corrupt block at offset %zu "
					     "(or one that decompresses past "
					     "the appended size %zu)",
					     off - 4, cap);
		got += (size_t)r;
		off += csize;
	}
	if (got != cap)
		return lxdecomp_fail(why, len, EINVAL,
				     "lz4: the stream ends after %zu bytes, "
				     "but the size appended to it says %zu",
				     got, cap);
	return 0;
}
#endif

#ifdef LXDECOMP_HAVE_ZSTD
static int
lxdecomp_zstd(const uint8_t *in, size_t n, uint8_t *out, size_t cap, char *why,
	      size_t len)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = {in, n, 0};
	ZSTD_outBuffer ob = {out, cap, 0};
	size_t rc;

	if (dc == NULL)
		return lxdecomp_fail(why, len, ENOMEM,
				     "zstd: could not make a decoder");
	/* Streaming, so that a stream longer than cap stops at cap. */
	do {
		size_t ipos = ib.pos, opos = ob.pos;

		rc = ZSTD_decompressStream(dc, &ob, &ib);
		if (ZSTD_isError(rc)) {
			ZSTD_freeDCtx(dc);
			return lxdecomp_fail(why, len, EINVAL,
					     "zstd: corrupt stream after %zu "
					     "bytes of output (%s)",
					     ob.pos, ZSTD_getErrorName(rc));
		}
		if (ib.pos == ipos && ob.pos == opos)
			break; /* no progress: out of input or of room */
	} while (rc != 0);
	ZSTD_freeDCtx(dc);
	if (rc != 0 && ob.pos == cap)
		return lxdecomp_fail(why, len, EINVAL,
				     "zstd: the stream goes on past the %zu "
				     "bytes the size appended to it says",
				     cap);
	if (rc != 0)
		return lxdecomp_fail(why, len, EINVAL,
				     "zstd: truncated stream after %zu bytes "
				     "of output",
				     ob.pos);
	if (ib.pos != ib.size)
		return lxdecomp_fail(why, len, EINVAL,
				     "zstd: %zu bytes follow the frame where "
				     "the appended size should be",
				     ib.size - ib.pos);
	if (ob.pos != cap)
		return lxdecomp_fail(why, len, EINVAL,
				     "zstd: the stream ends after %zu bytes, "
				     "but the size appended to it says %zu",
				     ob.pos, cap);
	return 0;
}
#endif

#ifdef LXDECOMP_HAVE_BZIP2
static int
lxdecomp_bzip2(const uint8_t *in, size_t n, uint8_t *out, size_t cap, char *why,
	       size_t len)
{
	unsigned int got = (unsigned int)cap;
	int rc;

	rc = BZ2_bzBuffToBuffDecompress(
	    (char *)out, &got, (char *)(uintptr_t)in, (unsigned int)n, 0, 0);
	if (rc == BZ_OUTBUFF_FULL)
		return lxdecomp_fail(why, len, EINVAL,
				     "bzip2: the stream goes on past the %zu "
				     "bytes the size appended to it says",
				     cap);
	if (rc == BZ_MEM_ERROR)
		return lxdecomp_fail(why, len, ENOMEM, "bzip2: out of memory");
	if (rc != BZ_OK)
		return lxdecomp_fail(why, len, EINVAL,
				     "bzip2: corrupt or truncated stream "
				     "(libbz2 error %d)",
				     rc);
	if (got != cap)
		return lxdecomp_fail(why, len, EINVAL,
				     "bzip2: the stream ends after %u bytes, "
				     "but the size appended to it says %zu",
				     got, cap);
	return 0;
}
#endif

/*
 * The output buffer: its own mapping, with transparent huge pages asked
 * for.  Tens of MiB touched once, front to back: in 4 KiB pages that is
 * ~16,000 page faults, which cost ~270 ms for a 66 MB vmlinux on the
 * (virtualized) machines measured, more than a fifth of the xz
 * decompression itself (docs/benchmarks.md, "Linux boot").
 */
static uint8_t *
lxdecomp_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE); /* a hint: fine without */
#endif
	return p;
}

void
lxdecomp_free(uint8_t *out, size_t out_len)
{
	if (out != NULL)
		munmap(out, out_len);
}

int
lxdecomp_payload(const uint8_t *in, size_t in_len, size_t max_out,
		 uint8_t **out, size_t *out_len, const char **format, char *why,
		 size_t len)
{
	const struct lxdecomp_format *f;
	uint8_t *buf;
	size_t n, cap;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	*format = NULL;
	f = lxdecomp_find(in, in_len);
	if (f == NULL)
		return lxdecomp_fail(why, len, EINVAL,
				     "the payload is in no known compression "
				     "format (gzip, xz, lzma, lz4, zstd, "
				     "bzip2)");
	*format = f->df_name;
	if (!f->df_have)
		return lxdecomp_fail(why, len, ENOTSUP,
				     "the kernel's payload is %s-compressed "
				     "and this build lacks %s; boot it with "
				     "\"decompress\": \"guest\" or rebuild "
				     "with %s",
				     f->df_name, f->df_library, f->df_library);
	/* The libraries count in int or unsigned int. */
	if (in_len < f->df_magic_len + 4 || in_len > INT_MAX)
		return lxdecomp_fail(why, len, EINVAL,
				     "a %s payload of %zu bytes cannot hold a "
				     "stream and its size",
				     f->df_name, in_len);
	n = in_len - 4;
	cap = lxdecomp_le32(in + n);
	if (max_out > LXDECOMP_MAX_OUT)
		max_out = LXDECOMP_MAX_OUT;
	if (cap > max_out)
		return lxdecomp_fail(why, len, E2BIG,
				     "the %s payload says it decompresses to "
				     "%zu bytes, over the %zu allowed",
				     f->df_name, cap, max_out);
	if (cap == 0)
		return lxdecomp_fail(why, len, EINVAL,
				     "the %s payload says it decompresses to "
				     "nothing",
				     f->df_name);
	buf = lxdecomp_alloc(cap);
	if (buf == NULL)
		return lxdecomp_fail(why, len, ENOMEM,
				     "no memory for the %zu bytes of the "
				     "decompressed kernel",
				     cap);
#ifdef LXDECOMP_HAVE_ZLIB
	if (strcmp(f->df_name, "gzip") == 0)
		rc = lxdecomp_gzip(in, n, buf, cap, why, len);
#endif
#ifdef LXDECOMP_HAVE_LZMA
	if (strcmp(f->df_name, "xz") == 0 || strcmp(f->df_name, "lzma") == 0)
		rc = lxdecomp_lzma(f->df_name, in, n, buf, cap, why, len);
#endif
#ifdef LXDECOMP_HAVE_LZ4
	if (strcmp(f->df_name, "lz4") == 0)
		rc = lxdecomp_lz4(in, n, buf, cap, why, len);
#endif
#ifdef LXDECOMP_HAVE_ZSTD
	if (strcmp(f->df_name, "zstd") == 0)
		rc = lxdecomp_zstd(in, n, buf, cap, why, len);
#endif
#ifdef LXDECOMP_HAVE_BZIP2
	if (strcmp(f->df_name, "bzip2") == 0)
		rc = lxdecomp_bzip2(in, n, buf, cap, why, len);
#endif
	if (rc != 0) {
		int saved = errno;

		lxdecomp_free(buf, cap);
		errno = saved;
		return (-1);
	}
	*out = buf;
	*out_len = cap;
	return 0;
}
