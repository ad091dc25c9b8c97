/*
 * The Linux boot loader (vmm-driver/lxboot.c, lxdecomp.c, lxcache.c,
 * mptable.c) on its own: kernels in, guest memory and registers out.
 *
 * The fixtures are made at build time (tests/CMakeLists.txt): a tiny ELF
 * vmlinux from mkbzimage.c, compressed by gzip, xz, lzma, lz4, zstd and
 * bzip2, each wrapped into a bzImage with a real-shaped setup header.
 * What lands in guest memory is checked at the offsets boot.rst,
 * zero-page.rst and the MP spec give, not through the loader's structs.
 *
 * A real distribution kernel is checked too when one is at hand:
 * VMMAPID_TEST_BZIMAGE (a vmlinuz), the Linux test guest's kernel
 * (tests/guests/linux/fetch-and-build, in the build tree), a vmlinuz in
 * the nested KVM host's cache or /boot; and the vmlinux that cache keeps
 * (tests/kvmhost/run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "tfixture.h"
#include "tskip.h"
#include "vmm-driver/lxboot.h"
#include "vmm-driver/lxcache.h"
#include "vmm-driver/lxdecomp.h"
#include "vmm-driver/mptable.h"

#ifndef LXBOOT_FIXTURES
#error "LXBOOT_FIXTURES: the build's fixture directory"
#endif

#define MEM (64ull << 20)
#define ZP 0x7000 /* the zero page */
#define CMDLINE "console=ttyS0 reboot=t"
/* What mkbzimage.c puts where. */
#define TEXT_PADDR 0x1000000
#define TEXT_SIZE 0x10000
#define DATA_PADDR 0x1200000
#define DATA_SIZE 0x1000
#define BSS_SIZE 0x2000
#define PAYLOAD_OFF 0x400
#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct fx {
	struct tfixture f_tf; /* first: its directory is the cache's */
	uint8_t *f_mem;
	uint64_t f_mem_size;
	struct vmm_regs f_regs;
	struct lxboot_info f_info;
	struct lxboot_config f_c;
	char f_why[512];
	uint8_t *f_kernel; /* owned copy of the fixture under test */
	size_t f_kernel_len;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return (-1);
	fx->f_mem_size = MEM;
	fx->f_mem = calloc(1, MEM);
	if (fx->f_mem == NULL)
		return (-1);
	fx->f_c.lc_cmdline = CMDLINE;
	fx->f_c.lc_vcpus = 1;
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_HOST;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->f_mem);
	free(fx->f_kernel);
	tfixture_free(fx);
	return 0;
}

/* ---- reading guest memory and files ---- */

static uint64_t
rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

#define M8(fx, a) rd((fx)->f_mem + (a), 1)
#define M16(fx, a) rd((fx)->f_mem + (a), 2)
#define M32(fx, a) rd((fx)->f_mem + (a), 4)
#define M64(fx, a) rd((fx)->f_mem + (a), 8)

static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);
	size_t off = 0;

	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, p + off, (size_t)st.st_size - off);

		if (r <= 0) {
			free(p);
			close(fd);
			return NULL;
		}
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return p;
}

/* Takes the fixture name (bzImage.gzip, vmlinux) as the kernel. */
static void
use_fixture(struct fx *fx, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", LXBOOT_FIXTURES, name);
	free(fx->f_kernel);
	fx->f_kernel = slurp(path, &fx->f_kernel_len);
	if (fx->f_kernel == NULL)
		fail_msg("fixture %s: %s", path, strerror(errno));
	fx->f_c.lc_kernel = fx->f_kernel;
	fx->f_c.lc_kernel_len = fx->f_kernel_len;
}

static int
load(struct fx *fx)
{
	fx->f_why[0] = '\0';
	return lxboot_load(&fx->f_c, fx->f_mem, fx->f_mem_size, &fx->f_regs,
			   &fx->f_info, fx->f_why, sizeof(fx->f_why));
}

static void
load_ok(struct fx *fx)
{
	if (load(fx) != 0)
		fail_msg("lxboot_load: %s (errno %d)", fx->f_why, errno);
}

/* Fails unless the load fails with err and says something. */
static void
load_fails(struct fx *fx, int err)
{
	int rc = load(fx), e = errno;

	if (rc != -1 || e != err)
		fail_msg("expected errno %d, got rc %d errno %d: %s", err, rc,
			 e, fx->f_why);
	assert_true(strlen(fx->f_why) > 10);
	printf("    (%s)\n", fx->f_why);
}

/* The setup size of the fixture bzImage in f_kernel. */
static size_t
setup_size(const struct fx *fx)
{
	unsigned s = fx->f_kernel[0x1f1];

	return ((size_t)(s != 0 ? s : 4) + 1) * 512;
}

/* Whether a format's fixture was built; skips the case otherwise. */
static int
have_fixture(const char *fmt)
{
	static const char *const built[] = {
#ifdef LXBOOT_FIX_GZIP
	    "gzip",
#endif
#ifdef LXBOOT_FIX_XZ
	    "xz",
#endif
#ifdef LXBOOT_FIX_LZMA
	    "lzma",
#endif
#ifdef LXBOOT_FIX_LZ4
	    "lz4",
#endif
#ifdef LXBOOT_FIX_ZSTD
	    "zstd",
#endif
#ifdef LXBOOT_FIX_BZIP2
	    "bzip2",
#endif
	    NULL};
	unsigned i;

	for (i = 0; built[i] != NULL; i++)
		if (strcmp(built[i], fmt) == 0)
			return 1;
	return 0;
}

#define NEED(fmt)                                                              \
	do {                                                                   \
		if (!have_fixture(fmt))                                        \
			tskip("the %s tool was not found at build time", fmt); \
	} while (0)

/* The compressions of the bzImage fixtures, as tests/CMakeLists.txt
 * builds them. */
static const char *const lx_formats[] = {"gzip", "xz",   "lzma",
					 "lz4",  "zstd", "bzip2"};

/* Loads the bzImage of lx_formats[*i], or of the first format after it
 * whose fixture was built, and returns that format's name, *i past it;
 * NULL when no format is left.  For the loops over every format, which
 * pass over a format without a fixture. */
static const char *
use_next_format(struct fx *fx, unsigned *i)
{
	char name[64];
	const char *fmt;

	while (*i < sizeof(lx_formats) / sizeof(lx_formats[0])) {
		fmt = lx_formats[(*i)++];
		if (!have_fixture(fmt))
			continue;
		snprintf(name, sizeof(name), "bzImage.%s", fmt);
		use_fixture(fx, name);
		return fmt;
	}
	return NULL;
}

