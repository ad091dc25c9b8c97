/*
 * core/vmreg.c: the in-memory registry of VM definitions over a real
 * database.  Create, get, replace, delete and their errnos; list pages
 * with state and label filters; the same representation after a restart;
 * and readers that never see a torn or older version while writers
 * publish new ones.
 *
 * Each test gets a fresh database in its own mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/vmreg.h"
#include "db/db.h"

#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
	struct vmreg *f_reg;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (vmreg_open(&fx->f_reg, fx->f_tf.tf_db) != 0) {
		tfixture_free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	vmreg_close(fx->f_reg);
	tfixture_free(fx);
	return 0;
}

/* Closes registry and database and opens both again, as a restart does. */
static void
restart(struct fx *fx)
{
	vmreg_close(fx->f_reg);
	fx->f_reg = NULL;
	tfixture_reopen_db(&fx->f_tf);
	assert_int_equal(vmreg_open(&fx->f_reg, fx->f_tf.tf_db), 0);
}

/* A normalized spec as api/vm_spec.c would produce; labels may be NULL. */
static json_t *
spec_new(const char *name, int vcpus, const char *labels)
{
	json_error_t jerr;
	json_t *l = json_loads(labels != NULL ? labels : "{}", 0, &jerr);
	json_t *spec;

	assert_non_null(l);
	spec = json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:i, s:i}, s:o, s:[], "
			 "s:b, s:s}",
			 "name", name, "vcpus", vcpus, "memory_mib", 64, "boot",
			 "kind", "flat", "image", "hello.bin", "load_address",
			 4096, "entry", 4096, "labels", l, "pptdevs",
			 "autostart", 0, "description", "");
	assert_non_null(spec);
	return spec;
}

static const struct vmreg_owner owner_1000 = {1000, 100, ""};

/* Creates name (vcpus 1, the given labels); returns its revision. */
static uint64_t
create(struct fx *fx, const char *name, const char *labels)
{
	json_t *spec = spec_new(name, 1, labels);
	struct vmreg_doc doc = {0};

	if (vmreg_create(fx->f_reg, name, spec, &owner_1000, &doc) != 0)
		fail_msg("create %s: %s", name, strerror(errno));
	json_decref(spec);
	assert_non_null(doc.vd_body);
	free(doc.vd_body);
	return doc.vd_revision;
}

static json_t *
parse(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);

	if (doc == NULL)
		fail_msg("not JSON (%s): %.*s", jerr.text, (int)len, text);
	return doc;
}

static json_int_t
int_at(const json_t *doc, const char *a, const char *b)
{
	const json_t *v = json_object_get(doc, a);

	if (b != NULL)
		v = json_object_get(v, b);
	if (!json_is_integer(v))
		fail_msg("%s%s%s is not an integer", a, b ? "." : "",
			 b ? b : "");
	return json_integer_value(v);
}

static const char *
str_at(const json_t *doc, const char *a, const char *b)
{
	const json_t *v = json_object_get(doc, a);

	if (b != NULL)
		v = json_object_get(v, b);
	if (!json_is_string(v))
		fail_msg("%s%s%s is not a string", a, b ? "." : "", b ? b : "");
	return json_string_value(v);
}

/* A list page: its items' names joined by ",", and next ("" for null). */
struct page {
	char p_names[1024];
	char p_next[80];
};

static void
list(struct fx *fx, const struct vmreg_filter *f, struct page *pg)
{
	json_t *doc, *items, *next, *item;
	char *body = NULL;
	size_t len = 0, i;

	memset(pg, 0, sizeof(*pg));
	assert_int_equal(vmreg_list(fx->f_reg, f, &body, &len), 0);
	assert_int_equal(strlen(body), len);
	doc = parse(body, len);
	items = json_object_get(doc, "items");
	next = json_object_get(doc, "next");
	assert_true(json_is_array(items));
	assert_true(next != NULL &&
		    (json_is_null(next) || json_is_string(next)));
	json_array_foreach (items, i, item) {
		if (i > 0)
			strcat(pg->p_names, ",");
		strcat(pg->p_names, str_at(item, "name", NULL));
	}
	if (json_is_string(next))
		snprintf(pg->p_next, sizeof(pg->p_next), "%s",
			 json_string_value(next));
	json_decref(doc);
	free(body);
}

static void
set_state(struct fx *fx, const char *name, const char *state)
{
	struct db_vm_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	assert_int_equal(vm_state_parse(state, &row.vr_state), 0);
	row.vr_status = strdup("{}");
	assert_int_equal(db_vm_update_state(fx->f_tf.tf_db, &row, NULL, NULL),
			 0);
	db_vm_row_clear(&row);
}

/* Create, get, replace, delete */

