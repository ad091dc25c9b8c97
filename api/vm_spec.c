/*
 * The VM spec document: every field's rule, checked in the same pass that
 * builds the normalized copy, so that what was checked is exactly what gets
 * stored.  The copy is built key by key in canonical order because jansson
 * keeps insertion order and json_dumps() without JSON_SORT_KEYS follows it.
 */
#include "api/vm_spec.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/names.h"

/*
 * The flat loader runs the guest in 16-bit real mode starting at
 * cs:ip = 0:entry, so the image must sit below 1 MiB and the entry point
 * must fit in ip.
 */
#define SPEC_FLAT_LOAD_END 0x100000u
#define SPEC_FLAT_ENTRY_MAX 0xffffu
#define SPEC_FLAT_LOAD_DEFAULT 4096u

#define SPEC_MEMORY_DEFAULT_MIB 64u

/* The pptdevs syntax of FreeBSD's loader.conf: bus/slot/function. */
#define SPEC_PCI_BUS_MAX 255u
#define SPEC_PCI_SLOT_MAX 31u
#define SPEC_PCI_FUNC_MAX 7u

#define SPEC_NAME_RULE                                                         \
	"a name: 1 to 64 characters of a-z, A-Z, 0-9, '.', '_' and '-', "      \
	"starting with a letter or digit"
#define SPEC_PPTDEV_RULE                                                       \
	"must be a string \"bus/slot/func\" in decimal (bus 0 to 255, "        \
	"slot 0 to 31, func 0 to 7)"

static const char *const spec_top_fields[] = {
    "name",      "vcpus",       "memory_mib",
    "boot",      "labels",      "pptdevs",
    "autostart", "description", "guestinfo_channel",
    "on_reboot", NULL};
static const char *const spec_flat_fields[] = {"kind", "image", "load_address",
					       "entry", NULL};
static const char *const spec_linux_fields[] = {
    "kind", "kernel", "initrd", "cmdline", "decompress", NULL};
static const char *const spec_readonly_fields[] = {
    "status",     "owner",      "generation", "revision",
    "created_at", "updated_at", NULL};

/*
 * Cuts a trailing, incomplete UTF-8 sequence left by snprintf() truncation:
 * the error is sent back inside a JSON document, and jansson refuses
 * strings that are not valid UTF-8.
 */
