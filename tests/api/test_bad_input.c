/*
 * Bad input (issue #14, "In the tree, for good"): a table of malformed
 * requests — broken JSON, wrong types, huge numbers, negative sizes,
 * overlong names and labels, control characters and invalid UTF-8, path
 * traversal, percent-encoding tricks, NUL bytes, duplicate JSON keys,
 * deep nesting, wrong methods, missing and oversized bodies, bogus
 * If-Match, bad cursors and queries, and raw framing tricks — each sent
 * to one daemon as host root (so that no refusal is the policy's), each
 * expected to get one specific 4xx as application/problem+json.  After
 * all of them the daemon still answers, and what the database holds
 * (VMs, images, guestinfo, tokens, jails) is byte for byte what it was.
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HELLO_BOOT                                                             \
	"\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."      \
	"bin\"}"

/* A body: a literal, or pre + n copies of c + mid + n2 copies of c2 +
 * post, made at run time (the long and deep ones). */
struct bad_body {
	const char *bb_pre;
	char bb_c;
	size_t bb_n;
	const char *bb_mid;
	char bb_c2;
	size_t bb_n2;
	const char *bb_post;
	int bb_none; /* no body at all */
};
#define LIT(s)                                                                 \
	{                                                                      \
		s, 0, 0, "", 0, 0, "", 0                                       \
	}
#define NOBODY                                                                 \
	{                                                                      \
		"", 0, 0, "", 0, 0, "", 1                                      \
	}
#define GEN1(pre, c, n, post)                                                  \
	{                                                                      \
		pre, c, n, "", 0, 0, post, 0                                   \
	}
#define GEN2(pre, c, n, mid, c2, n2, post)                                     \
	{                                                                      \
		pre, c, n, mid, c2, n2, post, 0                                \
	}

struct bad_case {
	const char *bc_method;
	const char *bc_path;
	const char *bc_type;   /* Content-Type; NULL: application/json */
	const char *bc_header; /* one more header line, or NULL */
	struct bad_body bc_body;
	long bc_status;
	const char *bc_slug; /* /v1/problems/SLUG */
};