/* The ELF fixture's segments, in guest memory at their addresses. */
static void
check_vmlinux_loaded(struct fx *fx)
{
	size_t i;

	assert_memory_equal(fx->f_mem + TEXT_PADDR, "LXTEXT", 6);
	for (i = 6; i < TEXT_SIZE; i += 997)
		assert_int_equal(M8(fx, TEXT_PADDR + i),
				 (uint8_t)(i * 131 + i / 251));
	assert_memory_equal(fx->f_mem + DATA_PADDR, "LXDATA", 6);
	assert_int_equal(M8(fx, DATA_PADDR + 0x123), (uint8_t)(0x123 ^ 0x5a));
	for (i = 0; i < BSS_SIZE; i++)
		if (fx->f_mem[DATA_PADDR + DATA_SIZE + i] != 0)
			fail_msg("bss byte %zu not zeroed", i);
}

/* ---- the bzImage's header and the zero page ---- */

static void
test_lxboot__bzimage_setup_header_goes_into_the_zero_page(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	assert_string_equal(fx->f_info.li_format, "bzImage");
	assert_int_equal(fx->f_info.li_protocol, 0x020f);
	/* boot.rst's offsets, in the zero page as in the file. */
	assert_int_equal(M16(fx, ZP + 0x1fe), 0xaa55);
	assert_memory_equal(fx->f_mem + ZP + 0x202, "HdrS", 4);
	assert_int_equal(M16(fx, ZP + 0x206), 0x020f);
	assert_int_equal(M32(fx, ZP + 0x22c), 0x7fffffff); /* initrd_addr_max */
	assert_int_equal(M32(fx, ZP + 0x230), 0x200000); /* kernel_alignment */
	assert_int_equal(M8(fx, ZP + 0x234), 1);         /* relocatable */
	assert_int_equal(M16(fx, ZP + 0x236), 0x3);      /* xloadflags */
	assert_int_equal(M32(fx, ZP + 0x238), 2047);     /* cmdline_size */
	assert_int_equal(M32(fx, ZP + 0x248), PAYLOAD_OFF);
	assert_int_equal(M64(fx, ZP + 0x258), 0x1000000); /* pref_address */
	assert_int_equal(M32(fx, ZP + 0x260), 0x400000);  /* init_size */
	/* The same bytes as the file's, but for what a loader writes. */
	assert_memory_equal(fx->f_mem + ZP + 0x1f1, fx->f_kernel + 0x1f1,
			    0x210 - 0x1f1);
	assert_memory_equal(fx->f_mem + ZP + 0x22c, fx->f_kernel + 0x22c,
			    0x26c - 0x22c);
	/* Nothing of the kernel's beyond the header's end (0x26c). */
	assert_int_equal(M32(fx, ZP + 0x26c), 0);
}

static void
test_lxboot__zero_page_has_the_loader_fields(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	assert_int_equal(M8(fx, ZP + 0x210), 0xff); /* type_of_loader */
	/* loadflags: LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(M8(fx, ZP + 0x211) & 0x81, 0x81);
	assert_int_equal(M16(fx, ZP + 0x224), 0xfe00);  /* heap_end_ptr */
	assert_int_equal(M32(fx, ZP + 0x228), 0x20000); /* cmd_line_ptr */
	assert_int_equal(M32(fx, ZP + 0x0c8), 0);       /* ext_cmd_line_ptr */
	assert_string_equal((char *)fx->f_mem + 0x20000, CMDLINE);
	assert_int_equal(M32(fx, ZP + 0x218), 0); /* no initrd */
	assert_int_equal(M32(fx, ZP + 0x21c), 0);
	assert_int_equal(M8(fx, ZP + 0x1ef), 0); /* sentinel */
}

static void
test_lxboot__e820_map_has_low_ram_reserved_and_high_ram(void **state)
{
	struct fx *fx = *state;
	const uint64_t e = ZP + 0x2d0;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	assert_int_equal(M8(fx, ZP + 0x1e8), 3);
	assert_int_equal(M64(fx, e), 0);
	assert_int_equal(M64(fx, e + 8), 0x9fc00);
	assert_int_equal(M32(fx, e + 16), 1);
	assert_int_equal(M64(fx, e + 20), 0x9fc00);
	assert_int_equal(M64(fx, e + 28), 0x100000 - 0x9fc00);
	assert_int_equal(M32(fx, e + 36), 2);
	assert_int_equal(M64(fx, e + 40), 0x100000);
	assert_int_equal(M64(fx, e + 48), MEM - 0x100000);
	assert_int_equal(M32(fx, e + 56), 1);
	assert_int_equal(M64(fx, e + 60), 0); /* nothing after */
}

/* ---- the MP table ---- */

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n-- > 0)
		s = (uint8_t)(s + *p++);
	return s;
}

static void
check_mptable(struct fx *fx, unsigned n)
{
	const uint8_t *fp = fx->f_mem + 0x9fc00, *t, *e;
	unsigned i, cpus = 0, bus = 0, ioapic = 0, lints = 0, count;
	int pin[16];

	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(fp[11], 0); /* a table, not a default config */
	t = fx->f_mem + rd(fp + 4, 4);
	assert_true(rd(fp + 4, 4) > 0x9fc00 && rd(fp + 4, 4) < 0x100000);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(t[6], 4);
	assert_int_equal(sum(t, rd(t + 4, 2)), 0);
	assert_int_equal(rd(t + 36, 4), 0xfee00000);
	count = (unsigned)rd(t + 34, 2);
	assert_int_equal(count, n + 1 + 1 + 15 + 2);
	assert_int_equal(rd(t + 4, 2), 44 + 20 * n + 8 * (1 + 1 + 15 + 2));
	assert_int_equal(rd(t + 4, 2) + 16, mptable_size(n, 0));
	for (i = 0; i < 16; i++)
		pin[i] = -1;
	e = t + 44;
	for (i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus); /* APIC id = index */
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(e[3] >> 1 & 1, cpus == 0);
			cpus++;
			e += 20;
			continue;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			bus++;
			break;
		case 2:
			assert_int_equal(e[1], n);
			assert_int_equal(e[3], 1);
			assert_int_equal(rd(e + 4, 4), 0xfec00000);
			ioapic++;
			break;
		case 3:
			assert_int_equal(e[1], 0); /* INT */
			assert_int_equal(e[4], 0); /* ISA */
			assert_true(e[5] < 16);
			assert_int_equal(e[6], n); /* the I/O APIC */
			pin[e[5]] = e[7];
			break;
		case 4:
			assert_int_equal(e[1], lints == 0 ? 3 : 1);
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], lints);
			lints++;
			break;
		default:
			fail_msg("entry %u of unknown type %u", i, e[0]);
		}
		e += 8;
	}
	assert_int_equal(cpus, n);
	assert_int_equal(bus, 1);
	assert_int_equal(ioapic, 1);
	assert_int_equal(lints, 2);
	assert_int_equal(pin[0], 2); /* the PIT on pin 2 */
	assert_int_equal(pin[2], -1);
	for (i = 1; i < 16; i++)
		if (i != 2)
			assert_int_equal(pin[i], i);
}

