/*
 * vm_spec_normalize() and friends: every field's rule, every limit at the
 * limit and one past it, the defaults, the canonical order, and the field
 * that each error names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/limits.h"
#include "api/vm_spec.h"
#include "base/names.h"

/* A small host, so that the vCPU and memory limits are easy to cross. */
static const struct vm_spec_limits test_limits = {
    .sl_max_vcpus = 2,
    .sl_max_memory_mib = 1024,
};

#define MINIMAL "{'name':'web1','boot':{'kind':'flat','image':'hello.bin'}}"
#define MINIMAL_LINUX                                                          \
	"{'name':'web1','boot':{'kind':'linux','kernel':'bzImage'}}"

/* text with ' standing for ", so that documents read as typed. */
static char *
dq(const char *text)
{
	char *s = strdup(text), *p;

	assert_non_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static json_t *
doc(const char *text)
{
	json_error_t jerr;
	char *s = dq(text);
	json_t *d = json_loads(s, JSON_DECODE_ANY, &jerr);

	if (d == NULL)
		fail_msg("bad test document %s: %s", s, jerr.text);
	free(s);
	return d;
}

/* A string of n copies of c (n may exceed any limit). */
static json_t *
str_of(char c, size_t n)
{
	char *s = malloc(n + 1);
	json_t *v;

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	v = json_string(s);
	free(s);
	assert_non_null(v);
	return v;
}

/* base with member key set to value (stolen). */
static json_t *
with(const char *base, const char *key, json_t *value)
{
	json_t *d = doc(base);

	assert_int_equal(json_object_set_new(d, key, value), 0);
	return d;
}

/* base with boot.key set to value (stolen). */
static json_t *
with_boot(const char *base, const char *key, json_t *value)
{
	json_t *d = doc(base);

	assert_int_equal(
	    json_object_set_new(json_object_get(d, "boot"), key, value), 0);
	return d;
}

/* Normalizes d (taking it) under limits, which must succeed. */
static json_t *
accept_with(json_t *d, const char *url, const struct vm_spec_limits *limits)
{
	struct vm_spec_error err;
	json_t *out = vm_spec_normalize(d, url, limits, NULL, &err);

	if (out == NULL)
		fail_msg("rejected: field \"%s\": %s", err.se_field,
			 err.se_detail);
	json_decref(d);
	return out;
}

static json_t *
accept(json_t *d, const char *url)
{
	return accept_with(d, url, &test_limits);
}

/* Normalizes d (taking it), which must fail on field. */
static struct vm_spec_error
reject(json_t *d, const char *url, const char *field)
{
	struct vm_spec_error err;
	json_t *out;

	errno = 0;
	out = vm_spec_normalize(d, url, &test_limits, NULL, &err);
	if (out != NULL) {
		char *s = json_dumps(out, JSON_COMPACT);

		fail_msg("accepted, expected an error on \"%s\": %s", field, s);
	}
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.se_field, field);
	assert_true(strlen(err.se_detail) > 0);
	json_decref(d);
	return err;
}

/* v serialized compactly, in insertion order, must be expected. */
static void
assert_dumps(const json_t *v, const char *expected)
{
	char *want = dq(expected), *got = json_dumps(v, JSON_COMPACT);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* The value out.path for a dotted path of object members. */
static const json_t *
at(const json_t *out, const char *a, const char *b)
{
	const json_t *v = json_object_get(out, a);

	return b != NULL ? json_object_get(v, b) : v;
}

/* The document itself */

static void
test_vm_spec__minimal_spec_gets_every_default(void **state)
{
	json_t *out = accept(doc(MINIMAL), NULL);

	assert_dumps(out,
		     "{'name':'web1','vcpus':1,'memory_mib':64,"
		     "'boot':{'kind':'flat','image':'hello.bin',"
		     "'load_address':4096,'entry':4096},"
		     "'labels':{},'pptdevs':[],'autostart':false,"
		     "'description':'','guestinfo_channel':'vmware-backdoor',"
		     "'on_reboot':'restart'}");
	json_decref(out);
}

static void
test_vm_spec__output_keys_are_in_canonical_order(void **state)
{
	json_t *out = accept(
	    doc("{'description':'d','autostart':true,'pptdevs':['3/0/0','1/0/"
		"0'],"
		"'labels':{'z':'1','a':'2','m':'3'},"
		"'boot':{'entry':16,'load_address':0,'image':'hello.bin',"
		"'kind':'flat'},"
		"'memory_mib':128,'vcpus':2,'name':'web1'}"),
	    NULL);

	assert_dumps(out,
		     "{'name':'web1','vcpus':2,'memory_mib':128,"
		     "'boot':{'kind':'flat','image':'hello.bin',"
		     "'load_address':0,'entry':16},"
		     "'labels':{'a':'2','m':'3','z':'1'},"
		     "'pptdevs':['3/0/0','1/0/0'],'autostart':true,"
		     "'description':'d','guestinfo_channel':'vmware-backdoor',"
		     "'on_reboot':'restart'}");
	json_decref(out);
}

static void
test_vm_spec__linux_boot_keys_are_in_canonical_order(void **state)
{
	json_t *out = accept(doc("{'name':'web1','boot':{'cmdline':'quiet',"
				 "'initrd':'initrd.img','kernel':'bzImage',"
				 "'kind':'linux'}}"),
			     NULL);

	assert_dumps(at(out, "boot", NULL),
		     "{'kind':'linux','kernel':'bzImage','initrd':'initrd.img',"
		     "'cmdline':'quiet','decompress':'host'}");
	json_decref(out);
}

static void
test_vm_spec__normalizing_twice_changes_nothing(void **state)
{
	json_t *once = accept(
	    doc("{'name':'a','labels':{'b':'1','a':''},'pptdevs':['01/2/3'],"
		"'boot':{'kind':'linux','kernel':'k','initrd':'i'}}"),
	    NULL);
	json_t *twice = accept(json_deep_copy(once), NULL);

	assert_true(json_equal(once, twice));
	assert_dumps(
	    twice,
	    "{'name':'a','vcpus':1,'memory_mib':64,"
	    "'boot':{'kind':'linux','kernel':'k','initrd':'i',"
	    "'cmdline':'','decompress':'host'},'labels':{'a':'','b':'1'},"
	    "'pptdevs':['1/2/3'],'autostart':false,"
	    "'description':'','guestinfo_channel':'vmware-backdoor',"
	    "'on_reboot':'restart'}");
	json_decref(once);
	json_decref(twice);
}

static void
test_vm_spec__input_document_is_not_changed(void **state)
{
	json_t *d = doc("{'status':'running','name':'web1','labels':{'b':'1',"
			"'a':'2'},'boot':{'image':'x','kind':'flat'}}");
	char *before = json_dumps(d, JSON_COMPACT), *after;
	struct vm_spec_error err;
	json_t *out = vm_spec_normalize(d, NULL, &test_limits, NULL, &err);

	assert_non_null(out);
	after = json_dumps(d, JSON_COMPACT);
	assert_string_equal(before, after);
	/* The result shares nothing that could change d through it. */
	json_object_set_new(json_object_get(out, "labels"), "a",
			    json_string("changed"));
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(d, "labels"), "a")),
			    "2");
	free(before);
	free(after);
	json_decref(out);
	json_decref(d);
}