static void
spec_utf8_trim(char *s)
{
	size_t n = strlen(s), lead = n, need;
	unsigned char c;

	while (lead > 0 && n - lead < 3 &&
	       ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	lead--;
	c = (unsigned char)s[lead];
	if (c < 0xc0)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (n - lead < need)
		s[lead] = '\0';
}

static int spec_fail(struct vm_spec_error *err, const char *field,
		     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills *err and returns -1 with errno EINVAL, so callers can return it. */
static int
spec_fail(struct vm_spec_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->se_field, sizeof(err->se_field), "%s", field);
	spec_utf8_trim(err->se_field);
	va_start(ap, fmt);
	vsnprintf(err->se_detail, sizeof(err->se_detail), fmt, ap);
	va_end(ap);
	spec_utf8_trim(err->se_detail);
	errno = EINVAL;
	return -1;
}

static int
spec_nomem(struct vm_spec_error *err)
{
	err->se_field[0] = '\0';
	snprintf(err->se_detail, sizeof(err->se_detail), "%s",
		 "out of memory while normalizing the spec");
	errno = ENOMEM;
	return -1;
}

/*
 * Whether an object member's key holds a NUL: jansson 2.14 can build such
 * keys (its parser refuses them), and a C-string view would then see a
 * different, perhaps valid, key.  Older versions cannot hold them at all.
 */
static int
spec_key_has_nul(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
	return json_object_iter_key_len(json_object_key_to_iter(key)) !=
	       strlen(key);
#else
	(void)key;
	return 0;
#endif
}

static int
spec_in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/*
 * Rejects any member of obj that is not in fields (nor read-only, when
 * those are allowed), naming it as prefix + key.
 */
static int
spec_check_keys(const json_t *obj, const char *const *fields,
		const char *prefix, int allow_readonly,
		struct vm_spec_error *err)
{
	char field[sizeof(err->se_field)];
	const char *key;
	json_t *value;

	/* Iteration does not change obj; jansson's iterator is not const. */
	json_object_foreach ((json_t *)obj, key, value) {
		snprintf(field, sizeof(field), "%s%s", prefix, key);
		if (spec_key_has_nul(key))
			return spec_fail(err, field,
					 "field names must not contain NUL");
		if (spec_in_list(fields, key))
			continue;
		if (allow_readonly && vm_spec_is_readonly_field(key))
			continue;
		return spec_fail(err, field, "unknown field");
	}
	return 0;
}

/* 1 if v is a JSON string exactly equal to s (no NUL hiding a suffix). */
static int
spec_str_eq(const json_t *v, const char *s)
{
	size_t n = strlen(s);

	return json_is_string(v) && json_string_length(v) == n &&
	       memcmp(json_string_value(v), s, n) == 0;
}

/* 1 if v is a string without embedded NUL. */
static int
spec_is_cstring(const json_t *v)
{
	return json_is_string(v) && memchr(json_string_value(v), '\0',
					   json_string_length(v)) == NULL;
}

/* A string member of at most max bytes; absent leaves *out NULL. */
static int
spec_text(const json_t *v, const char *field, size_t max, const char **out,
	  struct vm_spec_error *err)
{
	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return spec_fail(err, field,
				 "must be a string of at most %zu bytes", max);
	if (!spec_is_cstring(v))
		return spec_fail(err, field, "must not contain NUL characters");
	if (json_string_length(v) > max)
		return spec_fail(err, field,
				 "is %zu bytes long; at most %zu are allowed",
				 json_string_length(v), max);
	*out = json_string_value(v);
	return 0;
}

/* A name member (VM, image, kernel); absent leaves *out NULL. */
static int
spec_name_member(const json_t *v, const char *field, const char **out,
		 struct vm_spec_error *err)
{
	*out = NULL;
	if (v == NULL)
		return 0;
	if (!spec_is_cstring(v) || !name_valid(json_string_value(v)))
		return spec_fail(err, field, "must be %s", SPEC_NAME_RULE);
	*out = json_string_value(v);
	return 0;
}

/*
 * An integer member from lo to hi, or dflt when absent.  Reals, strings
 * and booleans are not integers even when they look like one: a spec that
 * says 1.5 vcpus or "2" is a client bug worth reporting.
 */
static int
spec_uint(const json_t *v, uint64_t lo, uint64_t hi, uint64_t dflt,
	  uint64_t *out)
{
	json_int_t i;

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < lo || (uint64_t)i > hi)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int
spec_set_uint(json_t *obj, const char *key, uint64_t value,
	      struct vm_spec_error *err)
{
	/* Every bound we enforce is far below JSON_INTEGER_MAX. */
	if (json_object_set_new(obj, key, json_integer((json_int_t)value)) ==
	    -1)
		return spec_nomem(err);
	return 0;
}

static int
spec_set_string(json_t *obj, const char *key, const char *value,
		struct vm_spec_error *err)
{
	if (json_object_set_new(obj, key, json_string(value)) == -1)
		return spec_nomem(err);
	return 0;
}

static int
spec_name(const json_t *doc, const char *url_name, json_t *out,
	  struct vm_spec_error *err)
{
	const json_t *v = json_object_get(doc, "name");
	const char *name;

	/* Checked first so that the URL's name is never echoed unchecked. */
	if (url_name != NULL && !name_valid(url_name))
		return spec_fail(err, "name", "the name in the URL must be %s",
				 SPEC_NAME_RULE);
	if (v == NULL && url_name == NULL)
		return spec_fail(err, "name", "is required");
	if (spec_name_member(v, "name", &name, err) == -1)
		return -1;
	if (name == NULL)
		name = url_name;
	else if (url_name != NULL && strcmp(name, url_name) != 0)
		return spec_fail(err, "name",
				 "does not match the name in the URL (%s)",
				 url_name);
	return spec_set_string(out, "name", name, err);
}

static int
spec_vcpus(const json_t *doc, const struct vm_spec_limits *limits, json_t *out,
	   struct vm_spec_error *err)
{
	uint64_t n;

	if (spec_uint(json_object_get(doc, "vcpus"), 1, limits->sl_max_vcpus, 1,
		      &n) == -1)
		return spec_fail(err, "vcpus",
				 "must be an integer from 1 to %u (the host's "
				 "CPU count or --max-vcpus)",
				 limits->sl_max_vcpus);
	return spec_set_uint(out, "vcpus", n, err);
}

static int
spec_memory(const json_t *doc, const struct vm_spec_limits *limits, json_t *out,
	    uint64_t *mib, struct vm_spec_error *err)
{
	uint64_t max = limits->sl_max_memory_mib;
	uint64_t dflt =
	    max < SPEC_MEMORY_DEFAULT_MIB ? max : SPEC_MEMORY_DEFAULT_MIB;

	if (spec_uint(json_object_get(doc, "memory_mib"), 1, max, dflt, mib) ==
	    -1)
		return spec_fail(err, "memory_mib",
				 "must be an integer from 1 to %llu (the "
				 "host's memory in MiB or --max-memory-mib)",
				 (unsigned long long)max);
	return spec_set_uint(out, "memory_mib", *mib, err);
}

static int
spec_boot_flat(const json_t *boot, uint64_t memory_mib, json_t *out,
	       struct vm_spec_error *err)
{
	const json_t *entry = json_object_get(boot, "entry");
	const char *image;
	uint64_t load, ip;

	if (spec_check_keys(boot, spec_flat_fields, "boot.", 0, err) == -1)
		return -1;
	if (json_object_get(boot, "image") == NULL)
		return spec_fail(err, "boot.image",
				 "is required for a flat boot");
	if (spec_name_member(json_object_get(boot, "image"), "boot.image",
			     &image, err) == -1)
		return -1;
	/*
	 * memory_mib is at least 1, so an image below 1 MiB is always inside
	 * guest memory; the real-mode bound is the only one to check.
	 */
	assert(memory_mib >= 1);
	if (spec_uint(json_object_get(boot, "load_address"), 0,
		      SPEC_FLAT_LOAD_END - 1, SPEC_FLAT_LOAD_DEFAULT,
		      &load) == -1)
		return spec_fail(err, "boot.load_address",
				 "must be an integer from 0 to %u (below 1 "
				 "MiB: the flat loader runs the guest in "
				 "16-bit real mode)",
				 SPEC_FLAT_LOAD_END - 1);
	if (entry == NULL && load > SPEC_FLAT_ENTRY_MAX)
		return spec_fail(err, "boot.entry",
				 "is required when load_address is past "
				 "0xffff: it defaults to load_address, and the "
				 "guest starts at cs:ip = 0:entry");
	if (spec_uint(entry, 0, SPEC_FLAT_ENTRY_MAX, load, &ip) == -1)
		return spec_fail(err, "boot.entry",
				 "must be an integer from 0 to %u (0xffff: the "
				 "guest starts at cs:ip = 0:entry)",
				 SPEC_FLAT_ENTRY_MAX);
	if (spec_set_string(out, "kind", "flat", err) == -1 ||
	    spec_set_string(out, "image", image, err) == -1 ||
	    spec_set_uint(out, "load_address", load, err) == -1 ||
	    spec_set_uint(out, "entry", ip, err) == -1)
		return -1;
	return 0;
}

static int
spec_boot_linux(const json_t *boot, uint64_t memory_mib, json_t *out,
		struct vm_spec_error *err)
{
	const json_t *decompress = json_object_get(boot, "decompress");
	const char *kernel, *initrd, *cmdline;

	if (spec_check_keys(boot, spec_linux_fields, "boot.", 0, err) == -1)
		return -1;
	if (json_object_get(boot, "kernel") == NULL)
		return spec_fail(err, "boot.kernel",
				 "is required for a linux boot");
	if (spec_name_member(json_object_get(boot, "kernel"), "boot.kernel",
			     &kernel, err) == -1 ||
	    spec_name_member(json_object_get(boot, "initrd"), "boot.initrd",
			     &initrd, err) == -1 ||
	    spec_text(json_object_get(boot, "cmdline"), "boot.cmdline",
		      LIMIT_CMDLINE_LEN, &cmdline, err) == -1)
		return -1;
	if (decompress != NULL && !spec_str_eq(decompress, "host") &&
	    !spec_str_eq(decompress, "guest"))
		return spec_fail(err, "boot.decompress",
				 "must be \"host\" (the default: the "
				 "kernel's payload is decompressed by the "
				 "daemon, once per kernel image) or \"guest\" "
				 "(the bzImage's own decompressor runs in the "
				 "guest)");
	/* Named as memory_mib: that is what the client has to change. */
	if (memory_mib > LIMIT_LINUX_MEMORY_MIB)
		return spec_fail(err, "memory_mib",
				 "is %llu; a linux boot allows at most %u MiB "
				 "(guest RAM must end below the 3 GiB hole "
				 "of the local and I/O APICs)",
				 (unsigned long long)memory_mib,
				 LIMIT_LINUX_MEMORY_MIB);
	if (spec_set_string(out, "kind", "linux", err) == -1 ||
	    spec_set_string(out, "kernel", kernel, err) == -1)
		return -1;
	if (initrd != NULL && spec_set_string(out, "initrd", initrd, err) == -1)
		return -1;
	if (spec_set_string(out, "cmdline", cmdline != NULL ? cmdline : "",
			    err) == -1)
		return -1;
	return spec_set_string(
	    out, "decompress",
	    decompress != NULL ? json_string_value(decompress) : "host", err);
}

static int
spec_boot(const json_t *doc, uint64_t memory_mib, json_t *out,
	  struct vm_spec_error *err)
{
	const json_t *boot = json_object_get(doc, "boot"), *kind;
	json_t *nboot;

	if (boot == NULL)
		return spec_fail(err, "boot", "is required");
	if (!json_is_object(boot))
		return spec_fail(err, "boot",
				 "must be an object whose \"kind\" is "
				 "\"flat\" or \"linux\"");
	kind = json_object_get(boot, "kind");
	if (kind == NULL)
		return spec_fail(err, "boot.kind",
				 "is required (\"flat\" or \"linux\")");
	if (!spec_str_eq(kind, "flat") && !spec_str_eq(kind, "linux"))
		return spec_fail(err, "boot.kind",
				 "must be \"flat\" or \"linux\"");
	/* out holds the reference from here on, so failures free it. */
	nboot = json_object();
	if (json_object_set_new(out, "boot", nboot) == -1)
		return spec_nomem(err);
	if (spec_str_eq(kind, "flat"))
		return spec_boot_flat(boot, memory_mib, nboot, err);
	return spec_boot_linux(boot, memory_mib, nboot, err);
}

static int
spec_label_key_valid(const char *key)
{
	return name_check(key, LIMIT_LABEL_KEY_LEN, "._-/");
}

/*
 * Whether s (valid UTF-8, as jansson guarantees) holds a C0 or C1 control
 * character or DEL.  C1 controls (U+0080..U+009F) are 0xc2 0x80..0x9f.
 */
static int
spec_has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

static int
spec_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
spec_labels(const json_t *doc, json_t *out, struct vm_spec_error *err)
{
	const json_t *labels = json_object_get(doc, "labels");
	const char *keys[LIMIT_LABELS];
	char field[sizeof(err->se_field)];
	const char *key;
	json_t *value, *nlabels;
	size_t n = 0, i;

	nlabels = json_object();
	if (json_object_set_new(out, "labels", nlabels) == -1)
		return spec_nomem(err);
	if (labels == NULL)
		return 0;
	if (!json_is_object(labels))
		return spec_fail(err, "labels",
				 "must be an object of string values");
	if (json_object_size(labels) > LIMIT_LABELS)
		return spec_fail(err, "labels",
				 "has %zu labels; at most %d are allowed",
				 json_object_size(labels), LIMIT_LABELS);
	json_object_foreach ((json_t *)labels, key, value) {
		snprintf(field, sizeof(field), "labels.%s", key);
		if (spec_key_has_nul(key) || !spec_label_key_valid(key))
			return spec_fail(
			    err, field,
			    "label keys must be 1 to %d characters of a-z, "
			    "A-Z, 0-9, '.', '_', '-' and '/', starting with "
			    "a letter or digit",
			    LIMIT_LABEL_KEY_LEN);
		if (!json_is_string(value))
			return spec_fail(err, field,
					 "must be a string of at most %d bytes",
					 LIMIT_LABEL_VALUE_LEN);
		if (json_string_length(value) > LIMIT_LABEL_VALUE_LEN)
			return spec_fail(err, field,
					 "is %zu bytes long; at most %d are "
					 "allowed",
					 json_string_length(value),
					 LIMIT_LABEL_VALUE_LEN);
		if (spec_has_control(json_string_value(value),
				     json_string_length(value)))
			return spec_fail(err, field,
					 "must not contain control characters");
		keys[n++] = key;
	}
	/* Sorted so that equal label sets always serialize alike. */
	qsort(keys, n, sizeof(keys[0]), spec_cmp_str);
	for (i = 0; i < n; i++)
		if (spec_set_string(
			nlabels, keys[i],
			json_string_value(json_object_get(labels, keys[i])),
			err) == -1)
			return -1;
	return 0;
}

/*
 * Parses one decimal component of "bus/slot/func" up to (not including)
 * stop; digits only, saturating so that long inputs cannot overflow.
 */
static const char *
spec_pci_part(const char *s, const char *end, char stop, unsigned max,
	      unsigned *out)
{
	unsigned v = 0;
	const char *p;

	for (p = s; p < end && *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (unsigned)(*p - '0')) > max)
			v = max + 1;
	if (p == s || v > max)
		return NULL;
	if (stop != '\0' && (p == end || *p != stop))
		return NULL;
	*out = v;
	return stop != '\0' ? p + 1 : p;
}

