/*
 * libFuzzer harness of the VM spec validator (api/vm_spec.c): any bytes
 * parsed as the router parses a body (json_loadb, duplicates refused, NUL
 * allowed), then vm_spec_normalize as POST /v1/vms (no name in the URL)
 * or as PUT /v1/vms/web1, by the first byte.  What it accepts must be
 * what core/ decodes (typed), normalize again to the same document, and
 * serialize.
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "api/vm_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vm_spec_limits lim = {4, 4096};
	struct vm_spec_error err;
	struct vm_spec typed;
	json_t *doc, *spec, *again;
	const char *name;
	char *text;

	if (size < 1)
		return 0;
	name = (data[0] & 1) ? "web1" : NULL;
	doc = json_loadb((const char *)data + 1, size - 1,
			 JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (doc == NULL)
		return 0;
	spec = vm_spec_normalize(doc, name, &lim, &typed, &err);
	if (spec != NULL) {
		/* Normalizing is idempotent: the stored spec is read back. */
		again = vm_spec_normalize(spec, name, &lim, NULL, &err);
		if (again == NULL || !json_equal(again, spec))
			abort();
		json_decref(again);
		text = json_dumps(spec, JSON_COMPACT);
		if (text == NULL)
			abort();
		free(text);
		json_decref(spec);
	}
	json_decref(doc);
	return 0;
}