static void
test_vm_spec__document_that_is_not_an_object_is_rejected(void **state)
{
	struct vm_spec_error err;

	err = reject(doc("[1]"), NULL, "");
	assert_string_equal(err.se_detail, "a VM spec must be a JSON object");
	reject(doc("'web1'"), NULL, "");
	reject(json_null(), NULL, "");
	assert_null(vm_spec_normalize(NULL, NULL, &test_limits, NULL, &err));
	assert_string_equal(err.se_field, "");
}

static void
test_vm_spec__unknown_top_level_field_is_rejected(void **state)
{
	struct vm_spec_error err;

	err =
	    reject(with(MINIMAL, "colour", json_string("red")), NULL, "colour");
	assert_string_equal(err.se_detail, "unknown field");
	/* Field names are case-sensitive. */
	reject(with(MINIMAL, "Name", json_string("web1")), NULL, "Name");
}

static void
test_vm_spec__read_only_fields_are_accepted_and_dropped(void **state)
{
	json_t *out = accept(
	    doc("{'name':'web1','boot':{'kind':'flat','image':'hello.bin'},"
		"'status':{'state':'running'},'owner':null,'generation':7,"
		"'revision':'x','created_at':'2024-01-01T00:00:00Z',"
		"'updated_at':12}"),
	    NULL);
	json_t *plain = accept(doc(MINIMAL), NULL);

	assert_true(json_equal(out, plain));
	assert_int_equal(json_object_size(out), 10);
	json_decref(out);
	json_decref(plain);
}

static void
test_vm_spec__read_only_fields_inside_boot_are_unknown(void **state)
{
	reject(with_boot(MINIMAL, "status", json_string("x")), NULL,
	       "boot.status");
}

static void
test_vm_spec__is_readonly_field_knows_exactly_the_six_fields(void **state)
{
	static const char *const ro[] = {"status",     "owner",
					 "generation", "revision",
					 "created_at", "updated_at"};
	size_t i;

	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_int_equal(vm_spec_is_readonly_field(ro[i]), 1);
	assert_int_equal(vm_spec_is_readonly_field("name"), 0);
	assert_int_equal(vm_spec_is_readonly_field("Status"), 0);
	assert_int_equal(vm_spec_is_readonly_field("status "), 0);
	assert_int_equal(vm_spec_is_readonly_field(""), 0);
	assert_int_equal(vm_spec_is_readonly_field(NULL), 0);
}

#if JANSSON_VERSION_HEX >= 0x020e00
static void
test_vm_spec__field_name_with_an_embedded_nul_is_rejected(void **state)
{
	json_t *d = doc(MINIMAL);

	/* "name\0x" would read as a second "name" through a C string. */
	assert_int_equal(
	    json_object_setn_new(d, "name\0x", 6, json_string("other")), 0);
	reject(d, NULL, "name");
}
#endif

/* name */

static void
test_vm_spec__name_is_required_without_a_name_in_the_url(void **state)
{
	struct vm_spec_error err;

	err = reject(doc("{'boot':{'kind':'flat','image':'x'}}"), NULL, "name");
	assert_string_equal(err.se_detail, "is required");
}

static void
test_vm_spec__name_is_taken_from_the_url_when_absent(void **state)
{
	json_t *out =
	    accept(doc("{'boot':{'kind':'flat','image':'x'}}"), "web7");

	assert_string_equal(json_string_value(at(out, "name", NULL)), "web7");
	json_decref(out);
}

static void
test_vm_spec__name_equal_to_the_url_name_is_accepted(void **state)
{
	json_t *out = accept(doc(MINIMAL), "web1");

	assert_string_equal(json_string_value(at(out, "name", NULL)), "web1");
	json_decref(out);
}

static void
test_vm_spec__name_differing_from_the_url_name_is_rejected(void **state)
{
	struct vm_spec_error err;

	err = reject(doc(MINIMAL), "web2", "name");
	assert_string_equal(err.se_detail,
			    "does not match the name in the URL (web2)");
	/* Names are case-sensitive. */
	reject(doc(MINIMAL), "WEB1", "name");
}

static void
test_vm_spec__invalid_name_in_the_url_is_rejected(void **state)
{
	reject(doc("{'boot':{'kind':'flat','image':'x'}}"), "bad name", "name");
	reject(doc(MINIMAL), "", "name");
}

static void
test_vm_spec__name_of_64_characters_is_accepted(void **state)
{
	json_t *out = accept(with(MINIMAL, "name", str_of('n', 64)), NULL);

	assert_int_equal(json_string_length(at(out, "name", NULL)), 64);
	json_decref(out);
}

static void
test_vm_spec__name_of_65_characters_is_rejected(void **state)
{
	reject(with(MINIMAL, "name", str_of('n', 65)), NULL, "name");
}

static void
test_vm_spec__name_that_is_not_a_string_is_rejected(void **state)
{
	reject(with(MINIMAL, "name", json_integer(1)), NULL, "name");
	reject(with(MINIMAL, "name", json_null()), NULL, "name");
	reject(with(MINIMAL, "name", json_string("")), NULL, "name");
}

static void
test_vm_spec__name_with_an_embedded_nul_is_rejected(void **state)
{
	reject(with(MINIMAL, "name", json_stringn("web1\0x", 6)), NULL, "name");
	/* Even when the URL names the part before the NUL. */
	reject(with(MINIMAL, "name", json_stringn("web1\0", 5)), "web1",
	       "name");
}

