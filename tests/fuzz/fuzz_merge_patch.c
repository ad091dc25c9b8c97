/*
 * libFuzzer harness of RFC 7396 merge patch (api/merge_patch.c): the
 * input is two JSON documents, a target and a patch, split at the first
 * NUL byte (no NUL: the whole input is both).  Checks what RFC 7396 says
 * of the result: neither argument changes, a patch that is not an object
 * replaces the target, and applying the same patch twice changes nothing
 * more (merge patches are idempotent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/vm_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
fuzz_load(const uint8_t *p, size_t n)
{
	return json_loadb((const char *)p, n,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
	json_t *target, *patch, *tcopy, *pcopy, *out, *twice;

	target = fuzz_load(data, tlen);
	patch = nul != NULL ? fuzz_load(nul + 1, size - tlen - 1)
			    : json_incref(target);
	if (target == NULL || patch == NULL)
		goto out;
	tcopy = json_deep_copy(target);
	pcopy = json_deep_copy(patch);
	if ((out = json_merge_patch(target, patch)) == NULL)
		abort();
	if (!json_equal(tcopy, target) || !json_equal(pcopy, patch))
		abort();
	if (!json_is_object(patch) && !json_equal(out, patch))
		abort();
	if ((twice = json_merge_patch(out, patch)) == NULL ||
	    !json_equal(twice, out))
		abort();
	json_decref(twice);
	json_decref(out);
	json_decref(tcopy);
	json_decref(pcopy);
out:
	json_decref(target);
	json_decref(patch);
	return 0;
}
