/*
 * The register document (api/regs_json.c): rendering every group in its
 * order, a round trip of every register, partial writes, the hex strings
 * at their edges (prefix, digit count, register widths, types), unknown
 * groups, registers and members named by their field, and ?groups=.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/regs_json.h"
#include "vmm-driver/vmm.h"

/* The top-level keys of doc joined by commas. */
static void
keys_of(const json_t *doc, char *buf, size_t len)
{
	const char *k;
	json_t *v;

	buf[0] = '\0';
	json_object_foreach ((json_t *)doc, k, v) {
		if (buf[0] != '\0')
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, k, len - strlen(buf) - 1);
	}
}

/* The string at a dotted path of doc, or NULL. */
static const char *
str_at(const json_t *doc, const char *dotted)
{
	char path[128], *save = NULL, *part;
	const json_t *v = doc;

	snprintf(path, sizeof(path), "%s", dotted);
	for (part = strtok_r(path, ".", &save); part != NULL && v != NULL;
	     part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	return json_string_value(v);
}

static json_t *
parse_json(const char *text)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);

	if (doc == NULL)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return doc;
}

/* regs_json_parse of text must fail naming field; detail must hold
 * needle (NULL: anything). */
static void
parse_fails(const char *text, const char *field, const char *needle)
{
	struct regs_json_patch p;
	struct regs_json_error err;
	json_t *doc = parse_json(text);

	if (regs_json_parse(doc, &p, &err) == 0)
		fail_msg("%s was accepted", text);
	if (strcmp(err.rje_field, field) != 0)
		fail_msg("%s: field \"%s\", expected \"%s\" (%s)", text,
			 err.rje_field, field, err.rje_detail);
	if (needle != NULL && strstr(err.rje_detail, needle) == NULL)
		fail_msg("%s: detail \"%s\" lacks \"%s\"", text, err.rje_detail,
			 needle);
	/* Whatever is echoed must make a valid JSON string. */
	json_t *s = json_string(err.rje_detail),
	       *f = json_string(err.rje_field);

	assert_non_null(s);
	assert_non_null(f);
	json_decref(s);
	json_decref(f);
	json_decref(doc);
}

/* The value text parses to as register path (e.g. "gprs.rax"). */
static uint64_t
parse_value(const char *group, const char *reg, const char *value)
{
	struct regs_json_patch p;
	struct regs_json_error err;
	struct vmm_regs regs;
	char text[256];
	json_t *doc;

	snprintf(text, sizeof(text), "{\"%s\": {\"%s\": \"%s\"}}", group, reg,
		 value);
	doc = parse_json(text);
	if (regs_json_parse(doc, &p, &err) != 0)
		fail_msg("%s refused: %s: %s", text, err.rje_field,
			 err.rje_detail);
	json_decref(doc);
	memset(&regs, 0, sizeof(regs));
	regs_json_apply(&p, &regs);
	if (strcmp(group, "gprs") == 0)
		return regs.rg_gprs[VMM_RAX];
	return regs.rg_crs[VMM_CR0];
}

static void
value_fails(const char *value, const char *needle)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"gprs\": {\"rax\": %s}}", value);
	parse_fails(text, "gprs.rax", needle);
}

/* Every register a distinct value, the widest ones at their maxima. */
static void
fill(struct vmm_regs *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < VMM_NGPRS; i++)
		r->rg_gprs[i] = 0x1000000000000000ULL * (i % 15) + i + 1;
	r->rg_gprs[VMM_RFLAGS] = UINT64_MAX;
	for (i = 0; i < VMM_NSREGS; i++) {
		r->rg_sregs[i].sg_selector = (uint16_t)(0x10 * i + 8);
		r->rg_sregs[i].sg_limit = 0xfffff000u + i;
		r->rg_sregs[i].sg_ar = 0x10000u | (0x90 + i);
		r->rg_sregs[i].sg_base = 0xffffffff00000000ULL + i;
	}
	r->rg_sregs[VMM_TR].sg_selector = 0xffff;
	r->rg_sregs[VMM_TR].sg_limit = UINT32_MAX;
	r->rg_gdtr.dt_limit = 0x27;
	r->rg_gdtr.dt_base = 0xfffffe0000001000ULL;
	r->rg_idtr.dt_limit = UINT32_MAX;
	r->rg_idtr.dt_base = 0x2000;
	for (i = 0; i < VMM_NCRS; i++)
		r->rg_crs[i] = 0x80000011ULL + i;
	for (i = 0; i < VMM_NMSRS; i++)
		r->rg_msrs[i] = 0xc000008000000000ULL + i;
	for (i = 0; i < VMM_NDRS; i++)
		r->rg_drs[i] = 0x400 + i;
}