static void
test_vm_spec__name_valid_checks_every_character(void **state)
{
	char name[LIMIT_NAME_LEN + 2];

	assert_true(name_valid("a"));
	assert_true(name_valid("0"));
	assert_true(name_valid("Z"));
	assert_true(name_valid("web-1.example_b"));
	assert_true(name_valid("a.."));
	assert_false(name_valid(""));
	assert_false(name_valid(".a"));
	assert_false(name_valid("-a"));
	assert_false(name_valid("_a"));
	assert_false(name_valid("a b"));
	assert_false(name_valid("a/b"));
	assert_false(name_valid("a:b"));
	assert_false(name_valid("a\n"));
	assert_false(name_valid("caf\xc3\xa9"));
	assert_false(name_valid(NULL));
	memset(name, 'x', LIMIT_NAME_LEN);
	name[LIMIT_NAME_LEN] = '\0';
	assert_true(name_valid(name));
	name[LIMIT_NAME_LEN] = 'x';
	name[LIMIT_NAME_LEN + 1] = '\0';
	assert_false(name_valid(name));
}

/* vcpus */

static void
test_vm_spec__vcpus_at_the_host_limit_is_accepted(void **state)
{
	json_t *out = accept(with(MINIMAL, "vcpus", json_integer(2)), NULL);

	assert_int_equal(json_integer_value(at(out, "vcpus", NULL)), 2);
	json_decref(out);
}

static void
test_vm_spec__vcpus_past_the_host_limit_is_rejected(void **state)
{
	struct vm_spec_error err;

	err = reject(with(MINIMAL, "vcpus", json_integer(3)), NULL, "vcpus");
	assert_string_equal(err.se_detail,
			    "must be an integer from 1 to 2 (the host's CPU "
			    "count or --max-vcpus)");
}

static void
test_vm_spec__vcpus_of_zero_or_less_is_rejected(void **state)
{
	reject(with(MINIMAL, "vcpus", json_integer(0)), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_integer(-1)), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_integer(INT64_MIN)), NULL, "vcpus");
}

static void
test_vm_spec__vcpus_that_is_not_an_integer_is_rejected(void **state)
{
	reject(with(MINIMAL, "vcpus", json_real(1.0)), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_real(1.5)), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_string("1")), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_true()), NULL, "vcpus");
	reject(with(MINIMAL, "vcpus", json_null()), NULL, "vcpus");
}

/* memory_mib */

static void
test_vm_spec__memory_at_the_host_limit_is_accepted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "memory_mib", json_integer(1024)), NULL);

	assert_int_equal(json_integer_value(at(out, "memory_mib", NULL)), 1024);
	json_decref(out);
}

static void
test_vm_spec__memory_past_the_host_limit_is_rejected(void **state)
{
	struct vm_spec_error err;

	err = reject(with(MINIMAL, "memory_mib", json_integer(1025)), NULL,
		     "memory_mib");
	assert_non_null(strstr(err.se_detail, "from 1 to 1024"));
}

static void
test_vm_spec__memory_of_one_mib_is_accepted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "memory_mib", json_integer(1)), NULL);

	assert_int_equal(json_integer_value(at(out, "memory_mib", NULL)), 1);
	json_decref(out);
}

static void
test_vm_spec__memory_that_is_not_a_positive_integer_is_rejected(void **state)
{
	reject(with(MINIMAL, "memory_mib", json_integer(0)), NULL,
	       "memory_mib");
	reject(with(MINIMAL, "memory_mib", json_integer(-64)), NULL,
	       "memory_mib");
	reject(with(MINIMAL, "memory_mib", json_real(64.0)), NULL,
	       "memory_mib");
	reject(with(MINIMAL, "memory_mib", json_string("64")), NULL,
	       "memory_mib");
	reject(with(MINIMAL, "memory_mib", json_false()), NULL, "memory_mib");
}

static void
test_vm_spec__memory_defaults_to_the_host_limit_below_64_mib(void **state)
{
	static const struct vm_spec_limits small = {
	    .sl_max_vcpus = 1,
	    .sl_max_memory_mib = 32,
	};
	json_t *out = accept_with(doc(MINIMAL), NULL, &small);

	assert_int_equal(json_integer_value(at(out, "memory_mib", NULL)), 32);
	json_decref(out);
}

static void
test_vm_spec__memory_limit_past_32_bits_is_honoured(void **state)
{
	static const struct vm_spec_limits big = {
	    .sl_max_vcpus = 1,
	    .sl_max_memory_mib = UINT64_C(1) << 40,
	};
	json_t *out = accept_with(
	    with(MINIMAL, "memory_mib", json_integer((json_int_t)1 << 40)),
	    NULL, &big);

	assert_true(json_integer_value(at(out, "memory_mib", NULL)) ==
		    (json_int_t)1 << 40);
	json_decref(out);
}

/* boot */

static void
test_vm_spec__boot_is_required(void **state)
{
	struct vm_spec_error err;

	err = reject(doc("{'name':'web1'}"), NULL, "boot");
	assert_string_equal(err.se_detail, "is required");
}

static void
test_vm_spec__boot_that_is_not_an_object_is_rejected(void **state)
{
	reject(with(MINIMAL, "boot", json_string("flat")), NULL, "boot");
	reject(with(MINIMAL, "boot", json_null()), NULL, "boot");
}

static void
test_vm_spec__boot_kind_is_required(void **state)
{
	reject(doc("{'name':'web1','boot':{'image':'hello.bin'}}"), NULL,
	       "boot.kind");
}

static void
test_vm_spec__boot_kind_other_than_flat_or_linux_is_rejected(void **state)
{
	reject(with_boot(MINIMAL, "kind", json_string("bios")), NULL,
	       "boot.kind");
	reject(with_boot(MINIMAL, "kind", json_string("Flat")), NULL,
	       "boot.kind");
	reject(with_boot(MINIMAL, "kind", json_integer(1)), NULL, "boot.kind");
	reject(with_boot(MINIMAL, "kind", json_stringn("flat\0", 5)), NULL,
	       "boot.kind");
}

static void
test_vm_spec__unknown_boot_field_is_rejected(void **state)
{
	struct vm_spec_error err;

	err =
	    reject(with_boot(MINIMAL, "bios", json_true()), NULL, "boot.bios");
	assert_string_equal(err.se_detail, "unknown field");
}

/* boot, flat */

static void
test_vm_spec__flat_boot_requires_an_image(void **state)
{
	reject(doc("{'name':'web1','boot':{'kind':'flat'}}"), NULL,
	       "boot.image");
}