static void
test_lxboot__mp_table_lists_each_vcpu(void **state)
{
	struct fx *fx = *state;
	const unsigned counts[] = {1, 2, 3, VMM_MAX_VCPUS};
	unsigned i;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memset(fx->f_mem, 0, 0x100000);
		fx->f_c.lc_vcpus = counts[i];
		load_ok(fx);
		check_mptable(fx, counts[i]);
	}
}

static void
test_lxboot__vcpus_out_of_range_is_einval(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_vcpus = 0;
	load_fails(fx, EINVAL);
	fx->f_c.lc_vcpus = VMM_MAX_VCPUS + 1;
	load_fails(fx, EINVAL);
}

/* ---- page tables, GDT, registers ---- */

/* Walks the guest's page tables for va as the CPU would (4-level, with
 * 2 MiB pages); the physical address, or -1. */
static int64_t
walk(struct fx *fx, uint64_t cr3, uint64_t va)
{
	uint64_t e;

	e = M64(fx, (cr3 & ~0xfffull) + 8 * (va >> 39 & 511));
	if (!(e & 1) || !(e & 2))
		return -1;
	e = M64(fx, (e & ~0xfffull) + 8 * (va >> 30 & 511));
	if (!(e & 1) || (e & 0x80))
		return -1;
	e = M64(fx, (e & ~0xfffull) + 8 * (va >> 21 & 511));
	if (!(e & 1) || !(e & 2) || !(e & 0x80))
		return -1;
	return (int64_t)((e & ~0x1fffffull) | (va & 0x1fffff));
}

static void
test_lxboot__page_tables_identity_map_4_gib(void **state)
{
	struct fx *fx = *state;
	const uint64_t va[] = {0,          0x7000,     0x20000,
			       0x1000000,  0x1234567,  0x3ffffff,
			       0xfec00000, 0xfee00000, 0xffffffff};
	uint64_t cr3;
	unsigned i;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	cr3 = fx->f_regs.rg_crs[VMM_CR3];
	assert_int_equal(cr3, 0x9000);
	for (i = 0; i < sizeof(va) / sizeof(va[0]); i++)
		assert_int_equal(walk(fx, cr3, va[i]), (int64_t)va[i]);
	assert_int_equal(walk(fx, cr3, 0x100000000ull), -1);
	/* Every 2 MiB page of the 4 GiB. */
	for (i = 0; i < 2048; i++)
		assert_int_equal(M64(fx, 0xb000 + 8 * i),
				 ((uint64_t)i << 21) | 0x83);
}

/* The descriptor at sel in the guest's GDT. */
static uint64_t
gdt(struct fx *fx, unsigned sel)
{
	return M64(fx, fx->f_regs.rg_gdtr.dt_base + sel);
}

/* A segment register must match its GDT descriptor: VMX access rights
 * are the descriptor's bits 40-55 (without the limit's 48-51). */
static void
check_seg_matches_gdt(struct fx *fx, enum vmm_sreg r)
{
	const struct vmm_seg *s = &fx->f_regs.rg_sregs[r];
	uint64_t d = gdt(fx, s->sg_selector);

	assert_int_equal(s->sg_ar, (d >> 40) & 0xf0ff);
	assert_int_equal(s->sg_base, 0);
	assert_int_equal(s->sg_limit, 0xffffffff);
}

static void
test_lxboot__gdt_has_boot_cs_boot_ds_and_a_tss(void **state)
{
	struct fx *fx = *state;
	uint64_t tss;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	assert_int_equal(fx->f_regs.rg_gdtr.dt_base, 0x1000);
	assert_int_equal(fx->f_regs.rg_gdtr.dt_limit, 6 * 8 - 1);
	assert_int_equal(gdt(fx, 0), 0);
	/* boot.rst: __BOOT_CS is 0x10, __BOOT_DS 0x18. */
	assert_int_equal(gdt(fx, 0x10), 0x00af9b000000ffffull);
	assert_int_equal(gdt(fx, 0x18), 0x00cf93000000ffffull);
	tss = gdt(fx, 0x20);
	assert_int_equal(tss & 0xffff, 0x67);       /* limit */
	assert_int_equal((tss >> 40) & 0xff, 0x8b); /* busy TSS, P */
	assert_int_equal(((tss >> 16) & 0xffffff) | ((tss >> 56) << 24),
			 fx->f_regs.rg_sregs[VMM_TR].sg_base);
	assert_int_equal(gdt(fx, 0x28), 0); /* base 63:32 */
	check_seg_matches_gdt(fx, VMM_CS);
	check_seg_matches_gdt(fx, VMM_DS);
	check_seg_matches_gdt(fx, VMM_ES);
	check_seg_matches_gdt(fx, VMM_SS);
}

static void
test_lxboot__entry_registers_follow_the_64_bit_protocol(void **state)
{
	struct fx *fx = *state;
	const struct vmm_regs *r = &fx->f_regs;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	load_ok(fx);
	assert_int_equal(r->rg_gprs[VMM_RIP], TEXT_PADDR);
	assert_int_equal(fx->f_info.li_entry, TEXT_PADDR);
	assert_int_equal(r->rg_gprs[VMM_RSI], ZP);
	assert_int_equal(r->rg_gprs[VMM_RFLAGS], 0x2);    /* IF off */
	assert_int_equal(r->rg_crs[VMM_CR0], 0x80000031); /* PG|NE|ET|PE */
	assert_int_equal(r->rg_crs[VMM_CR4], 0x20);       /* PAE */
	assert_int_equal(r->rg_msrs[VMM_EFER], 0x500);    /* LMA|LME */
	assert_int_equal(r->rg_sregs[VMM_CS].sg_selector, 0x10);
	assert_int_equal(r->rg_sregs[VMM_CS].sg_ar, 0xa09b); /* L, not D */
	assert_int_equal(r->rg_sregs[VMM_DS].sg_selector, 0x18);
	assert_int_equal(r->rg_sregs[VMM_ES].sg_selector, 0x18);
	assert_int_equal(r->rg_sregs[VMM_SS].sg_selector, 0x18);
	assert_int_equal(r->rg_sregs[VMM_SS].sg_ar, 0xc093);
	assert_int_equal(r->rg_sregs[VMM_TR].sg_selector, 0x20);
	assert_int_equal(r->rg_sregs[VMM_TR].sg_ar, 0x8b);
	assert_int_equal(r->rg_sregs[VMM_TR].sg_limit, 0x67);
	/* The zero page and command line are identity mapped. */
	assert_int_equal(walk(fx, r->rg_crs[VMM_CR3], ZP), ZP);
}

/* ---- compressions, ELF, guest side ---- */

static void
check_host_format(struct fx *fx, const char *fmt)
{
	char name[64];

	NEED(fmt);
	snprintf(name, sizeof(name), "bzImage.%s", fmt);
	use_fixture(fx, name);
	memset(fx->f_mem + DATA_PADDR + DATA_SIZE, 0xcc, BSS_SIZE);
	load_ok(fx);
	assert_string_equal(fx->f_info.li_compression, fmt);
	assert_string_equal(fx->f_info.li_format, "bzImage");
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	assert_true(fx->f_info.li_decompress_ns > 0);
	assert_int_equal(fx->f_info.li_entry, TEXT_PADDR);
	check_vmlinux_loaded(fx);
	/* The setup code is not in guest memory: only the vmlinux. */
	assert_memory_not_equal(fx->f_mem + 0x100000, "PM32", 4);
}

