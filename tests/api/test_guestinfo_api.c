/*
 * /v1/vms/{name}/guestinfo: keys through the API — every route, the
 * limits at and past their values, preconditions, access, persistence,
 * and keys going with their VM.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMM_GID 4200
#define MEMBER_UID 4242
#define MEMBER2_UID 4244
#define LIMIT_KEY 128

static const gid_t member_groups[] = {MEMBER_UID, VMM_GID};
static const struct harness_identity member = {MEMBER_UID, MEMBER_UID,
					       member_groups, 2, NULL};
static const gid_t member2_groups[] = {MEMBER2_UID, VMM_GID};
static const struct harness_identity member2 = {MEMBER2_UID, MEMBER2_UID,
						member2_groups, 2, NULL};

/* PUT key of vm to the JSON body given, over the Unix socket as root. */
static struct harness_response *
put_body(struct harness *h, const char *vm, const char *key, const char *body,
	 const char *header)
{
	char *path = harness_alloc(h, 512);

	snprintf(path, 512, "/v1/vms/%s/guestinfo/%s", vm, key);
	return harness_req(h, "PUT", path, body, header, NULL);
}

static struct harness_response *
put(struct harness *h, const char *vm, const char *key, const char *value)
{
	char *body = harness_alloc(h, strlen(value) + 32);

	sprintf(body, "{\"value\":\"%s\"}", value);
	return put_body(h, vm, key, body, NULL);
}

static struct harness_response *
req(struct harness *h, const char *method, const char *vm, const char *key,
    const char *header)
{
	char *path = harness_alloc(h, 512);

	snprintf(path, 512, "/v1/vms/%s/guestinfo%s%s", vm,
		 key != NULL ? "/" : "", key != NULL ? key : "");
	return harness_req(h, method, path, NULL, header, NULL);
}

static void
test_guestinfo__a_key_is_set_read_listed_replaced_and_deleted(struct harness *h)
{
	struct harness_response *r;
	char etag[64];

	harness_define_vm(h, "web1", "hello.bin", "");
	r = put(h, "web1", "metadata", "{\\\"id\\\": 1}");
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1/guestinfo/metadata");
	assert_json_str(r, "key", "metadata");
	assert_json_str(r, "value", "{\"id\": 1}");
	assert_json_str(r, "updated_by", "api");
	snprintf(etag, sizeof(etag), "If-Match: \"%lld\"",
		 (long long)json_integer_value(
		     json_object_get(r->hr_json, "revision")));
	r = req(h, "GET", "web1", "metadata", NULL);
	assert_status(r, 200);
	assert_json_str(r, "value", "{\"id\": 1}");
	/* Replaced under its own ETag; the old one no longer matches. */
	r = put_body(h, "web1", "metadata", "{\"value\":\"two\"}", etag);
	assert_status(r, 200);
	assert_json_str(r, "value", "two");
	assert_problem(
	    put_body(h, "web1", "metadata", "{\"value\":\"3\"}", etag), 412,
	    "If-Match");
	assert_problem(put_body(h, "web1", "metadata", "{\"value\":\"3\"}",
				"If-None-Match: *"),
		       412, "If-None-Match");
	assert_status(put(h, "web1", "role", "web"), 201);
	r = req(h, "GET", "web1", NULL, NULL);
	assert_status(r, 200);
	assert_json_str(r, "metadata", "two");
	assert_json_str(r, "role", "web");
	assert_int_equal(json_object_size(r->hr_json), 2);
	assert_status(req(h, "DELETE", "web1", "role", NULL), 204);
	assert_problem(req(h, "GET", "web1", "role", NULL), 404, NULL);
	assert_problem(req(h, "DELETE", "web1", "role", NULL), 404, NULL);
	r = req(h, "GET", "web1", NULL, NULL);
	assert_int_equal(json_object_size(r->hr_json), 1);
}

static void
test_guestinfo__an_unknown_vm_is_404_on_every_route(struct harness *h)
{
	assert_problem(req(h, "GET", "nope", NULL, NULL), 404, NULL);
	assert_problem(req(h, "GET", "nope", "k", NULL), 404, NULL);
	assert_problem(put(h, "nope", "k", "v"), 404, NULL);
	assert_problem(req(h, "DELETE", "nope", "k", NULL), 404, NULL);
}

