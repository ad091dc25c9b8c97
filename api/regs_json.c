/*
 * The register document (see regs_json.h): rendering, parsing a write,
 * and the hex strings every value is written as.
 */
#include "api/regs_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Digits of the widest value, 64 bits. */
#define REGS_JSON_HEX_DIGITS 16

/* The groups that are flat arrays of 64-bit registers. */
struct regs_json_array {
	const char *ra_name;
	unsigned ra_group;
	const char *const *ra_regs; /* names in the array's order */
	unsigned ra_n;
	size_t ra_off;  /* offset of the uint64_t array in struct vmm_regs */
	size_t ra_mask; /* offset of its uint32_t mask in the patch */
};

static const char *const regs_json_gprs[VMM_NGPRS] = {
    [VMM_RAX] = "rax", [VMM_RBX] = "rbx", [VMM_RCX] = "rcx",
    [VMM_RDX] = "rdx", [VMM_RSI] = "rsi", [VMM_RDI] = "rdi",
    [VMM_R8] = "r8",   [VMM_R9] = "r9",   [VMM_R10] = "r10",
    [VMM_R11] = "r11", [VMM_R12] = "r12", [VMM_R13] = "r13",
    [VMM_R14] = "r14", [VMM_R15] = "r15", [VMM_RSP] = "rsp",
    [VMM_RBP] = "rbp", [VMM_RIP] = "rip", [VMM_RFLAGS] = "rflags",
};
static const char *const regs_json_crs[VMM_NCRS] = {
    [VMM_CR0] = "cr0", [VMM_CR2] = "cr2", [VMM_CR3] = "cr3",
    [VMM_CR4] = "cr4", [VMM_CR8] = "cr8", [VMM_XCR0] = "xcr0",
};
static const char *const regs_json_msrs[VMM_NMSRS] = {
    [VMM_EFER] = "efer",
    [VMM_STAR] = "star",
    [VMM_LSTAR] = "lstar",
    [VMM_CSTAR] = "cstar",
    [VMM_SFMASK] = "sfmask",
    [VMM_KGSBASE] = "kgsbase",
    [VMM_MISC_ENABLE] = "misc_enable",
};
static const char *const regs_json_drs[VMM_NDRS] = {
    [VMM_DR0] = "dr0", [VMM_DR1] = "dr1", [VMM_DR2] = "dr2",
    [VMM_DR3] = "dr3", [VMM_DR6] = "dr6", [VMM_DR7] = "dr7",
};
static const char *const regs_json_segs[VMM_NSREGS] = {
    [VMM_ES] = "es", [VMM_CS] = "cs", [VMM_SS] = "ss",     [VMM_DS] = "ds",
    [VMM_FS] = "fs", [VMM_GS] = "gs", [VMM_LDTR] = "ldtr", [VMM_TR] = "tr",
};

#define REGS_JSON_ARRAY(name, group, names, member, mask)                      \
	{                                                                      \
		name, group, names, sizeof(names) / sizeof(names[0]),          \
		    offsetof(struct vmm_regs, member),                         \
		    offsetof(struct regs_json_patch, mask)                     \
	}

/* In the document's order; sregs, gdtr and idtr come between gprs and
 * crs and are handled on their own. */
static const struct regs_json_array regs_json_arrays[] = {
    REGS_JSON_ARRAY("gprs", VMM_REGS_GPRS, regs_json_gprs, rg_gprs, rjp_gprs),
    REGS_JSON_ARRAY("crs", VMM_REGS_CRS, regs_json_crs, rg_crs, rjp_crs),
    REGS_JSON_ARRAY("msrs", VMM_REGS_MSRS, regs_json_msrs, rg_msrs, rjp_msrs),
    REGS_JSON_ARRAY("drs", VMM_REGS_DRS, regs_json_drs, rg_drs, rjp_drs),
};
#define REGS_JSON_NARRAYS                                                      \
	(sizeof(regs_json_arrays) / sizeof(regs_json_arrays[0]))

/* The members of a segment and of a descriptor table, with widths. */
static const struct {
	const char *sf_name;
	unsigned sf_bit;
	unsigned sf_bits;
} regs_json_seg_fields[] = {
    {"selector", REGS_JSON_SEG_SELECTOR, 16},
    {"limit", REGS_JSON_SEG_LIMIT, 32},
    {"ar", REGS_JSON_SEG_AR, 32},
    {"base", REGS_JSON_SEG_BASE, 64},
};
#define REGS_JSON_NSEG_FIELDS                                                  \
	(sizeof(regs_json_seg_fields) / sizeof(regs_json_seg_fields[0]))
