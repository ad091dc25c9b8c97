/*
 * RFC 7396 JSON merge patch, the body of PATCH /v1/vms/{name}.  The result
 * is built on a deep copy of the target, so neither argument is touched and
 * the result shares no value with them (jansson values are mutable, and a
 * shared one changed later would change the caller's document too).
 */
#include "api/vm_spec.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/*
 * jansson 2.14 lets object keys hold NUL (the *n functions), and then a
 * C-string view of a key names a different member.  CMake accepts 2.13,
 * whose keys are C strings; there the C-string functions are exact.
 */
#if JANSSON_VERSION_HEX >= 0x020e00
static size_t
merge_patch_key_len(void *iter)
{
	return json_object_iter_key_len(iter);
}

static json_t *
merge_patch_get(json_t *obj, const char *key, size_t len)
{
	return json_object_getn(obj, key, len);
}

static int
merge_patch_set_new(json_t *obj, const char *key, size_t len, json_t *value)
{
	return json_object_setn_new(obj, key, len, value);
}

static void
merge_patch_del(json_t *obj, const char *key, size_t len)
{
	json_object_deln(obj, key, len);
}
#else
static size_t
merge_patch_key_len(void *iter)
{
	return strlen(json_object_iter_key(iter));
}

static json_t *
merge_patch_get(json_t *obj, const char *key, size_t len)
{
	(void)len;
	return json_object_get(obj, key);
}

static int
merge_patch_set_new(json_t *obj, const char *key, size_t len, json_t *value)
{
	(void)len;
	return json_object_set_new(obj, key, value);
}

static void
merge_patch_del(json_t *obj, const char *key, size_t len)
{
	(void)len;
	json_object_del(obj, key);
}
#endif

/*
 * A deep copy of v.  Not json_deep_copy(): jansson 2.14's copies objects
 * through C-string keys, so a key holding NUL would overwrite another.
 */
static json_t *
merge_patch_copy(const json_t *v)
{
	json_t *out, *member;
	size_t i;
	void *it;

	if (json_is_array(v)) {
		if ((out = json_array()) == NULL)
			return NULL;
		for (i = 0; i < json_array_size(v); i++)
			if (json_array_append_new(
				out, merge_patch_copy(json_array_get(v, i))) ==
			    -1)
				goto fail;
		return out;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	if ((out = json_object()) == NULL)
		return NULL;
	/* Iteration does not change v; jansson's iterator is not const. */
	for (it = json_object_iter((json_t *)v); it != NULL;
	     it = json_object_iter_next((json_t *)v, it)) {
		member = merge_patch_copy(json_object_iter_value(it));
		if (merge_patch_set_new(out, json_object_iter_key(it),
					merge_patch_key_len(it), member) == -1)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/*
 * Applies patch (an object) to target, an object this file owns, in place:
 * RFC 7396 section 2's MergePatch() for the object case.
 */
static int
merge_patch_apply(json_t *target, const json_t *patch)
{
	const char *key;
	size_t len;
	json_t *value, *member;
	void *it;

	/* Iteration does not change patch; jansson's iterator is not const. */
	for (it = json_object_iter((json_t *)patch); it != NULL;
	     it = json_object_iter_next((json_t *)patch, it)) {
		key = json_object_iter_key(it);
		len = merge_patch_key_len(it);
		value = json_object_iter_value(it);
		if (json_is_null(value)) {
			merge_patch_del(target, key, len);
			continue;
		}
		if (!json_is_object(value)) {
			if (merge_patch_set_new(target, key, len,
						merge_patch_copy(value)) == -1)
				return -1;
			continue;
		}
		/* A non-object member is ignored and becomes {} first. */
		member = merge_patch_get(target, key, len);
		if (!json_is_object(member)) {
			member = json_object();
			if (merge_patch_set_new(target, key, len, member) == -1)
				return -1;
		}
		if (merge_patch_apply(member, value) == -1)
			return -1;
	}
	return 0;
}

/*
 * target may be NULL (an absent document); patch may not.  On allocation
 * failure returns NULL with errno ENOMEM.
 */
json_t *
json_merge_patch(const json_t *target, const json_t *patch)
{
	json_t *out;

	assert(patch != NULL);
	if (!json_is_object(patch)) {
		if ((out = merge_patch_copy(patch)) == NULL)
			goto fail;
		return out;
	}
	out = json_is_object(target) ? merge_patch_copy(target) : json_object();
	if (out == NULL || merge_patch_apply(out, patch) == -1)
		goto fail;
	return out;
fail:
	json_decref(out);
	errno = ENOMEM;
	return NULL;
}