static void
test_guestinfo__keys_at_their_limits_and_one_past(struct harness *h)
{
	char key[LIMIT_KEY + 2];
	size_t n = 65536;
	char *value = harness_alloc(h, n + 2), *body;
	struct harness_response *r;

	harness_define_vm(h, "web1", "hello.bin", "");
	memset(key, 'k', LIMIT_KEY);
	key[LIMIT_KEY] = '\0';
	assert_status(put(h, "web1", key, "v"), 201);
	key[LIMIT_KEY] = 'k';
	key[LIMIT_KEY + 1] = '\0';
	assert_problem(put(h, "web1", key, "v"), 400, "key");
	assert_problem(put(h, "web1", ".dot", "v"), 400, "key");
	/* 64 KiB exactly, then one byte more. */
	memset(value, 'x', n);
	value[n] = '\0';
	r = put(h, "web1", "big", value);
	assert_status(r, 201);
	r = req(h, "GET", "web1", "big", NULL);
	assert_int_equal(
	    strlen(json_string_value(json_object_get(r->hr_json, "value"))), n);
	value[n] = 'x';
	value[n + 1] = '\0';
	assert_problem(put(h, "web1", "big", value), 400, "value");
	/* The longest JSON spelling of the longest value still fits. */
	body = harness_alloc(h, 6 * n + 32);
	strcpy(body, "{\"value\":\"");
	for (size_t i = 0; i < n; i++)
		memcpy(body + 10 + 6 * i, "\\u0001", 6);
	strcpy(body + 10 + 6 * n, "\"}");
	assert_status(put_body(h, "web1", "escaped", body, NULL), 201);
	/* Text only: no NUL. */
	assert_problem(
	    put_body(h, "web1", "nul", "{\"value\":\"a\\u0000b\"}", NULL), 400,
	    "value");
	assert_problem(put_body(h, "web1", "num", "{\"value\":1}", NULL), 400,
		       "value");
	assert_problem(
	    put_body(h, "web1", "extra", "{\"value\":\"a\",\"other\":1}", NULL),
	    400, NULL);
	assert_problem(put_body(h, "web1", "empty", "{}", NULL), 400, NULL);
}

static void
test_guestinfo__a_vm_holds_256_keys_and_not_one_more(struct harness *h)
{
	char key[32];
	int i;

	harness_define_vm(h, "web1", "hello.bin", "");
	for (i = 0; i < 256; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_status(put(h, "web1", key, "v"), 201);
	}
	assert_problem(put(h, "web1", "k256", "v"), 409, "key");
	/* Replacing one of them is no new key. */
	assert_status(put(h, "web1", "k7", "w"), 200);
	assert_status(req(h, "DELETE", "web1", "k0", NULL), 204);
	assert_status(put(h, "web1", "k256", "v"), 201);
}

static void
test_guestinfo__keys_survive_a_restart_and_go_with_their_vm(struct harness *h)
{
	struct harness_response *r;

	harness_define_vm(h, "web1", "hello.bin", "");
	assert_status(put(h, "web1", "userdata", "#cloud-config"), 201);
	harness_restart(h);
	r = req(h, "GET", "web1", "userdata", NULL);
	assert_status(r, 200);
	assert_json_str(r, "value", "#cloud-config");
	assert_status(harness_req(h, "DELETE", "/v1/vms/web1", NULL, NULL),
		      204);
	harness_define_vm(h, "web1", "hello.bin", "");
	r = req(h, "GET", "web1", NULL, NULL);
	assert_status(r, 200);
	assert_int_equal(json_object_size(r->hr_json), 0);
}

static void
test_guestinfo__a_key_is_its_vms_owners(struct harness *h)
{
	harness_need_root(h);
	assert_status(harness_req_as(h, &member, "POST", "/v1/vms",
				     "{\"name\":\"mine\",\"memory_mib\":4,"
				     "\"boot\":{\"kind\":\"flat\","
				     "\"image\":\"hello.bin\"}}"),
		      201);
	assert_status(harness_req_as(h, &member, "PUT",
				     "/v1/vms/mine/guestinfo/k",
				     "{\"value\":\"v\"}"),
		      201);
	assert_status(
	    harness_req_as(h, &member, "GET", "/v1/vms/mine/guestinfo/k", NULL),
	    200);
	/* Another member: the creator's rule refuses, naming it. */
	assert_problem(harness_req_as(h, &member2, "GET",
				      "/v1/vms/mine/guestinfo/k", NULL),
		       403, NULL);
	assert_problem(harness_req_as(h, &member2, "PUT",
				      "/v1/vms/mine/guestinfo/k",
				      "{\"value\":\"x\"}"),
		       403, NULL);
	assert_problem(harness_req_as(h, &member2, "DELETE",
				      "/v1/vms/mine/guestinfo/k", NULL),
		       403, NULL);
	/* Root may. */
	assert_status(req(h, "GET", "mine", "k", NULL), 200);
	assert_json_str(req(h, "GET", "mine", "k", NULL), "value", "v");
}