static void
test_regs_json__renders_every_group_in_order(void **state)
{
	struct vmm_regs r;
	char keys[256];
	json_t *doc;

	(void)state;
	vmm_regs_poweron(&r);
	doc = regs_json_render(&r, VMM_REGS_ALL);
	assert_non_null(doc);
	keys_of(doc, keys, sizeof(keys));
	assert_string_equal(keys, "gprs,sregs,gdtr,idtr,crs,msrs,drs");
	keys_of(json_object_get(doc, "gprs"), keys, sizeof(keys));
	assert_string_equal(keys, "rax,rbx,rcx,rdx,rsi,rdi,r8,r9,r10,r11,r12,"
				  "r13,r14,r15,rsp,rbp,rip,rflags");
	keys_of(json_object_get(doc, "sregs"), keys, sizeof(keys));
	assert_string_equal(keys, "es,cs,ss,ds,fs,gs,ldtr,tr");
	keys_of(json_object_get(json_object_get(doc, "sregs"), "cs"), keys,
		sizeof(keys));
	assert_string_equal(keys, "selector,limit,ar,base");
	keys_of(json_object_get(doc, "gdtr"), keys, sizeof(keys));
	assert_string_equal(keys, "limit,base");
	keys_of(json_object_get(doc, "crs"), keys, sizeof(keys));
	assert_string_equal(keys, "cr0,cr2,cr3,cr4,cr8,xcr0");
	keys_of(json_object_get(doc, "msrs"), keys, sizeof(keys));
	assert_string_equal(keys,
			    "efer,star,lstar,cstar,sfmask,kgsbase,misc_enable");
	keys_of(json_object_get(doc, "drs"), keys, sizeof(keys));
	assert_string_equal(keys, "dr0,dr1,dr2,dr3,dr6,dr7");

	/* Lower-case hex without leading zeros. */
	assert_string_equal(str_at(doc, "gprs.rax"), "0x0");
	assert_string_equal(str_at(doc, "gprs.rdx"), "0x600");
	assert_string_equal(str_at(doc, "gprs.rip"), "0xfff0");
	assert_string_equal(str_at(doc, "gprs.rflags"), "0x2");
	assert_string_equal(str_at(doc, "sregs.cs.selector"), "0xf000");
	assert_string_equal(str_at(doc, "sregs.cs.base"), "0xffff0000");
	assert_string_equal(str_at(doc, "sregs.cs.ar"), "0x9b");
	assert_string_equal(str_at(doc, "sregs.ds.limit"), "0xffff");
	assert_string_equal(str_at(doc, "sregs.tr.ar"), "0x8b");
	assert_string_equal(str_at(doc, "gdtr.limit"), "0xffff");
	assert_string_equal(str_at(doc, "idtr.base"), "0x0");
	assert_string_equal(str_at(doc, "crs.cr0"), "0x60000010");
	assert_string_equal(str_at(doc, "crs.xcr0"), "0x1");
	assert_string_equal(str_at(doc, "msrs.misc_enable"), "0x1801");
	assert_string_equal(str_at(doc, "drs.dr6"), "0xffff0ff0");
	assert_string_equal(str_at(doc, "drs.dr7"), "0x400");
	json_decref(doc);
}

