#include "api/problem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/response.h"

/*
 * Replaces what is not valid UTF-8 (or is a control character) with '?',
 * in place: details echo client input (paths, values), and a JSON string
 * must be UTF-8.
 */
static void
problem_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80             ? 1
			   : (*p & 0xe0) == 0xc0 ? 2
			   : (*p & 0xf0) == 0xe0 ? 3
			   : (*p & 0xf8) == 0xf0 ? 4
						 : 0;
		size_t i;

		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 2 && *p < 0xc2)) {
			*p++ = '?';
			continue;
		}
		if (n == 1 && *p < 0x20 && *p != '\n' && *p != '\t')
			*p = '?';
		p += n;
	}
}

void
problem_set(struct api_response *rs, int status, const char *slug,
	    const char *title, const char *field, const char *fmt, ...)
{
	char detail[512], type[96];
	json_t *doc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_clean(detail);
	snprintf(type, sizeof(type), "urn:vmmapid:problem:%s", slug);

	doc = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title,
			"status", status, "detail", detail);
	if (doc != NULL && field != NULL) {
		char f[256];

		snprintf(f, sizeof(f), "%s", field);
		problem_clean(f);
		json_object_set_new(doc, "field", json_string(f));
	}
	api_response_clear(rs);
	api_response_json(rs, status, doc);
	rs->rs_content_type = "application/problem+json";
	json_decref(doc);
}

int
problem_status_from_errno(int err)
{
	switch (err) {
	case ENOENT:
		return 404;
	case EEXIST:
	case EBUSY:
		return 409;
	case ESTALE:
		return 412;
	case EINVAL:
		return 400;
	case EPERM:
	case EACCES:
		return 403;
	case ENOTSUP:
		return 501;
	case ENOSPC:
	case EDQUOT:
		return 507;
	case EAGAIN:
		return 503;
	default:
		return 500;
	}
}

void
problem_from_errno(struct api_response *rs, int err, const char *fmt, ...)
{
	static const struct {
		int status;
		const char *slug, *title;
	} kinds[] = {
	    {400, "invalid", "Invalid request"},
	    {403, "forbidden", "Forbidden"},
	    {404, "not-found", "Not found"},
	    {409, "conflict", "Conflict"},
	    {412, "precondition-failed", "Precondition failed"},
	    {501, "not-supported", "Not supported by this backend"},
	    {503, "unavailable", "Service unavailable"},
	    {507, "insufficient-storage", "Insufficient storage"},
	};
	int status = problem_status_from_errno(err);
	const char *slug = "internal", *title = "Internal error";
	char detail[512];
	va_list ap;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].status == status) {
			slug = kinds[i].slug;
			title = kinds[i].title;
		}
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_set(rs, status, slug, title, NULL, "%s", detail);
}