static void
test_vmreg__create_renders_the_representation(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 2, "{\"env\":\"prod\"}");
	struct vmreg_owner owner = {1001, 1002, "j1"};
	struct vmreg_doc doc = {0};
	json_t *rep;

	assert_int_equal(vmreg_count(fx->f_reg), 0);
	assert_int_equal(vmreg_create(fx->f_reg, "j1/web1", spec, &owner, &doc),
			 0);
	assert_int_equal(vmreg_count(fx->f_reg), 1);
	assert_true(doc.vd_revision > 0);
	assert_int_equal(strlen(doc.vd_body), doc.vd_len);
	rep = parse(doc.vd_body, doc.vd_len);

	/* The spec's fields, as given. */
	assert_string_equal(str_at(rep, "name", NULL), "web1");
	assert_int_equal(int_at(rep, "vcpus", NULL), 2);
	assert_string_equal(str_at(rep, "labels", "env"), "prod");
	assert_string_equal(str_at(rep, "boot", "image"), "hello.bin");
	/* Then what the registry adds. */
	assert_string_equal(str_at(rep, "status", "state"), "defined");
	assert_int_equal(int_at(rep, "owner", "uid"), 1001);
	assert_int_equal(int_at(rep, "owner", "gid"), 1002);
	assert_string_equal(str_at(rep, "owner", "jail"), "j1");
	assert_int_equal(int_at(rep, "generation", NULL), 1);
	assert_int_equal(int_at(rep, "revision", NULL),
			 (json_int_t)doc.vd_revision);
	assert_string_equal(str_at(rep, "created_at", NULL),
			    str_at(rep, "updated_at", NULL));
	assert_true(json_is_null(
	    json_object_get(json_object_get(rep, "status"), "started_at")));

	json_decref(rep);
	json_decref(spec);
	free(doc.vd_body);
}

/*
 * The body is the stored spec text with the registry's members spliced
 * in: a status with characters JSON must escape still renders valid JSON,
 * and the same bytes come back after a restart, where every version is
 * rendered from the database's text instead of the written spec.
 */
static void
test_vmreg__state_details_render_escaped_and_survive_restart(void **state)
{
	struct fx *fx = *state;
	json_t *status =
	    json_pack("{s:s, s:i}", "exit_reason",
		      "said \"bye\"\n\tand \\ left \x01", "exit_status", 3);
	struct vmreg_doc before = {0}, after = {0};
	json_t *rep, *st;

	create(fx, "web1", "{\"k\":\"v \\\"q\\\"\"}");
	assert_int_equal(vmreg_set_state(fx->f_reg, "web1", VM_CRASHED, status),
			 0);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &before), 0);
	rep = parse(before.vd_body, before.vd_len);
	st = json_object_get(rep, "status");
	assert_string_equal(str_at(rep, "status", "state"), "crashed");
	assert_string_equal(
	    json_string_value(json_object_get(st, "exit_reason")),
	    "said \"bye\"\n\tand \\ left \x01");
	assert_int_equal(int_at(rep, "status", "exit_status"), 3);
	assert_string_equal(str_at(rep, "labels", "k"), "v \"q\"");
	assert_int_equal(int_at(rep, "generation", NULL), 1);
	json_decref(rep);

	restart(fx);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &after), 0);
	assert_int_equal(after.vd_len, before.vd_len);
	assert_memory_equal(after.vd_body, before.vd_body, before.vd_len);

	json_decref(status);
	free(before.vd_body);
	free(after.vd_body);
}

static void
test_vmreg__get_returns_what_create_returned(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 1, NULL), *got;
	struct vmreg_doc created = {0}, doc = {0};
	uint64_t rev = 0;

	assert_int_equal(
	    vmreg_create(fx->f_reg, "web1", spec, &owner_1000, &created), 0);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &doc), 0);
	assert_int_equal(doc.vd_revision, created.vd_revision);
	assert_int_equal(doc.vd_len, created.vd_len);
	assert_memory_equal(doc.vd_body, created.vd_body, doc.vd_len);
	assert_int_equal(doc.vd_body[doc.vd_len], '\0');

	assert_int_equal(vmreg_get_spec(fx->f_reg, "web1", &got, &rev), 0);
	assert_true(json_equal(got, spec));
	assert_int_equal(rev, created.vd_revision);

	json_decref(got);
	json_decref(spec);
	free(doc.vd_body);
	free(created.vd_body);
}