static void
test_vm_spec__flat_image_must_be_a_name_not_a_path(void **state)
{
	reject(with_boot(MINIMAL, "image", json_string("/boot/hello.bin")),
	       NULL, "boot.image");
	reject(with_boot(MINIMAL, "image", json_string("../hello.bin")), NULL,
	       "boot.image");
	reject(with_boot(MINIMAL, "image", json_string("a/b")), NULL,
	       "boot.image");
	reject(with_boot(MINIMAL, "image", json_integer(1)), NULL,
	       "boot.image");
}

static void
test_vm_spec__flat_image_name_at_and_past_64_characters(void **state)
{
	json_t *out =
	    accept(with_boot(MINIMAL, "image", str_of('i', 64)), NULL);

	assert_int_equal(json_string_length(at(out, "boot", "image")), 64);
	json_decref(out);
	reject(with_boot(MINIMAL, "image", str_of('i', 65)), NULL,
	       "boot.image");
}

static void
test_vm_spec__linux_keys_in_a_flat_boot_are_unknown(void **state)
{
	struct vm_spec_error err;

	err = reject(with_boot(MINIMAL, "kernel", json_string("bzImage")), NULL,
		     "boot.kernel");
	assert_string_equal(err.se_detail, "unknown field");
	reject(with_boot(MINIMAL, "cmdline", json_string("")), NULL,
	       "boot.cmdline");
	reject(with_boot(MINIMAL, "initrd", json_string("i")), NULL,
	       "boot.initrd");
}

static void
test_vm_spec__load_address_just_below_1_mib_is_accepted(void **state)
{
	json_t *d = with_boot(MINIMAL, "load_address", json_integer(0xfffff));
	json_t *out;

	json_object_set_new(json_object_get(d, "boot"), "entry",
			    json_integer(0));
	/* Even with the least memory: 1 MiB covers all of real mode. */
	json_object_set_new(d, "memory_mib", json_integer(1));
	out = accept(d, NULL);
	assert_int_equal(json_integer_value(at(out, "boot", "load_address")),
			 0xfffff);
	json_decref(out);
}

static void
test_vm_spec__load_address_at_1_mib_is_rejected(void **state)
{
	json_t *d = with_boot(MINIMAL, "load_address", json_integer(0x100000));

	json_object_set_new(json_object_get(d, "boot"), "entry",
			    json_integer(0));
	reject(d, NULL, "boot.load_address");
}

static void
test_vm_spec__load_address_that_is_not_a_small_integer_is_rejected(void **state)
{
	reject(with_boot(MINIMAL, "load_address", json_integer(-1)), NULL,
	       "boot.load_address");
	reject(with_boot(MINIMAL, "load_address", json_real(4096.0)), NULL,
	       "boot.load_address");
	reject(with_boot(MINIMAL, "load_address", json_string("0x1000")), NULL,
	       "boot.load_address");
}

static void
test_vm_spec__load_address_of_zero_is_accepted(void **state)
{
	json_t *out =
	    accept(with_boot(MINIMAL, "load_address", json_integer(0)), NULL);

	assert_int_equal(json_integer_value(at(out, "boot", "load_address")),
			 0);
	assert_int_equal(json_integer_value(at(out, "boot", "entry")), 0);
	json_decref(out);
}

static void
test_vm_spec__entry_defaults_to_the_load_address(void **state)
{
	json_t *out = accept(
	    with_boot(MINIMAL, "load_address", json_integer(0x7c00)), NULL);

	assert_int_equal(json_integer_value(at(out, "boot", "entry")), 0x7c00);
	json_decref(out);
}

static void
test_vm_spec__entry_of_0xffff_is_accepted(void **state)
{
	json_t *out =
	    accept(with_boot(MINIMAL, "entry", json_integer(0xffff)), NULL);

	assert_int_equal(json_integer_value(at(out, "boot", "entry")), 0xffff);
	assert_int_equal(json_integer_value(at(out, "boot", "load_address")),
			 4096);
	json_decref(out);
}

static void
test_vm_spec__entry_of_0x10000_is_rejected(void **state)
{
	reject(with_boot(MINIMAL, "entry", json_integer(0x10000)), NULL,
	       "boot.entry");
	reject(with_boot(MINIMAL, "entry", json_integer(-1)), NULL,
	       "boot.entry");
	reject(with_boot(MINIMAL, "entry", json_string("0")), NULL,
	       "boot.entry");
}

static void
test_vm_spec__entry_defaulted_from_a_load_address_past_0xffff_is_rejected(
    void **state)
{
	json_t *out;

	out = accept(with_boot(MINIMAL, "load_address", json_integer(0xffff)),
		     NULL);
	assert_int_equal(json_integer_value(at(out, "boot", "entry")), 0xffff);
	json_decref(out);
	reject(with_boot(MINIMAL, "load_address", json_integer(0x10000)), NULL,
	       "boot.entry");
}

/* boot, linux */

static void
test_vm_spec__linux_boot_gets_an_empty_cmdline_and_no_initrd(void **state)
{
	json_t *out = accept(doc(MINIMAL_LINUX), NULL);

	assert_dumps(at(out, "boot", NULL),
		     "{'kind':'linux','kernel':'bzImage','cmdline':'',"
		     "'decompress':'host'}");
	json_decref(out);
}

static void
test_vm_spec__linux_boot_requires_a_kernel(void **state)
{
	reject(doc("{'name':'web1','boot':{'kind':'linux','initrd':'i'}}"),
	       NULL, "boot.kernel");
}

static void
test_vm_spec__linux_kernel_and_initrd_must_be_names(void **state)
{
	reject(with_boot(MINIMAL_LINUX, "kernel", json_string("/vmlinuz")),
	       NULL, "boot.kernel");
	reject(with_boot(MINIMAL_LINUX, "initrd", json_string("/initrd")), NULL,
	       "boot.initrd");
	reject(with_boot(MINIMAL_LINUX, "initrd", json_null()), NULL,
	       "boot.initrd");
	reject(with_boot(MINIMAL_LINUX, "initrd", str_of('i', 65)), NULL,
	       "boot.initrd");
}

static void
test_vm_spec__flat_keys_in_a_linux_boot_are_unknown(void **state)
{
	reject(with_boot(MINIMAL_LINUX, "image", json_string("hello.bin")),
	       NULL, "boot.image");
	reject(with_boot(MINIMAL_LINUX, "load_address", json_integer(0)), NULL,
	       "boot.load_address");
	reject(with_boot(MINIMAL_LINUX, "entry", json_integer(0)), NULL,
	       "boot.entry");
}

