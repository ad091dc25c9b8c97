/*
 * /v1/vms and /v1/vms/{name}: create, read, replace, patch, delete, with
 * validation, ETags and preconditions.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HELLO_BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}"
#define WEB1 "{\"name\":\"web1\"," HELLO_BOOT "}"

static struct harness_response *
create_web1(struct harness *h)
{
	struct harness_response *r;

	r = harness_req(h, "POST", "/v1/vms", WEB1, NULL);
	assert_status(r, 201);
	return (r);
}

/* "If-Match: <etag of r>" and the like, in buf. */
static const char *
cond(char *buf, size_t len, const char *name, const struct harness_response *r)
{
	const char *etag = harness_header(r, "ETag");

	assert_non_null(etag);
	snprintf(buf, len, "%s: %s", name, etag);
	return (buf);
}

static void
test_vms__create_returns_201_with_defaults(struct harness *h)
{
	struct harness_response *r = create_web1(h);
	uint64_t etag;

	assert_header(r, "Location", "/v1/vms/web1");
	assert_header(r, "Content-Type", "application/json");
	etag = etag_number(r);
	assert_json_str(r, "name", "web1");
	assert_json_int(r, "vcpus", 1);
	assert_json_int(r, "memory_mib", 64);
	assert_json_str(r, "boot.kind", "flat");
	assert_json_str(r, "boot.image", "hello.bin");
	assert_json_int(r, "boot.load_address", 4096);
	assert_json_int(r, "boot.entry", 4096);
	assert_true(json_is_object(harness_json_at(r->hr_json, "labels")));
	assert_int_equal(
	    json_object_size(harness_json_at(r->hr_json, "labels")), 0);
	assert_true(json_is_array(harness_json_at(r->hr_json, "pptdevs")));
	assert_int_equal(
	    json_array_size(harness_json_at(r->hr_json, "pptdevs")), 0);
	assert_true(json_is_false(harness_json_at(r->hr_json, "autostart")));
	assert_json_str(r, "description", "");
	assert_json_str(r, "status.state", "defined");
	assert_json_int(r, "owner.uid", getuid());
	assert_json_int(r, "owner.gid", getgid());
	assert_json_str(r, "owner.jail", "");
	assert_json_int(r, "generation", 1);
	assert_json_int(r, "revision", (long long)etag);
	assert_true(harness_is_rfc3339(
	    json_string_value(harness_json_at(r->hr_json, "created_at"))));
	assert_true(harness_is_rfc3339(
	    json_string_value(harness_json_at(r->hr_json, "updated_at"))));

	/* What GET returns is what POST returned. */
	r = harness_get(h, "/v1/vms/web1");
	assert_status(r, 200);
	assert_int_equal(etag_number(r), etag);
	assert_json_int(r, "revision", (long long)etag);
}

static void
test_vms__create_duplicate_is_409(struct harness *h)
{
	create_web1(h);
	assert_problem(harness_req(h, "POST", "/v1/vms", WEB1, NULL), 409,
		       NULL);
}

struct bad_spec {
	const char *bs_what;
	const char *bs_body;
	const char *bs_field; /* '*' at the end: a prefix */
};