static void
test_vmreg__get_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;
	struct vmreg_doc doc = {0};
	json_t *spec = NULL;
	uint64_t rev = 0;

	create(fx, "web1", NULL);
	errno = 0;
	assert_int_equal(vmreg_get(fx->f_reg, "web2", &doc), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(doc.vd_body);
	errno = 0;
	assert_int_equal(vmreg_get_spec(fx->f_reg, "web", &spec, &rev), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(spec);
}

static void
test_vmreg__create_of_existing_name_is_eexist(void **state)
{
	struct fx *fx = *state;
	uint64_t rev = create(fx, "web1", NULL);
	json_t *spec = spec_new("web1", 3, NULL), *got;
	struct vmreg_doc doc = {0};
	uint64_t now = 0;

	errno = 0;
	assert_int_equal(
	    vmreg_create(fx->f_reg, "web1", spec, &owner_1000, &doc), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(vmreg_count(fx->f_reg), 1);
	/* The first definition stands. */
	assert_int_equal(vmreg_get_spec(fx->f_reg, "web1", &got, &now), 0);
	assert_int_equal(now, rev);
	assert_int_equal(json_integer_value(json_object_get(got, "vcpus")), 1);
	json_decref(got);
	json_decref(spec);
	free(doc.vd_body);
}

static void
test_vmreg__replace_publishes_a_new_version(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 4, NULL), *before, *after;
	struct vmreg_doc old = {0}, doc = {0}, got = {0};
	uint64_t rev = create(fx, "web1", NULL);

	assert_int_equal(vmreg_get(fx->f_reg, "web1", &old), 0);
	assert_int_equal(vmreg_replace(fx->f_reg, "web1", spec, 0, &doc), 0);
	assert_true(doc.vd_revision > rev);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &got), 0);
	assert_int_equal(got.vd_revision, doc.vd_revision);
	assert_string_equal(got.vd_body, doc.vd_body);

	before = parse(old.vd_body, old.vd_len);
	after = parse(got.vd_body, got.vd_len);
	assert_int_equal(int_at(after, "vcpus", NULL), 4);
	assert_int_equal(int_at(after, "generation", NULL), 2);
	assert_int_equal(int_at(after, "revision", NULL),
			 (json_int_t)doc.vd_revision);
	/* What the spec does not hold stays as it was. */
	assert_string_equal(str_at(after, "created_at", NULL),
			    str_at(before, "created_at", NULL));
	assert_int_equal(int_at(after, "owner", "uid"), 1000);
	assert_string_equal(str_at(after, "status", "state"), "defined");
	assert_int_equal(vmreg_count(fx->f_reg), 1);

	json_decref(before);
	json_decref(after);
	json_decref(spec);
	free(old.vd_body);
	free(doc.vd_body);
	free(got.vd_body);
}

static void
test_vmreg__replace_with_current_revision_succeeds(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 2, NULL);
	struct vmreg_doc doc = {0};
	uint64_t rev = create(fx, "web1", NULL);

	assert_int_equal(vmreg_replace(fx->f_reg, "web1", spec, rev, &doc), 0);
	assert_true(doc.vd_revision > rev);
	json_decref(spec);
	free(doc.vd_body);
}

static void
test_vmreg__replace_with_stale_revision_is_estale(void **state)
{
	struct fx *fx = *state;
	json_t *two = spec_new("web1", 2, NULL),
	       *three = spec_new("web1", 3, NULL);
	struct vmreg_doc doc = {0}, cur = {0};
	uint64_t rev = create(fx, "web1", NULL);

	assert_int_equal(vmreg_replace(fx->f_reg, "web1", two, rev, &doc), 0);
	free(doc.vd_body);
	memset(&doc, 0, sizeof(doc));
	errno = 0;
	assert_int_equal(vmreg_replace(fx->f_reg, "web1", three, rev, &doc),
			 -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &cur), 0);
	assert_non_null(strstr(cur.vd_body, "\"vcpus\":2"));
	json_decref(two);
	json_decref(three);
	free(doc.vd_body);
	free(cur.vd_body);
}

static void
test_vmreg__replace_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 2, NULL);
	struct vmreg_doc doc = {0};

	errno = 0;
	assert_int_equal(vmreg_replace(fx->f_reg, "web1", spec, 0, &doc), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
	json_decref(spec);
	free(doc.vd_body);
}

static void
test_vmreg__delete_removes_the_vm(void **state)
{
	struct fx *fx = *state;
	struct vmreg_doc doc = {0};

	create(fx, "a", NULL);
	create(fx, "b", NULL);
	create(fx, "c", NULL);
	assert_int_equal(vmreg_delete(fx->f_reg, "b", 0), 0);
	assert_int_equal(vmreg_count(fx->f_reg), 2);
	errno = 0;
	assert_int_equal(vmreg_get(fx->f_reg, "b", &doc), -1);
	assert_int_equal(errno, ENOENT);
	/* Its neighbours are still found. */
	assert_int_equal(vmreg_get(fx->f_reg, "a", &doc), 0);
	free(doc.vd_body);
	assert_int_equal(vmreg_get(fx->f_reg, "c", &doc), 0);
	free(doc.vd_body);
}

static void
test_vmreg__delete_with_current_revision_succeeds(void **state)
{
	struct fx *fx = *state;
	uint64_t rev = create(fx, "web1", NULL);

	assert_int_equal(vmreg_delete(fx->f_reg, "web1", rev), 0);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
}

static void
test_vmreg__delete_with_stale_revision_is_estale(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 2, NULL);
	struct vmreg_doc doc = {0};
	uint64_t rev = create(fx, "web1", NULL);

	assert_int_equal(vmreg_replace(fx->f_reg, "web1", spec, 0, &doc), 0);
	free(doc.vd_body);
	errno = 0;
	assert_int_equal(vmreg_delete(fx->f_reg, "web1", rev), -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(vmreg_count(fx->f_reg), 1);
	json_decref(spec);
}