static int
spec_pptdev_parse(const json_t *v, unsigned pci[3])
{
	const char *s, *end;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	end = s + json_string_length(v);
	if ((s = spec_pci_part(s, end, '/', SPEC_PCI_BUS_MAX, &pci[0])) ==
		NULL ||
	    (s = spec_pci_part(s, end, '/', SPEC_PCI_SLOT_MAX, &pci[1])) ==
		NULL ||
	    (s = spec_pci_part(s, end, '\0', SPEC_PCI_FUNC_MAX, &pci[2])) ==
		NULL)
		return -1;
	return s == end ? 0 : -1;
}

static int
spec_pptdevs(const json_t *doc, json_t *out, struct vm_spec_error *err)
{
	const json_t *devs = json_object_get(doc, "pptdevs");
	unsigned pci[LIMIT_PPTDEVS][3];
	char field[32], norm[32];
	json_t *ndevs;
	size_t i, j;

	ndevs = json_array();
	if (json_object_set_new(out, "pptdevs", ndevs) == -1)
		return spec_nomem(err);
	if (devs == NULL)
		return 0;
	if (!json_is_array(devs))
		return spec_fail(err, "pptdevs",
				 "must be an array of \"bus/slot/func\" "
				 "strings");
	if (json_array_size(devs) > LIMIT_PPTDEVS)
		return spec_fail(err, "pptdevs",
				 "has %zu devices; at most %d are allowed",
				 json_array_size(devs), LIMIT_PPTDEVS);
	for (i = 0; i < json_array_size(devs); i++) {
		snprintf(field, sizeof(field), "pptdevs[%zu]", i);
		if (spec_pptdev_parse(json_array_get(devs, i), pci[i]) == -1)
			return spec_fail(err, field, SPEC_PPTDEV_RULE);
		snprintf(norm, sizeof(norm), "%u/%u/%u", pci[i][0], pci[i][1],
			 pci[i][2]);
		for (j = 0; j < i; j++)
			if (memcmp(pci[i], pci[j], sizeof(pci[i])) == 0)
				return spec_fail(err, field,
						 "is the same device as "
						 "pptdevs[%zu] (%s)",
						 j, norm);
		if (json_array_append_new(ndevs, json_string(norm)) == -1)
			return spec_nomem(err);
	}
	return 0;
}

