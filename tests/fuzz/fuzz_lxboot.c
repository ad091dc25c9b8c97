/*
 * libFuzzer harness of the Linux boot loader (vmm-driver/lxboot.c and
 * what it calls: lxdecomp.c's six decoders, mptable.c): any bytes as a
 * kernel, loaded host-side and guest-side into 32 MiB of guest RAM with a
 * small initrd.  The input is copied into a buffer of exactly its size,
 * so that AddressSanitizer sees a read past lc_kernel_len.  Built with
 * the others (-DVMMAPID_FUZZ=ON, tests/fuzz/run); by hand:
 *
 *   tests/fuzz/run --build-only
 *   build-fuzz/tests/fuzz/fuzz_lxboot -max_len=16384 -rss_limit_mb=2048 \
 *     tests/fuzz/corpus/fuzz_lxboot
 *
 * The seeds are test_lxboot's fixtures (one bzImage per compression and
 * the ELF vmlinux).  First runs (2026-12-05, commit 2e0095c): 861,152
 * inputs in 14 minutes, no finding.
 */
#include "vmm-driver/lxboot.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MEM (32u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	static const uint8_t initrd[5000];
	struct lxboot_config c;
	struct lxboot_info info;
	struct vmm_regs regs;
	char why[256];
	uint8_t *copy;

	if (mem == NULL && (mem = calloc(1, FUZZ_MEM)) == NULL)
		abort();
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	memset(&c, 0, sizeof(c));
	c.lc_kernel = copy;
	c.lc_kernel_len = size;
	c.lc_cmdline = "console=ttyS0";
	c.lc_vcpus = 2;
	c.lc_initrd = initrd;
	c.lc_initrd_len = sizeof(initrd);
	c.lc_decompress = LXBOOT_DECOMPRESS_HOST;
	(void)lxboot_load(&c, mem, FUZZ_MEM, &regs, &info, why, sizeof(why));
	c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	(void)lxboot_load(&c, mem, FUZZ_MEM, &regs, &info, why, sizeof(why));
	free(copy);
	return 0;
}
