#include "core/spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* An integer member of obj within [min, max] into *out. */
static int
spec_get_uint(const json_t *obj, const char *key, uint64_t min, uint64_t max,
	      uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

/* A string member of obj that fits dst (absent: "" unless required). */
static int
spec_get_name(const json_t *obj, const char *key, int required, char *dst,
	      size_t dstsz)
{
	const json_t *v = json_object_get(obj, key);

	dst[0] = '\0';
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= dstsz)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Whether obj's member key is the string s. */
static int
spec_str_is(const json_t *obj, const char *key, const char *s)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v != NULL && strcmp(v, s) == 0;
}

int
spec_decode(const json_t *spec, struct vm_spec *out)
{
	const json_t *boot = json_object_get(spec, "boot");
	const char *kind = json_string_value(json_object_get(boot, "kind"));
	uint64_t vcpus, load = 0, entry = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (spec_get_uint(spec, "vcpus", 1, UINT32_MAX, &vcpus) != 0 ||
	    spec_get_uint(spec, "memory_mib", 1, UINT64_MAX >> 20,
			  &out->vs_memory_mib) != 0 ||
	    kind == NULL)
		goto invalid;
	out->vs_vcpus = (unsigned)vcpus;
	if (strcmp(kind, "flat") == 0) {
		out->vs_boot = VM_BOOT_FLAT;
		if (spec_get_name(boot, "image", 1, out->vs_image,
				  sizeof(out->vs_image)) != 0 ||
		    spec_get_uint(boot, "load_address", 0, UINT64_MAX, &load) !=
			0 ||
		    spec_get_uint(boot, "entry", 0, UINT16_MAX, &entry) != 0)
			goto invalid;
		out->vs_load_address = load;
		out->vs_entry = (uint16_t)entry;
	} else if (strcmp(kind, "linux") == 0) {
		out->vs_boot = VM_BOOT_LINUX;
		if (spec_get_name(boot, "kernel", 1, out->vs_image,
				  sizeof(out->vs_image)) != 0 ||
		    spec_get_name(boot, "initrd", 0, out->vs_initrd,
				  sizeof(out->vs_initrd)) != 0 ||
		    spec_get_name(boot, "cmdline", 0, out->vs_cmdline,
				  sizeof(out->vs_cmdline)) != 0)
			goto invalid;
		/* Specs stored before the option existed: the default. */
		out->vs_decompress = spec_str_is(boot, "decompress", "guest")
					 ? VM_DECOMPRESS_GUEST
					 : VM_DECOMPRESS_HOST;
	} else {
		goto invalid;
	}
	out->vs_npptdevs = json_array_size(json_object_get(spec, "pptdevs"));
	if (out->vs_npptdevs > LIMIT_PPTDEVS)
		goto invalid;
	for (i = 0; i < out->vs_npptdevs; i++) {
		const char *d = json_string_value(
		    json_array_get(json_object_get(spec, "pptdevs"), i));
		unsigned *p = out->vs_pptdevs[i];

		if (d == NULL ||
		    sscanf(d, "%u/%u/%u", &p[0], &p[1], &p[2]) != 3)
			goto invalid;
	}
	out->vs_autostart = json_is_true(json_object_get(spec, "autostart"));
	/* On unless the spec says "none": specs stored before the option
	 * existed have the channel too. */
	out->vs_guestinfo_channel =
	    !spec_str_is(spec, "guestinfo_channel", "none");
	out->vs_on_reboot = spec_str_is(spec, "on_reboot", "stop")
				? VM_ON_REBOOT_STOP
				: VM_ON_REBOOT_RESTART;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}