static void
test_lxboot__gzip_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "gzip");
}

static void
test_lxboot__xz_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "xz");
}

static void
test_lxboot__lzma_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "lzma");
}

static void
test_lxboot__lz4_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "lz4");
}

static void
test_lxboot__zstd_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "zstd");
}

static void
test_lxboot__bzip2_payload_decompresses_on_the_host(void **state)
{
	check_host_format(*state, "bzip2");
}

static void
test_lxboot__lz4_payload_of_several_blocks_decompresses(void **state)
{
	struct fx *fx = *state;
	const uint8_t *pl;
	size_t i, plen;

	NEED("lz4");
	use_fixture(fx, "bzImage.lz4big");
	pl = fx->f_kernel + setup_size(fx) + PAYLOAD_OFF;
	plen = rd(fx->f_kernel + 0x24c, 4);
	/* magic, then a first block that is not the whole stream */
	assert_int_equal(rd(pl, 4), 0x184c2102);
	assert_true(4 + 4 + rd(pl + 4, 4) < plen - 4);
	load_ok(fx);
	assert_string_equal(fx->f_info.li_compression, "lz4");
	assert_memory_equal(fx->f_mem + TEXT_PADDR, "LXTEXT", 6);
	/* every byte around the block boundary (8 MiB into the file, whose
	 * text starts at 0x1000), then samples to the end of the text */
	for (i = (8 << 20) - 0x1000 - 512; i < (8 << 20) - 0x1000 + 512; i++)
		assert_int_equal(M8(fx, TEXT_PADDR + i),
				 (uint8_t)(i * 131 + i / 251));
	for (i = 6; i < 0x900000; i += 509)
		assert_int_equal(M8(fx, TEXT_PADDR + i),
				 (uint8_t)(i * 131 + i / 251));
	assert_memory_equal(fx->f_mem + TEXT_PADDR + 0xa00000, "LXDATA", 6);
}

static void
test_lxboot__elf_vmlinux_loads_with_a_built_header(void **state)
{
	struct fx *fx = *state;

	use_fixture(fx, "vmlinux");
	memset(fx->f_mem + DATA_PADDR + DATA_SIZE, 0xcc, BSS_SIZE);
	load_ok(fx);
	assert_string_equal(fx->f_info.li_format, "elf");
	assert_int_equal(fx->f_info.li_protocol, 0);
	assert_string_equal(fx->f_info.li_compression, "none");
	assert_int_equal(fx->f_info.li_decompress_ns, 0);
	assert_int_equal(fx->f_regs.rg_gprs[VMM_RIP], TEXT_PADDR);
	check_vmlinux_loaded(fx);
	assert_int_equal(M16(fx, ZP + 0x1fe), 0xaa55);
	assert_memory_equal(fx->f_mem + ZP + 0x202, "HdrS", 4);
	assert_true(M16(fx, ZP + 0x206) >= 0x0206);
	assert_int_equal(M8(fx, ZP + 0x210), 0xff);
	assert_int_equal(M32(fx, ZP + 0x230), 0x1000000);
	assert_int_equal(M32(fx, ZP + 0x228), 0x20000);
	assert_string_equal((char *)fx->f_mem + 0x20000, CMDLINE);
	check_mptable(fx, 1);
}

static void
test_lxboot__elf_command_line_limit_is_limit_cmdline_len(void **state)
{
	struct fx *fx = *state;
	char line[LIMIT_CMDLINE_LEN + 1];

	use_fixture(fx, "vmlinux");
	memset(line, 'x', sizeof(line));
	line[LIMIT_CMDLINE_LEN - 1] = '\0'; /* 2047 and its NUL: at it */
	fx->f_c.lc_cmdline = line;
	load_ok(fx);
	assert_int_equal(strlen((char *)fx->f_mem + 0x20000),
			 LIMIT_CMDLINE_LEN - 1);
	line[LIMIT_CMDLINE_LEN - 1] = 'x'; /* one past it */
	line[LIMIT_CMDLINE_LEN] = '\0';
	load_fails(fx, E2BIG);
}

static void
test_lxboot__elf_with_a_virtual_entry_enters_its_physical_address(void **state)
{
	struct fx *fx = *state;

	use_fixture(fx, "vmlinux");
	/* e_entry at 0x18: the text's virtual address + 0x40. */
	memcpy(fx->f_kernel + 0x18, "\x40\x00\x00\x81\xff\xff\xff\xff", 8);
	load_ok(fx);
	assert_int_equal(fx->f_regs.rg_gprs[VMM_RIP], TEXT_PADDR + 0x40);
}

static void
test_lxboot__guest_mode_loads_the_bzimage_at_1_mib(void **state)
{
	struct fx *fx = *state;
	size_t s;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	load_ok(fx);
	s = setup_size(fx);
	assert_int_equal(s, 5 * 512); /* setup_sects 0 means 4 */
	assert_memory_equal(fx->f_mem + 0x100000, fx->f_kernel + s,
			    fx->f_kernel_len - s);
	assert_memory_equal(fx->f_mem + 0x100200, "PM64", 4);
	assert_int_equal(fx->f_regs.rg_gprs[VMM_RIP], 0x100200);
	assert_int_equal(fx->f_info.li_entry, 0x100200);
	assert_int_equal(fx->f_info.li_decompress_ns, 0);
	assert_string_equal(fx->f_info.li_compression, "gzip");
	assert_int_equal(M32(fx, ZP + 0x214), 0x100000); /* code32_start */
	assert_int_equal(M32(fx, ZP + 0x260), 0x400000); /* init_size */
	/* Nothing decompressed: no vmlinux at 16 MiB. */
	assert_memory_not_equal(fx->f_mem + TEXT_PADDR, "LXTEXT", 6);
	check_mptable(fx, 1);
}

static void
test_lxboot__guest_mode_needs_room_for_init_size(void **state)
{
	struct fx *fx = *state;

	NEED("xz");
	use_fixture(fx, "bzImage.xz");
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	/* pref_address 16 MiB + init_size 4 MiB: 20 MiB is just enough. */
	fx->f_mem_size = 20 << 20;
	load_ok(fx);
	fx->f_mem_size = (20 << 20) - 4096;
	load_fails(fx, E2BIG);
}

/* ---- the initrd ---- */