static void
test_vms__invalid_specs_are_400_with_field(struct harness *h)
{
	static const struct bad_spec cases[] = {
	    {"name starting with a dash", "{\"name\":\"-x\"," HELLO_BOOT "}",
	     "name"},
	    {"name of 65 characters",
	     "{\"name\":"
	     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaa\"," HELLO_BOOT "}",
	     "name"},
	    {"name with a slash", "{\"name\":\"a/b\"," HELLO_BOOT "}", "name"},
	    {"name missing", "{" HELLO_BOOT "}", "name"},
	    {"vcpus 0", "{\"name\":\"x\",\"vcpus\":0," HELLO_BOOT "}", "vcpus"},
	    {"vcpus as a string",
	     "{\"name\":\"x\",\"vcpus\":\"2\"," HELLO_BOOT "}", "vcpus"},
	    {"vcpus fractional",
	     "{\"name\":\"x\",\"vcpus\":1.5," HELLO_BOOT "}", "vcpus"},
	    {"vcpus negative", "{\"name\":\"x\",\"vcpus\":-1," HELLO_BOOT "}",
	     "vcpus"},
	    {"memory 0", "{\"name\":\"x\",\"memory_mib\":0," HELLO_BOOT "}",
	     "memory_mib"},
	    {"unknown field",
	     "{\"name\":\"x\",\"colour\":\"red\"," HELLO_BOOT "}", "colour"},
	    {"boot missing", "{\"name\":\"x\"}", "boot"},
	    {"boot kind floppy",
	     "{\"name\":\"x\",\"boot\":{\"kind\":\"floppy\",\"image\":\"a\"}}",
	     "boot.kind"},
	    {"flat without image",
	     "{\"name\":\"x\",\"boot\":{\"kind\":\"flat\"}}", "boot.image"},
	    {"pptdev slot 32",
	     "{\"name\":\"x\",\"pptdevs\":[\"1/32/0\"]," HELLO_BOOT "}",
	     "pptdevs*"},
	    {"labels not an object",
	     "{\"name\":\"x\",\"labels\":[\"a\"]," HELLO_BOOT "}", "labels"},
	    {"autostart not a boolean",
	     "{\"name\":\"x\",\"autostart\":1," HELLO_BOOT "}", "autostart"},
	};
	struct harness_response *r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].bs_what);
		r = harness_req(h, "POST", "/v1/vms", cases[i].bs_body, NULL);
		assert_problem(r, 400, cases[i].bs_field);
	}
	/* None of them left a VM behind. */
	r = harness_get(h, "/v1/vms");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 0);
}

static void
test_vms__labels_past_the_limit_are_400(struct harness *h)
{
	json_t *doc = json_pack("{s:s, s:{s:s, s:s}}", "name", "lab", "boot",
				"kind", "flat", "image", "hello.bin");
	json_t *labels = json_object();
	struct harness_response *r;
	char key[16], *body;
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		json_object_set_new(labels, key, json_string("v"));
	}
	json_object_set(doc, "labels", labels);

	/* 64 labels: at the limit. */
	body = json_dumps(doc, JSON_COMPACT);
	r = harness_req(h, "POST", "/v1/vms", body, NULL);
	free(body);
	assert_status(r, 201);
	assert_int_equal(
	    json_object_size(harness_json_at(r->hr_json, "labels")), 64);

	/* 65: past it. */
	json_object_set_new(labels, "k64", json_string("v"));
	json_object_set_new(doc, "name", json_string("lab2"));
	body = json_dumps(doc, JSON_COMPACT);
	r = harness_req(h, "POST", "/v1/vms", body, NULL);
	free(body);
	json_decref(labels);
	json_decref(doc);
	assert_problem(r, 400, "labels");
	assert_problem(harness_get(h, "/v1/vms/lab2"), 404, NULL);
}

static void
test_vms__name_of_64_characters_is_accepted(struct harness *h)
{
	char name[65], body[256], path[128];
	struct harness_response *r;

	memset(name, 'a', 64);
	name[0] = 'Z';
	name[10] = '.';
	name[20] = '_';
	name[30] = '-';
	name[63] = '9';
	name[64] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\"," HELLO_BOOT "}", name);
	r = harness_req(h, "POST", "/v1/vms", body, NULL);
	assert_status(r, 201);
	assert_json_str(r, "name", name);
	snprintf(path, sizeof(path), "/v1/vms/%s", name);
	assert_header(r, "Location", path);
	assert_status(harness_get(h, path), 200);
}

static json_int_t
limit_of(struct harness *h, const char *which)
{
	struct harness_response *r = harness_get(h, "/v1");
	char path[64];

	assert_status(r, 200);
	snprintf(path, sizeof(path), "limits.%s", which);
	assert_true(json_is_integer(harness_json_at(r->hr_json, path)));
	return (json_integer_value(harness_json_at(r->hr_json, path)));
}