static void
test_regs_json__renders_only_the_groups_asked(void **state)
{
	static const struct {
		unsigned groups;
		const char *keys;
	} cases[] = {
	    {VMM_REGS_GPRS, "gprs"},
	    {VMM_REGS_SREGS, "sregs,gdtr,idtr"},
	    {VMM_REGS_CRS, "crs"},
	    {VMM_REGS_MSRS, "msrs"},
	    {VMM_REGS_DRS, "drs"},
	    {VMM_REGS_SREGS | VMM_REGS_DRS, "sregs,gdtr,idtr,drs"},
	    {VMM_REGS_GPRS | VMM_REGS_CRS, "gprs,crs"},
	    {0, ""},
	};
	struct vmm_regs r;
	char keys[256];
	size_t i;

	(void)state;
	fill(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = regs_json_render(&r, cases[i].groups);

		assert_non_null(doc);
		keys_of(doc, keys, sizeof(keys));
		assert_string_equal(keys, cases[i].keys);
		json_decref(doc);
	}
}

static void
test_regs_json__round_trip_keeps_every_register(void **state)
{
	struct regs_json_patch p;
	struct regs_json_error err;
	struct vmm_regs in, out;
	json_t *doc;
	unsigned i;

	(void)state;
	fill(&in);
	doc = regs_json_render(&in, VMM_REGS_ALL);
	assert_non_null(doc);
	assert_string_equal(str_at(doc, "gprs.rflags"), "0xffffffffffffffff");
	assert_string_equal(str_at(doc, "sregs.tr.selector"), "0xffff");
	assert_string_equal(str_at(doc, "sregs.tr.limit"), "0xffffffff");
	assert_string_equal(str_at(doc, "idtr.limit"), "0xffffffff");
	assert_int_equal(regs_json_parse(doc, &p, &err), 0);
	assert_int_equal(p.rjp_groups, VMM_REGS_ALL);
	assert_int_equal(p.rjp_gprs, (1u << VMM_NGPRS) - 1);
	assert_int_equal(p.rjp_crs, (1u << VMM_NCRS) - 1);
	assert_int_equal(p.rjp_msrs, (1u << VMM_NMSRS) - 1);
	assert_int_equal(p.rjp_drs, (1u << VMM_NDRS) - 1);
	for (i = 0; i < VMM_NSREGS; i++)
		assert_int_equal(p.rjp_sregs[i], 0xf);
	assert_int_equal(p.rjp_gdtr, REGS_JSON_SEG_LIMIT | REGS_JSON_SEG_BASE);
	assert_int_equal(p.rjp_idtr, REGS_JSON_SEG_LIMIT | REGS_JSON_SEG_BASE);
	memset(&out, 0, sizeof(out));
	regs_json_apply(&p, &out);
	assert_memory_equal(&in, &out, sizeof(in));
	json_decref(doc);
}

/* Each group alone: only its bit, only its registers change. */
static void
test_regs_json__each_group_writes_only_what_it_names(void **state)
{
	static const struct {
		const char *text;
		unsigned group;
	} cases[] = {
	    {"{\"gprs\": {\"rbx\": \"0xbeef\", \"rip\": \"0x1002\"}}",
	     VMM_REGS_GPRS},
	    {"{\"sregs\": {\"ds\": {\"base\": \"0x5000\"}}}", VMM_REGS_SREGS},
	    {"{\"gdtr\": {\"limit\": \"0x17\"}}", VMM_REGS_SREGS},
	    {"{\"idtr\": {\"base\": \"0x9000\"}}", VMM_REGS_SREGS},
	    {"{\"crs\": {\"cr3\": \"0x7000\"}}", VMM_REGS_CRS},
	    {"{\"msrs\": {\"efer\": \"0x500\"}}", VMM_REGS_MSRS},
	    {"{\"drs\": {\"dr7\": \"0x401\"}}", VMM_REGS_DRS},
	};
	struct regs_json_patch p;
	struct regs_json_error err;
	struct vmm_regs base, r, want;
	size_t i;

	(void)state;
	fill(&base);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = parse_json(cases[i].text);

		assert_int_equal(regs_json_parse(doc, &p, &err), 0);
		assert_int_equal(p.rjp_groups, cases[i].group);
		r = base;
		regs_json_apply(&p, &r);
		want = base;
		switch (i) {
		case 0:
			want.rg_gprs[VMM_RBX] = 0xbeef;
			want.rg_gprs[VMM_RIP] = 0x1002;
			assert_int_equal(p.rjp_gprs,
					 1u << VMM_RBX | 1u << VMM_RIP);
			break;
		case 1:
			want.rg_sregs[VMM_DS].sg_base = 0x5000;
			assert_int_equal(p.rjp_sregs[VMM_DS],
					 REGS_JSON_SEG_BASE);
			break;
		case 2:
			want.rg_gdtr.dt_limit = 0x17;
			break;
		case 3:
			want.rg_idtr.dt_base = 0x9000;
			break;
		case 4:
			want.rg_crs[VMM_CR3] = 0x7000;
			break;
		case 5:
			want.rg_msrs[VMM_EFER] = 0x500;
			break;
		case 6:
			want.rg_drs[VMM_DR7] = 0x401;
			break;
		}
		assert_memory_equal(&r, &want, sizeof(r));
		json_decref(doc);
	}
}

