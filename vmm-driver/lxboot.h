/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): lays out
 * a kernel, its initrd and command line in guest RAM the way a boot loader
 * would, and says how vCPU 0 enters it in 64-bit mode.
 *
 * Input is a bzImage (boot protocol 2.06 or later, with the 64-bit entry
 * XLF_KERNEL_64) or an ELF64 x86-64 vmlinux.  A bzImage is either loaded
 * as is (its own decompressor runs in the guest, entered at startup_64,
 * 1 MiB + 0x200) or, with LXBOOT_DECOMPRESS_HOST, its payload is
 * decompressed here (lxdecomp.h: gzip, xz, lzma, lz4, zstd, bzip2) into
 * the ELF vmlinux, whose segments are loaded at their physical addresses
 * and entered at its entry point; the zero page still carries the
 * bzImage's setup header.  That vmlinux is cached per kernel digest under
 * lc_cache_dir (lxcache.h: at most LXCACHE_MAX_FILES files, the least
 * recently used go first).  A raw vmlinux gets a setup header built for
 * it (boot_flag, "HdrS", version 2.15, loader type, kernel_alignment
 * 16 MiB, cmdline_size LIMIT_CMDLINE_LEN - 1, initrd_addr_max 2 GiB - 1).
 *
 * Guest physical layout (all below 1 MiB except the kernel and initrd):
 *   0x1000   GDT: 0x10 __BOOT_CS (64-bit code), 0x18 __BOOT_DS (data), as
 *            boot.rst's 64-bit protocol names them; 0x20 a 64-bit TSS
 *   0x1080   the TSS                 0x7000  zero page (boot_params)
 *   0x8ff0   initial stack (RSP), below the page tables
 *   0x9000   PML4, PDPT, PDs (identity map of the first 4 GiB, 2 MiB pages)
 *   0x20000  command line
 *   0x9fc00..0x100000 reserved: the MP floating pointer and table
 *            (mptable.h)
 *   0x100000 kernel (protected-mode part / vmlinux segments at p_paddr,
 *            16 MiB for a distribution kernel)
 *   initrd   page-aligned, as high as initrd_addr_max and RAM allow,
 *            above the kernel (in guest mode above the kernel's
 *            decompression buffer: pref_address + init_size)
 * The e820 map: [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved,
 * [0x100000, memory) RAM.  Guest RAM must end below 3 GiB (the local and
 * I/O APICs live above it); larger is E2BIG.
 *
 * vCPU 0 enters with CR0 = PE | ET | NE | PG, CR4 = PAE, EFER = LME |
 * LMA, CR3 at the PML4, CS 0x10 (L), DS/ES/SS/FS/GS 0x18, TR 0x20,
 * RFLAGS 0x2 (interrupts off), RSI at the zero page.  Starting the other
 * vCPUs (INIT/SIPI from vCPU 0, as on hardware) is the runner's.
 *
 * No globals but the cache directory's files: safe to call from any
 * thread.  The decompressed vmlinux is held in memory only during the
 * call.
 */
#ifndef VMMAPID_VMM_DRIVER_LXBOOT_H
#define VMMAPID_VMM_DRIVER_LXBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm-driver/mptable.h"
#include "vmm-driver/vmm.h"

/* Guest RAM a Linux guest may have (bytes): below the 3 GiB PCI hole. */
#define LXBOOT_MEMORY_MAX (3ull << 30)

enum lxboot_decompress {
	LXBOOT_DECOMPRESS_HOST,  /* default: payload -> vmlinux on the host */
	LXBOOT_DECOMPRESS_GUEST, /* the bzImage as is; its decompressor runs */
};

struct lxboot_config {
	const uint8_t *lc_kernel; /* bzImage or ELF vmlinux */
	size_t lc_kernel_len;
	const char
	    *lc_kernel_sha256;    /* lowercase hex; the cache key; NULL ok */
	const uint8_t *lc_initrd; /* NULL: none */
	size_t lc_initrd_len;
	const char *lc_cmdline; /* used as is; "" ok */
	unsigned lc_vcpus;      /* the MP table lists this many */
	enum lxboot_decompress lc_decompress;
	const char *lc_cache_dir; /* decompressed vmlinux files; NULL: none */
	/* PCI devices' interrupts for the MP table (mptable.h); 0: none. */
	const struct mptable_pci_irq *lc_pci_irqs;
	unsigned lc_npci_irqs;
};

/* What lxboot_load found and did: for the log, the API and benchmarks. */
struct lxboot_info {
	unsigned li_protocol;       /* setup header version, 0x020f; 0: ELF */
	const char *li_format;      /* "bzImage" or "elf" */
	const char *li_compression; /* "gzip", "xz", ..., "none" */
	int li_cache_hit;           /* the vmlinux came from the cache */
	uint64_t li_decompress_ns;  /* 0 when not decompressed here */
	uint64_t li_entry;          /* guest physical entry point */
	uint64_t li_initrd_gpa;     /* 0: none */
	uint64_t li_kernel_end;     /* first byte past what the kernel uses */
};

/*
 * Lays the guest out in mem (mem_size bytes of guest RAM at gpa 0, zeroed
 * by the caller) and fills *regs with vCPU 0's entry state (every group:
 * long mode, flat segments from the GDT, CR3 at the page tables, RSI at
 * the zero page, RIP at the entry).  -1 with errno and a sentence in why:
 *   EINVAL   not a kernel (no setup header magic, not ELF64 x86-64, a
 *            payload that does not decompress)
 *   ENOEXEC  boot protocol older than 2.06, or no 64-bit entry
 *   E2BIG    command line over the kernel's cmdline_size, kernel or
 *            initrd not fitting in RAM or below initrd_addr_max, RAM
 *            over LXBOOT_MEMORY_MAX
 *   ENOTSUP  a payload compression this build cannot decompress (use
 *            "decompress": "guest")
 *   other    the cache directory's I/O (reading a missing or corrupt
 *            cache file is a miss, not an error; failing to store one
 *            is), ENOMEM
 */
int lxboot_load(const struct lxboot_config *c, uint8_t *mem, uint64_t mem_size,
		struct vmm_regs *regs, struct lxboot_info *info, char *why,
		size_t len);

#endif