static void
test_guestinfo__a_vm_is_created_with_its_first_keys_or_not_at_all(
    struct harness *h)
{
	size_t n = 65536;
	char *body = harness_alloc(h, n + 256), *value;
	struct harness_response *r;

	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"web1\",\"memory_mib\":4,"
				  "\"boot\":{\"kind\":\"flat\",\"image\":"
				  "\"hello.bin\"},\"guestinfo\":{"
				  "\"metadata\":\"m\",\"userdata\":\"u\"}}",
				  NULL),
		      201);
	r = req(h, "GET", "web1", NULL, NULL);
	assert_json_str(r, "metadata", "m");
	assert_json_str(r, "userdata", "u");
	/* Not part of the definition. */
	assert_null(json_object_get(harness_get(h, "/v1/vms/web1")->hr_json,
				    "guestinfo"));
	/* A bad key, or a value past the limit: no VM either. */
	assert_problem(harness_req(h, "POST", "/v1/vms",
				   "{\"name\":\"web2\",\"boot\":{\"kind\":"
				   "\"flat\",\"image\":\"hello.bin\"},"
				   "\"guestinfo\":{\"-bad\":\"x\"}}",
				   NULL),
		       400, "guestinfo.-bad");
	assert_problem(harness_get(h, "/v1/vms/web2"), 404, NULL);
	value = harness_alloc(h, n + 2);
	memset(value, 'x', n + 1);
	snprintf(body, n + 256,
		 "{\"name\":\"web3\",\"boot\":{\"kind\":\"flat\","
		 "\"image\":\"hello.bin\"},\"guestinfo\":{\"u\":\"%s\"}}",
		 value);
	assert_problem(harness_req(h, "POST", "/v1/vms", body, NULL), 400,
		       "guestinfo.u");
	assert_problem(harness_get(h, "/v1/vms/web3"), 404, NULL);
	/* 64 KiB exactly fits, in the one request. */
	value[n] = '\0';
	snprintf(body, n + 256,
		 "{\"name\":\"web3\",\"boot\":{\"kind\":\"flat\","
		 "\"image\":\"hello.bin\"},\"guestinfo\":{\"u\":\"%s\"}}",
		 value);
	assert_status(harness_req(h, "POST", "/v1/vms", body, NULL), 201);
	/* Later, keys are set one by one. */
	assert_problem(harness_req(h, "PUT", "/v1/vms/web1",
				   "{\"boot\":{\"kind\":\"flat\",\"image\":"
				   "\"hello.bin\"},\"guestinfo\":{}}",
				   NULL),
		       400, "guestinfo");
	assert_problem(harness_req(h, "PATCH", "/v1/vms/web1",
				   "{\"guestinfo\":{\"a\":\"b\"}}",
				   "Content-Type: application/merge-patch+json",
				   NULL),
		       400, "guestinfo");
}

/*
 * Starts vm of jail (NULL: the host's) in monitor mode, as host root, and
 * returns what its console said.
 */
static const char *
run_guest_in(struct harness *h, const char *vm, const char *jail)
{
	char *path = harness_alloc(h, 160);
	struct harness_response *r;

	snprintf(path, 160, "/v1/vms/%s/start?mode=monitor%s%s", vm,
		 jail != NULL ? "&jail=" : "", jail != NULL ? jail : "");
	r = harness_req(h, "POST", path, NULL, NULL);
	assert_status(r, 200);
	return r->hr_body;
}

static const char *
run_guest(struct harness *h, const char *vm)
{
	return run_guest_in(h, vm, NULL);
}

static void
test_guestinfo__the_guest_reads_what_the_api_wrote(struct harness *h)
{
	const char *out;

	harness_put_guest(h, "gi_get");
	harness_put_guest(h, "gi_get_hb");
	harness_define_vm(h, "lo", "gi_get.bin", "");
	harness_define_vm(h, "hb", "gi_get_hb.bin", "");
	assert_status(put(h, "lo", "k1", "from the api"), 201);
	assert_status(put(h, "hb", "k1", "high bandwidth"), 201);
	out = run_guest(h, "lo");
	if (strstr(out, "k1=from the api\n") == NULL)
		fail_msg("low bandwidth: the guest printed \"%s\"", out);
	out = run_guest(h, "hb");
	if (strstr(out, "k1=high bandwidth\n") == NULL)
		fail_msg("high bandwidth: the guest printed \"%s\"", out);
	/* A new value is what the next read sees. */
	assert_status(put(h, "lo", "k1", "second"), 200);
	out = run_guest(h, "lo");
	if (strstr(out, "k1=second\n") == NULL)
		fail_msg("after a PUT: the guest printed \"%s\"", out);
}

