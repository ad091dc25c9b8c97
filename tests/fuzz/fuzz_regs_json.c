/*
 * libFuzzer harness of the register document (api/regs_json.c): the
 * input's first byte says how many of the bytes after it are a ?groups=
 * list (regs_json_groups), the rest is the body of PUT .../registers
 * (regs_json_parse, then regs_json_apply onto power-on registers, then
 * regs_json_render of the groups asked).  A document the parser accepts
 * is rendered, and the rendering parses back to the same registers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/regs_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct regs_json_error err;
	struct regs_json_patch p, back;
	struct vmm_regs regs, regs2;
	unsigned groups = VMM_REGS_ALL;
	json_t *doc, *out;
	char list[256];
	size_t n;

	if (size < 1)
		return 0;
	n = data[0];
	if (n > size - 1)
		n = size - 1;
	memcpy(list, data + 1, n);
	list[n] = '\0';
	if (n > 0 && regs_json_groups(list, &groups, &err) != 0)
		groups = VMM_REGS_ALL;
	doc = json_loadb((const char *)data + 1 + n, size - 1 - n,
			 JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (doc == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	if (regs_json_parse(doc, &p, &err) == 0) {
		vmm_regs_poweron(&regs);
		regs_json_apply(&p, &regs);
		if ((out = regs_json_render(&regs, VMM_REGS_ALL)) == NULL)
			abort();
		/* What is rendered reads back as the same registers. */
		memset(&back, 0, sizeof(back));
		if (regs_json_parse(out, &back, &err) != 0)
			abort();
		memset(&regs2, 0, sizeof(regs2));
		regs_json_apply(&back, &regs2);
		if (memcmp(&regs, &regs2, sizeof(regs)) != 0)
			abort();
		json_decref(out);
		if ((out = regs_json_render(&regs, groups)) == NULL)
			abort();
		json_decref(out);
	}
	json_decref(doc);
	return 0;
}