static void
test_vms__vcpus_at_the_limit_is_accepted_and_past_it_400(struct harness *h)
{
	json_int_t max = limit_of(h, "vcpus");
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"name\":\"past\",\"vcpus\":%" JSON_INTEGER_FORMAT
		 "," HELLO_BOOT "}",
		 max + 1);
	assert_problem(harness_req(h, "POST", "/v1/vms", body, NULL), 400,
		       "vcpus");
	snprintf(body, sizeof(body),
		 "{\"name\":\"at\",\"vcpus\":%" JSON_INTEGER_FORMAT
		 "," HELLO_BOOT "}",
		 max);
	assert_status(harness_req(h, "POST", "/v1/vms", body, NULL), 201);
}

static void
test_vms__memory_at_the_limit_is_accepted_and_past_it_400(struct harness *h)
{
	json_int_t max = limit_of(h, "memory_mib");
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"name\":\"past\",\"memory_mib\":%" JSON_INTEGER_FORMAT
		 "," HELLO_BOOT "}",
		 max + 1);
	assert_problem(harness_req(h, "POST", "/v1/vms", body, NULL), 400,
		       "memory_mib");
	snprintf(body, sizeof(body),
		 "{\"name\":\"at\",\"memory_mib\":%" JSON_INTEGER_FORMAT
		 "," HELLO_BOOT "}",
		 max);
	assert_status(harness_req(h, "POST", "/v1/vms", body, NULL), 201);
}

#define RACERS 16

struct racer {
	struct harness *r_h;
	pthread_barrier_t *r_barrier;
	void *r_curl;  /* the thread's own handle */
	long r_status; /* -1: no response */
};

static void *
racer_main(void *arg)
{
	struct racer *rc = arg;
	struct harness_request rq = {0};
	struct harness_response rs;
	const char *headers[] = {"Content-Type: application/json", NULL};

	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms";
	rq.rq_headers = headers;
	rq.rq_body = WEB1;
	rq.rq_body_len = strlen(WEB1);
	rc->r_status = -1;
	pthread_barrier_wait(rc->r_barrier);
	if (harness_fetch(rc->r_h, rc->r_curl, &rq, &rs) == 0) {
		rc->r_status = rs.hr_status;
		harness_response_clear(&rs);
	}
	return (NULL);
}

static void
test_vms__concurrent_creates_of_one_name_give_one_201(struct harness *h)
{
	struct racer racers[RACERS];
	pthread_t tids[RACERS];
	pthread_barrier_t barrier;
	struct harness_response *r;
	int i, created = 0, conflicts = 0;

	pthread_barrier_init(&barrier, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		racers[i].r_h = h;
		racers[i].r_barrier = &barrier;
		racers[i].r_curl = harness_curl_new();
		assert_int_equal(
		    pthread_create(&tids[i], NULL, racer_main, &racers[i]), 0);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(tids[i], NULL);
		harness_curl_free(racers[i].r_curl);
	}
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < RACERS; i++) {
		if (racers[i].r_status == 201)
			created++;
		else if (racers[i].r_status == 409)
			conflicts++;
		else
			print_error("racer %d: status %ld\n", i,
				    racers[i].r_status);
	}
	assert_int_equal(created, 1);
	assert_int_equal(conflicts, RACERS - 1);
	r = harness_get(h, "/v1/vms");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 1);
	assert_json_int(r, "items.0.generation", 1);
}

static void
test_vms__get_gives_etag_and_if_none_match_gives_304(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;
	char hdr[128];

	r = harness_get(h, "/v1/vms/web1");
	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	assert_header(r, "ETag", harness_header(c, "ETag"));
	assert_true(json_equal(r->hr_json, c->hr_json));

	r = harness_req(h, "GET", "/v1/vms/web1", NULL,
			cond(hdr, sizeof(hdr), "If-None-Match", c), NULL);
	assert_status(r, 304);
	assert_int_equal(r->hr_body_len, 0);
	assert_header(r, "ETag", harness_header(c, "ETag"));

	r = harness_req(h, "GET", "/v1/vms/web1", NULL,
			"If-None-Match: \"999999999\"", NULL);
	assert_status(r, 200);
	assert_json_str(r, "name", "web1");

	/* A list of tags that holds the current one matches too. */
	snprintf(hdr, sizeof(hdr), "If-None-Match: \"999999999\", %s",
		 harness_header(c, "ETag"));
	r = harness_req(h, "GET", "/v1/vms/web1", NULL, hdr, NULL);
	assert_status(r, 304);
}