static void
test_vmreg__delete_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;

	errno = 0;
	assert_int_equal(vmreg_delete(fx->f_reg, "web1", 0), -1);
	assert_int_equal(errno, ENOENT);
	create(fx, "web1", NULL);
	assert_int_equal(vmreg_delete(fx->f_reg, "web1", 0), 0);
	errno = 0;
	assert_int_equal(vmreg_delete(fx->f_reg, "web1", 0), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_vmreg__delete_of_running_vm_is_ebusy(void **state)
{
	struct fx *fx = *state;

	create(fx, "web1", NULL);
	set_state(fx, "web1", "running");
	restart(fx);
	errno = 0;
	assert_int_equal(vmreg_delete(fx->f_reg, "web1", 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(vmreg_count(fx->f_reg), 1);
}

static void
test_vmreg__recreated_name_gets_a_new_revision(void **state)
{
	struct fx *fx = *state;
	uint64_t first = create(fx, "web1", NULL), second;

	assert_int_equal(vmreg_delete(fx->f_reg, "web1", 0), 0);
	second = create(fx, "web1", NULL);
	/* An old ETag must never match the new VM. */
	assert_true(second > first);
}

static void
test_vmreg__revisions_are_unique_across_vms(void **state)
{
	struct fx *fx = *state;
	uint64_t a = create(fx, "a", NULL), b = create(fx, "b", NULL);
	uint64_t c = create(fx, "c", NULL);

	assert_true(a != b && b != c && a != c);
}

/* Lists */

static void
test_vmreg__list_pages_follow_next(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, NULL, 2, NULL, NULL, NULL};
	struct page pg;

	/* Inserted out of order: pages come in name order. */
	create(fx, "d", NULL);
	create(fx, "b", NULL);
	create(fx, "e", NULL);
	create(fx, "a", NULL);
	create(fx, "c", NULL);

	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a,b");
	assert_string_equal(pg.p_next, "b");
	f.vf_after = "b";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "c,d");
	assert_string_equal(pg.p_next, "d");
	f.vf_after = "d";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "e");
	assert_string_equal(pg.p_next, "");
}

static void
test_vmreg__list_of_exactly_limit_has_no_next(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, NULL, 3, NULL, NULL, NULL};
	struct page pg;

	create(fx, "a", NULL);
	create(fx, "b", NULL);
	create(fx, "c", NULL);
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a,b,c");
	assert_string_equal(pg.p_next, "");
}

static void
test_vmreg__list_of_nothing_is_empty(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, NULL, 100, NULL, NULL, NULL};
	char *body = NULL;
	size_t len = 0;

	assert_int_equal(vmreg_list(fx->f_reg, &f, &body, &len), 0);
	assert_string_equal(body, "{\"items\":[],\"next\":null}");
	assert_int_equal(len, strlen(body));
	free(body);
}

static void
test_vmreg__list_after_a_missing_name_starts_past_it(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, "bb", 10, NULL, NULL, NULL};
	struct page pg;

	create(fx, "a", NULL);
	create(fx, "b", NULL);
	create(fx, "c", NULL);
	create(fx, "d", NULL);
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "c,d");
	assert_string_equal(pg.p_next, "");

	/* A cursor whose VM was deleted still resumes in the right place. */
	f.vf_after = "a";
	f.vf_limit = 1;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "b");
	assert_string_equal(pg.p_next, "b");
	assert_int_equal(vmreg_delete(fx->f_reg, "b", 0), 0);
	f.vf_after = "b";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "c");

	f.vf_after = "zzz";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "");
	assert_string_equal(pg.p_next, "");
}

static void
test_vmreg__list_items_are_the_representations(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, NULL, 10, NULL, NULL, NULL};
	struct vmreg_doc doc = {0};
	char *body = NULL;
	size_t len = 0;
	json_t *page, *one;

	create(fx, "web1", "{\"env\":\"prod\"}");
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &doc), 0);
	assert_int_equal(vmreg_list(fx->f_reg, &f, &body, &len), 0);
	page = parse(body, len);
	one = parse(doc.vd_body, doc.vd_len);
	assert_true(
	    json_equal(json_array_get(json_object_get(page, "items"), 0), one));
	json_decref(page);
	json_decref(one);
	free(body);
	free(doc.vd_body);
}

static void
test_vmreg__list_filters_by_state(void **state)
{
	struct fx *fx = *state;
	enum vm_state want = VM_RUNNING;
	struct vmreg_filter f = {&want, NULL, 0, NULL, 10, NULL, NULL, NULL};
	struct page pg;

	create(fx, "a", NULL);
	create(fx, "b", NULL);
	create(fx, "c", NULL);
	create(fx, "d", NULL);
	set_state(fx, "b", "running");
	set_state(fx, "d", "running");
	/* The registry learns states from the database at load. */
	restart(fx);

	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "b,d");
	want = VM_DEFINED;
	f.vf_state = &want;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a,c");
	want = VM_STOPPED;
	f.vf_state = &want;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "");
	want = VM_RUNNING;
	f.vf_state = &want;
	f.vf_limit = 1;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "b");
	assert_string_equal(pg.p_next, "b");
}

