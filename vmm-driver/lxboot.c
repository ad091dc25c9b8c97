/*
 * The Linux x86 boot protocol, 64-bit entry (see lxboot.h), written from
 * the kernel's Documentation/arch/x86/boot.rst and zero-page.rst.
 *
 * Everything read from the kernel image is untrusted: the file may be
 * anything, and this parser is fuzzed.  Every offset and length taken
 * from it is checked against lc_kernel_len (in 64-bit arithmetic, so
 * that no sum wraps) before a byte is read, and against mem_size before
 * a byte is written.
 */
#include "vmm-driver/lxboot.h"

#include "base/limits.h"
#include "vmm-driver/lxcache.h"
#include "vmm-driver/lxdecomp.h"
#include "vmm-driver/mptable.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The guest's layout (lxboot.h). */
#define LX_GDT 0x1000ull
#define LX_TSS 0x1080ull /* the 104-byte TSS TR points at */
#define LX_ZERO_PAGE 0x7000ull
#define LX_STACK                                                               \
	0x8ff0ull /* below the page tables; the kernel soon                    \
		     switches to its own */
#define LX_PML4 0x9000ull
#define LX_PDPT 0xa000ull
#define LX_PD 0xb000ull /* four, 0xb000 .. 0xefff */
#define LX_CMDLINE 0x20000ull
#define LX_RESERVED 0x9fc00ull /* to 1 MiB: the MP table */
#define LX_HIGH 0x100000ull    /* the kernel's load address */
#define LX_PAGE 4096ull

/* The GDT: boot.rst's 64-bit protocol wants __BOOT_CS at 0x10 and
 * __BOOT_DS at 0x18, flat; 0x08 stays null. */
#define LX_SEL_CS 0x10
#define LX_SEL_DS 0x18
#define LX_SEL_TR 0x20
#define LX_GDT_CODE64 0x00af9b000000ffffull /* G, L, P, code exec/read */
#define LX_GDT_DATA 0x00cf93000000ffffull   /* G, D/B, P, data read/write */
#define LX_GDT_ENTRIES 6 /* null, null, code, data, TSS (two) */
#define LX_TSS_LIMIT 0x67

/* Segment access rights as struct vmm_seg has them (VMX layout). */
#define LX_AR_CODE64 0xa09b /* G | L | P | S | type 0xb */
#define LX_AR_DATA 0xc093   /* G | D/B | P | S | type 3 */
#define LX_AR_TSS 0x008b    /* P | busy 64-bit TSS */

#define LX_CR0_PE (1ull << 0)
#define LX_CR0_ET (1ull << 4)
#define LX_CR0_NE (1ull << 5)
#define LX_CR0_PG (1ull << 31)
#define LX_CR4_PAE (1ull << 5)
#define LX_EFER_LME (1ull << 8)
#define LX_EFER_LMA (1ull << 10)

#define LX_PTE_P 0x1ull
#define LX_PTE_RW 0x2ull
#define LX_PTE_PS 0x80ull

/* The setup header (boot.rst, "The Real-Mode Kernel Header"). */
#define LX_HDR_OFF 0x1f1
#define LX_BOOT_FLAG 0xaa55
#define LX_HDRS 0x53726448 /* "HdrS" */
#define LX_PROTO_MIN 0x0206
#define LX_PROTO_ELF 0x020f /* what a header built for an ELF claims */
#define LX_LOADED_HIGH 0x01
#define LX_CAN_USE_HEAP 0x80
#define LX_XLF_KERNEL_64 0x0001
#define LX_LOADER_UNDEFINED 0xff
/* heap_end_ptr: the end of a 64 KiB real-mode segment minus 0x200, as
 * boot.rst's example loader sets it; the 64-bit entry never uses the
 * heap, but a kernel reading CAN_USE_HEAP finds a sane value. */
#define LX_HEAP_END 0xfe00
#define LX_ELF_ALIGN 0x1000000 /* kernel_alignment of a built header */
#define LX_INITRD_MAX_DEFAULT 0x7fffffff

#define LX_E820_RAM 1
#define LX_E820_RESERVED 2
#define LX_E820_MAX 128

#define LX_ELF_PHNUM_MAX 64

struct lx_setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct lx_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* struct boot_params (zero-page.rst): the fields we set, padded to
 * their offsets. */