static int
spec_autostart(const json_t *doc, json_t *out, struct vm_spec_error *err)
{
	const json_t *v = json_object_get(doc, "autostart");

	if (v != NULL && !json_is_boolean(v))
		return spec_fail(err, "autostart", "must be true or false");
	if (json_object_set_new(out, "autostart",
				json_boolean(v != NULL && json_is_true(v))) ==
	    -1)
		return spec_nomem(err);
	return 0;
}

static int
spec_description(const json_t *doc, json_t *out, struct vm_spec_error *err)
{
	const char *text;

	if (spec_text(json_object_get(doc, "description"), "description",
		      LIMIT_DESCRIPTION_LEN, &text, err) == -1)
		return -1;
	return spec_set_string(out, "description", text != NULL ? text : "",
			       err);
}

/* The guest's guestinfo channel: the VMware backdoor (default) or none. */
static int
spec_guestinfo_channel(const json_t *doc, json_t *out,
		       struct vm_spec_error *err)
{
	const json_t *v = json_object_get(doc, "guestinfo_channel");

	if (v != NULL && !spec_str_eq(v, "vmware-backdoor") &&
	    !spec_str_eq(v, "none"))
		return spec_fail(err, "guestinfo_channel",
				 "must be \"vmware-backdoor\" (the default: "
				 "the guest reads and writes its guestinfo "
				 "keys through the VMware backdoor) or "
				 "\"none\"");
	return spec_set_string(
	    out, "guestinfo_channel",
	    v != NULL ? json_string_value(v) : "vmware-backdoor", err);
}