static void
test_vmreg__list_filters_by_every_label_given(void **state)
{
	struct fx *fx = *state;
	struct vmreg_label prod[] = {{"env", "prod"}};
	struct vmreg_label prod_eu[] = {{"env", "prod"}, {"zone", "eu"}};
	struct vmreg_label none[] = {{"missing", ""}};
	struct vmreg_label empty[] = {{"tier", ""}};
	struct vmreg_filter f = {NULL, prod, 1, NULL, 10, NULL, NULL, NULL};
	struct page pg;

	create(fx, "a", "{\"env\":\"prod\",\"zone\":\"eu\"}");
	create(fx, "b", "{\"env\":\"dev\",\"zone\":\"eu\"}");
	create(fx, "c", "{\"env\":\"prod\",\"zone\":\"us\"}");
	create(fx, "d", NULL);
	create(fx, "e", "{\"env\":\"production\",\"tier\":\"\"}");

	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a,c");
	f.vf_labels = prod_eu;
	f.vf_nlabels = 2;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a");
	f.vf_labels = none;
	f.vf_nlabels = 1;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "");
	f.vf_labels = empty;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "e");
}

static void
test_vmreg__filtered_pages_count_only_matches(void **state)
{
	struct fx *fx = *state;
	struct vmreg_label prod[] = {{"env", "prod"}};
	struct vmreg_filter f = {NULL, prod, 1, NULL, 2, NULL, NULL, NULL};
	struct page pg;
	char cursor[80];

	create(fx, "a", "{\"env\":\"prod\"}");
	create(fx, "b", NULL);
	create(fx, "c", "{\"env\":\"prod\"}");
	create(fx, "d", NULL);
	create(fx, "e", "{\"env\":\"prod\"}");
	create(fx, "f", NULL);

	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "a,c");
	assert_string_equal(pg.p_next, "c");
	snprintf(cursor, sizeof(cursor), "%s", pg.p_next);
	f.vf_after = cursor;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "e");
	/* f does not match: no further page. */
	assert_string_equal(pg.p_next, "");
}

/* Run state */

static void
test_vmreg__set_state_publishes_state_and_status(void **state)
{
	struct fx *fx = *state;
	json_t *status =
	    json_pack("{s:s, s:s, s:n, s:n, s:n}", "state_changed_at",
		      "2026-01-02T03:04:05.000Z", "started_at",
		      "2026-01-02T03:04:05.000Z", "stopped_at", "exit_reason",
		      "exit_status");
	struct vmreg_doc before = {0}, after = {0};
	json_t *b, *a, *got = NULL;
	enum vm_state st;
	uint64_t rev = create(fx, "web1", NULL);

	assert_non_null(status);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &before), 0);
	assert_int_equal(vmreg_set_state(fx->f_reg, "web1", VM_RUNNING, status),
			 0);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &after), 0);
	/* A new version: the ETag changes, the generation does not. */
	assert_true(after.vd_revision > rev);
	b = parse(before.vd_body, before.vd_len);
	a = parse(after.vd_body, after.vd_len);
	assert_string_equal(str_at(a, "status", "state"), "running");
	assert_string_equal(str_at(a, "status", "started_at"),
			    "2026-01-02T03:04:05.000Z");
	assert_string_equal(str_at(a, "status", "state_changed_at"),
			    "2026-01-02T03:04:05.000Z");
	assert_int_equal(int_at(a, "generation", NULL),
			 int_at(b, "generation", NULL));
	assert_int_equal(int_at(a, "revision", NULL),
			 (json_int_t)after.vd_revision);
	assert_int_equal(int_at(a, "vcpus", NULL), int_at(b, "vcpus", NULL));

	assert_int_equal(vmreg_get_state(fx->f_reg, "web1", &st, &got), 0);
	assert_int_equal(st, VM_RUNNING);
	assert_non_null(got);
	assert_string_equal(str_at(got, "started_at", NULL),
			    "2026-01-02T03:04:05.000Z");

	json_decref(got);
	json_decref(a);
	json_decref(b);
	json_decref(status);
	free(before.vd_body);
	free(after.vd_body);
}