static void
test_vm_spec__cmdline_of_the_limit_is_accepted(void **state)
{
	json_t *out = accept(
	    with_boot(MINIMAL_LINUX, "cmdline", str_of('c', LIMIT_CMDLINE_LEN)),
	    NULL);

	assert_int_equal(json_string_length(at(out, "boot", "cmdline")),
			 LIMIT_CMDLINE_LEN);
	json_decref(out);
}

static void
test_vm_spec__cmdline_past_the_limit_is_rejected(void **state)
{
	reject(with_boot(MINIMAL_LINUX, "cmdline",
			 str_of('c', LIMIT_CMDLINE_LEN + 1)),
	       NULL, "boot.cmdline");
}

static void
test_vm_spec__cmdline_that_is_not_a_plain_string_is_rejected(void **state)
{
	reject(with_boot(MINIMAL_LINUX, "cmdline", json_integer(1)), NULL,
	       "boot.cmdline");
	reject(with_boot(MINIMAL_LINUX, "cmdline", json_stringn("a\0b", 3)),
	       NULL, "boot.cmdline");
}

static void
test_vm_spec__decompress_is_host_or_guest(void **state)
{
	json_t *out = accept(
	    with_boot(MINIMAL_LINUX, "decompress", json_string("guest")), NULL);

	assert_string_equal(json_string_value(at(out, "boot", "decompress")),
			    "guest");
	json_decref(out);
	out = accept(
	    with_boot(MINIMAL_LINUX, "decompress", json_string("host")), NULL);
	assert_string_equal(json_string_value(at(out, "boot", "decompress")),
			    "host");
	json_decref(out);
	reject(with_boot(MINIMAL_LINUX, "decompress", json_string("Guest")),
	       NULL, "boot.decompress");
	reject(with_boot(MINIMAL_LINUX, "decompress", json_string("")), NULL,
	       "boot.decompress");
	reject(with_boot(MINIMAL_LINUX, "decompress", json_true()), NULL,
	       "boot.decompress");
	reject(with_boot(MINIMAL_LINUX, "decompress", json_null()), NULL,
	       "boot.decompress");
	reject(
	    with_boot(MINIMAL_LINUX, "decompress", json_stringn("host\0x", 6)),
	    NULL, "boot.decompress");
}

static void
test_vm_spec__decompress_in_a_flat_boot_is_unknown(void **state)
{
	reject(with_boot(MINIMAL, "decompress", json_string("host")), NULL,
	       "boot.decompress");
}

static void
test_vm_spec__linux_memory_of_the_limit_is_accepted_and_past_it_rejected(
    void **state)
{
	static const struct vm_spec_limits big = {
	    .sl_max_vcpus = 2,
	    .sl_max_memory_mib = 8192,
	};
	struct vm_spec_error err;
	json_t *out, *d;

	out = accept_with(with(MINIMAL_LINUX, "memory_mib",
			       json_integer(LIMIT_LINUX_MEMORY_MIB)),
			  NULL, &big);
	assert_int_equal(json_integer_value(at(out, "memory_mib", NULL)),
			 LIMIT_LINUX_MEMORY_MIB);
	json_decref(out);
	d = with(MINIMAL_LINUX, "memory_mib",
		 json_integer(LIMIT_LINUX_MEMORY_MIB + 1));
	out = vm_spec_normalize(d, NULL, &big, NULL, &err);
	json_decref(d);
	assert_null(out);
	assert_string_equal(err.se_field, "memory_mib");
	assert_non_null(strstr(err.se_detail, "3072"));
	/* A flat boot has no such bound. */
	out = accept_with(with(MINIMAL, "memory_mib",
			       json_integer(LIMIT_LINUX_MEMORY_MIB + 1)),
			  NULL, &big);
	json_decref(out);
}

/* on_reboot */

static void
test_vm_spec__on_reboot_is_restart_or_stop(void **state)
{
	json_t *out =
	    accept(with(MINIMAL_LINUX, "on_reboot", json_string("stop")), NULL);

	assert_string_equal(json_string_value(at(out, "on_reboot", NULL)),
			    "stop");
	json_decref(out);
	out = accept(with(MINIMAL, "on_reboot", json_string("restart")), NULL);
	assert_string_equal(json_string_value(at(out, "on_reboot", NULL)),
			    "restart");
	json_decref(out);
	/* A flat guest's reset always restarts it. */
	reject(with(MINIMAL, "on_reboot", json_string("stop")), NULL,
	       "on_reboot");
	out = accept(with(MINIMAL_LINUX, "on_reboot", json_string("restart")),
		     NULL);
	assert_string_equal(json_string_value(at(out, "on_reboot", NULL)),
			    "restart");
	json_decref(out);
	reject(with(MINIMAL, "on_reboot", json_string("halt")), NULL,
	       "on_reboot");
	reject(with(MINIMAL, "on_reboot", json_false()), NULL, "on_reboot");
	reject(with(MINIMAL, "on_reboot", json_null()), NULL, "on_reboot");
	reject(with_boot(MINIMAL_LINUX, "on_reboot", json_string("stop")), NULL,
	       "boot.on_reboot");
}

/* labels */

static json_t *
labels_of(size_t n)
{
	json_t *labels = json_object();
	char key[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		json_object_set_new(labels, key, json_string("v"));
	}
	return labels;
}

static void
test_vm_spec__labels_default_to_an_empty_object(void **state)
{
	json_t *out = accept(doc(MINIMAL), NULL);

	assert_true(json_is_object(at(out, "labels", NULL)));
	assert_int_equal(json_object_size(at(out, "labels", NULL)), 0);
	json_decref(out);
}

static void
test_vm_spec__labels_up_to_the_limit_are_accepted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "labels", labels_of(LIMIT_LABELS)), NULL);

	assert_int_equal(json_object_size(at(out, "labels", NULL)),
			 LIMIT_LABELS);
	json_decref(out);
}

static void
test_vm_spec__labels_past_the_limit_are_rejected(void **state)
{
	reject(with(MINIMAL, "labels", labels_of(LIMIT_LABELS + 1)), NULL,
	       "labels");
}

static void
test_vm_spec__labels_that_are_not_an_object_are_rejected(void **state)
{
	reject(with(MINIMAL, "labels", doc("['a']")), NULL, "labels");
	reject(with(MINIMAL, "labels", json_null()), NULL, "labels");
}