static void
test_guestinfo__what_the_guest_sets_the_api_returns(struct harness *h)
{
	struct harness_response *r;
	const char *out;

	harness_put_guest(h, "gi_set");
	harness_define_vm(h, "setter", "gi_set.bin", "");
	out = run_guest(h, "setter");
	if (strstr(out, "1 \n") == NULL)
		fail_msg("the guest's info-set was answered \"%s\"", out);
	r = req(h, "GET", "setter", "fromguest", NULL);
	assert_status(r, 200);
	assert_json_str(r, "value", "hello");
	assert_json_str(r, "updated_by", "guest");
	/* Durable: still there after a restart. */
	harness_restart(h);
	assert_json_str(req(h, "GET", "setter", "fromguest", NULL), "value",
			"hello");
}

/*
 * The host and jail j1 each have a getter and a setter (#14, finding 13):
 * each guest reads its own VM's key and sets its own, never the other
 * scope's VM of the same name, on both sides of a restart.
 */
static void
test_guestinfo__a_jails_guest_reads_and_sets_its_own_vms_keys(struct harness *h)
{
	static const char *const vm_in_j1[] = {
	    "{\"name\":\"getter\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"gi_get.bin\"}}",
	    "{\"name\":\"setter\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"gi_set.bin\"}}",
	};
	struct harness_response *r;
	const char *out;
	size_t i;

	harness_put_guest(h, "gi_get");
	harness_put_guest(h, "gi_set");
	assert_status(
	    harness_req(h, "PUT", "/v1/jails/j1", "{\"allow_vmm\":true}", NULL),
	    201);
	harness_define_vm(h, "getter", "gi_get.bin", "");
	harness_define_vm(h, "setter", "gi_set.bin", "");
	for (i = 0; i < 2; i++)
		assert_status(harness_req(h, "POST", "/v1/vms?jail=j1",
					  vm_in_j1[i], NULL),
			      201);
	assert_status(put(h, "getter", "k1", "the host's"), 201);
	assert_status(
	    put_body(h, "getter", "k1?jail=j1", "{\"value\":\"j1's\"}", NULL),
	    201);
	out = run_guest_in(h, "getter", "j1");
	if (strstr(out, "k1=j1's\n") == NULL)
		fail_msg("j1's getter printed \"%s\"", out);
	out = run_guest(h, "getter");
	if (strstr(out, "k1=the host's\n") == NULL)
		fail_msg("the host's getter printed \"%s\"", out);
	/* j1's setter sets j1's setter's key, not the host's. */
	out = run_guest_in(h, "setter", "j1");
	if (strstr(out, "1 \n") == NULL)
		fail_msg("the guest's info-set was answered \"%s\"", out);
	r = req(h, "GET", "setter", "fromguest?jail=j1", NULL);
	assert_status(r, 200);
	assert_json_str(r, "value", "hello");
	assert_json_str(r, "updated_by", "guest");
	assert_problem(req(h, "GET", "setter", "fromguest", NULL), 404, NULL);
	harness_restart(h);
	assert_json_str(req(h, "GET", "setter", "fromguest?jail=j1", NULL),
			"value", "hello");
	assert_problem(req(h, "GET", "setter", "fromguest", NULL), 404, NULL);
	assert_json_str(req(h, "GET", "getter", "k1", NULL), "value",
			"the host's");
}

/* What a guest may take for a whole run here (gi_big_get moves 64 KiB in
 * 16,385 exits: about a second inside the nested KVM host). */