static void
test_regs_json__empty_documents_write_nothing(void **state)
{
	static const char *const texts[] = {"{}", "{\"gprs\": {}}",
					    "{\"sregs\": {\"cs\": {}}}",
					    "{\"gdtr\": {}, \"drs\": {}}"};
	struct regs_json_patch p;
	struct regs_json_error err;
	struct vmm_regs base, r;
	size_t i;

	(void)state;
	fill(&base);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *doc = parse_json(texts[i]);

		assert_int_equal(regs_json_parse(doc, &p, &err), 0);
		assert_int_equal(p.rjp_groups, 0);
		r = base;
		regs_json_apply(&p, &r);
		assert_memory_equal(&r, &base, sizeof(r));
		json_decref(doc);
	}
}

static void
test_regs_json__hex_accepts_both_cases_and_16_digits(void **state)
{
	(void)state;
	assert_true(parse_value("gprs", "rax", "0x0") == 0);
	assert_true(parse_value("gprs", "rax", "0x1f") == 0x1f);
	assert_true(parse_value("gprs", "rax", "0x1F") == 0x1f);
	/* Decided: an upper-case prefix is accepted too; output is always
	 * lower case. */
	assert_true(parse_value("gprs", "rax", "0X1F") == 0x1f);
	assert_true(parse_value("gprs", "rax", "0xffffffffffffffff") ==
		    UINT64_MAX);
	assert_true(parse_value("gprs", "rax", "0x0000000000000001") == 1);
	assert_true(parse_value("crs", "cr0", "0xDeadBeefCafe") ==
		    0xdeadbeefcafeULL);
}

static void
test_regs_json__malformed_values_are_refused_by_field(void **state)
{
	(void)state;
	value_fails("\"0x\"", "not \"0x\" followed by hex digits");
	value_fails("\"1f\"", "not \"0x\"");
	value_fails("\"x1f\"", "not \"0x\"");
	value_fails("\"\"", "not \"0x\"");
	value_fails("\"0x10000000000000000\"", "more than 16 hex digits");
	value_fails("\"0x00000000000000001\"", "more than 16 hex digits");
	value_fails("\"-0x1\"", "not \"0x\"");
	value_fails("\"0x-1\"", "not \"0x\"");
	value_fails("\" 0x1\"", "not \"0x\"");
	value_fails("\"0x1 \"", "not \"0x\"");
	value_fails("\"0x1g\"", "not \"0x\"");
	value_fails("\"0x1\\u0000\"", "not \"0x\"");
	value_fails("16", "not a number");
	value_fails("-1", "not a number");
	value_fails("1.5", "not a number");
	value_fails("null", "not null");
	value_fails("true", "not a boolean");
	value_fails("{}", "not an object");
	value_fails("[\"0x1\"]", "not an array");
	parse_fails("{\"crs\": {\"cr0\": 5}}", "crs.cr0", "not a number");
	parse_fails("{\"msrs\": {\"efer\": \"efer\"}}", "msrs.efer", NULL);
	parse_fails("{\"drs\": {\"dr7\": \"0x\"}}", "drs.dr7", NULL);
}