static void
test_vm_spec__label_keys_are_sorted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "labels",
			doc("{'b':'1','B':'2','a.b/c':'3','a':'4','0':'5'}")),
		   NULL);

	assert_dumps(at(out, "labels", NULL),
		     "{'0':'5','B':'2','a':'4','a.b/c':'3','b':'1'}");
	json_decref(out);
}

static void
test_vm_spec__label_key_of_the_limit_is_accepted(void **state)
{
	json_t *labels = json_object();
	json_t *key = str_of('k', LIMIT_LABEL_KEY_LEN), *out;

	json_object_set_new(labels, json_string_value(key), json_string("v"));
	out = accept(with(MINIMAL, "labels", labels), NULL);
	assert_non_null(
	    json_object_get(at(out, "labels", NULL), json_string_value(key)));
	json_decref(key);
	json_decref(out);
}

static void
test_vm_spec__label_key_past_the_limit_is_rejected(void **state)
{
	json_t *labels = json_object();
	json_t *key = str_of('k', LIMIT_LABEL_KEY_LEN + 1);
	char field[128];

	json_object_set_new(labels, json_string_value(key), json_string("v"));
	snprintf(field, sizeof(field), "labels.%s", json_string_value(key));
	reject(with(MINIMAL, "labels", labels), NULL, field);
	json_decref(key);
}

static void
test_vm_spec__label_keys_must_start_alphanumeric_and_use_the_set(void **state)
{
	reject(with(MINIMAL, "labels", doc("{'.a':'v'}")), NULL, "labels..a");
	reject(with(MINIMAL, "labels", doc("{'/a':'v'}")), NULL, "labels./a");
	reject(with(MINIMAL, "labels", doc("{'':'v'}")), NULL, "labels.");
	reject(with(MINIMAL, "labels", doc("{'a b':'v'}")), NULL, "labels.a b");
	reject(with(MINIMAL, "labels", doc("{'a=b':'v'}")), NULL, "labels.a=b");
	reject(with(MINIMAL, "labels", doc("{'caf\\u00e9':'v'}")), NULL,
	       "labels.caf\xc3\xa9");
}

static void
test_vm_spec__label_value_of_the_limit_is_accepted(void **state)
{
	json_t *labels = json_object(), *out;

	json_object_set_new(labels, "k", str_of('v', LIMIT_LABEL_VALUE_LEN));
	out = accept(with(MINIMAL, "labels", labels), NULL);
	assert_int_equal(
	    json_string_length(at(at(out, "labels", NULL), "k", NULL)),
	    LIMIT_LABEL_VALUE_LEN);
	json_decref(out);
}

static void
test_vm_spec__label_value_past_the_limit_is_rejected(void **state)
{
	json_t *labels = json_object();

	json_object_set_new(labels, "k",
			    str_of('v', LIMIT_LABEL_VALUE_LEN + 1));
	reject(with(MINIMAL, "labels", labels), NULL, "labels.k");
}

static void
test_vm_spec__label_value_may_be_empty_or_non_ascii(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "labels",
			doc("{'e':'','u':'caf\\u00e9 \\u00a0 \\u20ac'}")),
		   NULL);

	assert_string_equal(
	    json_string_value(at(at(out, "labels", NULL), "u", NULL)),
	    "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac");
	json_decref(out);
}

static void
test_vm_spec__label_value_with_a_control_character_is_rejected(void **state)
{
	static const char *const bad[] = {"{'k':'a\\nb'}", "{'k':'\\t'}",
					  "{'k':'\\u007f'}", "{'k':'\\u0080'}",
					  "{'k':'x\\u009f'}"};
	json_t *labels;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		reject(with(MINIMAL, "labels", doc(bad[i])), NULL, "labels.k");
	labels = json_object();
	json_object_set_new(labels, "k", json_stringn("a\0b", 3));
	reject(with(MINIMAL, "labels", labels), NULL, "labels.k");
}

static void
test_vm_spec__label_value_that_is_not_a_string_is_rejected(void **state)
{
	reject(with(MINIMAL, "labels", doc("{'a':'1','k':1}")), NULL,
	       "labels.k");
	reject(with(MINIMAL, "labels", doc("{'k':null}")), NULL, "labels.k");
}

/*
 * A long key is cut to fit se_field; the cut must not split a UTF-8
 * sequence, or the error could not be sent back as JSON.
 */
static void
test_vm_spec__long_field_is_cut_on_a_character_boundary(void **state)
{
	static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac",
					    "\xf0\x9f\x98\x80"};
	struct vm_spec_error err;
	char full[600];
	size_t i, j, n;

	for (i = 0; i < sizeof(chars) / sizeof(chars[0]); i++) {
		char key[512] = "a";
		json_t *labels = json_object(), *d, *field;

		for (j = 0; j < 100; j++)
			strcat(key, chars[i]);
		json_object_set_new(labels, key, json_string("v"));
		d = with(MINIMAL, "labels", labels);
		assert_null(
		    vm_spec_normalize(d, NULL, &test_limits, NULL, &err));
		json_decref(d);
		snprintf(full, sizeof(full), "labels.%s", key);
		n = strlen(err.se_field);
		assert_true(n > sizeof(err.se_field) - 5);
		assert_memory_equal(err.se_field, full, n);
		/* json_string() refuses invalid UTF-8. */
		field = json_string(err.se_field);
		assert_non_null(field);
		json_decref(field);
	}
}

/* pptdevs */

static json_t *
pptdevs_of(size_t n)
{
	json_t *devs = json_array();
	char dev[48];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(dev, sizeof(dev), "0/%zu/0", i);
		json_array_append_new(devs, json_string(dev));
	}
	return devs;
}

static void
test_vm_spec__pptdevs_default_to_an_empty_array(void **state)
{
	json_t *out = accept(doc(MINIMAL), NULL);

	assert_true(json_is_array(at(out, "pptdevs", NULL)));
	assert_int_equal(json_array_size(at(out, "pptdevs", NULL)), 0);
	json_decref(out);
}

static void
test_vm_spec__pptdevs_up_to_the_limit_are_accepted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "pptdevs", pptdevs_of(LIMIT_PPTDEVS)), NULL);

	assert_int_equal(json_array_size(at(out, "pptdevs", NULL)),
			 LIMIT_PPTDEVS);
	json_decref(out);
}

static void
test_vm_spec__pptdevs_past_the_limit_are_rejected(void **state)
{
	reject(with(MINIMAL, "pptdevs", pptdevs_of(LIMIT_PPTDEVS + 1)), NULL,
	       "pptdevs");
}