#define GUEST_RUN_MS (30000L * harness_time_factor())
/* gi_big.inc's parameter: the value's length, a u32 at this offset. */
#define GI_BIG_LEN_OFFSET 4
/* gi_big.inc's value: these 61 characters over and over. */
static const char gi_pattern[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678";

/* Starts vm in monitor mode with room for a long run; its console. */
static const char *
run_guest_long(struct harness *h, const char *vm)
{
	char *path = harness_alloc(h, 128);
	struct harness_request rq;
	struct harness_response *r;

	snprintf(path, 128, "/v1/vms/%s/start?mode=monitor", vm);
	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "POST";
	rq.rq_path = path;
	rq.rq_timeout_ms = GUEST_RUN_MS;
	r = harness_send(h, &rq);
	assert_status(r, 200);
	return r->hr_body;
}

/* gi_big.inc's sum of len bytes, as the guest prints it: "%08X". */
static unsigned long
gi_sum(const char *p, size_t len)
{
	unsigned a = 0, s = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		a = (a + (unsigned char)p[i]) & 0xffff;
		s = (s + a) & 0xffff;
	}
	return (unsigned long)s << 16 | a;
}

static void
test_guestinfo__a_64_kib_value_reaches_the_guest_whole_on_both_paths(
    struct harness *h)
{
	size_t n = 65536, i;
	char *reply = harness_alloc(h, n + 3), *want = harness_alloc(h, 64);
	uint32_t x = 12345;
	const char *out;

	/* Printable ASCII without '"' and '\\' (they would need escaping in
	 * the JSON): no two bytes' order or place can be swapped unseen. */
	memcpy(reply, "1 ", 2);
	for (i = 0; i < n; i++) {
		char c;

		do {
			x = x * 1103515245u + 12345u;
			c = (char)(0x20 + (x >> 16) % 95);
		} while (c == '"' || c == '\\');
		reply[2 + i] = c;
	}
	reply[n + 2] = '\0';
	snprintf(want, 64, "go\nlen=%08zX sum=%08lX\nreply=(%08zX bytes)\n",
		 n + 2, gi_sum(reply, n + 2), n + 2);
	harness_put_guest(h, "gi_big_get");
	harness_put_guest(h, "gi_big_get_hb");
	harness_define_vm(h, "lo", "gi_big_get.bin", "");
	harness_define_vm(h, "hb", "gi_big_get_hb.bin", "");
	assert_status(put(h, "lo", "big", reply + 2), 201);
	assert_status(put(h, "hb", "big", reply + 2), 201);
	out = run_guest_long(h, "hb");
	if (strcmp(out, want) != 0)
		fail_msg("high bandwidth: the guest printed \"%s\", not \"%s\"",
			 out, want);
	out = run_guest_long(h, "lo");
	if (strcmp(out, want) != 0)
		fail_msg("low bandwidth: the guest printed \"%s\", not \"%s\"",
			 out, want);
	/* A short value through the same guest: its text, and the sum
	 * follows the bytes. */
	assert_status(put(h, "hb", "big", "short"), 200);
	snprintf(want, 64, "go\nlen=00000007 sum=%08lX\nreply=1 short\n",
		 gi_sum("1 short", 7));
	out = run_guest_long(h, "hb");
	if (strcmp(out, want) != 0)
		fail_msg("a short value: the guest printed \"%s\"", out);
}

/* gi_big_set or gi_big_set_hb, its value n bytes long, as image name. */
static void
put_big_setter(struct harness *h, const char *guest, const char *name,
	       uint32_t n)
{
	char path[512];
	size_t len;
	char *bin;

	snprintf(path, sizeof(path), "%s/%s.bin", GUESTS_DIR, guest);
	bin = harness_read_file(h, path, &len);
	assert_true(len > GI_BIG_LEN_OFFSET + 4);
	bin[GI_BIG_LEN_OFFSET] = (char)(n & 0xff);
	bin[GI_BIG_LEN_OFFSET + 1] = (char)(n >> 8 & 0xff);
	bin[GI_BIG_LEN_OFFSET + 2] = (char)(n >> 16 & 0xff);
	bin[GI_BIG_LEN_OFFSET + 3] = (char)(n >> 24 & 0xff);
	assert_in_set(harness_put_image(h, name, bin, len)->hr_status,
		      ((const uintmax_t[]){200, 201}), 2);
}

static void
test_guestinfo__a_64_kib_value_the_guest_sets_the_api_returns_whole(
    struct harness *h)
{
	static const char *const guests[] = {"gi_big_set_hb", "gi_big_set"};
	size_t n = 65536, i;
	const char *out, *got;
	struct harness_response *r;
	char img[64];
	unsigned g;