static void
test_regs_json__values_past_the_register_width_are_refused(void **state)
{
	struct regs_json_patch p;
	struct regs_json_error err;
	json_t *doc;

	(void)state;
	parse_fails("{\"sregs\": {\"cs\": {\"selector\": \"0x10000\"}}}",
		    "sregs.cs.selector", "16 bits");
	parse_fails("{\"sregs\": {\"tr\": {\"limit\": \"0x100000000\"}}}",
		    "sregs.tr.limit", "32 bits");
	parse_fails("{\"sregs\": {\"ss\": {\"ar\": \"0x1ffffffff\"}}}",
		    "sregs.ss.ar", "32 bits");
	parse_fails("{\"gdtr\": {\"limit\": \"0x100000000\"}}", "gdtr.limit",
		    "32 bits");
	parse_fails("{\"idtr\": {\"limit\": \"0x100000000\"}}", "idtr.limit",
		    "32 bits");
	/* At the width: accepted. */
	doc = parse_json("{\"sregs\": {\"cs\": {\"selector\": \"0xffff\", "
			 "\"limit\": \"0xffffffff\", \"ar\": \"0xffffffff\", "
			 "\"base\": \"0xffffffffffffffff\"}}, "
			 "\"gdtr\": {\"limit\": \"0xffffffff\"}}");
	assert_int_equal(regs_json_parse(doc, &p, &err), 0);
	assert_int_equal(p.rjp_regs.rg_sregs[VMM_CS].sg_selector, 0xffff);
	assert_int_equal(p.rjp_regs.rg_sregs[VMM_CS].sg_limit, UINT32_MAX);
	assert_int_equal(p.rjp_regs.rg_sregs[VMM_CS].sg_ar, UINT32_MAX);
	assert_true(p.rjp_regs.rg_sregs[VMM_CS].sg_base == UINT64_MAX);
	assert_int_equal(p.rjp_regs.rg_gdtr.dt_limit, UINT32_MAX);
	json_decref(doc);
}

static void
test_regs_json__unknown_names_are_refused_by_field(void **state)
{
	(void)state;
	parse_fails("{\"gprs\": {\"rxx\": \"0x1\"}}", "gprs.rxx",
		    "no register \"rxx\"");
	parse_fails("{\"gprs\": {\"eax\": \"0x1\"}}", "gprs.eax", NULL);
	parse_fails("{\"crs\": {\"cr1\": \"0x1\"}}", "crs.cr1", NULL);
	parse_fails("{\"msrs\": {\"tsc\": \"0x1\"}}", "msrs.tsc", NULL);
	parse_fails("{\"drs\": {\"dr4\": \"0x1\"}}", "drs.dr4", NULL);
	parse_fails("{\"fpu\": {}}", "fpu", "unknown register group");
	parse_fails("{\"GPRS\": {}}", "GPRS", "unknown register group");
	parse_fails("{\"sregs\": {\"xs\": {}}}", "sregs.xs", "no segment");
	parse_fails("{\"sregs\": {\"cs\": {\"sel\": \"0x1\"}}}", "sregs.cs.sel",
		    "no member");
	/* Descriptor tables have no selector or access rights. */
	parse_fails("{\"gdtr\": {\"selector\": \"0x1\"}}", "gdtr.selector",
		    "only limit and base");
	parse_fails("{\"idtr\": {\"ar\": \"0x1\"}}", "idtr.ar", NULL);
	/* gdtr and idtr are top-level members, not segments. */
	parse_fails("{\"sregs\": {\"gdtr\": {}}}", "sregs.gdtr", NULL);
	/* The right member names, the wrong shapes. */
	parse_fails("{\"gprs\": [1]}", "gprs", "not an array");
	parse_fails("{\"sregs\": \"cs\"}", "sregs", "not a string");
	parse_fails("{\"sregs\": {\"cs\": 1}}", "sregs.cs", "not a number");
	parse_fails("{\"gdtr\": null}", "gdtr", "not null");
	parse_fails("[]", "", "not an array");
	parse_fails("\"gprs\"", "", NULL);
}