static void
test_lxboot__initrd_lies_page_aligned_at_the_top_of_ram(void **state)
{
	struct fx *fx = *state;
	static uint8_t initrd[10000];
	uint64_t at;

	NEED("gzip");
	memset(initrd, 0x42, sizeof(initrd));
	initrd[0] = 0x07;
	initrd[sizeof(initrd) - 1] = 0x70;
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_initrd = initrd;
	fx->f_c.lc_initrd_len = sizeof(initrd);
	load_ok(fx);
	at = fx->f_info.li_initrd_gpa;
	assert_int_equal(at % 4096, 0);
	assert_true(at + sizeof(initrd) <= MEM);
	assert_true(at + sizeof(initrd) > MEM - 4096); /* as high as fits */
	assert_memory_equal(fx->f_mem + at, initrd, sizeof(initrd));
	assert_int_equal(M32(fx, ZP + 0x218), at);
	assert_int_equal(M32(fx, ZP + 0x21c), sizeof(initrd));
	assert_int_equal(M32(fx, ZP + 0x0c0), 0); /* ext_ramdisk_image */
	assert_int_equal(M32(fx, ZP + 0x0c4), 0); /* ext_ramdisk_size */
}

static void
test_lxboot__initrd_stays_below_initrd_addr_max(void **state)
{
	struct fx *fx = *state;
	static uint8_t initrd[8192];

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	/* initrd_addr_max 32 MiB - 1 */
	memcpy(fx->f_kernel + 0x22c, "\xff\xff\xff\x01", 4);
	fx->f_c.lc_initrd = initrd;
	fx->f_c.lc_initrd_len = sizeof(initrd);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_initrd_gpa, (32 << 20) - 8192);
	/* In guest mode, above what the decompressor uses (to 20 MiB). */
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	load_ok(fx);
	assert_int_equal(fx->f_info.li_initrd_gpa, (32 << 20) - 8192);
}

static void
test_lxboot__initrd_too_big_is_e2big(void **state)
{
	struct fx *fx = *state;
	size_t big = MEM - 0x1203000 + 4096; /* a page over what is free */
	uint8_t *initrd = calloc(1, big);

	NEED("gzip");
	assert_non_null(initrd);
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_initrd = initrd;
	fx->f_c.lc_initrd_len = big - 4096; /* fits exactly */
	load_ok(fx);
	assert_int_equal(fx->f_info.li_initrd_gpa, 0x1203000);
	fx->f_c.lc_initrd_len = big;
	load_fails(fx, E2BIG);
	free(initrd);
}

/* ---- the cache ---- */

static void
cache_path(struct fx *fx, const char *key, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/%.64s%s", fx->f_tf.tf_dir, key,
			     LXCACHE_SUFFIX) >= size)
		fail_msg("cache path too long");
}

static void
test_lxboot__cache_misses_then_hits(void **state)
{
	struct fx *fx = *state;
	char path[256];
	struct stat st;

	NEED("xz");
	use_fixture(fx, "bzImage.xz");
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	fx->f_c.lc_kernel_sha256 = KEY_A;
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	assert_true(fx->f_info.li_decompress_ns > 0);
	cache_path(fx, KEY_A, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);

	memset(fx->f_mem, 0, MEM);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 1);
	assert_int_equal(fx->f_info.li_decompress_ns, 0);
	assert_string_equal(fx->f_info.li_compression, "xz");
	check_vmlinux_loaded(fx);
	assert_int_equal(fx->f_regs.rg_gprs[VMM_RIP], TEXT_PADDR);
}

static void
test_lxboot__corrupt_cache_file_is_ignored_and_rewritten(void **state)
{
	struct fx *fx = *state;
	char path[256];
	struct stat st, st2;
	int fd;

	NEED("zstd");
	use_fixture(fx, "bzImage.zstd");
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	fx->f_c.lc_kernel_sha256 = KEY_A;
	load_ok(fx);
	cache_path(fx, KEY_A, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);

	/* A byte flipped in the middle. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x99", 1, st.st_size / 2), 1);
	close(fd);
	memset(fx->f_mem, 0, MEM);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	check_vmlinux_loaded(fx);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 1);

	/* Cut short. */
	assert_int_equal(truncate(path, st.st_size - 100), 0);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_size, st.st_size);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 1);

	/* Emptied. */
	assert_int_equal(truncate(path, 0), 0);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	check_vmlinux_loaded(fx);
}

