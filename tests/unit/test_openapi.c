/*
 * The contract and the route table agree: every (path, method) that
 * openapi/openapi.yaml describes is in the route table, and every route in
 * the table is described.  HEAD is implicit on both sides and ignored.
 *
 * The YAML is read with a line scanner rather than a YAML parser, which
 * relies on the format rule written at the top of openapi.yaml: under the
 * top-level `paths:` key, path keys are indented by exactly 2 spaces, start
 * with '/' and end with ':'; operations are lines indented by exactly 4
 * spaces that are exactly `get:`, `put:`, `post:`, `patch:` or `delete:`.
 * The scanner reports lines in the paths section that break the rule
 * instead of skipping them, so a reformatted file fails loudly rather than
 * passing with routes unseen.
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

#include "api/api.h"
#include "api/routes.h"

#ifndef OPENAPI_PATH
#error                                                                         \
    "OPENAPI_PATH must name openapi/openapi.yaml (set by tests/CMakeLists.txt)"
#endif

/* Far more than the API will have; running out is reported, not ignored. */
#define SCAN_MAX_OPS 256
#define SCAN_PATH_LEN 256

/*
 * The fewest paths and operations the contract can have: those of the
 * first issue.  Later issues only add, so fewer means the file was not
 * read as intended.
 */
#define SCAN_MIN_PATHS 5
#define SCAN_MIN_OPS 9

struct scan_op {
	char so_path[SCAN_PATH_LEN];
	enum api_method so_method;
};

struct scan {
	struct scan_op sc_ops[SCAN_MAX_OPS];
	size_t sc_nops;
	size_t sc_npaths;
	int sc_errors; /* lines breaking the format rule */
	int sc_quiet;  /* 0: print each error */
};

static const struct {
	const char *m_name; /* as the YAML spells it */
	const char *m_upper;
	enum api_method m_method;
} methods[] = {
    {"get", "GET", API_GET},          {"put", "PUT", API_PUT},
    {"post", "POST", API_POST},       {"patch", "PATCH", API_PATCH},
    {"delete", "DELETE", API_DELETE},
};

#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* OpenAPI operation keys the router has no method for. */
static const char *const unrouted_keys[] = {"options", "trace"};

static const char *
method_name(enum api_method m)
{
	size_t i;

	for (i = 0; i < NMETHODS; i++)
		if (methods[i].m_method == m)
			return methods[i].m_upper;
	return "?";
}

static int
scan_has(const struct scan *sc, const char *path, enum api_method m)
{
	size_t i;

	for (i = 0; i < sc->sc_nops; i++)
		if (sc->sc_ops[i].so_method == m &&
		    strcmp(sc->sc_ops[i].so_path, path) == 0)
			return 1;
	return 0;
}