	for (g = 0; g < 2; g++) {
		snprintf(img, sizeof(img), "%s.bin", guests[g]);
		put_big_setter(h, guests[g], img, (uint32_t)n);
		harness_define_vm(h, guests[g], img, "");
		out = run_guest_long(h, guests[g]);
		if (strstr(out, "\nreply=1 \n") == NULL)
			fail_msg("%s's info-set of 64 KiB was answered \"%s\"",
				 guests[g], out);
		r = req(h, "GET", guests[g], "big", NULL);
		assert_status(r, 200);
		assert_json_str(r, "updated_by", "guest");
		got = json_string_value(json_object_get(r->hr_json, "value"));
		assert_non_null(got);
		if (strlen(got) != n)
			fail_msg("%s: the API returned %zu bytes, not %zu",
				 guests[g], strlen(got), n);
		for (i = 0; i < n; i++)
			if (got[i] != gi_pattern[i % 61])
				fail_msg("%s: byte %zu is '%c', not '%c'",
					 guests[g], i, got[i],
					 gi_pattern[i % 61]);
	}
}

static void
test_guestinfo__a_guest_value_one_past_64_kib_is_refused_and_not_stored(
    struct harness *h)
{
	const char *out;

	put_big_setter(h, "gi_big_set_hb", "past.bin", 65536 + 1);
	harness_define_vm(h, "past", "past.bin", "");
	out = run_guest_long(h, "past");
	if (strstr(out, "\nreply=0 Value longer than 65536 bytes\n") == NULL)
		fail_msg("an info-set of 64 KiB + 1 was answered \"%s\"", out);
	assert_problem(req(h, "GET", "past", "big", NULL), 404, NULL);
	/* The 64 KiB one fits in the same VM, over the same channel code. */
	put_big_setter(h, "gi_big_set_hb", "past.bin", 65536);
	out = run_guest_long(h, "past");
	if (strstr(out, "\nreply=1 \n") == NULL)
		fail_msg("an info-set of 64 KiB was answered \"%s\"", out);
	assert_status(req(h, "GET", "past", "big", NULL), 200);
}

static void
test_guestinfo__without_the_channel_the_backdoor_is_an_unknown_port(
    struct harness *h)
{
	const char *out;

	harness_put_guest(h, "gi_version");
	harness_define_vm(h, "on", "gi_version.bin", "");
	harness_define_vm(h, "off", "gi_version.bin",
			  "\"guestinfo_channel\":\"none\"");
	out = run_guest(h, "on");
	if (strstr(out, "eax=00000006 ebx=564D5868") == NULL)
		fail_msg("with the channel the guest printed \"%s\"", out);
	out = run_guest(h, "off");
	if (strstr(out, "eax=FFFFFFFF") == NULL)
		fail_msg("without the channel the guest printed \"%s\"", out);
	assert_problem(harness_req(h, "PATCH", "/v1/vms/off",
				   "{\"guestinfo_channel\":\"telepathy\"}",
				   "Content-Type: application/merge-patch+json",
				   NULL),
		       400, "guestinfo_channel");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_guestinfo__a_key_is_set_read_listed_replaced_and_deleted,
		0),
	    HARNESS_CASE(test_guestinfo__an_unknown_vm_is_404_on_every_route,
			 0),
	    HARNESS_CASE(
		test_guestinfo__a_vm_is_created_with_its_first_keys_or_not_at_all,
		0),
	    HARNESS_CASE(test_guestinfo__keys_at_their_limits_and_one_past, 0),
	    HARNESS_CASE(test_guestinfo__a_vm_holds_256_keys_and_not_one_more,
			 0),
	    HARNESS_CASE(
		test_guestinfo__keys_survive_a_restart_and_go_with_their_vm, 0),
	    HARNESS_CASE(test_guestinfo__the_guest_reads_what_the_api_wrote, 0),
	    HARNESS_CASE(test_guestinfo__what_the_guest_sets_the_api_returns,
			 0),
	    HARNESS_CASE(
		test_guestinfo__a_jails_guest_reads_and_sets_its_own_vms_keys,
		0),
	    HARNESS_CASE(
		test_guestinfo__a_64_kib_value_reaches_the_guest_whole_on_both_paths,
		0),
	    HARNESS_CASE(
		test_guestinfo__a_64_kib_value_the_guest_sets_the_api_returns_whole,
		0),
	    HARNESS_CASE(
		test_guestinfo__a_guest_value_one_past_64_kib_is_refused_and_not_stored,
		0),
	    HARNESS_CASE(
		test_guestinfo__without_the_channel_the_backdoor_is_an_unknown_port,
		0),
	    HARNESS_CASE_ARGS(test_guestinfo__a_key_is_its_vms_owners, 0,
			      "--vmm-group", "4200"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
