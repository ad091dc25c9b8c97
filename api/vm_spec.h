/*
 * The VM spec document: validation and normalization.
 *
 *   {"name": "web1", "vcpus": 1, "memory_mib": 64,
 *    "boot": {"kind": "flat", "image": "hello.bin", "load_address": 4096,
 *             "entry": 4096},
 *    "labels": {"env": "test"}, "pptdevs": [], "autostart": false,
 *    "description": ""}
 *
 * Pure functions on jansson values; no I/O.
 */
#ifndef VMMAPID_API_VM_SPEC_H
#define VMMAPID_API_VM_SPEC_H

#include <stdint.h>

#include <jansson.h>

#include "core/spec.h"

struct vm_spec_limits {
	unsigned sl_max_vcpus;      /* the host's CPU count, or lower */
	uint64_t sl_max_memory_mib; /* the host's RAM, or lower */
};

/* What is wrong with a document: the field (JSON pointer-ish dotted path,
 * e.g. "boot.load_address", "labels.env") and a sentence. */
struct vm_spec_error {
	char se_field[128];
	char se_detail[256];
};

/*
 * Fields of a VM's representation that a client may send back but cannot
 * change: status, owner, generation, revision, created_at, updated_at.
 * Returns 1 if key is one of them.
 */
int vm_spec_is_readonly_field(const char *key);

/*
 * Validates doc as a VM spec and returns a new, normalized spec (defaults
 * filled in, read-only fields dropped, keys in canonical order), or NULL
 * with *err filled.
 *
 * name_from_url: the {name} of PUT/PATCH /v1/vms/{name}, or NULL for POST.
 * With it, "name" may be absent (taken from the URL) or must equal it.
 * Without it, "name" is required.
 *
 * typed (may be NULL) gets the same spec as core/ uses it (core/spec.h):
 * the normalized document is decoded before it is returned, so that what
 * validation accepts is exactly what a start can read.
 */
json_t *vm_spec_normalize(const json_t *doc, const char *name_from_url,
			  const struct vm_spec_limits *limits,
			  struct vm_spec *typed, struct vm_spec_error *err);

/*
 * RFC 7396 JSON merge patch: a new value, target with patch applied.
 * Neither argument is changed.  NULL only on allocation failure.
 */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

#endif