static void
test_vms__head_gives_etag_without_a_body(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "HEAD", "/v1/vms/web1", NULL, NULL);
	assert_status(r, 200);
	assert_header(r, "ETag", harness_header(c, "ETag"));
	assert_int_equal(r->hr_body_len, 0);
}

static void
test_vms__get_unknown_is_404(struct harness *h)
{
	assert_problem(harness_get(h, "/v1/vms/nope"), 404, NULL);
	/* An invalid name cannot exist either. */
	assert_true(harness_get(h, "/v1/vms/-bad")->hr_status / 100 == 4);
}

#define NEW1_V1 "{" HELLO_BOOT "}"
#define NEW1_V2 "{\"vcpus\":2," HELLO_BOOT "}"
#define NEW1_V3 "{\"vcpus\":2,\"memory_mib\":128," HELLO_BOOT "}"

static void
test_vms__put_creates_then_replaces(struct harness *h)
{
	struct harness_response *r1, *r2;

	r1 = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, NULL);
	assert_status(r1, 201);
	assert_header(r1, "Location", "/v1/vms/new1");
	assert_json_str(r1, "name", "new1");
	assert_json_int(r1, "generation", 1);
	assert_json_int(r1, "vcpus", 1);

	r2 = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V2, NULL);
	assert_status(r2, 200);
	assert_json_int(r2, "generation", 2);
	assert_json_int(r2, "vcpus", 2);
	assert_true(etag_number(r2) > etag_number(r1));
	assert_json_int(r2, "revision", (long long)etag_number(r2));
	/* Replacing keeps what the server owns. */
	assert_json_str(
	    r2, "created_at",
	    json_string_value(harness_json_at(r1->hr_json, "created_at")));
	assert_json_int(r2, "owner.uid", getuid());

	r1 = harness_get(h, "/v1/vms/new1");
	assert_status(r1, 200);
	assert_header(r1, "ETag", harness_header(r2, "ETag"));
	assert_json_int(r1, "vcpus", 2);
}

static void
test_vms__put_with_stale_etag_is_412(struct harness *h)
{
	struct harness_response *old, *cur, *r;
	char hdr[128];

	old = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, NULL);
	assert_status(old, 201);
	cur = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V2, NULL);
	assert_status(cur, 200);

	r = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V3,
			cond(hdr, sizeof(hdr), "If-Match", old), NULL);
	assert_problem(r, 412, NULL);
	r = harness_get(h, "/v1/vms/new1");
	assert_header(r, "ETag", harness_header(cur, "ETag"));
	assert_json_int(r, "vcpus", 2);

	r = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V3,
			cond(hdr, sizeof(hdr), "If-Match", cur), NULL);
	assert_status(r, 200);
	assert_json_int(r, "memory_mib", 128);
	assert_json_int(r, "generation", 3);
}

static void
test_vms__put_if_match_star_on_missing_vm_is_412(struct harness *h)
{
	assert_problem(
	    harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, "If-Match: *", NULL),
	    412, NULL);
	assert_problem(harness_get(h, "/v1/vms/new1"), 404, NULL);
}

static void
test_vms__put_if_match_star_on_existing_vm_replaces(struct harness *h)
{
	assert_status(harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, NULL),
		      201);
	assert_status(
	    harness_req(h, "PUT", "/v1/vms/new1", NEW1_V2, "If-Match: *", NULL),
	    200);
}

static void
test_vms__put_if_none_match_star_on_existing_vm_is_412(struct harness *h)
{
	struct harness_response *c, *r;

	c = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, NULL);
	assert_status(c, 201);
	r = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V2, "If-None-Match: *",
			NULL);
	assert_problem(r, 412, NULL);
	r = harness_get(h, "/v1/vms/new1");
	assert_header(r, "ETag", harness_header(c, "ETag"));
}

static void
test_vms__put_if_none_match_star_on_missing_vm_creates(struct harness *h)
{
	struct harness_response *r;

	r = harness_req(h, "PUT", "/v1/vms/new1", NEW1_V1, "If-None-Match: *",
			NULL);
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/new1");
}