/*
 * What a Linux guest's reboot (the i8042 reset, or the triple fault that
 * reboot=t asks for) does: start the kernel again (the default, as a
 * reset button would) or end the run "stopped".  A flat guest's i8042
 * reset always resets it (the runner's rule), so "stop" is refused there
 * rather than accepted and ignored.
 */
static int
spec_on_reboot(const json_t *doc, json_t *out, struct vm_spec_error *err)
{
	const json_t *v = json_object_get(doc, "on_reboot");
	const char *kind = json_string_value(
	    json_object_get(json_object_get(out, "boot"), "kind"));

	if (v != NULL && !spec_str_eq(v, "restart") && !spec_str_eq(v, "stop"))
		return spec_fail(err, "on_reboot",
				 "must be \"restart\" (the default: a guest "
				 "that reboots starts again) or \"stop\" (its "
				 "run ends, the VM stopped)");
	if (v != NULL && spec_str_eq(v, "stop") && kind != NULL &&
	    strcmp(kind, "linux") != 0)
		return spec_fail(err, "on_reboot",
				 "can be \"stop\" for a linux boot only; a "
				 "flat guest's reset (i8042, 0x64 <- 0xfe) "
				 "always restarts it");
	return spec_set_string(out, "on_reboot",
			       v != NULL ? json_string_value(v) : "restart",
			       err);
}