static void
test_vmreg__set_state_of_missing_vm_is_enoent(void **state)
{
	struct fx *fx = *state;
	json_t *status = json_object(), *got = NULL;
	enum vm_state st;

	errno = 0;
	assert_int_equal(vmreg_set_state(fx->f_reg, "web1", VM_RUNNING, status),
			 -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(vmreg_get_state(fx->f_reg, "web1", &st, &got), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
	json_decref(status);
}

static void
test_vmreg__state_filter_sees_set_state_at_once(void **state)
{
	struct fx *fx = *state;
	enum vm_state want = VM_PAUSED;
	struct vmreg_filter f = {&want, NULL, 0, NULL, 10, NULL, NULL, NULL};
	json_t *status = json_object();
	struct page pg;

	create(fx, "a", NULL);
	create(fx, "b", NULL);
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "");
	assert_int_equal(vmreg_set_state(fx->f_reg, "b", VM_PAUSED, status), 0);
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "b");
	/* A running (here paused) VM cannot be deleted. */
	errno = 0;
	assert_int_equal(vmreg_delete(fx->f_reg, "b", 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(vmreg_set_state(fx->f_reg, "b", VM_STOPPED, status),
			 0);
	assert_int_equal(vmreg_delete(fx->f_reg, "b", 0), 0);
	json_decref(status);
}

static void
test_vmreg__state_survives_a_restart(void **state)
{
	struct fx *fx = *state;
	json_t *status = json_pack("{s:s, s:i}", "exit_reason", "poweroff",
				   "exit_status", 3);
	struct vmreg_doc before = {0}, after = {0};
	json_t *got = NULL;
	enum vm_state st;

	create(fx, "web1", NULL);
	assert_int_equal(vmreg_set_state(fx->f_reg, "web1", VM_STOPPED, status),
			 0);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &before), 0);
	restart(fx);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &after), 0);
	assert_int_equal(after.vd_revision, before.vd_revision);
	assert_string_equal(after.vd_body, before.vd_body);
	assert_int_equal(vmreg_get_state(fx->f_reg, "web1", &st, &got), 0);
	assert_int_equal(st, VM_STOPPED);
	assert_string_equal(str_at(got, "exit_reason", NULL), "poweroff");
	assert_int_equal(int_at(got, "exit_status", NULL), 3);
	json_decref(got);
	json_decref(status);
	free(before.vd_body);
	free(after.vd_body);
}

/* Persistence */

static void
test_vmreg__definitions_survive_a_restart(void **state)
{
	struct fx *fx = *state;
	json_t *spec = spec_new("web1", 2, "{\"k\":\"v\"}");
	struct vmreg_doc before = {0}, b2 = {0}, after = {0}, a2 = {0};

	create(fx, "web1", NULL);
	create(fx, "web2", NULL);
	create(fx, "gone", NULL);
	assert_int_equal(vmreg_replace(fx->f_reg, "web1", spec, 0, &before), 0);
	assert_int_equal(vmreg_delete(fx->f_reg, "gone", 0), 0);
	assert_int_equal(vmreg_get(fx->f_reg, "web2", &b2), 0);

	restart(fx);
	assert_int_equal(vmreg_count(fx->f_reg), 2);
	assert_int_equal(vmreg_get(fx->f_reg, "web1", &after), 0);
	assert_int_equal(after.vd_revision, before.vd_revision);
	assert_string_equal(after.vd_body, before.vd_body);
	assert_int_equal(vmreg_get(fx->f_reg, "web2", &a2), 0);
	assert_int_equal(a2.vd_revision, b2.vd_revision);
	assert_string_equal(a2.vd_body, b2.vd_body);
	errno = 0;
	assert_int_equal(vmreg_get(fx->f_reg, "gone", &a2), -1);
	assert_int_equal(errno, ENOENT);

	json_decref(spec);
	free(before.vd_body);
	free(after.vd_body);
	free(b2.vd_body);
	free(a2.vd_body);
}

static void
test_vmreg__revisions_keep_growing_after_a_restart(void **state)
{
	struct fx *fx = *state;
	uint64_t first = create(fx, "a", NULL);

	assert_int_equal(vmreg_delete(fx->f_reg, "a", 0), 0);
	restart(fx);
	assert_true(create(fx, "b", NULL) > first);
}

/* Concurrency */

#define RACE_WRITES 200

struct race {
	struct fx *r_fx;
	int r_done; /* set by the writer when it has finished (atomic) */
	pthread_mutex_t r_lock;
	int r_failed; /* atomic; r_why says what went wrong */
	char r_why[256];
	unsigned long r_reads;
	uint64_t r_last_written;
};

static void race_fail(struct race *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
race_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->r_lock);
	if (!__atomic_load_n(&r->r_failed, __ATOMIC_RELAXED)) {
		va_start(ap, fmt);
		vsnprintf(r->r_why, sizeof(r->r_why), fmt, ap);
		va_end(ap);
		__atomic_store_n(&r->r_failed, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&r->r_lock);
}