/* Names a client made up are echoed as printable ASCII, shortened. */
static void
test_regs_json__echoed_names_stay_printable_and_short(void **state)
{
	struct regs_json_patch p;
	struct regs_json_error err;
	char text[512], longname[201];
	json_t *doc;

	(void)state;
	parse_fails("{\"gprs\": {\"r\\u00e9x\": \"0x1\"}}", "gprs.r??x", NULL);
	memset(longname, 'a', 200);
	longname[200] = '\0';
	snprintf(text, sizeof(text), "{\"%s\": {}}", longname);
	doc = parse_json(text);
	assert_int_equal(regs_json_parse(doc, &p, &err), -1);
	assert_int_equal(strlen(err.rje_field), REGS_JSON_ECHO_MAX + 3);
	assert_string_equal(err.rje_field + REGS_JSON_ECHO_MAX, "...");
	json_decref(doc);
	/* A value with a multi-byte character cut at the echo limit. */
	snprintf(text, sizeof(text),
		 "{\"gprs\": {\"rax\": \"0x%s\\u00e9\\u00e9\"}}",
		 "1234567890123456789012345678901234567");
	parse_fails(text, "gprs.rax", NULL);
}

static void
test_regs_json__groups_list_parses_and_refuses_unknown(void **state)
{
	struct regs_json_error err;
	unsigned g;

	(void)state;
	assert_int_equal(regs_json_groups("gprs", &g, &err), 0);
	assert_int_equal(g, VMM_REGS_GPRS);
	assert_int_equal(regs_json_groups("gprs,sregs,crs,msrs,drs", &g, &err),
			 0);
	assert_int_equal(g, VMM_REGS_ALL);
	assert_int_equal(regs_json_groups("drs,crs,drs", &g, &err), 0);
	assert_int_equal(g, VMM_REGS_DRS | VMM_REGS_CRS);

	assert_int_equal(regs_json_groups("gprs,fpu", &g, &err), -1);
	assert_string_equal(err.rje_field, "groups");
	assert_non_null(strstr(err.rje_detail, "\"fpu\""));
	assert_int_equal(regs_json_groups("GPRS", &g, &err), -1);
	assert_int_equal(regs_json_groups("gprs,", &g, &err), -1);
	assert_non_null(strstr(err.rje_detail, "empty item"));
	assert_int_equal(regs_json_groups(",gprs", &g, &err), -1);
	assert_int_equal(regs_json_groups("", &g, &err), -1);
	assert_int_equal(regs_json_groups(NULL, &g, &err), -1);
	assert_int_equal(regs_json_groups("gprs sregs", &g, &err), -1);
	assert_int_equal(regs_json_groups("gdtr", &g, &err), -1);
	assert_non_null(strstr(err.rje_detail, "comes with sregs"));
}

static void
test_regs_json__hex_new_writes_lower_case_minimal(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
	    {0, "0x0"},
	    {0xabcdef, "0xabcdef"},
	    {UINT64_MAX, "0xffffffffffffffff"},
	    {0x1000, "0x1000"},
	};
	char why[128];
	uint64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *s = regs_json_hex_new(cases[i].v);

		assert_string_equal(json_string_value(s), cases[i].s);
		assert_int_equal(regs_json_hex(s, 64, &back, why, sizeof(why)),
				 0);
		assert_true(back == cases[i].v);
		json_decref(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regs_json__renders_every_group_in_order),
	    cmocka_unit_test(test_regs_json__renders_only_the_groups_asked),
	    cmocka_unit_test(test_regs_json__round_trip_keeps_every_register),
	    cmocka_unit_test(
		test_regs_json__each_group_writes_only_what_it_names),
	    cmocka_unit_test(test_regs_json__empty_documents_write_nothing),
	    cmocka_unit_test(
		test_regs_json__hex_accepts_both_cases_and_16_digits),
	    cmocka_unit_test(
		test_regs_json__malformed_values_are_refused_by_field),
	    cmocka_unit_test(
		test_regs_json__values_past_the_register_width_are_refused),
	    cmocka_unit_test(
		test_regs_json__unknown_names_are_refused_by_field),
	    cmocka_unit_test(
		test_regs_json__echoed_names_stay_printable_and_short),
	    cmocka_unit_test(
		test_regs_json__groups_list_parses_and_refuses_unknown),
	    cmocka_unit_test(test_regs_json__hex_new_writes_lower_case_minimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