/*
 * Promises 1 for exactly the six members the daemon owns; NULL is not one.
 */
int
vm_spec_is_readonly_field(const char *key)
{
	return key != NULL && spec_in_list(spec_readonly_fields, key);
}

/*
 * Returns a new reference, or NULL with *err filled and errno EINVAL (the
 * document is wrong) or ENOMEM (field "").  doc is only read.  limits must
 * allow at least 1 vCPU and 1 MiB.  Checks run in canonical order after
 * the unknown-field check, so the first error reported is stable.
 */
json_t *
vm_spec_normalize(const json_t *doc, const char *name_from_url,
		  const struct vm_spec_limits *limits, struct vm_spec *typed,
		  struct vm_spec_error *err)
{
	struct vm_spec decoded;
	json_t *out = NULL;
	uint64_t memory_mib = 0;
	int saved;

	assert(limits != NULL && err != NULL);
	assert(limits->sl_max_vcpus >= 1 && limits->sl_max_memory_mib >= 1);
	memset(err, 0, sizeof(*err));
	if (!json_is_object(doc)) {
		spec_fail(err, "", "a VM spec must be a JSON object");
		return NULL;
	}
	if (spec_check_keys(doc, spec_top_fields, "", 1, err) == -1)
		return NULL;
	if ((out = json_object()) == NULL) {
		spec_nomem(err);
		return NULL;
	}
	if (spec_name(doc, name_from_url, out, err) == -1 ||
	    spec_vcpus(doc, limits, out, err) == -1 ||
	    spec_memory(doc, limits, out, &memory_mib, err) == -1 ||
	    spec_boot(doc, memory_mib, out, err) == -1 ||
	    spec_labels(doc, out, err) == -1 ||
	    spec_pptdevs(doc, out, err) == -1 ||
	    spec_autostart(doc, out, err) == -1 ||
	    spec_description(doc, out, err) == -1 ||
	    spec_guestinfo_channel(doc, out, err) == -1 ||
	    spec_on_reboot(doc, out, err) == -1)
		goto fail;
	if (spec_decode(out, typed != NULL ? typed : &decoded) != 0) {
		/* Validation let through what a start cannot read: a bug. */
		spec_fail(err, "", "the validated spec does not decode");
		errno = EINVAL;
		goto fail;
	}
	return out;
fail:
	saved = errno;
	json_decref(out);
	errno = saved;
	return NULL;
}
