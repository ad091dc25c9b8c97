/*
 * The register document: struct vmm_regs (OpenBSD's struct vcpu_reg_state)
 * as JSON, one shape for every backend.
 *
 *   {"gprs":  {"rax": "0x0", ... "r15", "rsp", "rbp", "rip", "rflags"},
 *    "sregs": {"es": {"selector": "0x0", "limit": "0xffff",
 *                     "ar": "0x93", "base": "0x0"},
 *              ... "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"},
 *    "gdtr":  {"limit": "0xffff", "base": "0x0"},
 *    "idtr":  {"limit": "0xffff", "base": "0x0"},
 *    "crs":   {"cr0", "cr2", "cr3", "cr4", "cr8", "xcr0"},
 *    "msrs":  {"efer", "star", "lstar", "cstar", "sfmask", "kgsbase",
 *              "misc_enable"},
 *    "drs":   {"dr0", "dr1", "dr2", "dr3", "dr6", "dr7"}}
 *
 * Every value is a string "0x" and hex digits, so that 64-bit values
 * survive JSON parsers that hold numbers as doubles.  Written in lower
 * case without leading zeros; read with 1 to 16 digits of either case
 * after "0x" or "0X", and no more than the register's width (selectors
 * 16 bits; segment limits, access rights and table limits 32 bits;
 * everything else 64).  gdtr and idtr belong to the sregs group.
 *
 * Pure functions on jansson values; no I/O.
 */
#ifndef VMMAPID_API_REGS_JSON_H
#define VMMAPID_API_REGS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vmm-driver/vmm.h"

/* What is wrong: the field as a dotted path ("gprs.rxx",
 * "sregs.cs.selector"; "" for the document as a whole) and a sentence. */
struct regs_json_error {
	char rje_field[96];
	char rje_detail[256];
};

/*
 * A register write: the values a document gives and which ones it gives.
 * Bit i of a mask stands for index i of the matching array of struct
 * vmm_regs (enum vmm_gpr, vmm_cr, ...); a segment's or table's mask has
 * the REGS_JSON_SEG_* bits.
 */
enum {
	REGS_JSON_SEG_SELECTOR = 1 << 0,
	REGS_JSON_SEG_LIMIT = 1 << 1,
	REGS_JSON_SEG_AR = 1 << 2,
	REGS_JSON_SEG_BASE = 1 << 3,
};

struct regs_json_patch {
	struct vmm_regs rjp_regs; /* the values given; the rest zero */
	unsigned rjp_groups;      /* VMM_REGS_* with at least one value */
	uint32_t rjp_gprs, rjp_crs, rjp_msrs, rjp_drs;
	uint32_t rjp_sregs[VMM_NSREGS];
	uint32_t rjp_gdtr, rjp_idtr; /* LIMIT and BASE bits */
};

/*
 * The document of the groups given (VMM_REGS_* bits) as a new object, or
 * NULL when out of memory.
 */
json_t *regs_json_render(const struct vmm_regs *regs, unsigned groups);

/*
 * Reads a register document into *p: every member known, every value
 * well-formed and within its register's width, otherwise -1 (EINVAL)
 * with *err naming the first offending field.  Groups and registers may
 * be left out; an empty document writes nothing.
 */
int regs_json_parse(const json_t *doc, struct regs_json_patch *p,
		    struct regs_json_error *err);

/* Puts the values p gives into regs, leaving the others as they are. */
void regs_json_apply(const struct regs_json_patch *p, struct vmm_regs *regs);

/*
 * A comma-separated list of group names (gprs, sregs, crs, msrs, drs) as
 * VMM_REGS_* bits; -1 (EINVAL) with a sentence in err->rje_detail for an
 * empty list, an empty item or an unknown name (field "groups").
 */
int regs_json_groups(const char *list, unsigned *groups,
		     struct regs_json_error *err);

/*
 * A value of the document: "0x" or "0X" and 1 to 16 hex digits, no more
 * than bits wide.  0, or -1 (EINVAL) with a sentence (without the field)
 * in why.  Shared with the other vCPU documents (params, protect).
 */
int regs_json_hex(const json_t *v, unsigned bits, uint64_t *out, char *why,
		  size_t len);

/*
 * A client's string (n bytes) made safe to echo in a problem's sentence
 * or field: printable ASCII (anything else becomes '?'), at most
 * REGS_JSON_ECHO_MAX characters and then "...".  buf should hold
 * REGS_JSON_ECHO_MAX + 4 bytes.
 */
#define REGS_JSON_ECHO_MAX 40
void regs_json_echo(const char *s, size_t n, char *buf, size_t len);

/* A value as the document writes it: "0x" and lower-case hex. */
json_t *regs_json_hex_new(uint64_t v);

#endif