#define REGS_JSON_TABLE_FIELDS (REGS_JSON_SEG_LIMIT | REGS_JSON_SEG_BASE)

static const struct {
	const char *gn_name;
	unsigned gn_group;
} regs_json_group_names[] = {
    {"gprs", VMM_REGS_GPRS}, {"sregs", VMM_REGS_SREGS}, {"crs", VMM_REGS_CRS},
    {"msrs", VMM_REGS_MSRS}, {"drs", VMM_REGS_DRS},
};
#define REGS_JSON_NGROUPS                                                      \
	(sizeof(regs_json_group_names) / sizeof(regs_json_group_names[0]))

/*
 * Printable ASCII only, so that a multi-byte character is never cut in
 * half (problem documents must stay valid UTF-8).
 */
void
regs_json_echo(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < REGS_JSON_ECHO_MAX && o + 1 < len; i++)
		buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < n && o + 4 <= len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static int regs_json_fail(struct regs_json_error *err, const char *field,
			  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
regs_json_fail(struct regs_json_error *err, const char *field, const char *fmt,
	       ...)
{
	va_list ap;

	snprintf(err->rje_field, sizeof(err->rje_field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->rje_detail, sizeof(err->rje_detail), fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

/* A JSON type's name for a sentence ("a number", "null"). */
static const char *
regs_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A new string, or NULL when out of memory. */
json_t *
regs_json_hex_new(uint64_t v)
{
	char buf[2 + REGS_JSON_HEX_DIGITS + 1];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

/*
 * Parses one value.  The digit count is limited, not only the value, so
 * that a string of any length is refused without arithmetic on it.
 */
int
regs_json_hex(const json_t *v, unsigned bits, uint64_t *out, char *why,
	      size_t len)
{
	char echo[REGS_JSON_ECHO_MAX + 4];
	const char *s;
	uint64_t x = 0;
	size_t n, i;

	if (!json_is_string(v)) {
		snprintf(why, len,
			 "must be a string of \"0x\" and hex digits, not %s",
			 regs_json_type(v));
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	regs_json_echo(s, n, echo, sizeof(echo));
	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
		snprintf(why, len,
			 "\"%s\" is not \"0x\" followed by hex digits", echo);
		return -1;
	}
	if (n - 2 > REGS_JSON_HEX_DIGITS) {
		snprintf(why, len, "\"%s\" has more than %d hex digits", echo,
			 REGS_JSON_HEX_DIGITS);
		return -1;
	}
	for (i = 2; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else {
			snprintf(why, len,
				 "\"%s\" is not \"0x\" followed by hex digits",
				 echo);
			return -1;
		}
		x = x << 4 | d;
	}
	if (bits < 64 && x >> bits != 0) {
		snprintf(why, len, "%s does not fit in the register's %u bits",
			 echo, bits);
		return -1;
	}
	*out = x;
	return 0;
}

/* Sets key to v's hex string in obj; -1 when out of memory. */
static int
regs_json_put(json_t *obj, const char *key, uint64_t v)
{
	return json_object_set_new(obj, key, regs_json_hex_new(v));
}

static json_t *
regs_json_seg_render(const struct vmm_seg *sg)
{
	json_t *o = json_object();

	if (o == NULL || regs_json_put(o, "selector", sg->sg_selector) != 0 ||
	    regs_json_put(o, "limit", sg->sg_limit) != 0 ||
	    regs_json_put(o, "ar", sg->sg_ar) != 0 ||
	    regs_json_put(o, "base", sg->sg_base) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
regs_json_table_render(const struct vmm_dtable *dt)
{
	json_t *o = json_object();

	if (o == NULL || regs_json_put(o, "limit", dt->dt_limit) != 0 ||
	    regs_json_put(o, "base", dt->dt_base) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
regs_json_array_render(const struct regs_json_array *ra,
		       const struct vmm_regs *regs)
{
	const uint64_t *vals =
	    (const uint64_t *)(const void *)((const char *)regs + ra->ra_off);
	json_t *o = json_object();
	unsigned i;

	for (i = 0; o != NULL && i < ra->ra_n; i++)
		if (regs_json_put(o, ra->ra_regs[i], vals[i]) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

static json_t *
regs_json_sregs_render(const struct vmm_regs *regs)
{
	json_t *o = json_object();
	unsigned i;

	for (i = 0; o != NULL && i < VMM_NSREGS; i++)
		if (json_object_set_new(
			o, regs_json_segs[i],
			regs_json_seg_render(&regs->rg_sregs[i])) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/* Adds sregs, gdtr and idtr to doc; -1 when out of memory. */
static int
regs_json_sregs_add(json_t *doc, const struct vmm_regs *regs)
{
	if (json_object_set_new(doc, "sregs", regs_json_sregs_render(regs)) !=
	    0)
		return -1;
	if (json_object_set_new(doc, "gdtr",
				regs_json_table_render(&regs->rg_gdtr)) != 0)
		return -1;
	return json_object_set_new(doc, "idtr",
				   regs_json_table_render(&regs->rg_idtr));
}

/* Groups in the document's order: gprs, the segments, crs, msrs, drs. */
json_t *
regs_json_render(const struct vmm_regs *regs, unsigned groups)
{
	json_t *doc = json_object();
	unsigned i;

	if (doc == NULL)
		return NULL;
	for (i = 0; i < REGS_JSON_NARRAYS; i++) {
		const struct regs_json_array *ra = &regs_json_arrays[i];

		if (ra->ra_group == VMM_REGS_CRS && (groups & VMM_REGS_SREGS) &&
		    regs_json_sregs_add(doc, regs) != 0)
			goto fail;
		if ((groups & ra->ra_group) &&
		    json_object_set_new(doc, ra->ra_name,
					regs_json_array_render(ra, regs)) != 0)
			goto fail;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* The echo of a client's key, for a field or a sentence. */
static void
regs_json_key(const char *key, char *buf, size_t len)
{
	regs_json_echo(key, strlen(key), buf, len);
}

/* One value at field (for the error), bits wide. */
static int
regs_json_value(const json_t *v, const char *field, unsigned bits,
		uint64_t *out, struct regs_json_error *err)
{
	char why[sizeof(err->rje_detail)];

	if (regs_json_hex(v, bits, out, why, sizeof(why)) != 0)
		return regs_json_fail(err, field, "%s", why);
	return 0;
}

static int
regs_json_array_parse(const struct regs_json_array *ra, const json_t *obj,
		      struct regs_json_patch *p, struct regs_json_error *err)
{
	uint64_t *vals =
	    (uint64_t *)(void *)((char *)&p->rjp_regs + ra->ra_off);
	uint32_t *mask = (uint32_t *)(void *)((char *)p + ra->ra_mask);
	char field[sizeof(err->rje_field)], key[REGS_JSON_ECHO_MAX + 4];
	const char *k;
	json_t *v;
	unsigned i;

	if (!json_is_object(obj))
		return regs_json_fail(err, ra->ra_name,
				      "must be an object of registers, not %s",
				      regs_json_type(obj));
	json_object_foreach ((json_t *)obj, k, v) {
		for (i = 0; i < ra->ra_n; i++)
			if (strcmp(k, ra->ra_regs[i]) == 0)
				break;
		if (i == ra->ra_n) {
			regs_json_key(k, key, sizeof(key));
			snprintf(field, sizeof(field), "%s.%s", ra->ra_name,
				 key);
			return regs_json_fail(err, field,
					      "%s has no register \"%s\"",
					      ra->ra_name, key);
		}
		snprintf(field, sizeof(field), "%s.%s", ra->ra_name, k);
		if (regs_json_value(v, field, 64, &vals[i], err) != 0)
			return -1;
		*mask |= 1u << i;
		p->rjp_groups |= ra->ra_group;
	}
	return 0;
}

/*
 * A segment's or a table's members into *sg (a table uses only limit
 * and base: tables is set).  prefix names the object ("sregs.cs").
 */
static int
regs_json_seg_parse(const json_t *obj, const char *prefix, int table,
		    struct vmm_seg *sg, uint32_t *mask,
		    struct regs_json_error *err)
{
	char field[sizeof(err->rje_field)], key[REGS_JSON_ECHO_MAX + 4];
	uint64_t x;
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return regs_json_fail(
		    err, prefix, "must be an object of %s, not %s",
		    table ? "limit and base" : "selector, limit, ar and base",
		    regs_json_type(obj));
	json_object_foreach ((json_t *)obj, k, v) {
		for (i = 0; i < REGS_JSON_NSEG_FIELDS; i++)
			if (strcmp(k, regs_json_seg_fields[i].sf_name) == 0 &&
			    (!table || (regs_json_seg_fields[i].sf_bit &
					REGS_JSON_TABLE_FIELDS)))
				break;
		if (i == REGS_JSON_NSEG_FIELDS) {
			regs_json_key(k, key, sizeof(key));
			snprintf(field, sizeof(field), "%s.%s", prefix, key);
			return regs_json_fail(
			    err, field, "%s has no member \"%s\" (only %s)",
			    prefix, key,
			    table ? "limit and base"
				  : "selector, limit, ar and base");
		}
		snprintf(field, sizeof(field), "%s.%s", prefix, k);
		if (regs_json_value(v, field, regs_json_seg_fields[i].sf_bits,
				    &x, err) != 0)
			return -1;
		switch (regs_json_seg_fields[i].sf_bit) {
		case REGS_JSON_SEG_SELECTOR:
			sg->sg_selector = (uint16_t)x;
			break;
		case REGS_JSON_SEG_LIMIT:
			sg->sg_limit = (uint32_t)x;
			break;
		case REGS_JSON_SEG_AR:
			sg->sg_ar = (uint32_t)x;
			break;
		default:
			sg->sg_base = x;
			break;
		}
		*mask |= regs_json_seg_fields[i].sf_bit;
	}
	return 0;
}

static int
regs_json_sregs_parse(const json_t *obj, struct regs_json_patch *p,
		      struct regs_json_error *err)
{
	char field[sizeof(err->rje_field)], key[REGS_JSON_ECHO_MAX + 4];
	const char *k;
	json_t *v;
	unsigned i;

	if (!json_is_object(obj))
		return regs_json_fail(err, "sregs",
				      "must be an object of segments, not %s",
				      regs_json_type(obj));
	json_object_foreach ((json_t *)obj, k, v) {
		for (i = 0; i < VMM_NSREGS; i++)
			if (strcmp(k, regs_json_segs[i]) == 0)
				break;
		if (i == VMM_NSREGS) {
			regs_json_key(k, key, sizeof(key));
			snprintf(field, sizeof(field), "sregs.%s", key);
			return regs_json_fail(
			    err, field,
			    "sregs has no segment \"%s\" (es, cs, ss, ds, fs, "
			    "gs, ldtr, tr)",
			    key);
		}
		snprintf(field, sizeof(field), "sregs.%s", k);
		if (regs_json_seg_parse(v, field, 0, &p->rjp_regs.rg_sregs[i],
					&p->rjp_sregs[i], err) != 0)
			return -1;
		if (p->rjp_sregs[i] != 0)
			p->rjp_groups |= VMM_REGS_SREGS;
	}
	return 0;
}

/* gdtr or idtr: a segment's limit and base. */
static int
regs_json_table_parse(const json_t *obj, const char *name,
		      struct vmm_dtable *dt, uint32_t *mask,
		      struct regs_json_patch *p, struct regs_json_error *err)
{
	struct vmm_seg sg;

	memset(&sg, 0, sizeof(sg));
	if (regs_json_seg_parse(obj, name, 1, &sg, mask, err) != 0)
		return -1;
	dt->dt_limit = sg.sg_limit;
	dt->dt_base = sg.sg_base;
	if (*mask != 0)
		p->rjp_groups |= VMM_REGS_SREGS;
	return 0;
}

/* All or nothing: *p is only meaningful when 0 is returned. */
int
regs_json_parse(const json_t *doc, struct regs_json_patch *p,
		struct regs_json_error *err)
{
	char key[REGS_JSON_ECHO_MAX + 4];
	const char *k;
	json_t *v;
	size_t i;

	memset(p, 0, sizeof(*p));
	memset(err, 0, sizeof(*err));
	if (!json_is_object(doc))
		return regs_json_fail(err, "",
				      "the document must be an object of "
				      "register groups, not %s",
				      regs_json_type(doc));
	json_object_foreach ((json_t *)doc, k, v) {
		for (i = 0; i < REGS_JSON_NARRAYS; i++)
			if (strcmp(k, regs_json_arrays[i].ra_name) == 0)
				break;
		if (i < REGS_JSON_NARRAYS) {
			if (regs_json_array_parse(&regs_json_arrays[i], v, p,
						  err) != 0)
				return -1;
		} else if (strcmp(k, "sregs") == 0) {
			if (regs_json_sregs_parse(v, p, err) != 0)
				return -1;
		} else if (strcmp(k, "gdtr") == 0) {
			if (regs_json_table_parse(v, "gdtr",
						  &p->rjp_regs.rg_gdtr,
						  &p->rjp_gdtr, p, err) != 0)
				return -1;
		} else if (strcmp(k, "idtr") == 0) {
			if (regs_json_table_parse(v, "idtr",
						  &p->rjp_regs.rg_idtr,
						  &p->rjp_idtr, p, err) != 0)
				return -1;
		} else {
			regs_json_key(k, key, sizeof(key));
			return regs_json_fail(err, key,
					      "unknown register group \"%s\" "
					      "(known: gprs, sregs, gdtr, "
					      "idtr, crs, msrs, drs)",
					      key);
		}
	}
	return 0;
}

/* Copies the masked values of one flat group. */
static void
regs_json_array_apply(const struct regs_json_array *ra,
		      const struct regs_json_patch *p, struct vmm_regs *regs)
{
	const uint64_t *from =
	    (const uint64_t *)(const void *)((const char *)&p->rjp_regs +
					     ra->ra_off);
	const uint32_t *mask =
	    (const uint32_t *)(const void *)((const char *)p + ra->ra_mask);
	uint64_t *to = (uint64_t *)(void *)((char *)regs + ra->ra_off);
	unsigned i;

	for (i = 0; i < ra->ra_n; i++)
		if (*mask & 1u << i)
			to[i] = from[i];
}

/* Only the masked values move; regs may be the backend's current state. */
void
regs_json_apply(const struct regs_json_patch *p, struct vmm_regs *regs)
{
	const struct vmm_regs *g = &p->rjp_regs;
	size_t i;

	for (i = 0; i < REGS_JSON_NARRAYS; i++)
		regs_json_array_apply(&regs_json_arrays[i], p, regs);
	for (i = 0; i < VMM_NSREGS; i++) {
		struct vmm_seg *to = &regs->rg_sregs[i];
		const struct vmm_seg *from = &g->rg_sregs[i];

		if (p->rjp_sregs[i] & REGS_JSON_SEG_SELECTOR)
			to->sg_selector = from->sg_selector;
		if (p->rjp_sregs[i] & REGS_JSON_SEG_LIMIT)
			to->sg_limit = from->sg_limit;
		if (p->rjp_sregs[i] & REGS_JSON_SEG_AR)
			to->sg_ar = from->sg_ar;
		if (p->rjp_sregs[i] & REGS_JSON_SEG_BASE)
			to->sg_base = from->sg_base;
	}
	if (p->rjp_gdtr & REGS_JSON_SEG_LIMIT)
		regs->rg_gdtr.dt_limit = g->rg_gdtr.dt_limit;
	if (p->rjp_gdtr & REGS_JSON_SEG_BASE)
		regs->rg_gdtr.dt_base = g->rg_gdtr.dt_base;
	if (p->rjp_idtr & REGS_JSON_SEG_LIMIT)
		regs->rg_idtr.dt_limit = g->rg_idtr.dt_limit;
	if (p->rjp_idtr & REGS_JSON_SEG_BASE)
		regs->rg_idtr.dt_base = g->rg_idtr.dt_base;
}

/* Repeated names are fine; the order does not matter. */
int
regs_json_groups(const char *list, unsigned *groups,
		 struct regs_json_error *err)
{
	char item[REGS_JSON_ECHO_MAX + 4];
	const char *s = list, *e;
	size_t i, n;

	memset(err, 0, sizeof(*err));
	*groups = 0;
	if (list == NULL || *list == '\0')
		return regs_json_fail(err, "groups",
				      "groups must list register groups "
				      "(gprs, sregs, crs, msrs, drs), "
				      "separated by commas");
	for (;;) {
		e = strchrnul(s, ',');
		n = (size_t)(e - s);
		for (i = 0; i < REGS_JSON_NGROUPS; i++)
			if (strlen(regs_json_group_names[i].gn_name) == n &&
			    memcmp(s, regs_json_group_names[i].gn_name, n) == 0)
				break;
		if (i == REGS_JSON_NGROUPS) {
			regs_json_echo(s, n, item, sizeof(item));
			if (n == 0) {
				regs_json_echo(list, strlen(list), item,
					       sizeof(item));
				return regs_json_fail(
				    err, "groups",
				    "groups has an empty item in \"%s\"", item);
			}
			if ((n == 4 && memcmp(s, "gdtr", 4) == 0) ||
			    (n == 4 && memcmp(s, "idtr", 4) == 0))
				return regs_json_fail(
				    err, "groups",
				    "%s is not a group of its own: it comes "
				    "with sregs",
				    item);
			return regs_json_fail(
			    err, "groups",
			    "unknown register group \"%s\" (known: gprs, "
			    "sregs, crs, msrs, drs)",
			    item);
		}
		*groups |= regs_json_group_names[i].gn_group;
		if (*e == '\0')
			return 0;
		s = e + 1;
	}
}
