#include "api/response.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/problem.h"

void
api_response_clear(struct api_response *rs)
{
	int i;

	free(rs->rs_body);
	for (i = 0; i < rs->rs_nheaders; i++)
		free(rs->rs_headers[i].h_value);
	if (rs->rs_stream != NULL) {
		rs->rs_stream->st_free(rs->rs_stream->st_cls);
		free(rs->rs_stream);
	}
	memset(rs, 0, sizeof(*rs));
}

int
api_response_header(struct api_response *rs, const char *name,
		    const char *value)
{
	char *copy;

	if (rs->rs_nheaders == API_MAX_HEADERS)
		return -1;
	if ((copy = strdup(value)) == NULL)
		return -1;
	rs->rs_headers[rs->rs_nheaders].h_name = name;
	rs->rs_headers[rs->rs_nheaders].h_value = copy;
	rs->rs_nheaders++;
	return 0;
}

void
api_response_take(struct api_response *rs, int status, char *body, size_t len)
{
	char *nl;

	/* A body ends with a newline, so that it ends a line in a terminal;
	 * without memory for it, it goes out without. */
	if (body != NULL && (len == 0 || body[len - 1] != '\n') &&
	    (nl = realloc(body, len + 2)) != NULL) {
		body = nl;
		body[len++] = '\n';
		body[len] = '\0';
	}
	free(rs->rs_body);
	rs->rs_status = status;
	rs->rs_body = body;
	rs->rs_body_len = len;
	rs->rs_content_type = "application/json";
}

void
api_response_json(struct api_response *rs, int status, const json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text == NULL) {
		/* Nothing left to build a problem with: a fixed body. */
		static const char oom[] =
		    "{\"type\":\"/v1/problems/internal\","
		    "\"title\":\"Internal error\",\"status\":500,"
		    "\"detail\":\"out of memory\"}\n";

		free(rs->rs_body);
		rs->rs_status = 500;
		rs->rs_body = strdup(oom);
		rs->rs_body_len = rs->rs_body != NULL ? strlen(oom) : 0;
		rs->rs_content_type = "application/problem+json";
		return;
	}
	api_response_take(rs, status, text, strlen(text));
}

void
etag_format(uint64_t revision, char buf[32])
{
	snprintf(buf, 32, "\"%" PRIu64 "\"", revision);
}

int
etag_match_tag(const char *header, int exists, const char *want, int weak)
{
	size_t wlen = strlen(want);
	const char *p = header;

	while (*p != '\0') {
		const char *end;
		int is_weak = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return exists;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = 1;
			p += 2;
		}
		if (*p != '"')
			return 0; /* malformed list: matches nothing */
		end = strchr(p + 1, '"');
		if (end == NULL)
			return 0;
		if (exists && (size_t)(end + 1 - p) == wlen &&
		    memcmp(p, want, wlen) == 0 && (weak || !is_weak))
			return 1;
		p = end + 1;
	}
	return 0;
}

int
etag_match_since(const char *header, int exists, uint64_t first, uint64_t last)
{
	return etag_match_since_except(header, exists, first, last, NULL, NULL);
}

int
etag_match_since_except(const char *header, int exists, uint64_t first,
			uint64_t last, int (*gone)(const void *, uint64_t),
			const void *arg)
{
	const char *p = header;

	while (*p != '\0') {
		unsigned long long v = 0;
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return exists;
		if (*p != '"')
			return 0; /* weak or malformed: matches nothing */
		/* A revision's tag: "N", N of 1 to 19 digits (no overflow). */
		for (q = p + 1; *q >= '0' && *q <= '9' && q - p <= 19; q++)
			v = v * 10 + (unsigned long long)(*q - '0');
		if (exists && q > p + 1 && *q == '"' && p[1] != '0' &&
		    v >= first && v <= last && (gone == NULL || !gone(arg, v)))
			return 1;
		if ((q = strchr(p + 1, '"')) == NULL)
			return 0;
		p = q + 1;
	}
	return 0;
}

int
etag_match(const char *header, int exists, uint64_t revision, int weak)
{
	char want[32];

	etag_format(revision, want);
	return etag_match_tag(header, exists, want, weak);
}

void
api_response_items(struct api_response *rs, const void *list, size_t n,
		   size_t size, json_t *(*doc)(const void *elem, void *arg),
		   void *arg, const char *what)
{
	json_t *items = json_array(), *item, *body;
	size_t i;

	for (i = 0; items != NULL && i < n; i++) {
		item = doc((const char *)list + i * size, arg);
		if (item == NULL || json_array_append_new(items, item) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	if (items == NULL ||
	    (body = json_pack("{s:o}", "items", items)) == NULL) {
		problem_errno(rs, ENOMEM, "out of memory listing %s", what);
		return;
	}
	api_response_json(rs, 200, body);
	json_decref(body);
}