static unsigned
count_cache_files(struct fx *fx)
{
	DIR *d = opendir(fx->f_tf.tf_dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, LXCACHE_SUFFIX) != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_lxboot__cache_keeps_the_most_recently_used_files(void **state)
{
	struct fx *fx = *state;
	char keys[LXCACHE_MAX_FILES + 3][65], path[256];
	struct timespec ts[2] = {{0, 0}, {0, 0}};
	unsigned i;

	NEED("lz4");
	use_fixture(fx, "bzImage.lz4");
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	for (i = 0; i < LXCACHE_MAX_FILES + 3; i++) {
		memset(keys[i], "0123456789abcdef"[i], 64);
		keys[i][64] = '\0';
		fx->f_c.lc_kernel_sha256 = keys[i];
		load_ok(fx);
		/* mtimes a second apart, oldest first */
		cache_path(fx, keys[i], path, sizeof(path));
		ts[0].tv_sec = ts[1].tv_sec = 1000000000 + i;
		if (i == 0)
			ts[0].tv_sec = ts[1].tv_sec =
			    2000000000; /* used last */
		if (access(path, F_OK) == 0)
			assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	assert_int_equal(count_cache_files(fx), LXCACHE_MAX_FILES);
	cache_path(fx, keys[0], path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0); /* recently used: kept */
	cache_path(fx, keys[1], path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1); /* oldest: gone */
	cache_path(fx, keys[LXCACHE_MAX_FILES + 2], path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0); /* newest: kept */
}

static void
test_lxboot__no_cache_without_a_directory_or_a_digest(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_kernel_sha256 = KEY_A; /* no directory */
	load_ok(fx);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	fx->f_c.lc_kernel_sha256 = NULL;
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	load_ok(fx);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 0);
	assert_int_equal(count_cache_files(fx), 0);
}

static void
test_lxboot__a_digest_that_is_not_hex_is_einval(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	fx->f_c.lc_kernel_sha256 = "../../etc/passwd";
	load_fails(fx, EINVAL);
	fx->f_c.lc_kernel_sha256 =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	load_fails(fx, EINVAL);
	assert_int_equal(count_cache_files(fx), 0);
}

static void
test_lxboot__unwritable_cache_directory_is_said(void **state)
{
	struct fx *fx = *state;
	char dir[128];

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	snprintf(dir, sizeof(dir), "%s/missing", fx->f_tf.tf_dir);
	fx->f_c.lc_cache_dir = dir;
	fx->f_c.lc_kernel_sha256 = KEY_A;
	load_fails(fx, ENOENT);
	assert_non_null(strstr(fx->f_why, dir));
}

/* ---- errors ---- */

static void
test_lxboot__not_a_kernel_is_einval(void **state)
{
	struct fx *fx = *state;
	static uint8_t junk[4096];

	memset(junk, 0x90, sizeof(junk));
	fx->f_c.lc_kernel = junk;
	fx->f_c.lc_kernel_len = sizeof(junk);
	load_fails(fx, EINVAL);
	/* HdrS without the boot flag */
	memcpy(junk + 0x202, "HdrS", 4);
	load_fails(fx, EINVAL);
	/* an ELF of another machine */
	memcpy(junk, "\177ELF\002\001\001", 7);
	junk[18] = 3; /* EM_386 */
	load_fails(fx, EINVAL);
	fx->f_c.lc_kernel_len = 0;
	load_fails(fx, EINVAL);
}

static void
test_lxboot__protocol_older_than_2_06_is_enoexec(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_kernel[0x206] = 0x05; /* 2.05 */
	load_fails(fx, ENOEXEC);
	assert_non_null(strstr(fx->f_why, "2.06"));
}

static void
test_lxboot__no_64_bit_entry_is_enoexec(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_kernel[0x236] &= (uint8_t)~1; /* XLF_KERNEL_64 */
	load_fails(fx, ENOEXEC);
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	load_fails(fx, ENOEXEC);
}

static void
test_lxboot__command_line_over_cmdline_size_is_e2big(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	fx->f_kernel[0x238] = (uint8_t)strlen(CMDLINE); /* at the limit */
	fx->f_kernel[0x239] = 0;
	load_ok(fx);
	fx->f_kernel[0x238]--;
	load_fails(fx, E2BIG);
	/* Refused before anything is decompressed. */
	assert_int_equal(fx->f_info.li_decompress_ns, 0);
}

static void
test_lxboot__ram_over_the_max_is_e2big(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	/* Refused before the memory is touched: f_mem is smaller. */
	fx->f_mem_size = LXBOOT_MEMORY_MAX + 4096;
	load_fails(fx, E2BIG);
	fx->f_mem_size = 1 << 20;
	load_fails(fx, E2BIG);
}

static void
test_lxboot__kernel_not_fitting_in_ram_is_e2big(void **state)
{
	struct fx *fx = *state;

	use_fixture(fx, "vmlinux");
	fx->f_mem_size = 16 << 20; /* the text starts at 16 MiB */
	load_fails(fx, E2BIG);
	fx->f_mem_size = 0x1203000; /* bss ends there: just fits */
	load_ok(fx);
}

/* Loads every prefix of the image (in a buffer of exactly that size, so
 * that AddressSanitizer sees any read past it): each must fail, none
 * may crash. */
static void
check_every_prefix_fails(struct fx *fx, size_t step_after)
{
	size_t n, full = fx->f_kernel_len;
	uint8_t *whole = fx->f_kernel;

	for (n = 0; n < full; n += n < 0x400 ? 1 : step_after) {
		uint8_t *p = malloc(n ? n : 1);

		assert_non_null(p);
		memcpy(p, whole, n);
		fx->f_c.lc_kernel = p;
		fx->f_c.lc_kernel_len = n;
		if (load(fx) != -1)
			fail_msg("a kernel cut to %zu of %zu bytes loaded", n,
				 full);
		free(p);
	}
	fx->f_c.lc_kernel = whole;
	fx->f_c.lc_kernel_len = full;
}

static void
test_lxboot__truncated_images_fail_cleanly(void **state)
{
	struct fx *fx = *state;
	unsigned i = 0;

	while (use_next_format(fx, &i) != NULL) {
		check_every_prefix_fails(fx, 7);
		fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
		check_every_prefix_fails(fx, 61);
		fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_HOST;
	}
	use_fixture(fx, "vmlinux");
	check_every_prefix_fails(fx, 13);
}

static void
test_lxboot__payload_outside_the_file_is_einval(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	memcpy(fx->f_kernel + 0x24c, "\xff\xff\xff\xff", 4); /* length */
	load_fails(fx, EINVAL);
	use_fixture(fx, "bzImage.gzip");
	memcpy(fx->f_kernel + 0x248, "\x00\x00\x00\x80", 4); /* offset */
	load_fails(fx, EINVAL);
	use_fixture(fx, "bzImage.gzip");
	memcpy(fx->f_kernel + 0x248, "\xfc\xff\xff\xff", 4); /* wraps */
	memcpy(fx->f_kernel + 0x24c, "\x08\x00\x00\x00", 4);
	load_fails(fx, EINVAL);
	use_fixture(fx, "bzImage.gzip");
	fx->f_kernel[0x1f1] = 0xff; /* setup sectors past the end */
	load_fails(fx, EINVAL);
	use_fixture(fx, "bzImage.gzip");
	memcpy(fx->f_kernel + 0x1f4, "\x00\x00\x00\x10", 4); /* syssize */
	load_fails(fx, EINVAL);
	use_fixture(fx, "bzImage.gzip");
	fx->f_kernel[0x201] = 0; /* header ends before its version */
	load_fails(fx, EINVAL);
}

static void
test_lxboot__corrupt_payloads_are_einval(void **state)
{
	struct fx *fx = *state;
	const char *fmt;
	size_t s, plen, i;
	unsigned f = 0;

	while ((fmt = use_next_format(fx, &f)) != NULL) {
		s = setup_size(fx);
		plen = rd(fx->f_kernel + 0x24c, 4);
		/* Garbage through the middle of the stream. */
		for (i = plen / 3; i < plen / 3 + 64 && i < plen - 4; i++)
			fx->f_kernel[s + PAYLOAD_OFF + i] ^= 0xa5;
		if (load(fx) != -1 || (errno != EINVAL && errno != E2BIG))
			fail_msg("%s: a corrupt payload gave errno %d (%s)",
				 fmt, errno, fx->f_why);
		printf("    %s: %s\n", fmt, fx->f_why);
	}
}

static void
test_lxboot__appended_size_is_checked(void **state)
{
	struct fx *fx = *state;
	uint8_t *size;
	unsigned f = 0;

	while (use_next_format(fx, &f) != NULL) {
		size = fx->f_kernel + setup_size(fx) + PAYLOAD_OFF +
		       rd(fx->f_kernel + 0x24c, 4) - 4;
		/* Over the bound (2 x init_size here): E2BIG. */
		memcpy(size, "\x00\x00\x90\x00", 4);
		load_fails(fx, E2BIG);
		memcpy(size, "\xff\xff\xff\x7f", 4);
		load_fails(fx, E2BIG);
		/* Smaller than the stream: stopped there. */
		memcpy(size, "\x00\x10\x00\x00", 4);
		load_fails(fx, EINVAL);
		/* Larger than the stream. */
		memcpy(size, "\x00\x00\x10\x00", 4);
		load_fails(fx, EINVAL);
	}
}

static void
test_lxboot__unknown_payload_format_is_einval(void **state)
{
	struct fx *fx = *state;

	NEED("gzip");
	use_fixture(fx, "bzImage.gzip");
	memcpy(fx->f_kernel + setup_size(fx) + PAYLOAD_OFF, "\x00\x00", 2);
	load_fails(fx, EINVAL);
	assert_non_null(strstr(fx->f_why, "compression"));
	/* The guest may still know it: loaded as is. */
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	load_ok(fx);
}

static void
test_lxboot__bad_elf_segments_are_einval(void **state)
{
	struct fx *fx = *state;
	const size_t ph = 64 + 56; /* the data segment's program header */

	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + ph + 8, "\x00\x00\x00\x01", 4); /* p_offset */
	load_fails(fx, EINVAL);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + ph + 32, "\x00\x00\x10", 3); /* filesz>memsz */
	load_fails(fx, EINVAL);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + ph + 24, "\x00\x00\x01\x00", 4); /* paddr 64K */
	load_fails(fx, EINVAL);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + ph + 24, "\x00\x00\x00\x00\xff\xff\xff\xff",
	       8); /* paddr wraps */
	load_fails(fx, E2BIG);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + 0x18, "\x00\x00\x00\x40", 4); /* e_entry */
	load_fails(fx, EINVAL);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + 0x38, "\xff\xff", 2); /* e_phnum */
	load_fails(fx, EINVAL);
	use_fixture(fx, "vmlinux");
	memcpy(fx->f_kernel + 0x20, "\xf0\xff\xff\xff\xff\xff\xff\xff",
	       8); /* e_phoff */
	load_fails(fx, EINVAL);
}