static const struct bad_case bad_cases[] = {
    {"POST", "/v1/vms", NULL, NULL, LIT("{"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("["), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("nul"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":\"a\",}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{'name':'a'}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":\"a\"} x"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":\"a\"}}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\" \"a\"}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":tru}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{,}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":01}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":1.}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":.5}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":+1}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":0x10}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":NaN}"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":Infinity}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":\"\\x\"}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"a\":\"\\u12\"}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("\"a string\""), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("[1,2]"), 400, "validation"},
    {"POST", "/v1/vms", NULL, NULL, LIT("42"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("null"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, LIT("true"), 400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":\"1\",\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":1.5,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":true,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":null,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":[1],\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"labels\":[],\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"labels\":{\"a\":1},\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"autostart\":1,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"autostart\":\"true\",\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"description\":5,\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"pptdevs\":{},\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"pptdevs\":[1],\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"on_reboot\":\"explode\",\"memory_mib\":4,\"boot\":"
	 "{\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"guestinfo_channel\":7,\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":\"4\",\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":\"flat\"}"), 400,
     "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":5,\"image\":"
	 "\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":7}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"floppy\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL, LIT("{\"name\":\"n1\",\"memory_mib\":4}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\",\"extra\":1}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":1,\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":"
	 "\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"bogus_field\":1}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":1e30,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":99999999999999999999,\"memory_mib\":4,"
	 "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":100000,\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":0,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":-1,\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"vcpus\":4294967297,\"memory_mib\":4,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":18446744073709551616,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":9223372036854775807,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":-4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":0,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":1e400,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4.5,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\",\"load_address\":-1}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\",\"load_address\":18446744073709551615}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\",\"load_address\":\"0x1000\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\",\"entry\":-5}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":"
	 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
	 ",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."
	 "bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\".a\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"-a\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a "
	 "b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."
	 "bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a/"
	 "b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."
	 "bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"..\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a\\u0000b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"\xe9t\xe9\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a\\nb\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a%2fb\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a:b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"labels\":{"
	 "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	 "kkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"labels\":{\"k\":"
	 "\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	 "vvvvvvvvvvvvvvvvvvvvvvvvvv\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"labels\":{\"bad key\":\"v\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"labels\":{\"k0\":\"v\",\"k1\":\"v\","
	 "\"k2\":\"v\",\"k3\":\"v\",\"k4\":\"v\",\"k5\":\"v\",\"k6\":\"v\","
	 "\"k7\":\"v\",\"k8\":\"v\",\"k9\":\"v\",\"k10\":\"v\",\"k11\":\"v\","
	 "\"k12\":\"v\",\"k13\":\"v\",\"k14\":\"v\",\"k15\":\"v\",\"k16\":"
	 "\"v\",\"k17\":\"v\",\"k18\":\"v\",\"k19\":\"v\",\"k20\":\"v\","
	 "\"k21\":\"v\",\"k22\":\"v\",\"k23\":\"v\",\"k24\":\"v\",\"k25\":"
	 "\"v\",\"k26\":\"v\",\"k27\":\"v\",\"k28\":\"v\",\"k29\":\"v\","
	 "\"k30\":\"v\",\"k31\":\"v\",\"k32\":\"v\",\"k33\":\"v\",\"k34\":"
	 "\"v\",\"k35\":\"v\",\"k36\":\"v\",\"k37\":\"v\",\"k38\":\"v\","
	 "\"k39\":\"v\",\"k40\":\"v\",\"k41\":\"v\",\"k42\":\"v\",\"k43\":"
	 "\"v\",\"k44\":\"v\",\"k45\":\"v\",\"k46\":\"v\",\"k47\":\"v\","
	 "\"k48\":\"v\",\"k49\":\"v\",\"k50\":\"v\",\"k51\":\"v\",\"k52\":"
	 "\"v\",\"k53\":\"v\",\"k54\":\"v\",\"k55\":\"v\",\"k56\":\"v\","
	 "\"k57\":\"v\",\"k58\":\"v\",\"k59\":\"v\",\"k60\":\"v\",\"k61\":"
	 "\"v\",\"k62\":\"v\",\"k63\":\"v\",\"k64\":\"v\",\"k65\":\"v\","
	 "\"k66\":\"v\",\"k67\":\"v\",\"k68\":\"v\",\"k69\":\"v\",\"k70\":"
	 "\"v\",\"k71\":\"v\",\"k72\":\"v\",\"k73\":\"v\",\"k74\":\"v\","
	 "\"k75\":\"v\",\"k76\":\"v\",\"k77\":\"v\",\"k78\":\"v\",\"k79\":"
	 "\"v\",\"k80\":\"v\",\"k81\":\"v\",\"k82\":\"v\",\"k83\":\"v\","
	 "\"k84\":\"v\",\"k85\":\"v\",\"k86\":\"v\",\"k87\":\"v\",\"k88\":"
	 "\"v\",\"k89\":\"v\",\"k90\":\"v\",\"k91\":\"v\",\"k92\":\"v\","
	 "\"k93\":\"v\",\"k94\":\"v\",\"k95\":\"v\",\"k96\":\"v\",\"k97\":"
	 "\"v\",\"k98\":\"v\",\"k99\":\"v\",\"k100\":\"v\",\"k101\":\"v\","
	 "\"k102\":\"v\",\"k103\":\"v\",\"k104\":\"v\",\"k105\":\"v\",\"k106\":"
	 "\"v\",\"k107\":\"v\",\"k108\":\"v\",\"k109\":\"v\",\"k110\":\"v\","
	 "\"k111\":\"v\",\"k112\":\"v\",\"k113\":\"v\",\"k114\":\"v\",\"k115\":"
	 "\"v\",\"k116\":\"v\",\"k117\":\"v\",\"k118\":\"v\",\"k119\":\"v\","
	 "\"k120\":\"v\",\"k121\":\"v\",\"k122\":\"v\",\"k123\":\"v\",\"k124\":"
	 "\"v\",\"k125\":\"v\",\"k126\":\"v\",\"k127\":\"v\",\"k128\":\"v\","
	 "\"k129\":\"v\",\"k130\":\"v\",\"k131\":\"v\",\"k132\":\"v\",\"k133\":"
	 "\"v\",\"k134\":\"v\",\"k135\":\"v\",\"k136\":\"v\",\"k137\":\"v\","
	 "\"k138\":\"v\",\"k139\":\"v\",\"k140\":\"v\",\"k141\":\"v\",\"k142\":"
	 "\"v\",\"k143\":\"v\",\"k144\":\"v\",\"k145\":\"v\",\"k146\":\"v\","
	 "\"k147\":\"v\",\"k148\":\"v\",\"k149\":\"v\",\"k150\":\"v\",\"k151\":"
	 "\"v\",\"k152\":\"v\",\"k153\":\"v\",\"k154\":\"v\",\"k155\":\"v\","
	 "\"k156\":\"v\",\"k157\":\"v\",\"k158\":\"v\",\"k159\":\"v\",\"k160\":"
	 "\"v\",\"k161\":\"v\",\"k162\":\"v\",\"k163\":\"v\",\"k164\":\"v\","
	 "\"k165\":\"v\",\"k166\":\"v\",\"k167\":\"v\",\"k168\":\"v\",\"k169\":"
	 "\"v\",\"k170\":\"v\",\"k171\":\"v\",\"k172\":\"v\",\"k173\":\"v\","
	 "\"k174\":\"v\",\"k175\":\"v\",\"k176\":\"v\",\"k177\":\"v\",\"k178\":"
	 "\"v\",\"k179\":\"v\",\"k180\":\"v\",\"k181\":\"v\",\"k182\":\"v\","
	 "\"k183\":\"v\",\"k184\":\"v\",\"k185\":\"v\",\"k186\":\"v\",\"k187\":"
	 "\"v\",\"k188\":\"v\",\"k189\":\"v\",\"k190\":\"v\",\"k191\":\"v\","
	 "\"k192\":\"v\",\"k193\":\"v\",\"k194\":\"v\",\"k195\":\"v\",\"k196\":"
	 "\"v\",\"k197\":\"v\",\"k198\":\"v\",\"k199\":\"v\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     GEN1("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	  "\"image\":\"hello.bin\"},\"description\":\"",
	  'd', 2000, "\"}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"guestinfo\":{\"bad key!\":\"v\"}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"guestinfo\":{\"k\":5}}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"guestinfo\":[]}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a\x01"
	 "b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."
	 "bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"a\xff"
	 "b\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"hello."
	 "bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"\\ud800\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"description\":\"\xc3(\",\"memory_mib\":4,\"boot\":"
	 "{\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("\xef\xbb\xbf{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"name\":\"n2\",\"memory_mib\":4,\"boot\":{\"kind\":"
	 "\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"memory_mib\":8,\"boot\":{"
	 "\"kind\":\"flat\",\"image\":\"hello.bin\"}}"),
     400, "malformed-json"},
    {"PATCH", "/v1/vms/good", "application/merge-patch+json", NULL,
     LIT("{\"description\":\"a\",\"description\":\"b\"}"), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL, GEN2("", '[', 5000, "", ']', 5000, ""), 400,
     "malformed-json"},
    {"POST", "/v1/vms", NULL, NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"},\"description\":[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"),
     400, "validation"},
    {"PATCH", "/v1/vms/good", "application/merge-patch+json", NULL,
     GEN2("{\"labels\":", '[', 3000, "", ']', 3000, "}"), 400,
     "malformed-json"},
    /* LIMIT_JSON_DEPTH (128) levels parse, one more does not. */
    {"POST", "/v1/vms", NULL, NULL,
     GEN2("{\"name\":\"d1\",\"description\":", '[', 127, "", ']', 127, "}"),
     400, "validation"},
    {"POST", "/v1/vms", NULL, NULL,
     GEN2("{\"name\":\"d1\",\"description\":", '[', 128, "", ']', 128, "}"),
     400, "malformed-json"},
    {"GET", "/v1/vms/..%2f..%2fetc%2fpasswd", NULL, NULL, NOBODY, 404,
     "not-found"},
    {"GET", "/v1/images/%2e%2e%2fvmmapid.db", NULL, NULL, NOBODY, 404,
     "not-found"},
    {"PUT", "/v1/images/..%2fx", "application/octet-stream", NULL, LIT("abc"),
     404, "not-found"},
    {"PUT", "/v1/images/%2e%2e", "application/octet-stream", NULL, LIT("abc"),
     400, "validation"},
    {"DELETE", "/v1/images/.hidden", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/vms/a%2Fb", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/vms/%zz", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/vms/good%00x", NULL, NULL, NOBODY, 400, "malformed-request"},
    {"POST", "/v1/vms/good/start?mode=monitor%00x", NULL, NULL, NOBODY, 400,
     "malformed-request"},
    {"GET", "/v1/vms?after=a%00", NULL, NULL, NOBODY, 400, "malformed-request"},
    {"GET", "/v1/vms/%ff%fe", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/nothing/here", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/vms/good/nothing", NULL, NULL, NOBODY, 404, "not-found"},
    {"DELETE", "/v1/vms", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"PATCH", "/v1/images/hello.bin", NULL, NULL, NOBODY, 405,
     "method-not-allowed"},
    {"POST", "/v1/health", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"PUT", "/v1", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"DELETE", "/v1/health", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"POST", "/v1/vms/good", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"PUT", "/v1/vms/good/start", NULL, NULL, NOBODY, 405,
     "method-not-allowed"},
    {"GET", "/v1/vms/good/stop", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"DELETE", "/v1/audit", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"PATCH", "/v1/tokens", NULL, NULL, NOBODY, 405, "method-not-allowed"},
    {"POST", "/v1/vms", NULL, NULL, LIT(""), 400, "body-required"},
    {"PUT", "/v1/vms/n1", NULL, NULL, LIT(""), 400, "body-required"},
    {"PATCH", "/v1/vms/good", "application/merge-patch+json", NULL, LIT(""),
     400, "body-required"},
    {"PUT", "/v1/images/x.bin", "application/octet-stream", NULL, LIT(""), 400,
     "body-required"},
    {"POST", "/v1/tokens", NULL, NULL, LIT(""), 400, "body-required"},
    {"PUT", "/v1/vms/good/guestinfo/k1", NULL, NULL, LIT(""), 400,
     "body-required"},
    {"POST", "/v1/vms", NULL, NULL,
     GEN1("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	  "\"image\":\"hello.bin\"},\"description\":\"",
	  'd', 500000, "\"}"),
     413, "body-too-large"},
    {"PATCH", "/v1/vms/good", "application/merge-patch+json", NULL,
     GEN1("{\"description\":\"", 'd', 70000, "\"}"), 413, "body-too-large"},
    {"POST", "/v1/tokens", NULL, NULL,
     GEN1("{\"uid\":1,\"x\":\"", 'x', 70000, "\"}"), 413, "body-too-large"},
    {"POST", "/v1/vms", "text/plain", NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     415, "unsupported-media-type"},
    {"PATCH", "/v1/vms/good", "text/plain", NULL,
     LIT("{\"description\":\"x\"}"), 415, "unsupported-media-type"},
    {"POST", "/v1/vms", "application/x-www-form-urlencoded", NULL,
     LIT("{\"name\":\"n1\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     415, "unsupported-media-type"},
    {"PUT", "/v1/vms/good", NULL, "If-Match: \"999999\"",
     LIT("{\"name\":\"good\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     412, "precondition-failed"},
    {"PUT", "/v1/vms/good", NULL, "If-Match: garbage",
     LIT("{\"name\":\"good\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     412, "precondition-failed"},
    {"PUT", "/v1/vms/good", NULL, "If-None-Match: \"1\"",
     LIT("{\"name\":\"good\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     400, "invalid-header"},
    {"PUT", "/v1/vms/good", NULL, "If-None-Match: *",
     LIT("{\"name\":\"good\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\","
	 "\"image\":\"hello.bin\"}}"),
     412, "precondition-failed"},
    {"PATCH", "/v1/vms/good", "application/merge-patch+json",
     "If-Match: W/\"1\"", LIT("{\"description\":\"x\"}"), 412,
     "precondition-failed"},
    {"DELETE", "/v1/vms/good", NULL, "If-Match: \"0\"", NOBODY, 412,
     "precondition-failed"},
    {"GET", "/v1/vms?after=%ff%fe", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?after=!!!notacursor", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"GET", "/v1/vms?limit=-1", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?limit=abc", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?limit=100000", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?limit=", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?limit=1&limit=2", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"GET", "/v1/vms?state=bogus", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?label=novalue", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?label==v", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms?unknown=1", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET",
     "/v1/"
     "vms?after="
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaa",
     NULL, NULL, NOBODY, 400, "invalid-query"},
    {"POST", "/v1/vms/good/stop?force=maybe", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"POST", "/v1/vms/good/stop?timeout=-1", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"POST", "/v1/vms/good/stop?timeout=99999", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"POST", "/v1/vms/good/stop?timeout=1e3", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"POST", "/v1/vms/good/stop?bogus=1", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"POST", "/v1/vms/good/start?mode=bogus", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"GET", "/v1/vms/good/console?follow=2", NULL, NULL, NOBODY, 400,
     "invalid-query"},
    {"GET", "/v1/audit?limit=-5", NULL, NULL, NOBODY, 400, "invalid-query"},
    {"GET", "/v1/vms/good/vcpus/0/registers?groups=bogus", NULL, NULL, NOBODY,
     400, "invalid-query"},
    {"PUT", "/v1/vms/good/guestinfo/bad%20key", "application/octet-stream",
     NULL, LIT("v"), 415, "unsupported-media-type"},
    {"PUT", "/v1/vms/good/guestinfo/k1", "application/octet-stream", NULL,
     GEN1("", 'v', 70000, ""), 415, "unsupported-media-type"},
    {"GET", "/v1/vms/good/vcpus/abc", NULL, NULL, NOBODY, 404, "not-found"},
    {"GET", "/v1/vms/good/vcpus/99999999999999999999", NULL, NULL, NOBODY, 404,
     "not-found"},
    {"POST", "/v1/tokens", NULL, NULL, LIT("{\"uid\":-5}"), 400, "validation"},
    {"POST", "/v1/tokens", NULL, NULL, LIT("{\"uid\":\"x\"}"), 400,
     "validation"},
    {"POST", "/v1/tokens", NULL, NULL, LIT("{\"uid\":0,\"groups\":\"x\"}"), 400,
     "validation"},
    {"PUT", "/v1/jails/bad..name!", NULL, NULL, LIT("{\"allow_vmm\":true}"),
     400, "validation"},
    {"PUT", "/v1/jails/j1", NULL, NULL, LIT("{\"allow_vmm\":\"yes\"}"), 400,
     "validation"},
    {"PUT", "/v1/jails/j1", NULL, NULL,
     LIT("{\"allow_vmm\":true,\"socket\":\"relative/path\"}"), 400,
     "validation"},
    {"PUT", "/v1/pptdevs/a/b/c", NULL, NULL, NOBODY, 400, "validation"},
    {"PUT", "/v1/pptdevs/999/99/9", NULL, NULL, NOBODY, 400, "validation"},
    {"PUT", "/v1/vms/good/vcpus/0/registers", NULL, NULL,
     LIT("{\"gprs\":{\"rax\":\"x\"}}"), 400, "validation"},
    {"POST", "/v1/vms/good/vcpus/0/interrupt", NULL, NULL,
     LIT("{\"type\":\"bogus\"}"), 400, "validation"},
    {"POST", "/v1/vms/good/console", "application/octet-stream", NULL, LIT(""),
     400, "body-required"},
};

/* The body of c, malloc'd (NUL-terminated past *len), or NULL. */
static char *
bad_body_make(const struct bad_body *b, size_t *len)
{
	size_t pre = strlen(b->bb_pre), mid = strlen(b->bb_mid);
	size_t post = strlen(b->bb_post);
	char *s, *p;

	*len = pre + b->bb_n + mid + b->bb_n2 + post;
	if (b->bb_none || (s = malloc(*len + 1)) == NULL)
		return NULL;
	p = s;
	memcpy(p, b->bb_pre, pre);
	p += pre;
	memset(p, b->bb_c, b->bb_n);
	p += b->bb_n;
	memcpy(p, b->bb_mid, mid);
	p += mid;
	memset(p, b->bb_c2, b->bb_n2);
	p += b->bb_n2;
	memcpy(p, b->bb_post, post);
	p[post] = '\0';
	return s;
}

/* Raw framing tricks: sent as bytes, each expected to be answered 400
 * malformed-request (or libmicrohttpd's own 400) and the connection
 * closed. */
static const char *const bad_raw[] = {
    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    "Content-Length: 3\r\nContent-Type: application/json\r\n\r\n{}",
    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "GET /v1/vms HTTP/1.1\r\n\r\n",
    "GET /v1/vms HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}",
    "POST /v1/vms HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
};

/* Sends raw bytes and reads the answer's first line: 1 when it is a 400. */
static int
bad_raw_is_400(struct harness *h, const char *rq, char *buf, size_t len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->h_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fail_msg("connect: %s", strerror(errno));
	if (write(fd, rq, strlen(rq)) != (ssize_t)strlen(rq))
		fail_msg("write: %s", strerror(errno));
	pfd.fd = fd;
	pfd.events = POLLIN;
	buf[0] = '\0';
	while (got + 1 < len && poll(&pfd, 1, 3000) > 0 &&
	       (n = read(fd, buf + got, len - got - 1)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	close(fd);
	return strncmp(buf, "HTTP/1.1 400 ", 13) == 0 ||
	       strncmp(buf, "HTTP/1.0 400 ", 13) == 0;
}

/* What the database holds, as the API shows it, in one string. */
static char *
bad_snapshot(struct harness *h)
{
	static const char *const paths[] = {
	    "/v1/vms",    "/v1/vms/good", "/v1/vms/good/guestinfo",
	    "/v1/images", "/v1/tokens",   "/v1/jails",
	};
	size_t i, len = 0;
	char *s = NULL;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct harness_response *r = harness_get(h, paths[i]);
		const char *etag = harness_header(r, "ETag");
		size_t add;

		assert_status(r, 200);
		add = strlen(paths[i]) + r->hr_body_len +
		      (etag != NULL ? strlen(etag) : 0) + 4;
		s = realloc(s, len + add + 1);
		assert_non_null(s);
		len +=
		    (size_t)snprintf(s + len, add + 1, "%s\n%s\n%s\n", paths[i],
				     etag != NULL ? etag : "", r->hr_body);
	}
	return s;
}

static void
test_bad_input__every_malformed_request_is_a_specific_4xx_and_changes_nothing(
    struct harness *h)
{
	size_t i, n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	size_t nraw = sizeof(bad_raw) / sizeof(bad_raw[0]);
	char *before, *after, why[512], buf[512];
	int failed = 0;

	harness_put_guest(h, "hello");
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"good\"," HELLO_BOOT
				  ",\"labels\":{\"env\":\"test\"},"
				  "\"guestinfo\":{\"k1\":\"v1\"}}",
				  NULL),
		      201);
	before = bad_snapshot(h);
	for (i = 0; i < n; i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *headers[3] = {NULL, NULL, NULL};
		struct harness_request rq = {0};
		struct harness_response *r;
		char ctype[128], type[96];
		const char *mismatch;
		size_t blen = 0;
		char *body = bad_body_make(&c->bc_body, &blen);
		int k = 0;

		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 c->bc_type != NULL ? c->bc_type : "application/json");
		if (body != NULL)
			headers[k++] = ctype;
		if (c->bc_header != NULL)
			headers[k++] = c->bc_header;
		rq.rq_method = c->bc_method;
		rq.rq_path = c->bc_path;
		rq.rq_headers = headers;
		rq.rq_body = body;
		rq.rq_body_len = blen;
		r = harness_send(h, &rq);
		free(body);
		mismatch = harness_problem_mismatch(r, c->bc_status, NULL, why,
						    sizeof(why));
		snprintf(type, sizeof(type), "/v1/problems/%s", c->bc_slug);
		if (mismatch == NULL &&
		    (r->hr_json == NULL ||
		     !json_is_string(json_object_get(r->hr_json, "type")) ||
		     strcmp(
			 json_string_value(json_object_get(r->hr_json, "type")),
			 type) != 0)) {
			snprintf(why, sizeof(why), "type is not %s", type);
			mismatch = why;
		}
		if (mismatch != NULL) {
			print_error(
			    "bad_cases[%zu]: %s %.80s: expected %ld %s: "
			    "%s (got %ld: %.200s)\n",
			    i, c->bc_method, c->bc_path, c->bc_status,
			    c->bc_slug, mismatch, r->hr_status, r->hr_body);
			failed++;
		}
	}
	for (i = 0; i < nraw; i++) {
		if (!bad_raw_is_400(h, bad_raw[i], buf, sizeof(buf))) {
			print_error("bad_raw[%zu]: expected a 400, got: "
				    "\"%.200s\"\n",
				    i, buf);
			failed++;
		}
	}
	/* Alive, and nothing written. */
	assert_status(harness_get(h, "/v1/health"), 200);
	after = bad_snapshot(h);
	if (strcmp(before, after) != 0) {
		print_error("the database changed:\n--- before\n%s\n--- "
			    "after\n%s\n",
			    before, after);
		failed++;
	}
	free(before);
	free(after);
	if (failed > 0)
		fail_msg("%d of %zu malformed requests were not answered as "
			 "expected (above)",
			 failed, n + nraw + 1);
	print_message("%zu malformed requests and %zu raw framing tricks: "
		      "each its 4xx; the daemon alive; the database as it "
		      "was\n",
		      n, nraw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_bad_input__every_malformed_request_is_a_specific_4xx_and_changes_nothing,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