static void
test_vms__put_with_another_name_in_the_body_is_400(struct harness *h)
{
	struct harness_response *r;

	r = harness_req(h, "PUT", "/v1/vms/new1",
			"{\"name\":\"other\"," HELLO_BOOT "}", NULL);
	assert_problem(r, 400, "name");
	assert_problem(harness_get(h, "/v1/vms/new1"), 404, NULL);
	assert_problem(harness_get(h, "/v1/vms/other"), 404, NULL);
	/* The same name as the URL is fine. */
	r = harness_req(h, "PUT", "/v1/vms/new1",
			"{\"name\":\"new1\"," HELLO_BOOT "}", NULL);
	assert_status(r, 201);
}

static void
test_vms__put_of_a_fetched_document_is_200(struct harness *h)
{
	struct harness_response *g, *r;
	char *body;

	create_web1(h);
	g = harness_get(h, "/v1/vms/web1");
	assert_status(g, 200);
	/* Everything GET gave, read-only fields included, goes back. */
	body = json_dumps(g->hr_json, JSON_COMPACT);
	assert_non_null(body);
	r = harness_req(h, "PUT", "/v1/vms/web1", body, NULL);
	free(body);
	assert_status(r, 200);
	assert_json_str(r, "name", "web1");
	assert_json_str(r, "status.state", "defined");
	assert_json_int(r, "vcpus", 1);
	assert_json_str(r, "boot.image", "hello.bin");
	assert_json_str(
	    r, "created_at",
	    json_string_value(harness_json_at(g->hr_json, "created_at")));
}

static void
test_vms__put_with_changed_read_only_fields_ignores_them(struct harness *h)
{
	struct harness_response *g, *r;
	json_t *doc;
	char *body;

	create_web1(h);
	g = harness_get(h, "/v1/vms/web1");
	doc = json_deep_copy(g->hr_json);
	json_object_set_new(doc, "generation", json_integer(77));
	json_object_set_new(doc, "revision", json_integer(123456));
	json_object_set_new(doc, "status",
			    json_pack("{s:s}", "state", "running"));
	json_object_set_new(doc, "vcpus", json_integer(2));
	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	r = harness_req(h, "PUT", "/v1/vms/web1", body, NULL);
	free(body);
	assert_status(r, 200);
	assert_json_int(r, "vcpus", 2);
	assert_json_int(r, "generation", 2);
	assert_json_str(r, "status.state", "defined");
	assert_json_int(r, "revision", (long long)etag_number(r));
}

static void
test_vms__put_invalid_spec_is_400_and_changes_nothing(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "PUT", "/v1/vms/web1",
			"{\"vcpus\":0," HELLO_BOOT "}", NULL);
	assert_problem(r, 400, "vcpus");
	r = harness_get(h, "/v1/vms/web1");
	assert_header(r, "ETag", harness_header(c, "ETag"));
	assert_json_int(r, "generation", 1);
}

#define MERGE "Content-Type: application/merge-patch+json"

static void
test_vms__patch_merges_labels(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"labels\":{\"env\":\"prod\"}}", MERGE, NULL);
	assert_status(r, 200);
	assert_json_str(r, "labels.env", "prod");
	assert_json_int(r, "generation", 2);
	assert_true(etag_number(r) > etag_number(c));

	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"labels\":{\"tier\":\"web\"}}", MERGE, NULL);
	assert_status(r, 200);
	assert_json_str(r, "labels.env", "prod");
	assert_json_str(r, "labels.tier", "web");
	/* Members the patch does not name stay. */
	assert_json_str(r, "boot.image", "hello.bin");

	r = harness_get(h, "/v1/vms/web1");
	assert_json_str(r, "labels.env", "prod");
	assert_json_str(r, "labels.tier", "web");
}

static void
test_vms__patch_with_null_removes_a_label(struct harness *h)
{
	struct harness_response *r;

	create_web1(h);
	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"labels\":{\"env\":\"prod\",\"tier\":\"web\"}}",
			MERGE, NULL);
	assert_status(r, 200);
	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"labels\":{\"env\":null}}", MERGE, NULL);
	assert_status(r, 200);
	assert_null(harness_json_at(r->hr_json, "labels.env"));
	assert_json_str(r, "labels.tier", "web");
	r = harness_get(h, "/v1/vms/web1");
	assert_null(harness_json_at(r->hr_json, "labels.env"));
}