static void
test_vm_spec__pptdevs_that_are_not_an_array_are_rejected(void **state)
{
	reject(with(MINIMAL, "pptdevs", json_string("0/0/0")), NULL, "pptdevs");
	reject(with(MINIMAL, "pptdevs", json_object()), NULL, "pptdevs");
}

static void
test_vm_spec__pptdev_at_the_highest_bus_slot_and_func_is_accepted(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "pptdevs", doc("['255/31/7','0/0/0']")), NULL);

	assert_dumps(at(out, "pptdevs", NULL), "['255/31/7','0/0/0']");
	json_decref(out);
}

static void
test_vm_spec__pptdev_past_the_highest_bus_slot_or_func_is_rejected(void **state)
{
	reject(with(MINIMAL, "pptdevs", doc("['256/0/0']")), NULL,
	       "pptdevs[0]");
	reject(with(MINIMAL, "pptdevs", doc("['0/32/0']")), NULL, "pptdevs[0]");
	reject(with(MINIMAL, "pptdevs", doc("['0/0/8']")), NULL, "pptdevs[0]");
	reject(with(MINIMAL, "pptdevs", doc("['99999999999999999999/0/0']")),
	       NULL, "pptdevs[0]");
}

static void
test_vm_spec__pptdev_with_leading_zeros_is_normalized(void **state)
{
	json_t *out = accept(
	    with(MINIMAL, "pptdevs", doc("['001/02/3','0000000000000/0/00']")),
	    NULL);

	assert_dumps(at(out, "pptdevs", NULL), "['1/2/3','0/0/0']");
	json_decref(out);
}

static void
test_vm_spec__pptdev_not_in_bus_slot_func_syntax_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "",       "1",       "1/2",     "1/2/3/4", "1//3",   "/1/2/3",
	    "1/2/3/", "+1/2/3",  " 1/2/3",  "1/2/3 ",  "1 /2/3", "1/-2/3",
	    "a/b/c",  "0x1/2/3", "1.0/2/3", "1:2:3",   "1/2/3\n"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *devs = doc("['0/0/0','0/1/0']");

		json_array_append_new(devs, json_string(bad[i]));
		reject(with(MINIMAL, "pptdevs", devs), NULL, "pptdevs[2]");
	}
	reject(with(MINIMAL, "pptdevs", doc("[[1,2,3]]")), NULL, "pptdevs[0]");
	reject(with(MINIMAL, "pptdevs", doc("[null]")), NULL, "pptdevs[0]");
	reject(
	    with(MINIMAL, "pptdevs", json_pack("[s%]", "1/2/3\0", (size_t)6)),
	    NULL, "pptdevs[0]");
}

static void
test_vm_spec__duplicate_pptdev_is_rejected(void **state)
{
	struct vm_spec_error err;

	err =
	    reject(with(MINIMAL, "pptdevs", doc("['1/2/3','4/5/6','01/2/3']")),
		   NULL, "pptdevs[2]");
	assert_string_equal(err.se_detail,
			    "is the same device as pptdevs[0] (1/2/3)");
}

/* autostart, description */

static void
test_vm_spec__autostart_true_is_kept(void **state)
{
	json_t *out = accept(with(MINIMAL, "autostart", json_true()), NULL);

	assert_true(json_is_true(at(out, "autostart", NULL)));
	json_decref(out);
}

static void
test_vm_spec__autostart_that_is_not_a_boolean_is_rejected(void **state)
{
	reject(with(MINIMAL, "autostart", json_string("true")), NULL,
	       "autostart");
	reject(with(MINIMAL, "autostart", json_integer(1)), NULL, "autostart");
	reject(with(MINIMAL, "autostart", json_null()), NULL, "autostart");
}

static void
test_vm_spec__description_of_the_limit_is_accepted(void **state)
{
	json_t *out = accept(
	    with(MINIMAL, "description", str_of('d', LIMIT_DESCRIPTION_LEN)),
	    NULL);

	assert_int_equal(json_string_length(at(out, "description", NULL)),
			 LIMIT_DESCRIPTION_LEN);
	json_decref(out);
}

static void
test_vm_spec__description_past_the_limit_is_rejected(void **state)
{
	struct vm_spec_error err;

	err = reject(with(MINIMAL, "description",
			  str_of('d', LIMIT_DESCRIPTION_LEN + 1)),
		     NULL, "description");
	assert_string_equal(err.se_detail,
			    "is 1025 bytes long; at most 1024 are allowed");
}

static void
test_vm_spec__description_may_hold_newlines(void **state)
{
	json_t *out =
	    accept(with(MINIMAL, "description", json_string("a\nb")), NULL);

	assert_string_equal(json_string_value(at(out, "description", NULL)),
			    "a\nb");
	json_decref(out);
}

static void
test_vm_spec__description_that_is_not_a_plain_string_is_rejected(void **state)
{
	reject(with(MINIMAL, "description", json_integer(1)), NULL,
	       "description");
	reject(with(MINIMAL, "description", json_stringn("a\0b", 3)), NULL,
	       "description");
}