/* Counts a problem, and prints it unless the scan is quiet. */
static void scan_fail(struct scan *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
scan_fail(struct scan *sc, const char *fmt, ...)
{
	va_list ap;

	sc->sc_errors++;
	if (sc->sc_quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void
scan_bad_line(struct scan *sc, const char *what, int lineno, const char *line,
	      size_t len)
{
	scan_fail(sc,
		  "%s:%d: breaks the format rule at the top of "
		  "openapi.yaml: %.*s\n",
		  what, lineno, (int)len, line);
}

static void
scan_add(struct scan *sc, const char *what, int lineno, const char *path,
	 enum api_method m)
{
	struct scan_op *op;

	if (scan_has(sc, path, m)) {
		scan_fail(sc, "%s:%d: %s %s is listed twice\n", what, lineno,
			  method_name(m), path);
		return;
	}
	if (sc->sc_nops == SCAN_MAX_OPS) {
		scan_fail(sc,
			  "%s:%d: more than %d operations; raise "
			  "SCAN_MAX_OPS\n",
			  what, lineno, SCAN_MAX_OPS);
		return;
	}
	op = &sc->sc_ops[sc->sc_nops++];
	snprintf(op->so_path, sizeof(op->so_path), "%s", path);
	op->so_method = m;
}

/*
 * Looks at one line of the paths section indented by 4 spaces: `key` is
 * what follows the indentation (klen bytes, no trailing blanks), `path` the
 * path key above it ("" before the first one).
 */
static void
scan_operation(struct scan *sc, const char *what, int lineno, const char *path,
	       const char *key, size_t klen)
{
	const char *colon = memchr(key, ':', klen);
	size_t nlen, i;

	if (colon == NULL)
		return; /* a continuation of some value, not a key */
	nlen = (size_t)(colon - key);
	for (i = 0; i < NMETHODS; i++) {
		if (strlen(methods[i].m_name) != nlen ||
		    memcmp(key, methods[i].m_name, nlen) != 0)
			continue;
		/* `get: {...}` or `get: &x` would hide what follows. */
		if (klen != nlen + 1 || path[0] == '\0') {
			scan_bad_line(sc, what, lineno, key, klen);
			return;
		}
		scan_add(sc, what, lineno, path, methods[i].m_method);
		return;
	}
	for (i = 0; i < sizeof(unrouted_keys) / sizeof(unrouted_keys[0]); i++) {
		if (strlen(unrouted_keys[i]) == nlen &&
		    memcmp(key, unrouted_keys[i], nlen) == 0) {
			scan_fail(sc,
				  "%s:%d: %s %s: the router has no such "
				  "method\n",
				  what, lineno, unrouted_keys[i], path);
			return;
		}
	}
	/* head:, parameters:, summary:, ... are not routes. */
}

/*
 * Scans a YAML document for the (path, method) pairs under `paths:`,
 * replacing what sc held (except sc_quiet).  `what` names the document in
 * messages.  Never fails: problems are counted in sc->sc_errors.
 */
static void
scan_text(struct scan *sc, const char *what, const char *text)
{
	char path[SCAN_PATH_LEN] = "";
	const char *line = text;
	int in_paths = 0, seen_paths = 0, lineno = 0;
	int quiet = sc->sc_quiet;

	memset(sc, 0, sizeof(*sc));
	sc->sc_quiet = quiet;
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *next = nl ? nl + 1 : line + len;
		size_t indent = 0;

		lineno++;
		while (len > 0 &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			line[len - 1] == '\t'))
			len--;
		while (indent < len && line[indent] == ' ')
			indent++;
		if (indent == len || line[indent] == '#')
			goto next;
		if (in_paths && line[indent] == '\t') {
			/* YAML forbids tabs here; we would misread the level */
			scan_bad_line(sc, what, lineno, line, len);
			goto next;
		}
		if (indent == 0) {
			in_paths = len == 6 && memcmp(line, "paths:", 6) == 0;
			if (in_paths && seen_paths++)
				scan_fail(sc, "%s:%d: a second paths: key\n",
					  what, lineno);
			path[0] = '\0';
			goto next;
		}
		if (!in_paths)
			goto next;
		if (indent == 2) {
			/* "  /v1/vms/{name}:" */
			if (line[2] != '/' || line[len - 1] != ':' ||
			    len - 3 >= sizeof(path)) {
				scan_bad_line(sc, what, lineno, line, len);
				path[0] = '\0';
				goto next;
			}
			memcpy(path, line + 2, len - 3);
			path[len - 3] = '\0';
			sc->sc_npaths++;
		} else if (indent == 4) {
			scan_operation(sc, what, lineno, path, line + 4,
				       len - 4);
		} else if (indent < 4) {
			/* Odd indentation shifts every level we rely on. */
			scan_bad_line(sc, what, lineno, line, len);
		}
	next:
		line = next;
	}
	if (!seen_paths)
		scan_fail(sc, "%s: no top-level paths: key\n", what);
}

/* The whole file, NUL-terminated; fails the test when it cannot be read. */
static char *
read_file(const char *file)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		fail_msg("%s: %s", file, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		fail_msg("%s: read error", file);
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len)
		fail_msg("%s: contains a NUL byte", file);
	return buf;
}

static struct scan *
scan_new(void)
{
	struct scan *sc = calloc(1, sizeof(*sc));

	assert_non_null(sc);
	return sc;
}

static struct scan *
scan_contract(void)
{
	struct scan *sc = scan_new();
	char *text = read_file(OPENAPI_PATH);

	scan_text(sc, OPENAPI_PATH, text);
	free(text);
	return sc;
}

static void
test_openapi__scanner_finds_operations_only_under_paths(void **state)
{
	static const char doc[] = "openapi: 3.1.0\n"
				  "info:\n"
				  "  title: x\n"
				  "    get:\n"
				  "# a comment\n"
				  "paths:\n"
				  "  /v1:\n"
				  "    get:\n"
				  "      responses:\n"
				  "        get:\n"
				  "\n"
				  "  # a comment at the path level\n"
				  "  /v1/vms/{name}:\r\n"
				  "    parameters:\n"
				  "      - name: name\n"
				  "    put:  \n"
				  "    # delete: in a comment\n"
				  "    head:\n"
				  "    summary: get: not a key\n"
				  "    delete:\n"
				  "components:\n"
				  "  schemas:\n"
				  "    post:\n"
				  "      type: object\n";
	struct scan *sc = scan_new();

	(void)state;
	scan_text(sc, "inline", doc);
	assert_int_equal(sc->sc_errors, 0);
	assert_int_equal(sc->sc_npaths, 2);
	assert_int_equal(sc->sc_nops, 3);
	assert_true(scan_has(sc, "/v1", API_GET));
	assert_true(scan_has(sc, "/v1/vms/{name}", API_PUT));
	assert_true(scan_has(sc, "/v1/vms/{name}", API_DELETE));
	assert_false(scan_has(sc, "/v1/vms/{name}", API_GET));
	free(sc);
}