static void
test_vms__patch_with_plain_json_is_415(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"labels\":{\"env\":\"prod\"}}", NULL);
	assert_problem(r, 415, NULL);
	r = harness_get(h, "/v1/vms/web1");
	assert_header(r, "ETag", harness_header(c, "ETag"));
}

static void
test_vms__patch_of_status_or_name_is_400(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "PATCH", "/v1/vms/web1",
			"{\"status\":{\"state\":\"running\"}}", MERGE, NULL);
	assert_problem(r, 400, "status");
	r = harness_req(h, "PATCH", "/v1/vms/web1", "{\"name\":\"web2\"}",
			MERGE, NULL);
	assert_problem(r, 400, "name");
	r = harness_get(h, "/v1/vms/web1");
	assert_header(r, "ETag", harness_header(c, "ETag"));
	assert_problem(harness_get(h, "/v1/vms/web2"), 404, NULL);
}

static void
test_vms__patch_to_an_invalid_spec_is_400_and_changes_nothing(struct harness *h)
{
	struct harness_response *c = create_web1(h), *r;

	r = harness_req(h, "PATCH", "/v1/vms/web1", "{\"vcpus\":0}", MERGE,
			NULL);
	assert_problem(r, 400, "vcpus");
	r = harness_req(h, "PATCH", "/v1/vms/web1", "{\"boot\":null}", MERGE,
			NULL);
	assert_problem(r, 400, "boot");
	r = harness_get(h, "/v1/vms/web1");
	assert_status(r, 200);
	assert_header(r, "ETag", harness_header(c, "ETag"));
	assert_json_int(r, "revision", (long long)etag_number(c));
	assert_json_int(r, "vcpus", 1);
	assert_json_int(r, "generation", 1);
}

static void
test_vms__patch_with_stale_etag_is_412(struct harness *h)
{
	struct harness_response *c = create_web1(h), *cur, *r;
	char hdr[128];

	cur = harness_req(h, "PATCH", "/v1/vms/web1", "{\"vcpus\":2}", MERGE,
			  NULL);
	assert_status(cur, 200);
	r = harness_req(h, "PATCH", "/v1/vms/web1", "{\"memory_mib\":128}",
			MERGE, cond(hdr, sizeof(hdr), "If-Match", c), NULL);
	assert_problem(r, 412, NULL);
	r = harness_get(h, "/v1/vms/web1");
	assert_header(r, "ETag", harness_header(cur, "ETag"));
	r = harness_req(h, "PATCH", "/v1/vms/web1", "{\"memory_mib\":128}",
			MERGE, cond(hdr, sizeof(hdr), "If-Match", cur), NULL);
	assert_status(r, 200);
	assert_json_int(r, "memory_mib", 128);
	assert_json_int(r, "vcpus", 2);
}

static void
test_vms__patch_of_an_unknown_vm_is_404(struct harness *h)
{
	assert_problem(harness_req(h, "PATCH", "/v1/vms/nope", "{\"vcpus\":2}",
				   MERGE, NULL),
		       404, NULL);
}

static void
test_vms__delete_is_204_then_404(struct harness *h)
{
	struct harness_response *r;

	create_web1(h);
	r = harness_req(h, "DELETE", "/v1/vms/web1", NULL, NULL);
	assert_status(r, 204);
	assert_int_equal(r->hr_body_len, 0);
	assert_problem(harness_get(h, "/v1/vms/web1"), 404, NULL);
	assert_problem(harness_req(h, "DELETE", "/v1/vms/web1", NULL, NULL),
		       404, NULL);
	/* The name is free again. */
	create_web1(h);
}