int
main(void)
{
	const struct CMUnitTest tests[] =
	{ cmocka_unit_test(test_vm_spec__minimal_spec_gets_every_default),
	  cmocka_unit_test(test_vm_spec__output_keys_are_in_canonical_order),
	  cmocka_unit_test(
	      test_vm_spec__linux_boot_keys_are_in_canonical_order),
	  cmocka_unit_test(test_vm_spec__normalizing_twice_changes_nothing),
	  cmocka_unit_test(test_vm_spec__input_document_is_not_changed),
	  cmocka_unit_test(
	      test_vm_spec__document_that_is_not_an_object_is_rejected),
	  cmocka_unit_test(test_vm_spec__unknown_top_level_field_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__read_only_fields_are_accepted_and_dropped),
	  cmocka_unit_test(
	      test_vm_spec__read_only_fields_inside_boot_are_unknown),
	  cmocka_unit_test(
	      test_vm_spec__is_readonly_field_knows_exactly_the_six_fields),
#if JANSSON_VERSION_HEX >= 0x020e00
	  cmocka_unit_test(
	      test_vm_spec__field_name_with_an_embedded_nul_is_rejected),
#endif
	  cmocka_unit_test(
	      test_vm_spec__name_is_required_without_a_name_in_the_url),
	  cmocka_unit_test(
	      test_vm_spec__name_is_taken_from_the_url_when_absent),
	  cmocka_unit_test(
	      test_vm_spec__name_equal_to_the_url_name_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__name_differing_from_the_url_name_is_rejected),
	  cmocka_unit_test(test_vm_spec__invalid_name_in_the_url_is_rejected),
	  cmocka_unit_test(test_vm_spec__name_of_64_characters_is_accepted),
	  cmocka_unit_test(test_vm_spec__name_of_65_characters_is_rejected),
	  cmocka_unit_test(test_vm_spec__name_that_is_not_a_string_is_rejected),
	  cmocka_unit_test(test_vm_spec__name_with_an_embedded_nul_is_rejected),
	  cmocka_unit_test(test_vm_spec__name_valid_checks_every_character),
	  cmocka_unit_test(test_vm_spec__vcpus_at_the_host_limit_is_accepted),
	  cmocka_unit_test(test_vm_spec__vcpus_past_the_host_limit_is_rejected),
	  cmocka_unit_test(test_vm_spec__vcpus_of_zero_or_less_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__vcpus_that_is_not_an_integer_is_rejected),
	  cmocka_unit_test(test_vm_spec__memory_at_the_host_limit_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__memory_past_the_host_limit_is_rejected),
	  cmocka_unit_test(test_vm_spec__memory_of_one_mib_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__memory_that_is_not_a_positive_integer_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__memory_defaults_to_the_host_limit_below_64_mib),
	  cmocka_unit_test(test_vm_spec__memory_limit_past_32_bits_is_honoured),
	  cmocka_unit_test(test_vm_spec__boot_is_required),
	  cmocka_unit_test(
	      test_vm_spec__boot_that_is_not_an_object_is_rejected),
	  cmocka_unit_test(test_vm_spec__boot_kind_is_required),
	  cmocka_unit_test(
	      test_vm_spec__boot_kind_other_than_flat_or_linux_is_rejected),
	  cmocka_unit_test(test_vm_spec__unknown_boot_field_is_rejected),
	  cmocka_unit_test(test_vm_spec__flat_boot_requires_an_image),
	  cmocka_unit_test(test_vm_spec__flat_image_must_be_a_name_not_a_path),
	  cmocka_unit_test(
	      test_vm_spec__flat_image_name_at_and_past_64_characters),
	  cmocka_unit_test(test_vm_spec__linux_keys_in_a_flat_boot_are_unknown),
	  cmocka_unit_test(
	      test_vm_spec__load_address_just_below_1_mib_is_accepted),
	  cmocka_unit_test(test_vm_spec__load_address_at_1_mib_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__load_address_that_is_not_a_small_integer_is_rejected),
	  cmocka_unit_test(test_vm_spec__load_address_of_zero_is_accepted),
	  cmocka_unit_test(test_vm_spec__entry_defaults_to_the_load_address),
	  cmocka_unit_test(test_vm_spec__entry_of_0xffff_is_accepted),
	  cmocka_unit_test(test_vm_spec__entry_of_0x10000_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__entry_defaulted_from_a_load_address_past_0xffff_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__linux_boot_gets_an_empty_cmdline_and_no_initrd),
	  cmocka_unit_test(test_vm_spec__linux_boot_requires_a_kernel),
	  cmocka_unit_test(test_vm_spec__linux_kernel_and_initrd_must_be_names),
	  cmocka_unit_test(test_vm_spec__flat_keys_in_a_linux_boot_are_unknown),
	  cmocka_unit_test(test_vm_spec__decompress_is_host_or_guest),
	  cmocka_unit_test(test_vm_spec__decompress_in_a_flat_boot_is_unknown),
	  cmocka_unit_test(
	      test_vm_spec__linux_memory_of_the_limit_is_accepted_and_past_it_rejected),
	  cmocka_unit_test(test_vm_spec__on_reboot_is_restart_or_stop),
	  cmocka_unit_test(test_vm_spec__cmdline_of_the_limit_is_accepted),
	  cmocka_unit_test(test_vm_spec__cmdline_past_the_limit_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__cmdline_that_is_not_a_plain_string_is_rejected),
	  cmocka_unit_test(test_vm_spec__labels_default_to_an_empty_object),
	  cmocka_unit_test(test_vm_spec__labels_up_to_the_limit_are_accepted),
	  cmocka_unit_test(test_vm_spec__labels_past_the_limit_are_rejected),
	  cmocka_unit_test(
	      test_vm_spec__labels_that_are_not_an_object_are_rejected),
	  cmocka_unit_test(test_vm_spec__label_keys_are_sorted),
	  cmocka_unit_test(test_vm_spec__label_key_of_the_limit_is_accepted),
	  cmocka_unit_test(test_vm_spec__label_key_past_the_limit_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__label_keys_must_start_alphanumeric_and_use_the_set),
	  cmocka_unit_test(test_vm_spec__label_value_of_the_limit_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__label_value_past_the_limit_is_rejected),
	  cmocka_unit_test(test_vm_spec__label_value_may_be_empty_or_non_ascii),
	  cmocka_unit_test(
	      test_vm_spec__label_value_with_a_control_character_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__label_value_that_is_not_a_string_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__long_field_is_cut_on_a_character_boundary),
	  cmocka_unit_test(test_vm_spec__pptdevs_default_to_an_empty_array),
	  cmocka_unit_test(test_vm_spec__pptdevs_up_to_the_limit_are_accepted),
	  cmocka_unit_test(test_vm_spec__pptdevs_past_the_limit_are_rejected),
	  cmocka_unit_test(
	      test_vm_spec__pptdevs_that_are_not_an_array_are_rejected),
	  cmocka_unit_test(
	      test_vm_spec__pptdev_at_the_highest_bus_slot_and_func_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__pptdev_past_the_highest_bus_slot_or_func_is_rejected),
	  cmocka_unit_test(
	      test_vm_spec__pptdev_with_leading_zeros_is_normalized),
	  cmocka_unit_test(
	      test_vm_spec__pptdev_not_in_bus_slot_func_syntax_is_rejected),
	  cmocka_unit_test(test_vm_spec__duplicate_pptdev_is_rejected),
	  cmocka_unit_test(test_vm_spec__autostart_true_is_kept),
	  cmocka_unit_test(
	      test_vm_spec__autostart_that_is_not_a_boolean_is_rejected),
	  cmocka_unit_test(test_vm_spec__description_of_the_limit_is_accepted),
	  cmocka_unit_test(
	      test_vm_spec__description_past_the_limit_is_rejected),
	  cmocka_unit_test(test_vm_spec__description_may_hold_newlines),
	  cmocka_unit_test(
	      test_vm_spec__description_that_is_not_a_plain_string_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
