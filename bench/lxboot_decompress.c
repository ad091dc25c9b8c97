/*
 * What booting a Linux bzImage costs the host before the guest runs:
 * lxboot_load (vmm-driver/lxboot.c) with the payload decompressed here,
 * cold (no cache), storing into the cache (decompress + write + fsync),
 * and from the cache; the decompression alone (lxdecomp_payload); and
 * the guest-side mode (a copy of the image) for scale.
 *
 *   bench_lxboot_decompress [-n RUNS] [-m MEM_MIB] [-d CACHE_PARENT] KERNEL
 *
 * Built by `cmake --build B --target bench_lxboot_decompress` (not part
 * of the default build); bench/lxboot.sh builds and runs it.  Prints
 * Markdown: every run and the median, in milliseconds of wall time, and
 * the sizes involved.
 */
#include "base/sha256.h"
#include "vmm-driver/lxboot.h"
#include "vmm-driver/lxcache.h"
#include "vmm-driver/lxdecomp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX 101

struct series {
	const char *s_name;
	double s_ms[RUNS_MAX];  /* wall time */
	double s_cpu[RUNS_MAX]; /* user + system time of the process */
	int s_n;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Starts a timed step. */
static void
step_start(double *t)
{
	t[0] = now_ms();
	t[1] = cpu_ms();
}

/* Ends it, into s. */
static void
step_end(struct series *s, const double *t)
{
	s->s_ms[s->s_n] = now_ms() - t[0];
	s->s_cpu[s->s_n] = cpu_ms() - t[1];
	s->s_n++;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(const double *x, int n)
{
	double v[RUNS_MAX];

	memcpy(v, x, sizeof(double) * (size_t)n);
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
print_series(const struct series *s)
{
	int i;

	printf("| %s | **%.1f** | %.1f | ", s->s_name, median(s->s_ms, s->s_n),
	       median(s->s_cpu, s->s_n));
	for (i = 0; i < s->s_n; i++)
		printf("%s%.1f", i ? ", " : "", s->s_ms[i]);
	printf(" |\n");
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	p = malloc((size_t)n);
	if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
load_or_die(const struct lxboot_config *c, uint8_t *mem, uint64_t size,
	    struct lxboot_info *info)
{
	struct vmm_regs regs;
	char why[512];

	if (lxboot_load(c, mem, size, &regs, info, why, sizeof(why)) == -1) {
		fprintf(stderr, "lxboot_load: %s\n", why);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	const char *parent = "/tmp";
	struct series dec = {.s_name =
				 "decompression alone (lxdecomp_payload)"};
	struct series cold = {.s_name = "lxboot_load, host-side, no cache"};
	struct series store = {.s_name = "lxboot_load, cache miss: decompress "
					 "+ store (write, fsync, rename)"};
	struct series hit = {.s_name = "lxboot_load, cache hit"};
	struct series guest = {.s_name = "lxboot_load, guest-side (bzImage "
					 "copied as is)"};
	struct lxboot_config c;
	struct lxboot_info info;
	unsigned char digest[32];
	char key[65], dir[256], path[512];
	uint64_t mem_size = 256ull << 20;
	uint8_t *kernel, *mem, *elf;
	size_t klen, elf_len = 0, off, plen;
	const char *format = "?";
	char why[512];
	int runs = 7, ch, i;
	struct stat st;

	while ((ch = getopt(argc, argv, "n:m:d:")) != -1) {
		switch (ch) {
		case 'n':
			runs = atoi(optarg);
			break;
		case 'm':
			mem_size = strtoull(optarg, NULL, 10) << 20;
			break;
		case 'd':
			parent = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || runs < 1 || runs > RUNS_MAX)
		goto usage;
	kernel = slurp(argv[optind], &klen);
	if (kernel == NULL) {
		perror(argv[optind]);
		return 1;
	}
	mem = malloc(mem_size);
	if (mem == NULL)
		return 1;
	memset(mem, 0, mem_size); /* fault the pages in before timing */
	sha256(kernel, klen, digest);
	for (i = 0; i < 32; i++)
		snprintf(key + 2 * i, 3, "%02x", digest[i]);
	snprintf(dir, sizeof(dir), "%s/lxboot-bench.XXXXXX", parent);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s%s", dir, key, LXCACHE_SUFFIX);

	memset(&c, 0, sizeof(c));
	c.lc_kernel = kernel;
	c.lc_kernel_len = klen;
	c.lc_cmdline = "console=ttyS0";
	c.lc_vcpus = 1;
	c.lc_decompress = LXBOOT_DECOMPRESS_HOST;

	/* The payload, as lxboot finds it: for the decompression alone. */
	if (klen < 0x250) {
		fprintf(stderr, "%s: not a bzImage\n", argv[optind]);
		return 1;
	}
	off = ((size_t)(kernel[0x1f1] ? kernel[0x1f1] : 4) + 1) * 512;
	off += (size_t)kernel[0x248] | (size_t)kernel[0x249] << 8 |
	       (size_t)kernel[0x24a] << 16 | (size_t)kernel[0x24b] << 24;
	plen = (size_t)kernel[0x24c] | (size_t)kernel[0x24d] << 8 |
	       (size_t)kernel[0x24e] << 16 | (size_t)kernel[0x24f] << 24;
	if (off > klen || plen > klen - off) {
		fprintf(stderr, "%s: not a bzImage with a payload\n",
			argv[optind]);
		return 1;
	}

	for (i = 0; i < runs; i++) {
		double t[2];

		step_start(t);
		if (lxdecomp_payload(kernel + off, plen, LXDECOMP_MAX_OUT, &elf,
				     &elf_len, &format, why,
				     sizeof(why)) == -1) {
			fprintf(stderr, "lxdecomp_payload: %s\n", why);
			return 1;
		}
		step_end(&dec, t);
		lxdecomp_free(elf, elf_len);

		step_start(t);
		load_or_die(&c, mem, mem_size, &info);
		step_end(&cold, t);

		c.lc_cache_dir = dir;
		c.lc_kernel_sha256 = key;
		unlink(path);
		step_start(t);
		load_or_die(&c, mem, mem_size, &info);
		step_end(&store, t);
		if (info.li_cache_hit)
			return 1;

		step_start(t);
		load_or_die(&c, mem, mem_size, &info);
		step_end(&hit, t);
		if (!info.li_cache_hit) {
			fprintf(stderr, "expected a cache hit\n");
			return 1;
		}
		c.lc_cache_dir = NULL;
		c.lc_kernel_sha256 = NULL;

		c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
		step_start(t);
		load_or_die(&c, mem, mem_size, &info);
		step_end(&guest, t);
		c.lc_decompress = LXBOOT_DECOMPRESS_HOST;
	}
	if (stat(path, &st) == -1)
		st.st_size = 0;

	printf("Kernel `%s`: %zu bytes, boot protocol %x.%02x, payload %s "
	       "(%zu bytes) -> ELF vmlinux of %zu bytes (%.1f MiB); cache "
	       "file %lld bytes; guest RAM %llu MiB; %d runs each.\n\n",
	       argv[optind], klen, info.li_protocol >> 8,
	       info.li_protocol & 0xff, format, plen, elf_len,
	       elf_len / 1048576.0, (long long)st.st_size,
	       (unsigned long long)(mem_size >> 20), runs);
	printf("| what | median wall ms | median CPU ms | runs, wall ms |\n"
	       "| --- | --- | --- | --- |\n");
	print_series(&dec);
	print_series(&cold);
	print_series(&store);
	print_series(&hit);
	print_series(&guest);

	unlink(path);
	rmdir(dir);
	free(mem);
	free(kernel);
	return 0;
usage:
	fprintf(stderr, "usage: bench_lxboot_decompress [-n RUNS] [-m MEM_MIB] "
			"[-d CACHE_PARENT] KERNEL\n");
	return 2;
}