static void
test_vms__delete_with_stale_etag_is_412(struct harness *h)
{
	struct harness_response *c = create_web1(h), *cur, *r;
	char hdr[128];

	cur = harness_req(h, "PATCH", "/v1/vms/web1", "{\"vcpus\":2}", MERGE,
			  NULL);
	assert_status(cur, 200);
	r = harness_req(h, "DELETE", "/v1/vms/web1", NULL,
			cond(hdr, sizeof(hdr), "If-Match", c), NULL);
	assert_problem(r, 412, NULL);
	assert_status(harness_get(h, "/v1/vms/web1"), 200);
	r = harness_req(h, "DELETE", "/v1/vms/web1", NULL,
			cond(hdr, sizeof(hdr), "If-Match", cur), NULL);
	assert_status(r, 204);
	assert_problem(harness_get(h, "/v1/vms/web1"), 404, NULL);
}

static void
test_vms__revisions_grow_across_all_vms(struct harness *h)
{
	struct harness_response *a, *b, *a2;

	a = harness_req(h, "PUT", "/v1/vms/a", NEW1_V1, NULL);
	assert_status(a, 201);
	b = harness_req(h, "PUT", "/v1/vms/b", NEW1_V1, NULL);
	assert_status(b, 201);
	assert_true(etag_number(b) > etag_number(a));
	a2 = harness_req(h, "PUT", "/v1/vms/a", NEW1_V2, NULL);
	assert_status(a2, 200);
	assert_true(etag_number(a2) > etag_number(b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_vms__create_returns_201_with_defaults, 0),
	    HARNESS_CASE(test_vms__create_duplicate_is_409, 0),
	    HARNESS_CASE(test_vms__invalid_specs_are_400_with_field, 0),
	    HARNESS_CASE(test_vms__labels_past_the_limit_are_400, 0),
	    HARNESS_CASE(test_vms__name_of_64_characters_is_accepted, 0),
	    HARNESS_CASE(
		test_vms__vcpus_at_the_limit_is_accepted_and_past_it_400, 0),
	    HARNESS_CASE(
		test_vms__memory_at_the_limit_is_accepted_and_past_it_400, 0),
	    HARNESS_CASE(test_vms__concurrent_creates_of_one_name_give_one_201,
			 0),
	    HARNESS_CASE(test_vms__get_gives_etag_and_if_none_match_gives_304,
			 0),
	    HARNESS_CASE(test_vms__head_gives_etag_without_a_body, 0),
	    HARNESS_CASE(test_vms__get_unknown_is_404, 0),
	    HARNESS_CASE(test_vms__put_creates_then_replaces, 0),
	    HARNESS_CASE(test_vms__put_with_stale_etag_is_412, 0),
	    HARNESS_CASE(test_vms__put_if_match_star_on_missing_vm_is_412, 0),
	    HARNESS_CASE(test_vms__put_if_match_star_on_existing_vm_replaces,
			 0),
	    HARNESS_CASE(test_vms__put_if_none_match_star_on_existing_vm_is_412,
			 0),
	    HARNESS_CASE(test_vms__put_if_none_match_star_on_missing_vm_creates,
			 0),
	    HARNESS_CASE(test_vms__put_with_another_name_in_the_body_is_400, 0),
	    HARNESS_CASE(test_vms__put_of_a_fetched_document_is_200, 0),
	    HARNESS_CASE(
		test_vms__put_with_changed_read_only_fields_ignores_them, 0),
	    HARNESS_CASE(test_vms__put_invalid_spec_is_400_and_changes_nothing,
			 0),
	    HARNESS_CASE(test_vms__patch_merges_labels, 0),
	    HARNESS_CASE(test_vms__patch_with_null_removes_a_label, 0),
	    HARNESS_CASE(test_vms__patch_with_plain_json_is_415, 0),
	    HARNESS_CASE(test_vms__patch_of_status_or_name_is_400, 0),
	    HARNESS_CASE(
		test_vms__patch_to_an_invalid_spec_is_400_and_changes_nothing,
		0),
	    HARNESS_CASE(test_vms__patch_with_stale_etag_is_412, 0),
	    HARNESS_CASE(test_vms__patch_of_an_unknown_vm_is_404, 0),
	    HARNESS_CASE(test_vms__delete_is_204_then_404, 0),
	    HARNESS_CASE(test_vms__delete_with_stale_etag_is_412, 0),
	    HARNESS_CASE(test_vms__revisions_grow_across_all_vms, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