static void *
race_writer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < RACE_WRITES &&
		    !__atomic_load_n(&r->r_failed, __ATOMIC_ACQUIRE);
	     i++) {
		json_t *spec = spec_new("web1", 1 + i % 4, NULL);
		struct vmreg_doc doc = {0};

		/* A long description makes a torn copy easy to notice. */
		json_object_set_new(spec, "description",
				    json_sprintf("%0*d", 500 + i, i));
		if (vmreg_replace(r->r_fx->f_reg, "web1", spec, 0, &doc) != 0)
			race_fail(r, "replace %d: %s", i, strerror(errno));
		else
			r->r_last_written = doc.vd_revision;
		free(doc.vd_body);
		json_decref(spec);
	}
	__atomic_store_n(&r->r_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	uint64_t last = 0;
	int done;

	do {
		struct vmreg_doc doc = {0};
		json_error_t jerr;
		json_t *rep;

		done = __atomic_load_n(&r->r_done, __ATOMIC_ACQUIRE);
		if (vmreg_get(r->r_fx->f_reg, "web1", &doc) != 0) {
			race_fail(r, "get: %s", strerror(errno));
			break;
		}
		rep = json_loadb(doc.vd_body, doc.vd_len, 0, &jerr);
		if (rep == NULL)
			race_fail(r, "read a body that is not JSON: %s",
				  jerr.text);
		else if ((uint64_t)json_integer_value(json_object_get(
			     rep, "revision")) != doc.vd_revision)
			race_fail(r, "body revision %lld, doc revision %llu",
				  (long long)json_integer_value(
				      json_object_get(rep, "revision")),
				  (unsigned long long)doc.vd_revision);
		else if (doc.vd_revision < last)
			race_fail(r, "revision went back from %llu to %llu",
				  (unsigned long long)last,
				  (unsigned long long)doc.vd_revision);
		last = doc.vd_revision;
		json_decref(rep);
		free(doc.vd_body);
		pthread_mutex_lock(&r->r_lock);
		r->r_reads++;
		pthread_mutex_unlock(&r->r_lock);
	} while (!done && !__atomic_load_n(&r->r_failed, __ATOMIC_ACQUIRE));
	return NULL;
}