struct lx_boot_params {
	uint8_t pad0[0x0c0];
	uint32_t ext_ramdisk_image; /* 0x0c0 */
	uint32_t ext_ramdisk_size;  /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
	uint8_t pad1[0x1e8 - 0x0cc];
	uint8_t e820_entries; /* 0x1e8 */
	uint8_t pad2[0x1ef - 0x1e9];
	uint8_t sentinel; /* 0x1ef */
	uint8_t pad3;
	struct lx_setup_header hdr; /* 0x1f1 */
	uint8_t pad4[0x2d0 - 0x26c];
	struct lx_e820 e820_table[LX_E820_MAX]; /* 0x2d0 */
	uint8_t pad5[0x1000 - 0xcd0];
} __attribute__((packed));

#define LX_HDR_AT(field, off)                                                  \
	_Static_assert(offsetof(struct lx_boot_params, hdr.field) == (off),    \
		       "boot.rst: " #field " at " #off)
LX_HDR_AT(setup_sects, 0x1f1);
LX_HDR_AT(syssize, 0x1f4);
LX_HDR_AT(boot_flag, 0x1fe);
LX_HDR_AT(jump, 0x200);
LX_HDR_AT(header, 0x202);
LX_HDR_AT(version, 0x206);
LX_HDR_AT(type_of_loader, 0x210);
LX_HDR_AT(loadflags, 0x211);
LX_HDR_AT(code32_start, 0x214);
LX_HDR_AT(ramdisk_image, 0x218);
LX_HDR_AT(ramdisk_size, 0x21c);
LX_HDR_AT(heap_end_ptr, 0x224);
LX_HDR_AT(cmd_line_ptr, 0x228);
LX_HDR_AT(initrd_addr_max, 0x22c);
LX_HDR_AT(kernel_alignment, 0x230);
LX_HDR_AT(relocatable_kernel, 0x234);
LX_HDR_AT(xloadflags, 0x236);
LX_HDR_AT(cmdline_size, 0x238);
LX_HDR_AT(payload_offset, 0x248);
LX_HDR_AT(payload_length, 0x24c);
LX_HDR_AT(setup_data, 0x250);
LX_HDR_AT(pref_address, 0x258);
LX_HDR_AT(init_size, 0x260);
LX_HDR_AT(kernel_info_offset, 0x268);
_Static_assert(sizeof(struct lx_setup_header) == 0x26c - 0x1f1,
	       "boot.rst: the setup header ends at 0x26c (2.15)");
_Static_assert(offsetof(struct lx_boot_params, ext_ramdisk_image) == 0x0c0,
	       "zero-page.rst: ext_ramdisk_image");
_Static_assert(offsetof(struct lx_boot_params, ext_cmd_line_ptr) == 0x0c8,
	       "zero-page.rst: ext_cmd_line_ptr");
_Static_assert(offsetof(struct lx_boot_params, e820_entries) == 0x1e8,
	       "zero-page.rst: e820_entries");
_Static_assert(offsetof(struct lx_boot_params, sentinel) == 0x1ef,
	       "zero-page.rst: sentinel");
_Static_assert(offsetof(struct lx_boot_params, e820_table) == 0x2d0,
	       "zero-page.rst: e820_table");
_Static_assert(sizeof(struct lx_e820) == 20, "an e820 entry is 20 bytes");
_Static_assert(sizeof(struct lx_boot_params) == 4096, "one page");
_Static_assert(LX_GDT + LX_GDT_ENTRIES * 8 <= LX_TSS, "GDT before TSS");
_Static_assert(LX_PD + 4 * LX_PAGE <= LX_CMDLINE, "tables before cmdline");

/* What the loading found, handed from step to step. */
struct lx_load {
	const struct lxboot_config *l_c;
	uint8_t *l_mem;
	uint64_t l_mem_size;
	struct lx_setup_header l_hdr; /* the zero page's, host order */
	uint64_t l_entry;
	uint64_t l_kernel_end; /* first byte past what the kernel uses */
	char *l_why;
	size_t l_len;
};

static int lx_fail(struct lx_load *l, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
lx_fail(struct lx_load *l, int err, const char *fmt, ...)
{
	va_list ap;

	if (l->l_why != NULL && l->l_len > 0) {
		va_start(ap, fmt);
		vsnprintf(l->l_why, l->l_len, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return (-1);
}

static uint64_t
lx_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t
lx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * ELF64 x86-64 executables: a raw vmlinux, or the one decompressed from
 * a bzImage.  Loads each PT_LOAD at its physical address, zeroes its
 * bss, and finds the entry's physical address (an x86-64 vmlinux's
 * e_entry is physical already; a virtual one is translated through the
 * segment that holds it).
 */
static int
lx_elf_load(struct lx_load *l, const uint8_t *p, size_t n)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint64_t end = 0, entry = 0;
	unsigned i, loads = 0;
	int found = 0;

	if (n < sizeof(eh))
		return lx_fail(l, EINVAL,
			       "an ELF file of %zu bytes is shorter than "
			       "its header",
			       n);
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC)
		return lx_fail(l, EINVAL,
			       "not a kernel: the ELF file is not a "
			       "little-endian ELF64 x86-64 executable");
	if (eh.e_phentsize != sizeof(ph) || eh.e_phnum == 0 ||
	    eh.e_phnum > LX_ELF_PHNUM_MAX || eh.e_phoff > n ||
	    (uint64_t)eh.e_phnum * sizeof(ph) > n - eh.e_phoff)
		return lx_fail(l, EINVAL,
			       "the ELF program headers (%u of %u bytes at "
			       "offset %llu) do not lie inside its %zu bytes",
			       (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize,
			       (unsigned long long)eh.e_phoff, n);
	/* Check every segment before writing any. */
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, p + eh.e_phoff + (uint64_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > n || ph.p_filesz > n - ph.p_offset)
			return lx_fail(l, EINVAL,
				       "ELF segment %u (%llu bytes at offset "
				       "%llu) lies past the end of the %zu "
				       "bytes of the file",
				       i, (unsigned long long)ph.p_filesz,
				       (unsigned long long)ph.p_offset, n);
		if (ph.p_filesz > ph.p_memsz)
			return lx_fail(l, EINVAL,
				       "ELF segment %u has more bytes in the "
				       "file (%llu) than in memory (%llu)",
				       i, (unsigned long long)ph.p_filesz,
				       (unsigned long long)ph.p_memsz);
		if (ph.p_paddr < LX_HIGH)
			return lx_fail(l, EINVAL,
				       "ELF segment %u's physical address "
				       "0x%llx is below 1 MiB, where the boot "
				       "structures live",
				       i, (unsigned long long)ph.p_paddr);
		if (ph.p_paddr > l->l_mem_size ||
		    ph.p_memsz > l->l_mem_size - ph.p_paddr)
			return lx_fail(
			    l, E2BIG,
			    "the kernel does not fit in RAM: its "
			    "segment %u ends at 0x%llx, past the "
			    "%llu MiB of the VM",
			    i, (unsigned long long)(ph.p_paddr + ph.p_memsz),
			    (unsigned long long)(l->l_mem_size >> 20));
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
		if (!found && eh.e_entry >= ph.p_paddr &&
		    eh.e_entry - ph.p_paddr < ph.p_memsz) {
			entry = eh.e_entry;
			found = 1;
		}
		if (!found && eh.e_entry >= ph.p_vaddr &&
		    eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
			found = 2;
		}
		loads++;
	}
	if (loads == 0)
		return lx_fail(l, EINVAL,
			       "the ELF file has no loadable segment");
	if (!found)
		return lx_fail(l, EINVAL,
			       "the ELF entry point 0x%llx lies in none of "
			       "its loadable segments",
			       (unsigned long long)eh.e_entry);
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, p + eh.e_phoff + (uint64_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		memcpy(l->l_mem + ph.p_paddr, p + ph.p_offset, ph.p_filesz);
		memset(l->l_mem + ph.p_paddr + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
	}
	l->l_entry = entry;
	l->l_kernel_end = end;
	return 0;
}

/*
 * A raw vmlinux has no setup header: build one as Firecracker does,
 * with what the kernel reads of it on the 64-bit path.
 */
static void
lx_elf_header(struct lx_load *l)
{
	struct lx_setup_header *h = &l->l_hdr;

	memset(h, 0, sizeof(*h));
	h->boot_flag = LX_BOOT_FLAG;
	h->header = LX_HDRS;
	h->version = LX_PROTO_ELF;
	h->kernel_alignment = LX_ELF_ALIGN;
	h->initrd_addr_max = LX_INITRD_MAX_DEFAULT;
	h->cmdline_size = LIMIT_CMDLINE_LEN - 1; /* without its NUL */
	h->xloadflags = LX_XLF_KERNEL_64;
}

/*
 * A bzImage: checks its setup header and copies it into l_hdr.
 * Sets *pm and *pm_len to the protected-mode part (what follows the
 * setup sectors).
 */
static int
lx_bzimage_header(struct lx_load *l, const uint8_t **pm, size_t *pm_len)
{
	const uint8_t *k = l->l_c->lc_kernel;
	size_t n = l->l_c->lc_kernel_len, hdr_end, setup;
	struct lx_setup_header *h = &l->l_hdr;
	unsigned sects;

	/* The header's first version ends at 0x202 + its jump's byte. */
	hdr_end = 0x202 + (size_t)k[0x201];
	if (hdr_end > LX_HDR_OFF + sizeof(*h))
		hdr_end = LX_HDR_OFF + sizeof(*h);
	if (hdr_end < 0x208)
		return lx_fail(l, EINVAL,
			       "the bzImage's setup header ends at 0x%zx, "
			       "before its version field",
			       hdr_end);
	if (n < hdr_end)
		return lx_fail(l, EINVAL,
			       "truncated bzImage: its setup header ends at "
			       "0x%zx, the file at 0x%zx",
			       hdr_end, n);
	memset(h, 0, sizeof(*h));
	memcpy(h, k + LX_HDR_OFF, hdr_end - LX_HDR_OFF);
	if (h->version < LX_PROTO_MIN)
		return lx_fail(l, ENOEXEC,
			       "the kernel speaks boot protocol %u.%02u; "
			       "this loader needs 2.06 or later (Linux "
			       "2.6.22 and later)",
			       h->version >> 8, h->version & 0xff);
	if (!(h->loadflags & LX_LOADED_HIGH))
		return lx_fail(l, ENOEXEC,
			       "a zImage (loaded at 0x10000) rather than a "
			       "bzImage: not supported");
	if (!(h->xloadflags & LX_XLF_KERNEL_64))
		return lx_fail(l, ENOEXEC,
			       "the kernel has no 64-bit entry point "
			       "(XLF_KERNEL_64 is not set in xloadflags "
			       "0x%x): a 32-bit kernel, or boot protocol "
			       "before 2.12",
			       h->xloadflags);
	sects = h->setup_sects != 0 ? h->setup_sects : 4;
	setup = ((size_t)sects + 1) * 512;
	if (setup >= n)
		return lx_fail(l, EINVAL,
			       "truncated bzImage: %u setup sectors (0x%zx "
			       "bytes) leave nothing of its 0x%zx bytes for "
			       "the kernel",
			       sects, setup, n);
	if ((uint64_t)h->syssize * 16 > n - setup)
		return lx_fail(l, EINVAL,
			       "truncated bzImage: its header says %llu bytes "
			       "of kernel after the setup sectors, the file "
			       "has %zu",
			       (unsigned long long)h->syssize * 16, n - setup);
	*pm = k + setup;
	*pm_len = n - setup;
	return 0;
}

/* The payload's place inside the protected-mode part, checked. */
static int
lx_payload(struct lx_load *l, const uint8_t *pm, size_t pm_len,
	   const uint8_t **pl, size_t *pl_len)
{
	const struct lx_setup_header *h = &l->l_hdr;

	if (h->version < 0x0208 || h->payload_length == 0)
		return lx_fail(l, EINVAL,
			       "the bzImage does not say where its payload "
			       "is (boot protocol 2.08 or later does); boot "
			       "it with \"decompress\": \"guest\"");
	if (h->payload_offset > pm_len ||
	    h->payload_length > pm_len - h->payload_offset)
		return lx_fail(l, EINVAL,
			       "the payload (%u bytes at offset 0x%x) lies "
			       "past the end of the %zu bytes of the kernel",
			       h->payload_length, h->payload_offset, pm_len);
	*pl = pm + h->payload_offset;
	*pl_len = h->payload_length;
	return 0;
}

/* The most a payload may decompress to: the library bound, and twice
 * what the kernel itself sets aside to decompress into (init_size; the
 * ELF file's layout adds a little to the image it holds). */
static size_t
lx_payload_max(const struct lx_setup_header *h)
{
	uint64_t m = LXDECOMP_MAX_OUT;

	if (h->init_size != 0 && 2ull * h->init_size < m)
		m = 2ull * h->init_size;
	return (size_t)m;
}

/*
 * Host side: the vmlinux from the cache, or decompressed (and then
 * cached), loaded as an ELF.
 */
static int
lx_load_host(struct lx_load *l, const uint8_t *pm, size_t pm_len,
	     struct lxboot_info *info)
{
	const struct lxboot_config *c = l->l_c;
	struct lxcache_map cm;
	const uint8_t *pl = NULL;
	const char *format;
	uint8_t *elf = NULL;
	size_t pl_len = 0, elf_len = 0, max;
	uint64_t t0;
	int rc, cache = c->lc_cache_dir != NULL && c->lc_kernel_sha256 != NULL;

	memset(&cm, 0, sizeof(cm));
	if (lx_payload(l, pm, pm_len, &pl, &pl_len) == -1)
		return (-1);
	format = lxdecomp_detect(pl, pl_len);
	info->li_compression = format != NULL ? format : "unknown";
	max = lx_payload_max(&l->l_hdr);
	if (cache && !lxcache_key_ok(c->lc_kernel_sha256))
		return lx_fail(l, EINVAL,
			       "the kernel's digest \"%.80s\" is not 64 "
			       "lowercase hex digits",
			       c->lc_kernel_sha256);
	if (cache) {
		rc =
		    lxcache_get(c->lc_cache_dir, c->lc_kernel_sha256, max, &cm);
		if (rc == -1 && errno != ENOENT && errno != EBADMSG)
			return lx_fail(l, errno,
				       "cannot read the kernel cache in %s: "
				       "%s",
				       c->lc_cache_dir, strerror(errno));
		if (rc == 0) {
			info->li_cache_hit = 1;
			rc = lx_elf_load(l, cm.cm_data, cm.cm_len);
			lxcache_release(&cm);
			return rc;
		}
	}
	t0 = lx_now_ns();
	if (lxdecomp_payload(pl, pl_len, max, &elf, &elf_len, &format, l->l_why,
			     l->l_len) == -1)
		return (-1);
	info->li_decompress_ns = lx_now_ns() - t0;
	if (cache && lxcache_put(c->lc_cache_dir, c->lc_kernel_sha256, elf,
				 elf_len) == -1) {
		int saved = errno;

		lxdecomp_free(elf, elf_len);
		return lx_fail(l, saved,
			       "cannot store the decompressed kernel in %s: "
			       "%s",
			       c->lc_cache_dir, strerror(saved));
	}
	rc = lx_elf_load(l, elf, elf_len);
	lxdecomp_free(elf, elf_len);
	return rc;
}

/*
 * Guest side: the protected-mode part at 1 MiB, entered at startup_64
 * (+0x200).  Its decompressor works in [base, base + init_size), base
 * being the load address aligned up to kernel_alignment and at least
 * pref_address (arch/x86/boot/compressed/head_64.S): that is what the
 * kernel needs of RAM, and where no initrd may lie.
 */
static int
lx_load_guest(struct lx_load *l, const uint8_t *pm, size_t pm_len)
{
	const struct lx_setup_header *h = &l->l_hdr;
	uint64_t align = h->kernel_alignment, base, end;

	if (align < LX_PAGE || (align & (align - 1)) != 0)
		align = LX_PAGE;
	base = lx_align_up(LX_HIGH, align);
	if (h->pref_address > base)
		base = h->pref_address;
	end = base + h->init_size;
	if (end < LX_HIGH + pm_len)
		end = LX_HIGH + pm_len;
	if (base > LXBOOT_MEMORY_MAX || end > l->l_mem_size)
		return lx_fail(l, E2BIG,
			       "the kernel does not fit in RAM: it needs "
			       "memory up to 0x%llx to decompress itself, "
			       "the VM has %llu MiB",
			       (unsigned long long)end,
			       (unsigned long long)(l->l_mem_size >> 20));
	memcpy(l->l_mem + LX_HIGH, pm, pm_len);
	l->l_hdr.code32_start = (uint32_t)LX_HIGH;
	l->l_entry = LX_HIGH + 0x200;
	l->l_kernel_end = end;
	return 0;
}

/* The initrd, page-aligned, as high as initrd_addr_max and RAM allow,
 * above the kernel. */
static int
lx_initrd(struct lx_load *l, struct lxboot_info *info)
{
	const struct lxboot_config *c = l->l_c;
	uint64_t top, start, floor;

	if (c->lc_initrd == NULL || c->lc_initrd_len == 0)
		return 0;
	top = (uint64_t)l->l_hdr.initrd_addr_max + 1;
	if (top > l->l_mem_size)
		top = l->l_mem_size;
	top &= ~(LX_PAGE - 1);
	floor = lx_align_up(l->l_kernel_end, LX_PAGE);
	if (c->lc_initrd_len > top || top - c->lc_initrd_len < floor)
		return lx_fail(l, E2BIG,
			       "the initrd (%zu bytes) does not fit between "
			       "the kernel's end (0x%llx) and 0x%llx (the "
			       "lower of RAM's end and the kernel's "
			       "initrd_addr_max): give the VM more memory",
			       c->lc_initrd_len, (unsigned long long)floor,
			       (unsigned long long)top);
	start = (top - c->lc_initrd_len) & ~(LX_PAGE - 1);
	memcpy(l->l_mem + start, c->lc_initrd, c->lc_initrd_len);
	l->l_hdr.ramdisk_image = (uint32_t)start;
	l->l_hdr.ramdisk_size = (uint32_t)c->lc_initrd_len;
	info->li_initrd_gpa = start;
	return 0;
}

static void
lx_e820_add(struct lx_boot_params *bp, uint64_t addr, uint64_t size,
	    uint32_t type)
{
	struct lx_e820 *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

/* The zero page: the setup header, the command line's and initrd's
 * places, the memory map. */
static void
lx_zero_page(struct lx_load *l)
{
	struct lx_boot_params bp;
	uint64_t initrd = l->l_hdr.ramdisk_image;

	memset(&bp, 0, sizeof(bp));
	bp.hdr = l->l_hdr;
	bp.hdr.type_of_loader = LX_LOADER_UNDEFINED;
	bp.hdr.loadflags |= LX_LOADED_HIGH | LX_CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = LX_HEAP_END;
	bp.hdr.cmd_line_ptr = (uint32_t)LX_CMDLINE;
	bp.ext_cmd_line_ptr = (uint32_t)(LX_CMDLINE >> 32);
	bp.ext_ramdisk_image = (uint32_t)(initrd >> 32);
	bp.ext_ramdisk_size = (uint32_t)((uint64_t)l->l_c->lc_initrd_len >> 32);
	lx_e820_add(&bp, 0, LX_RESERVED, LX_E820_RAM);
	lx_e820_add(&bp, LX_RESERVED, LX_HIGH - LX_RESERVED, LX_E820_RESERVED);
	lx_e820_add(&bp, LX_HIGH, l->l_mem_size - LX_HIGH, LX_E820_RAM);
	memcpy(l->l_mem + LX_ZERO_PAGE, &bp, sizeof(bp));
}

static void
lx_w64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The GDT (with a 16-byte TSS descriptor), and identity page tables
 * for the first 4 GiB in 2 MiB pages. */
static void
lx_tables(struct lx_load *l)
{
	uint8_t *m = l->l_mem;
	uint64_t tss;
	unsigned i;

	memset(m + LX_GDT, 0, LX_GDT_ENTRIES * 8);
	lx_w64(m + LX_GDT + LX_SEL_CS, LX_GDT_CODE64);
	lx_w64(m + LX_GDT + LX_SEL_DS, LX_GDT_DATA);
	/* limit 15:0, base 23:0, type 0xb | P, base 31:24; then base
	 * 63:32 (zero) and a reserved word. */
	tss = LX_TSS_LIMIT | (LX_TSS & 0xffffff) << 16 | 0x8bull << 40 |
	      ((LX_TSS >> 24) & 0xff) << 56;
	lx_w64(m + LX_GDT + LX_SEL_TR, tss);
	lx_w64(m + LX_GDT + LX_SEL_TR + 8, 0);
	memset(m + LX_TSS, 0, LX_TSS_LIMIT + 1);

	memset(m + LX_PML4, 0, LX_PAGE * 6);
	lx_w64(m + LX_PML4, LX_PDPT | LX_PTE_P | LX_PTE_RW);
	for (i = 0; i < 4; i++)
		lx_w64(m + LX_PDPT + 8 * i,
		       (LX_PD + LX_PAGE * i) | LX_PTE_P | LX_PTE_RW);
	for (i = 0; i < 4 * 512; i++)
		lx_w64(m + LX_PD + 8ull * i,
		       ((uint64_t)i << 21) | LX_PTE_P | LX_PTE_RW | LX_PTE_PS);
}

static void
lx_seg(struct vmm_seg *s, uint16_t sel, uint64_t base, uint32_t limit,
       uint32_t ar)
{
	s->sg_selector = sel;
	s->sg_base = base;
	s->sg_limit = limit;
	s->sg_ar = ar;
}

/*
 * vCPU 0 at the 64-bit entry (boot.rst, "64-bit Boot Protocol"): long
 * mode with paging, CS = __BOOT_CS and DS/ES/SS = __BOOT_DS (flat),
 * interrupts off, RSI at the zero page.
 *
 * CR0 carries ET and NE besides PE and PG: ET is fixed to 1 on every
 * CPU since the 486, and NE is one of VMX's fixed-1 bits for a guest
 * (IA32_VMX_CR0_FIXED0) and what Linux sets itself; without it KVM
 * would have to emulate the legacy FPU error path.
 */
static void
lx_regs(struct lx_load *l, struct vmm_regs *r)
{
	int i;

	vmm_regs_poweron(r);
	memset(r->rg_gprs, 0, sizeof(r->rg_gprs));
	r->rg_gprs[VMM_RSI] = LX_ZERO_PAGE;
	r->rg_gprs[VMM_RSP] = LX_STACK;
	r->rg_gprs[VMM_RBP] = LX_STACK;
	r->rg_gprs[VMM_RIP] = l->l_entry;
	r->rg_gprs[VMM_RFLAGS] = 0x2; /* bit 1 is always set; IF clear */

	for (i = 0; i < VMM_NSREGS; i++)
		lx_seg(&r->rg_sregs[i], LX_SEL_DS, 0, 0xffffffff, LX_AR_DATA);
	lx_seg(&r->rg_sregs[VMM_CS], LX_SEL_CS, 0, 0xffffffff, LX_AR_CODE64);
	lx_seg(&r->rg_sregs[VMM_TR], LX_SEL_TR, LX_TSS, LX_TSS_LIMIT,
	       LX_AR_TSS);
	/* No LDT: selector 0, as power-on leaves it (present, 64 KiB). */
	lx_seg(&r->rg_sregs[VMM_LDTR], 0, 0, 0xffff, 0x82);
	r->rg_gdtr.dt_base = LX_GDT;
	r->rg_gdtr.dt_limit = LX_GDT_ENTRIES * 8 - 1;
	r->rg_idtr.dt_base = 0;
	r->rg_idtr.dt_limit = 0; /* any fault before Linux has its own
				    IDT is a triple fault: a crash */

	r->rg_crs[VMM_CR0] = LX_CR0_PE | LX_CR0_ET | LX_CR0_NE | LX_CR0_PG;
	r->rg_crs[VMM_CR2] = 0;
	r->rg_crs[VMM_CR3] = LX_PML4;
	r->rg_crs[VMM_CR4] = LX_CR4_PAE;
	r->rg_crs[VMM_CR8] = 0;
	r->rg_msrs[VMM_EFER] = LX_EFER_LME | LX_EFER_LMA;
}

/* The checks of the configuration, before the kernel is looked at. */
static int
lx_check_config(struct lx_load *l)
{
	const struct lxboot_config *c = l->l_c;

	if (c->lc_kernel == NULL || c->lc_kernel_len == 0)
		return lx_fail(l, EINVAL, "no kernel given");
	if (c->lc_vcpus == 0 || c->lc_vcpus > VMM_MAX_VCPUS)
		return lx_fail(l, EINVAL,
			       "%u vCPUs: the MP table lists 1 to %d",
			       c->lc_vcpus, VMM_MAX_VCPUS);
	if (c->lc_decompress != LXBOOT_DECOMPRESS_HOST &&
	    c->lc_decompress != LXBOOT_DECOMPRESS_GUEST)
		return lx_fail(l, EINVAL, "unknown decompression mode %d",
			       (int)c->lc_decompress);
	if (l->l_mem_size > LXBOOT_MEMORY_MAX)
		return lx_fail(l, E2BIG,
			       "%llu bytes of RAM: a Linux guest may have at "
			       "most %llu MiB, below the 3 GiB where the "
			       "APICs live",
			       (unsigned long long)l->l_mem_size,
			       LXBOOT_MEMORY_MAX >> 20);
	if (l->l_mem_size < 2 * LX_HIGH)
		return lx_fail(l, E2BIG,
			       "%llu KiB of RAM cannot hold a Linux kernel",
			       (unsigned long long)(l->l_mem_size >> 10));
	return 0;
}

static int
lx_is_elf(const uint8_t *k, size_t n)
{
	return n >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0;
}

static int
lx_is_bzimage(const uint8_t *k, size_t n)
{
	return n >= 0x206 && k[0x1fe] == 0x55 && k[0x1ff] == 0xaa &&
	       memcmp(k + 0x202, "HdrS", 4) == 0;
}

int
lxboot_load(const struct lxboot_config *c, uint8_t *mem, uint64_t mem_size,
	    struct vmm_regs *regs, struct lxboot_info *info, char *why,
	    size_t len)
{
	struct lx_load l;
	struct lxboot_info dummy;
	const char *cmdline = c->lc_cmdline != NULL ? c->lc_cmdline : "";
	const uint8_t *pm = NULL, *pl = NULL;
	size_t cmdlen, pm_len = 0, pl_len = 0, room;
	const char *f;

	memset(&l, 0, sizeof(l));
	l.l_c = c;
	l.l_mem = mem;
	l.l_mem_size = mem_size;
	l.l_why = why;
	l.l_len = len;
	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	info->li_compression = "none";
	if (why != NULL && len > 0)
		why[0] = '\0';
	if (lx_check_config(&l) == -1)
		return (-1);

	/* The header first: it limits the command line, which is checked
	 * before a kernel is decompressed. */
	if (lx_is_elf(c->lc_kernel, c->lc_kernel_len)) {
		info->li_format = "elf";
		lx_elf_header(&l);
	} else if (lx_is_bzimage(c->lc_kernel, c->lc_kernel_len)) {
		info->li_format = "bzImage";
		if (lx_bzimage_header(&l, &pm, &pm_len) == -1)
			return (-1);
		info->li_protocol = l.l_hdr.version;
	} else {
		return lx_fail(&l, EINVAL,
			       "not a kernel: neither a bzImage (0xAA55 at "
			       "0x1fe and \"HdrS\" at 0x202) nor an ELF64 "
			       "vmlinux");
	}
	cmdlen = strlen(cmdline);
	room = LX_RESERVED - LX_CMDLINE - 1;
	if (cmdlen > l.l_hdr.cmdline_size || cmdlen > room)
		return lx_fail(&l, E2BIG,
			       "the command line is %zu bytes; this kernel "
			       "takes at most %u",
			       cmdlen,
			       l.l_hdr.cmdline_size < room
				   ? l.l_hdr.cmdline_size
				   : (unsigned)room);

	if (pm == NULL) {
		if (lx_elf_load(&l, c->lc_kernel, c->lc_kernel_len) == -1)
			return (-1);
	} else if (c->lc_decompress == LXBOOT_DECOMPRESS_GUEST) {
		if (lx_payload(&l, pm, pm_len, &pl, &pl_len) == 0 &&
		    (f = lxdecomp_detect(pl, pl_len)) != NULL)
			info->li_compression = f;
		if (why != NULL && len > 0)
			why[0] = '\0';
		if (lx_load_guest(&l, pm, pm_len) == -1)
			return (-1);
	} else if (lx_load_host(&l, pm, pm_len, info) == -1) {
		return (-1);
	}
	if (lx_initrd(&l, info) == -1)
		return (-1);
	memcpy(mem + LX_CMDLINE, cmdline, cmdlen + 1);
	if (mptable_write(mem, mem_size, LX_RESERVED, LX_HIGH - LX_RESERVED,
			  c->lc_vcpus, c->lc_pci_irqs, c->lc_npci_irqs) == -1)
		return lx_fail(&l, errno,
			       "the MP table for %u vCPUs does not fit below "
			       "1 MiB",
			       c->lc_vcpus);
	lx_zero_page(&l);
	lx_tables(&l);
	lx_regs(&l, regs);
	info->li_entry = l.l_entry;
	info->li_kernel_end = l.l_kernel_end;
	return 0;
}