/* ---- a real distribution kernel ---- */

/* The first match of pattern, or NULL. */
static char *
find_first(const char *pattern)
{
	glob_t g;
	char *p = NULL;

	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
		p = strdup(g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return p;
}

static char *
kvmhost_cache_file(const char *name)
{
	const char *c = getenv("VMMAPID_KVMHOST_CACHE");
	const char *x = getenv("XDG_CACHE_HOME");
	const char *h = getenv("HOME");
	char pat[1024];

	if (c != NULL && *c != '\0')
		snprintf(pat, sizeof(pat), "%s/linux-image-*/%s", c, name);
	else if (x != NULL && *x != '\0')
		snprintf(pat, sizeof(pat),
			 "%s/vmmapid-kvmhost/linux-image-*/%s", x, name);
	else
		snprintf(pat, sizeof(pat),
			 "%s/.cache/vmmapid-kvmhost/linux-image-*/%s",
			 h != NULL ? h : "/tmp", name);
	return find_first(pat);
}

static void
load_real(struct fx *fx, const char *path)
{
	free(fx->f_kernel);
	fx->f_kernel = slurp(path, &fx->f_kernel_len);
	if (fx->f_kernel == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fx->f_c.lc_kernel = fx->f_kernel;
	fx->f_c.lc_kernel_len = fx->f_kernel_len;
	free(fx->f_mem);
	fx->f_mem_size = 256ull << 20;
	fx->f_mem = calloc(1, fx->f_mem_size);
	assert_non_null(fx->f_mem);
	fx->f_c.lc_vcpus = 2;
	fx->f_c.lc_cmdline = "console=ttyS0 earlyprintk=serial pci=off";
}

static void
test_lxboot__a_debian_bzimage_loads_into_256_mib(void **state)
{
	struct fx *fx = *state;
	const char *env = getenv("VMMAPID_TEST_BZIMAGE");
	char *path = NULL;
	static uint8_t initrd[1 << 20];

	if (env != NULL && *env != '\0')
		path = strdup(env);
#ifdef LXBOOT_LINUX_GUEST
	if (path == NULL && access(LXBOOT_LINUX_GUEST, R_OK) == 0)
		path = strdup(LXBOOT_LINUX_GUEST);
#endif
	if (path == NULL)
		path = kvmhost_cache_file("vmlinuz*");
	if (path == NULL)
		path = find_first("/boot/vmlinuz-*");
	if (path == NULL)
		tskip("no distribution bzImage here: neither "
		      "VMMAPID_TEST_BZIMAGE, nor the Linux test guest's "
		      "kernel (tests/guests/linux), nor one in /boot or the "
		      "nested KVM host's cache");
	load_real(fx, path);
	fx->f_c.lc_initrd = initrd;
	fx->f_c.lc_initrd_len = sizeof(initrd);
	fx->f_c.lc_cache_dir = fx->f_tf.tf_dir;
	fx->f_c.lc_kernel_sha256 = KEY_A;
	load_ok(fx);
	printf("    %s: protocol %x.%02x, %s, entry 0x%llx, decompressed in "
	       "%.0f ms, initrd at 0x%llx\n",
	       path, fx->f_info.li_protocol >> 8, fx->f_info.li_protocol & 0xff,
	       fx->f_info.li_compression,
	       (unsigned long long)fx->f_info.li_entry,
	       fx->f_info.li_decompress_ns / 1e6,
	       (unsigned long long)fx->f_info.li_initrd_gpa);
	assert_string_equal(fx->f_info.li_format, "bzImage");
	assert_true(fx->f_info.li_protocol >= 0x020c);
	assert_int_equal(fx->f_info.li_entry, fx->f_regs.rg_gprs[VMM_RIP]);
	assert_true(fx->f_info.li_entry >= 0x1000000);
	assert_int_equal(M16(fx, ZP + 0x1fe), 0xaa55);
	assert_int_equal(fx->f_info.li_initrd_gpa % 4096, 0);
	check_mptable(fx, 2);
	load_ok(fx);
	assert_int_equal(fx->f_info.li_cache_hit, 1);
	fx->f_c.lc_decompress = LXBOOT_DECOMPRESS_GUEST;
	load_ok(fx);
	assert_int_equal(fx->f_regs.rg_gprs[VMM_RIP], 0x100200);
	free(path);
}

static void
test_lxboot__a_debian_vmlinux_loads_into_256_mib(void **state)
{
	struct fx *fx = *state;
	char *path = kvmhost_cache_file("vmlinux");

	if (path == NULL)
		tskip("no Debian vmlinux in the nested KVM host's cache "
		      "(tests/kvmhost/run --prepare makes one)");
	load_real(fx, path);
	load_ok(fx);
	printf("    %s: entry 0x%llx\n", path,
	       (unsigned long long)fx->f_info.li_entry);
	assert_string_equal(fx->f_info.li_format, "elf");
	assert_int_equal(fx->f_info.li_entry, 0x1000000);
	check_mptable(fx, 2);
	free(path);
}

/* ---- the pieces on their own ---- */

static void
test_lxboot__formats_are_detected_by_magic(void **state)
{
	(void)state;
	assert_string_equal(lxdecomp_detect((const uint8_t *)"\x1f\x8b\x08", 3),
			    "gzip");
	assert_string_equal(lxdecomp_detect((const uint8_t *)"\xfd"
							     "7zXZ\0",
					    6),
			    "xz");
	assert_string_equal(
	    lxdecomp_detect((const uint8_t *)"\x5d\0\0\x80\0", 5), "lzma");
	assert_string_equal(
	    lxdecomp_detect((const uint8_t *)"\x02\x21\x4c\x18", 4), "lz4");
	assert_string_equal(
	    lxdecomp_detect((const uint8_t *)"\x28\xb5\x2f\xfd", 4), "zstd");
	assert_string_equal(lxdecomp_detect((const uint8_t *)"BZh9", 4),
			    "bzip2");
	assert_null(lxdecomp_detect((const uint8_t *)"\xfd"
						     "7zX",
				    4));
	assert_null(lxdecomp_detect((const uint8_t *)"", 0));
}

static void
test_lxboot__mp_table_wires_pci_intx_to_the_ioapic_pins_given(void **state)
{
	struct fx *fx = *state;
	const struct mptable_pci_irq pci[2] = {{1, 1, 16}, {2, 2, 17}};
	const uint8_t *fp = fx->f_mem + 0x9fc00, *t, *e;
	unsigned i, count, isa = 0xff, pcibus = 0xff, npci = 0, nisa = 0;

	assert_int_equal(
	    mptable_write(fx->f_mem, MEM, 0x9fc00, 4096, 1, pci, 2), 0);
	t = fx->f_mem + rd(fp + 4, 4);
	assert_int_equal(sum(t, rd(t + 4, 2)), 0);
	count = (unsigned)rd(t + 34, 2);
	/* cpu, PCI and ISA buses, I/O APIC, 15 ISA, 2 PCI, 2 LINT. */
	assert_int_equal(count, 1 + 2 + 1 + 15 + 2 + 2);
	assert_int_equal(rd(t + 4, 2) + 16, mptable_size(1, 2));
	e = t + 44 + 20;
	for (i = 1; i < count; i++, e += 8) {
		if (e[0] == 1 && memcmp(e + 2, "PCI   ", 6) == 0)
			pcibus = e[1];
		else if (e[0] == 1 && memcmp(e + 2, "ISA   ", 6) == 0)
			isa = e[1];
		else if (e[0] == 3 && e[4] == pcibus) {
			/* Level, active high; device << 2 | pin - 1. */
			assert_int_equal(rd(e + 2, 2), 0x000d);
			assert_int_equal(e[5], pci[npci].mpi_slot << 2 |
						   (pci[npci].mpi_pin - 1));
			assert_int_equal(e[6], 1); /* the I/O APIC */
			assert_int_equal(e[7], pci[npci].mpi_ioapic_pin);
			npci++;
		} else if (e[0] == 3) {
			assert_int_equal(e[4], isa);
			nisa++;
		}
	}
	/* The PCI bus's id is its bus number, 0. */
	assert_int_equal(pcibus, 0);
	assert_int_equal(isa, 1);
	assert_int_equal(npci, 2);
	assert_int_equal(nisa, 15);
	/* A pin past the I/O APIC's, or none: refused. */
	{
		const struct mptable_pci_irq badpin[1] = {{1, 1, 24}};
		const struct mptable_pci_irq nopin[1] = {{1, 0, 16}};

		assert_int_equal(
		    mptable_write(fx->f_mem, MEM, 0x9fc00, 4096, 1, badpin, 1),
		    -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(
		    mptable_write(fx->f_mem, MEM, 0x9fc00, 4096, 1, nopin, 1),
		    -1);
		assert_int_equal(errno, EINVAL);
	}
}

static void
test_lxboot__mp_table_refuses_what_does_not_fit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(mptable_write(fx->f_mem, MEM, 0x9fc00, 64, 2, NULL, 0),
			 -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(
	    mptable_write(fx->f_mem, 0x9fc40, 0x9fc00, 4096, 2, NULL, 0), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(
	    mptable_write(fx->f_mem, MEM, 0x9fc00, 4096, 0, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(
	    mptable_write(fx->f_mem, MEM, 0x9fc08, 4096, 1, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_lxboot__bzimage_setup_header_goes_into_the_zero_page),
	    T(test_lxboot__zero_page_has_the_loader_fields),
	    T(test_lxboot__e820_map_has_low_ram_reserved_and_high_ram),
	    T(test_lxboot__mp_table_lists_each_vcpu),
	    T(test_lxboot__vcpus_out_of_range_is_einval),
	    T(test_lxboot__page_tables_identity_map_4_gib),
	    T(test_lxboot__gdt_has_boot_cs_boot_ds_and_a_tss),
	    T(test_lxboot__entry_registers_follow_the_64_bit_protocol),
	    T(test_lxboot__gzip_payload_decompresses_on_the_host),
	    T(test_lxboot__xz_payload_decompresses_on_the_host),
	    T(test_lxboot__lzma_payload_decompresses_on_the_host),
	    T(test_lxboot__lz4_payload_decompresses_on_the_host),
	    T(test_lxboot__zstd_payload_decompresses_on_the_host),
	    T(test_lxboot__bzip2_payload_decompresses_on_the_host),
	    T(test_lxboot__lz4_payload_of_several_blocks_decompresses),
	    T(test_lxboot__elf_vmlinux_loads_with_a_built_header),
	    T(test_lxboot__elf_command_line_limit_is_limit_cmdline_len),
	    T(test_lxboot__elf_with_a_virtual_entry_enters_its_physical_address),
	    T(test_lxboot__guest_mode_loads_the_bzimage_at_1_mib),
	    T(test_lxboot__guest_mode_needs_room_for_init_size),
	    T(test_lxboot__initrd_lies_page_aligned_at_the_top_of_ram),
	    T(test_lxboot__initrd_stays_below_initrd_addr_max),
	    T(test_lxboot__initrd_too_big_is_e2big),
	    T(test_lxboot__cache_misses_then_hits),
	    T(test_lxboot__corrupt_cache_file_is_ignored_and_rewritten),
	    T(test_lxboot__cache_keeps_the_most_recently_used_files),
	    T(test_lxboot__no_cache_without_a_directory_or_a_digest),
	    T(test_lxboot__a_digest_that_is_not_hex_is_einval),
	    T(test_lxboot__unwritable_cache_directory_is_said),
	    T(test_lxboot__not_a_kernel_is_einval),
	    T(test_lxboot__protocol_older_than_2_06_is_enoexec),
	    T(test_lxboot__no_64_bit_entry_is_enoexec),
	    T(test_lxboot__command_line_over_cmdline_size_is_e2big),
	    T(test_lxboot__ram_over_the_max_is_e2big),
	    T(test_lxboot__kernel_not_fitting_in_ram_is_e2big),
	    T(test_lxboot__truncated_images_fail_cleanly),
	    T(test_lxboot__payload_outside_the_file_is_einval),
	    T(test_lxboot__corrupt_payloads_are_einval),
	    T(test_lxboot__appended_size_is_checked),
	    T(test_lxboot__unknown_payload_format_is_einval),
	    T(test_lxboot__bad_elf_segments_are_einval),
	    T(test_lxboot__a_debian_bzimage_loads_into_256_mib),
	    T(test_lxboot__a_debian_vmlinux_loads_into_256_mib),
	    T(test_lxboot__formats_are_detected_by_magic),
	    T(test_lxboot__mp_table_refuses_what_does_not_fit),
	    T(test_lxboot__mp_table_wires_pci_intx_to_the_ioapic_pins_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