static void
test_vmreg__readers_see_whole_versions_in_order_during_writes(void **state)
{
	struct race r;
	pthread_t writer, readers[3];
	struct vmreg_doc doc = {0};
	size_t i;

	memset(&r, 0, sizeof(r));
	r.r_fx = *state;
	pthread_mutex_init(&r.r_lock, NULL);
	create(r.r_fx, "web1", NULL);
	for (i = 0; i < 3; i++)
		assert_int_equal(
		    pthread_create(&readers[i], NULL, race_reader, &r), 0);
	assert_int_equal(pthread_create(&writer, NULL, race_writer, &r), 0);
	pthread_join(writer, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(readers[i], NULL);
	pthread_mutex_destroy(&r.r_lock);
	if (r.r_failed)
		fail_msg("%s", r.r_why);
	/* Readers ran while the writes went on, and the last write shows. */
	assert_true(r.r_reads >= 3);
	assert_int_equal(vmreg_get(r.r_fx->f_reg, "web1", &doc), 0);
	assert_int_equal(doc.vd_revision, r.r_last_written);
	free(doc.vd_body);
}

struct create_race {
	struct fx *cr_fx;
	pthread_barrier_t *cr_start;
	int cr_rc, cr_errno;
};

static void *
create_racer(void *arg)
{
	struct create_race *cr = arg;
	json_t *spec = spec_new("web1", 1, NULL);
	struct vmreg_doc doc = {0};

	pthread_barrier_wait(cr->cr_start);
	cr->cr_rc =
	    vmreg_create(cr->cr_fx->f_reg, "web1", spec, &owner_1000, &doc);
	cr->cr_errno = errno;
	free(doc.vd_body);
	json_decref(spec);
	return NULL;
}

static void
test_vmreg__racing_creates_of_one_name_let_one_win(void **state)
{
	struct create_race cr[4];
	pthread_barrier_t start;
	pthread_t t[4];
	int i, won = 0;

	pthread_barrier_init(&start, NULL, 4);
	for (i = 0; i < 4; i++) {
		cr[i].cr_fx = *state;
		cr[i].cr_start = &start;
		assert_int_equal(
		    pthread_create(&t[i], NULL, create_racer, &cr[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (cr[i].cr_rc == 0)
			won++;
		else
			assert_int_equal(cr[i].cr_errno, EEXIST);
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(won, 1);
	assert_int_equal(vmreg_count(((struct fx *)*state)->f_reg), 1);
}

/* Creates VM name in jail (a key of its own) as uid 0 there. */
static void
create_in(struct fx *fx, const char *jail, const char *name)
{
	struct vmreg_owner owner = {0, 0, jail};
	json_t *spec = spec_new(name, 1, NULL);
	struct vmreg_doc doc = {0};
	char key[VMKEY_SIZE];

	assert_int_equal(vmkey_make(key, jail, name), 0);
	if (vmreg_create(fx->f_reg, key, spec, &owner, &doc) != 0)
		fail_msg("create %s: %s", key, strerror(errno));
	json_decref(spec);
	free(doc.vd_body);
}

/*
 * The host and each jail are namespaces: web1 of each is its own VM, a
 * jail's list and its cursors are its names, and a VM's owner is in its
 * key's jail or it is not created.
 */
static void
test_vmreg__each_jail_is_a_namespace_of_its_own(void **state)
{
	struct fx *fx = *state;
	struct vmreg_filter f = {NULL, NULL, 0, NULL, 1, NULL, NULL, NULL};
	struct vmreg_owner wrong = {0, 0, "j2"};
	json_t *spec = spec_new("web1", 1, NULL);
	struct vmreg_doc doc = {0};
	uid_t uid;
	char jail[65];
	size_t n;
	struct page pg;

	create(fx, "web1", NULL);
	create_in(fx, "j1", "web1");
	create_in(fx, "j1", "web2");
	create_in(fx, "j2", "web1");
	assert_int_equal(vmreg_count(fx->f_reg), 4);
	assert_int_equal(vmreg_get_owner(fx->f_reg, "web1", &uid, jail), 0);
	assert_int_equal(uid, 1000);
	assert_string_equal(jail, "");
	assert_int_equal(vmreg_get_owner(fx->f_reg, "j1/web1", &uid, jail), 0);
	assert_int_equal(uid, 0);
	assert_string_equal(jail, "j1");
	assert_int_equal(vmreg_count_in_jail(fx->f_reg, "j1", &n), 0);
	assert_int_equal(n, 2);
	/* An owner outside the key's scope: refused, nothing made. */
	assert_int_equal(vmreg_create(fx->f_reg, "j1/web3", spec, &wrong, &doc),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vmreg_count(fx->f_reg), 4);
	/* One jail's list, a page at a time, by name. */
	f.vf_jail = "j1";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "web1");
	assert_string_equal(pg.p_next, "web1");
	f.vf_after = "j1/web1";
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "web2");
	assert_string_equal(pg.p_next, "");
	/* The host's alone; every scope, by key. */
	f.vf_jail = "";
	f.vf_after = NULL;
	f.vf_limit = 10;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "web1");
	f.vf_jail = NULL;
	f.vf_limit = 2;
	list(fx, &f, &pg);
	assert_string_equal(pg.p_names, "web1,web2");
	assert_string_equal(pg.p_next, "j1/web2");
	/* Deleting one web1 leaves the others. */
	assert_int_equal(vmreg_delete(fx->f_reg, "j1/web1", 0), 0);
	assert_int_equal(vmreg_get_owner(fx->f_reg, "web1", &uid, jail), 0);
	assert_int_equal(vmreg_get_owner(fx->f_reg, "j2/web1", &uid, jail), 0);
	assert_int_equal(vmreg_get_owner(fx->f_reg, "j1/web1", &uid, jail), -1);
	json_decref(spec);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_vmreg__create_renders_the_representation),
	    T(test_vmreg__each_jail_is_a_namespace_of_its_own),
	    T(test_vmreg__state_details_render_escaped_and_survive_restart),
	    T(test_vmreg__get_returns_what_create_returned),
	    T(test_vmreg__get_of_missing_vm_is_enoent),
	    T(test_vmreg__create_of_existing_name_is_eexist),
	    T(test_vmreg__replace_publishes_a_new_version),
	    T(test_vmreg__replace_with_current_revision_succeeds),
	    T(test_vmreg__replace_with_stale_revision_is_estale),
	    T(test_vmreg__replace_of_missing_vm_is_enoent),
	    T(test_vmreg__delete_removes_the_vm),
	    T(test_vmreg__delete_with_current_revision_succeeds),
	    T(test_vmreg__delete_with_stale_revision_is_estale),
	    T(test_vmreg__delete_of_missing_vm_is_enoent),
	    T(test_vmreg__delete_of_running_vm_is_ebusy),
	    T(test_vmreg__recreated_name_gets_a_new_revision),
	    T(test_vmreg__revisions_are_unique_across_vms),
	    T(test_vmreg__list_pages_follow_next),
	    T(test_vmreg__list_of_exactly_limit_has_no_next),
	    T(test_vmreg__list_of_nothing_is_empty),
	    T(test_vmreg__list_after_a_missing_name_starts_past_it),
	    T(test_vmreg__list_items_are_the_representations),
	    T(test_vmreg__list_filters_by_state),
	    T(test_vmreg__list_filters_by_every_label_given),
	    T(test_vmreg__filtered_pages_count_only_matches),
	    T(test_vmreg__set_state_publishes_state_and_status),
	    T(test_vmreg__set_state_of_missing_vm_is_enoent),
	    T(test_vmreg__state_filter_sees_set_state_at_once),
	    T(test_vmreg__state_survives_a_restart),
	    T(test_vmreg__definitions_survive_a_restart),
	    T(test_vmreg__revisions_keep_growing_after_a_restart),
	    T(test_vmreg__readers_see_whole_versions_in_order_during_writes),
	    T(test_vmreg__racing_creates_of_one_name_let_one_win),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