static void
test_openapi__scanner_rejects_lines_that_break_the_format(void **state)
{
	/* Each would hide operations from the check if it were let pass. */
	static const char *const docs[] = {
	    "paths:\n  \"/v1\":\n    get:\n",
	    "paths:\n  /v1: # root\n    get:\n",
	    "paths:\n  /v1:\n    get: {responses: {}}\n",
	    "paths:\n   /v1:\n     get:\n",
	    "paths:\n  /v1:\n\tget:\n",
	    "paths:\n  /v1:\n    options:\n",
	    "paths:\n  /v1:\n    get:\n    get:\n",
	    "paths:\n    get:\n",
	    "openapi: 3.1.0\n",
	    "paths:\n  /v1:\n    get:\npaths:\n  /v2:\n    get:\n",
	};
	struct scan *sc = scan_new();
	size_t i;

	(void)state;
	/* The errors are expected; printing them would only confuse. */
	sc->sc_quiet = 1;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		scan_text(sc, "inline", docs[i]);
		if (sc->sc_errors == 0)
			fail_msg("document %zu was accepted: %s", i, docs[i]);
	}
	free(sc);
}

static void
test_openapi__contract_is_read_in_full(void **state)
{
	struct scan *sc = scan_contract();

	(void)state;
	assert_int_equal(sc->sc_errors, 0);
	if (sc->sc_npaths < SCAN_MIN_PATHS || sc->sc_nops < SCAN_MIN_OPS)
		fail_msg("%s: only %zu paths and %zu operations found; "
			 "expected at least %d and %d",
			 OPENAPI_PATH, sc->sc_npaths, sc->sc_nops,
			 SCAN_MIN_PATHS, SCAN_MIN_OPS);
	/* One route every version has, spelled as the router spells it. */
	assert_true(scan_has(sc, "/v1/health", API_GET));
	assert_true(scan_has(sc, "/v1/vms/{name}", API_PATCH));
	free(sc);
}

static void
test_openapi__contract_and_route_table_agree(void **state)
{
	struct scan *sc = scan_contract();
	struct scan *routes = scan_new();
	size_t n = api_routes_count(), i, j;
	int missing = 0;

	(void)state;
	assert_int_equal(sc->sc_errors, 0);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		struct api_route_info ri = api_routes_at(i);
		unsigned known = API_HEAD;
		int found = 0;

		assert_non_null(ri.ri_pattern);
		for (j = 0; j < NMETHODS; j++) {
			known |= (unsigned)methods[j].m_method;
			if (!(ri.ri_method & methods[j].m_method))
				continue;
			found = 1;
			scan_add(routes, "route table entry", (int)i,
				 ri.ri_pattern, methods[j].m_method);
		}
		if (!found || ((unsigned)ri.ri_method & ~known) != 0)
			fail_msg("route %zu (%s): method bits %#x", i,
				 ri.ri_pattern, (unsigned)ri.ri_method);
	}
	assert_int_equal(routes->sc_errors, 0);

	for (i = 0; i < sc->sc_nops; i++) {
		const struct scan_op *op = &sc->sc_ops[i];

		if (scan_has(routes, op->so_path, op->so_method))
			continue;
		print_error("openapi.yaml describes %s %s; the route table "
			    "does not have it\n",
			    method_name(op->so_method), op->so_path);
		missing++;
	}
	for (i = 0; i < routes->sc_nops; i++) {
		const struct scan_op *op = &routes->sc_ops[i];

		if (scan_has(sc, op->so_path, op->so_method))
			continue;
		print_error("the route table has %s %s; openapi.yaml does "
			    "not describe it\n",
			    method_name(op->so_method), op->so_path);
		missing++;
	}
	assert_int_equal(missing, 0);
	free(routes);
	free(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_openapi__scanner_finds_operations_only_under_paths),
	    cmocka_unit_test(
		test_openapi__scanner_rejects_lines_that_break_the_format),
	    cmocka_unit_test(test_openapi__contract_is_read_in_full),
	    cmocka_unit_test(test_openapi__contract_and_route_table_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
