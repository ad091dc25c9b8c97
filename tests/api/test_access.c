/*
 * Who may do what (docs/access.md), through the real daemon with real
 * credentials: each request of another user is sent from a forked child
 * that has taken that uid and those groups (harness_as()), so the daemon
 * sees them through SO_PEERCRED and SO_PEERGROUPS as it would any local
 * user's.  The rules themselves are one table, access_rows, of callers,
 * requests and answers; the cases after it are what a table does not
 * say: a monitor-mode run's lifetime, the running limit, rules changed
 * while the daemon runs, the group looked up by name, jail-scoped tokens
 * over TCP, tokens' expiry and revocation, the bootstrap admin token.
 *
 * Every daemon runs with --vmm-group 4200 (a gid: no /etc/group entry is
 * needed).  uid 4242 is a vmm member, as its primary group or as a
 * supplementary one; 4244 another member; 4243 is in no such group.
 *
 * These cases need root (to take other identities) and are skipped,
 * with the reason counted, without it; those that run guests run on
 * every driver the host has (harness.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "sysfs_tree.h"

#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif

#define VMM_GID 4200
#define MEMBER_UID 4242
#define OTHER_UID 4243
#define MEMBER2_UID 4244
/*
 * The group of the jails' socket directory: a jail's socket is its
 * directory's owner's and group's, mode 0660 (docs/security.md), so every
 * caller of a jail here has it, as a jail's users would.  It means nothing
 * else to the daemon.
 */
#define JAILSOCK_GID 4290

/* Bound for a guest to reach a state it reaches by itself. */
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */
/* A monitor-mode run ends this soon after its client goes ("~1 s"). */
#define MONITOR_END_MS 1500
/* A monitor-mode request may stay open this long in a case. */
#define MONITOR_TIMEOUT_MS 60000

#define VMM_ARGS "--vmm-group", "4200"

static const gid_t vmm_groups[] = {VMM_GID};
static const gid_t member_groups[] = {MEMBER_UID, VMM_GID};
static const gid_t other_groups[] = {OTHER_UID, 100};

/* A vmm member by its primary group, with no supplementary groups. */
static const struct harness_identity member_primary = {MEMBER_UID, VMM_GID,
						       vmm_groups, 0, NULL};
/* A vmm member by a supplementary group only. */
static const struct harness_identity member = {MEMBER_UID, MEMBER_UID,
					       member_groups, 2, NULL};
static const struct harness_identity member2 = {MEMBER2_UID, MEMBER2_UID,
						vmm_groups, 1, NULL};
static const struct harness_identity other = {OTHER_UID, OTHER_UID,
					      other_groups, 2, NULL};
/* The non-member with the vmm group added. */
static const gid_t joined_groups[] = {OTHER_UID, VMM_GID};
static const struct harness_identity joined = {OTHER_UID, OTHER_UID,
					       joined_groups, 2, NULL};
static const struct harness_identity root_id = {0, 0, NULL, 0, NULL};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static const char *
json_str(const struct harness_response *r, const char *dotted)
{
	return json_string_value(harness_json_at(r->hr_json, dotted));
}

/*
 * A problem with status s whose detail names each of the NULL-ended
 * needles: a refusal must say which rule refused.
 */
static void
assert_problem_naming(const struct harness_response *r, long s, ...)
{
	const char *detail, *needle;
	va_list ap;

	assert_problem(r, s, NULL);
	detail = json_str(r, "detail");
	va_start(ap, s);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (detail == NULL || strstr(detail, needle) == NULL)
			fail_msg("%s %s -> %ld: the detail does not name "
				 "\"%s\": %s",
				 r->hr_method, r->hr_path, r->hr_status, needle,
				 r->hr_body);
	va_end(ap);
}

#define assert_forbidden(r, ...)                                               \
	assert_problem_naming(r, 403, __VA_ARGS__, (const char *)NULL)
#define assert_not_found(r, ...)                                               \
	assert_problem_naming(r, 404, __VA_ARGS__, (const char *)NULL)

/*
 * The identity id, connecting to the Unix socket sock instead; on a
 * jail's socket (not h's own), with JAILSOCK_GID added to its groups.
 */
static struct harness_identity
via(const struct harness_identity *id, const char *sock)
{
	static gid_t groups[64][8];
	static int next;
	struct harness_identity v = *id;
	gid_t *g;

	v.hi_sock = sock;
	if (sock == NULL || strstr(sock, "/jails/") == NULL)
		return v;
	assert_true(id->hi_ngroups < 8);
	g = groups[next++ % 64];
	if (id->hi_ngroups > 0)
		memcpy(g, id->hi_groups,
		       sizeof(gid_t) * (size_t)id->hi_ngroups);
	g[id->hi_ngroups] = JAILSOCK_GID;
	v.hi_groups = g;
	v.hi_ngroups = id->hi_ngroups + 1;
	return v;
}

/* A VM spec booting image spin.bin, 4 MiB; extra: more members or "". */
static const char *
vm_body(struct harness *h, const char *name, const char *extra)
{
	char *body = harness_alloc(h, 512);

	snprintf(body, 512,
		 "{\"name\":\"%s\",\"memory_mib\":4,\"boot\":{\"kind\":"
		 "\"flat\",\"image\":\"spin.bin\"}%s%s}",
		 name, extra[0] != '\0' ? "," : "", extra);
	return body;
}

/* POST /v1/vms as id (NULL: host root over h's socket); 201 expected. */
static void
define_as(struct harness *h, const struct harness_identity *id,
	  const char *name)
{
	struct harness_response *r;

	if (id == NULL)
		r = harness_req(h, "POST", "/v1/vms", vm_body(h, name, ""),
				NULL);
	else
		r = harness_req_as(h, id, "POST", "/v1/vms",
				   vm_body(h, name, ""));
	assert_status(r, 201);
}

/*
 * What keeps r from being a VM list of exactly the names in want
 * (space-separated, in any order; "" for none): a sentence (in buf, or a
 * constant), or NULL when it is that list.
 */
static const char *
list_mismatch(const struct harness_response *r, const char *want, char *buf,
	      size_t len)
{
	const json_t *items = harness_json_at(r->hr_json, "items"), *item;
	char names[512], *name, *save;
	size_t i, nwant = 0;
	int found;

	if (!json_is_array(items))
		return ("no items");
	snprintf(names, sizeof(names), "%s", want);
	for (name = strtok_r(names, " ", &save); name != NULL;
	     name = strtok_r(NULL, " ", &save)) {
		nwant++;
		found = 0;
		json_array_foreach (items, i, item) {
			const char *n =
			    json_string_value(json_object_get(item, "name"));

			found |= n != NULL && strcmp(n, name) == 0;
		}
		if (!found) {
			snprintf(buf, len, "VM %s is not listed", name);
			return (buf);
		}
	}
	if (json_array_size(items) != nwant) {
		snprintf(buf, len, "%zu VMs listed, expected %zu (%s)",
			 json_array_size(items), nwant, want);
		return (buf);
	}
	return (NULL);
}

/* A 200 listing exactly the VMs named in want (see list_mismatch()). */
static void
assert_list(const struct harness_response *r, const char *want)
{
	const char *what;
	char buf[256];

	assert_status(r, 200);
	what = list_mismatch(r, want, buf, sizeof(buf));
	if (what != NULL)
		fail_msg("%s %s: %s: %s", r->hr_method, r->hr_path, what,
			 r->hr_body);
}

/* POST /v1/vms/name/start?mode=monitor as id, left running. */
static struct harness_child *
monitor_start(struct harness *h, const struct harness_identity *id,
	      const char *name, size_t max_bytes)
{
	char *path = harness_alloc(h, 256);
	struct harness_request rq;

	snprintf(path, 256, "/v1/vms/%s/start?mode=monitor", name);
	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "POST";
	rq.rq_path = path;
	rq.rq_timeout_ms = MONITOR_TIMEOUT_MS;
	return harness_as_open(h, id, &rq, max_bytes);
}

/* Waits (as host root) for VM name to be stopped; returns how long. */
static long long
wait_stopped(struct harness *h, const char *name, long long since)
{
	harness_wait_vm_state(h, name, "stopped", WAIT_MS);
	return now_ms() - since;
}

/*
 * DIR/jails/name.sock, h's; DIR/jails is root's, group JAILSOCK_GID, as a
 * jail's socket directory would be the jail's.
 */
static const char *
jail_sock(struct harness *h, const char *name)
{
	char *p = harness_alloc(h, HARNESS_PATH_MAX);

	snprintf(p, HARNESS_PATH_MAX, "%s/jails", h->h_dir);
	if (mkdir(p, 0750) == 0)
		assert_int_equal(chown(p, 0, JAILSOCK_GID), 0);
	snprintf(p, HARNESS_PATH_MAX, "%s/jails/%s.sock", h->h_dir, name);
	return p;
}

/* PUT /v1/jails/name as host root; sock NULL: no socket. */
static void
put_jail(struct harness *h, const char *name, int allow_vmm, int allow_ppt,
	 const char *sock, long want)
{
	char body[256], path[128];
	struct harness_response *r;

	snprintf(body, sizeof(body),
		 "{\"allow_vmm\":%s,\"allow_vmm_ppt\":%s%s%s%s}",
		 allow_vmm ? "true" : "false", allow_ppt ? "true" : "false",
		 sock != NULL ? ",\"socket\":\"" : "", sock != NULL ? sock : "",
		 sock != NULL ? "\"" : "");
	snprintf(path, sizeof(path), "/v1/jails/%s", name);
	r = harness_req(h, "PUT", path, body, NULL);
	assert_status(r, want);
}

/* ---- the table of docs/access.md ---- */

/*
 * Who asks in the table: an identity, on the host's socket or a jail's.
 * j1 has allow_vmm, j0 nothing, jp allow_vmm and allow_vmm_ppt.
 */
enum access_as {
	AS_ROOT,
	AS_MEMBER,
	AS_MEMBERP,
	AS_MEMBER2,
	AS_OTHER,
	AS_JOINED,
	AS_J1ROOT,
	AS_J1MEMBER,
	AS_J0ROOT,
	AS_JPROOT,
	AS_JPMEMBER,
	AS_COUNT
};

static const struct access_caller {
	const char *ac_name; /* for failure messages */
	const struct harness_identity *ac_id;
	const char *ac_jail; /* the jail whose socket it uses, or NULL */
} access_callers[AS_COUNT] = {
    [AS_ROOT] = {"host root", &root_id, NULL},
    [AS_MEMBER] = {"member 4242", &member, NULL},
    [AS_MEMBERP] = {"member 4242 by primary gid", &member_primary, NULL},
    [AS_MEMBER2] = {"member 4244", &member2, NULL},
    [AS_OTHER] = {"non-member 4243", &other, NULL},
    [AS_JOINED] = {"4243 given the vmm group", &joined, NULL},
    [AS_J1ROOT] = {"root in j1", &root_id, "j1"},
    [AS_J1MEMBER] = {"member 4242 in j1", &member, "j1"},
    [AS_J0ROOT] = {"root in j0 (no allow_vmm)", &root_id, "j0"},
    [AS_JPROOT] = {"root in jp (allow_vmm_ppt)", &root_id, "jp"},
    [AS_JPMEMBER] = {"member 4242 in jp", &member, "jp"},
};

/*
 * One request of the table and what must come back.  A body that starts
 * with '{' goes as JSON (a merge patch for PATCH), another as bytes.
 */
struct access_row {
	enum access_as ar_as;
	const char *ar_method;
	const char *ar_path;
	const char *ar_body; /* or NULL */
	long ar_status;
	/* A problem's detail (another answer's body) holds it, or NULL. */
	const char *ar_says;
	/* "dotted=value ..." the JSON answer holds (json_mismatch()). */
	const char *ar_json;
	/* A VM list holding exactly these names ("" none), or NULL. */
	const char *ar_list;
};

/* The rule each refusal names (api/policy.c). */
#define SEE(uid, vm) "only the creator (uid " #uid ") or root may see VM " vm
#define ACT(uid, vm) "only the creator (uid " #uid ") or root may act on VM " vm
#define NO_GROUP "uid 4243 is neither root nor in the vmm group (gid 4200)"
#define NO_DEFINE                                                              \
	"only root and members of the vmm group (gid 4200) may define VMs"
#define MONITOR_ONLY "uid 4242 may run VMs only in monitor mode"
#define NO_PPT "PCI passthrough needs root"
#define NO_VMM(jail) "jail " jail " lacks allow_vmm"
#define ADMIN_ONLY "only host root may manage tokens, jails and the audit log"
#define ROOT_ONLY_THERE ADMIN_ONLY " (root in a jail is root only there)"
#define IMAGES_ROOT "only host root may upload or delete images"
/* What the hello guest prints: a monitor-mode start streamed it. */
#define HELLO "Hello from vmmapid guest"
#define AUTOSTART ",\"autostart\":true"
#define NO_AUTOSTART(vm, uid)                                                  \
	"VM " vm " cannot have autostart: its owner, uid " uid                 \
	", may not run VMs detached"

/* A VM spec booting image (spin or hello), 4 MiB; with one PCI device. */
#define VM_SPEC(name, image, extra)                                            \
	"{\"name\":\"" name "\",\"memory_mib\":4,\"boot\":{\"kind\":\"flat\"," \
	"\"image\":\"" image ".bin\"}" extra "}"
#define VM(name, image) VM_SPEC(name, image, "")
#define VM_PPT(name) VM_SPEC(name, "spin", ",\"pptdevs\":[\"0/31/0\"]")

/* A refusal with nothing more to check than the rule it names. */
#define REFUSED(as, method, path, body, says)                                  \
	{                                                                      \
		as, method, path, body, 403, says, NULL, NULL                  \
	}
/* The eight requests of tokens, jails and the audit log, refused. */
#define ADMIN_REFUSED(as, says)                                                \
	REFUSED(as, "GET", "/v1/tokens", NULL, says),                          \
	    REFUSED(as, "POST", "/v1/tokens", "{\"uid\":0}", says),            \
	    REFUSED(as, "DELETE",                                              \
		    "/v1/tokens/0123456789abcdef0123456789abcdef", NULL,       \
		    says),                                                     \
	    REFUSED(as, "GET", "/v1/jails", NULL, says),                       \
	    REFUSED(as, "GET", "/v1/jails/jx", NULL, says),                    \
	    REFUSED(as, "PUT", "/v1/jails/jx", "{\"allow_vmm\":true}", says),  \
	    REFUSED(as, "DELETE", "/v1/jails/jx", NULL, says),                 \
	    REFUSED(as, "GET", "/v1/audit", NULL, says)

/*
 * docs/access.md's rules, walked in order by one case on one daemon: the
 * rows that succeed make the VMs later rows ask about.  Host VMs: rootvm
 * (root's), pptvm (root's, with a device), mine, mine2, minep, minep2
 * (uid 4242's), theirs (4244's); jail VMs: j1vm (j1 root's), j1mine
 * (4242's in j1), jpvm (jp root's, with a device).  409 means the policy
 * let the request through and the VM's state refused it.
 */
static const struct access_row access_rows[] = {
    /* PCI devices (a generated sysfs tree with 0000:00:1f.0): host
     * root's, and a jail root's with allow_vmm_ppt; 403 before 404. */
    {AS_MEMBER, "PUT", "/v1/pptdevs/0/0/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/pptdevs", NULL, 403, NO_PPT, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/pptdevs/loader.conf", NULL, 403, NO_PPT, NULL,
     NULL},
    {AS_MEMBER, "GET", "/v1/pptdevs/0/31/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_MEMBER, "DELETE", "/v1/pptdevs/0/31/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_MEMBER, "PUT", "/v1/pptdevs/999/0/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_OTHER, "PUT", "/v1/pptdevs/0/31/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_OTHER, "GET", "/v1/pptdevs", NULL, 403, NO_PPT, NULL, NULL},
    {AS_J1ROOT, "PUT", "/v1/pptdevs/0/31/0", NULL, 403,
     "jail j1 lacks allow_vmm_ppt", NULL, NULL},
    {AS_J1ROOT, "GET", "/v1/pptdevs", NULL, 403, "jail j1 lacks allow_vmm_ppt",
     NULL, NULL},
    {AS_J0ROOT, "GET", "/v1/pptdevs", NULL, 403, NO_VMM("j0"), NULL, NULL},
    {AS_JPMEMBER, "PUT", "/v1/pptdevs/0/31/0", NULL, 403, NO_PPT, NULL, NULL},
    {AS_ROOT, "GET", "/v1/pptdevs/0/31/0", NULL, 200, NULL, "reserved=false",
     NULL},
    {AS_ROOT, "PUT", "/v1/pptdevs/0/0/0", NULL, 404, "0/0/0", NULL, NULL},
    {AS_ROOT, "PUT", "/v1/pptdevs/0/31/0", NULL, 201, NULL, "reserved=true",
     NULL},
    {AS_JPROOT, "PUT", "/v1/pptdevs/0/31/0", NULL, 200, NULL, "reserved=true",
     NULL},
    {AS_JPROOT, "GET", "/v1/pptdevs", NULL, 200, NULL, "items.0.pptdev=0/31/0",
     NULL},
    {AS_JPROOT, "GET", "/v1/pptdevs/loader.conf", NULL, 200, NULL, NULL, NULL},
    {AS_ROOT, "GET", "/v1/pptdevs/loader.conf", NULL, 200, NULL, NULL, NULL},
    /* Defining: root and vmm members; the VM is its creator's. */
    {AS_ROOT, "POST", "/v1/vms", VM("rootvm", "spin"), 201, NULL,
     "owner.uid=0 owner.jail=", NULL},
    {AS_ROOT, "POST", "/v1/vms", VM_PPT("pptvm"), 201, NULL, "pptdevs=1", NULL},
    {AS_MEMBER, "POST", "/v1/vms", VM("mine", "hello"), 201, NULL,
     "owner.uid=4242 owner.gid=4242 owner.jail=", NULL},
    {AS_MEMBER, "PUT", "/v1/vms/mine2", VM("mine2", "spin"), 201, NULL,
     "owner.uid=4242", NULL},
    {AS_MEMBERP, "POST", "/v1/vms", VM("minep", "spin"), 201, NULL,
     "owner.uid=4242 owner.gid=4200 owner.jail=", NULL},
    {AS_MEMBERP, "PUT", "/v1/vms/minep2", VM("minep2", "spin"), 201, NULL,
     "owner.uid=4242", NULL},
    {AS_MEMBER2, "POST", "/v1/vms", VM("theirs", "spin"), 201, NULL,
     "owner.uid=4244", NULL},
    {AS_OTHER, "POST", "/v1/vms", VM("nope", "spin"), 403, NO_DEFINE, NULL,
     NULL},
    {AS_OTHER, "PUT", "/v1/vms/nope", VM("nope", "spin"), 403, NO_DEFINE, NULL,
     NULL},
    {AS_ROOT, "GET", "/v1/vms/nope", NULL, 404, "nope", NULL, NULL},
    /* Passthrough, in a new spec or added to one's own: root's. */
    {AS_MEMBER, "POST", "/v1/vms", VM_PPT("ppt"), 403, NO_PPT, "field=pptdevs",
     NULL},
    {AS_MEMBER, "PUT", "/v1/vms/ppt", VM_PPT("ppt"), 403, NO_PPT,
     "field=pptdevs", NULL},
    {AS_MEMBER, "PATCH", "/v1/vms/mine", "{\"pptdevs\":[\"0/31/0\"]}", 403,
     NO_PPT, "field=pptdevs", NULL},
    {AS_ROOT, "GET", "/v1/vms/ppt", NULL, 404, "ppt", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/mine", NULL, 200, NULL, "pptdevs=0", NULL},
    /* Autostart is a detached start at the daemon's start-up: only for
     * VMs whose owner may start them detached (#14, finding 4). */
    {AS_MEMBER, "POST", "/v1/vms", VM_SPEC("auto", "spin", AUTOSTART), 403,
     NO_AUTOSTART("auto", "4242"), "field=autostart", NULL},
    {AS_MEMBER, "PUT", "/v1/vms/auto", VM_SPEC("auto", "spin", AUTOSTART), 403,
     NO_AUTOSTART("auto", "4242"), "field=autostart", NULL},
    {AS_MEMBER, "PUT", "/v1/vms/mine", VM_SPEC("mine", "hello", AUTOSTART), 403,
     NO_AUTOSTART("mine", "4242"), "field=autostart", NULL},
    {AS_MEMBER, "PATCH", "/v1/vms/mine", "{\"autostart\":true}", 403,
     NO_AUTOSTART("mine", "4242"), "field=autostart", NULL},
    {AS_ROOT, "PATCH", "/v1/vms/mine", "{\"autostart\":true}", 403,
     NO_AUTOSTART("mine", "4242"), "field=autostart", NULL},
    {AS_ROOT, "GET", "/v1/vms/auto", NULL, 404, "auto", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/mine", NULL, 200, NULL, "autostart=false", NULL},
    /* The host's VMs do not exist in a jail. */
    {AS_J1ROOT, "GET", "/v1/vms", NULL, 200, NULL, NULL, ""},
    {AS_J1ROOT, "GET", "/v1/vms/rootvm", NULL, 404, "rootvm", NULL, NULL},
    {AS_J1ROOT, "DELETE", "/v1/vms/rootvm", NULL, 404, "rootvm", NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/rootvm", NULL, 404, "rootvm", NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/mine", NULL, 404, "mine", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/rootvm", NULL, 200, NULL, NULL, NULL},
    /* A jail with allow_vmm defines VMs of its own; passthrough there is
     * its root's, with allow_vmm_ppt. */
    {AS_J1ROOT, "POST", "/v1/vms", VM("j1vm", "hello"), 201, NULL,
     "owner.uid=0 owner.jail=j1", NULL},
    {AS_J1MEMBER, "POST", "/v1/vms", VM("j1mine", "hello"), 201, NULL,
     "owner.uid=4242 owner.jail=j1", NULL},
    /* Each jail is a VM namespace of its own: a jail's definition of a
     * name the host has makes the jail's own VM, POST or PUT, and the
     * host's stays as it was (#14, finding 13; docs/access.md).  Gone
     * again below, so that the rows after see what they did before. */
    {AS_J1ROOT, "POST", "/v1/vms", VM("rootvm", "hello"), 201, NULL,
     "name=rootvm owner.jail=j1 boot.image=hello.bin", NULL},
    {AS_J1ROOT, "PUT", "/v1/vms/rootvm", VM("rootvm", "hello"), 200, NULL,
     "owner.jail=j1", NULL},
    {AS_J1MEMBER, "PUT", "/v1/vms/mine", VM("mine", "spin"), 201, NULL,
     "owner.uid=4242 owner.jail=j1 boot.image=spin.bin", NULL},
    {AS_J1ROOT, "PUT", "/v1/vms/j1vm", VM("j1vm", "hello"), 200, NULL,
     "owner.jail=j1", NULL},
    {AS_J1ROOT, "PATCH", "/v1/vms/rootvm", "{\"description\":\"x\"}", 200, NULL,
     "owner.jail=j1 description=x", NULL},
    {AS_J1ROOT, "GET", "/v1/vms", NULL, 200, NULL, NULL,
     "j1vm j1mine rootvm mine"},
    {AS_ROOT, "GET", "/v1/vms/rootvm", NULL, 200, NULL,
     "owner.jail= boot.image=spin.bin description=", NULL},
    {AS_ROOT, "GET", "/v1/vms/rootvm?jail=j1", NULL, 200, NULL,
     "owner.jail=j1 boot.image=hello.bin description=x", NULL},
    {AS_ROOT, "GET", "/v1/vms/mine?jail=j1", NULL, 200, NULL,
     "owner.uid=4242 owner.jail=j1", NULL},
    {AS_MEMBER, "GET", "/v1/vms/mine?jail=j1", NULL, 404, "no VM named mine",
     NULL, NULL},
    {AS_J1ROOT, "DELETE", "/v1/vms/rootvm", NULL, 204, NULL, NULL, NULL},
    {AS_J1MEMBER, "DELETE", "/v1/vms/mine", NULL, 204, NULL, NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/rootvm", NULL, 200, NULL, "owner.jail=", NULL},
    {AS_ROOT, "GET", "/v1/vms/mine", NULL, 200, NULL, "owner.uid=4242", NULL},
    {AS_J0ROOT, "POST", "/v1/vms", VM("j0vm", "spin"), 403, NO_VMM("j0"), NULL,
     NULL},
    {AS_J1ROOT, "POST", "/v1/vms", VM_PPT("j1ppt"), 403,
     "jail j1 lacks allow_vmm_ppt", "field=pptdevs", NULL},
    {AS_JPROOT, "POST", "/v1/vms", VM_PPT("jpvm"), 201, NULL,
     "owner.uid=0 owner.jail=jp pptdevs=1", NULL},
    {AS_JPMEMBER, "POST", "/v1/vms", VM_PPT("jpmine"), 403, NO_PPT,
     "field=pptdevs", NULL},

    /* Lists: every VM for host root, one's own (in one's jail) for the
     * rest; filtered, not refused. */
    {AS_ROOT, "GET", "/v1/vms", NULL, 200, NULL, NULL,
     "rootvm pptvm mine mine2 minep minep2 theirs j1vm j1mine jpvm"},
    {AS_MEMBER, "GET", "/v1/vms", NULL, 200, NULL, NULL,
     "mine mine2 minep minep2"},
    {AS_MEMBERP, "GET", "/v1/vms", NULL, 200, NULL, NULL,
     "mine mine2 minep minep2"},
    {AS_MEMBER2, "GET", "/v1/vms", NULL, 200, NULL, NULL, "theirs"},
    {AS_OTHER, "GET", "/v1/vms", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_JOINED, "GET", "/v1/vms", NULL, 200, NULL, NULL, ""},
    {AS_J1ROOT, "GET", "/v1/vms", NULL, 200, NULL, NULL, "j1vm j1mine"},
    {AS_J1MEMBER, "GET", "/v1/vms", NULL, 200, NULL, NULL, "j1mine"},
    {AS_J0ROOT, "GET", "/v1/vms", NULL, 403, NO_VMM("j0"), NULL, NULL},
    {AS_JPROOT, "GET", "/v1/vms", NULL, 200, NULL, NULL, "jpvm"},
    {AS_JPMEMBER, "GET", "/v1/vms", NULL, 200, NULL, NULL, ""},
    /* Reading one VM and its console. */
    {AS_ROOT, "GET", "/v1/vms/mine", NULL, 200, NULL, "owner.uid=4242", NULL},
    {AS_ROOT, "GET", "/v1/vms/j1vm", NULL, 404, "j1vm", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/j1vm?jail=j1", NULL, 200, NULL,
     "name=j1vm owner.jail=j1", NULL},
    {AS_MEMBER, "GET", "/v1/vms/mine", NULL, 200, NULL,
     "owner.uid=4242 owner.gid=4242 owner.jail=", NULL},
    {AS_MEMBERP, "GET", "/v1/vms/minep", NULL, 200, NULL,
     "owner.uid=4242 owner.gid=4200 owner.jail=", NULL},
    {AS_MEMBER, "GET", "/v1/vms/minep", NULL, 200, NULL,
     "owner.uid=4242 owner.gid=4200", NULL},
    {AS_MEMBERP, "GET", "/v1/vms/mine", NULL, 200, NULL,
     "owner.uid=4242 owner.gid=4242", NULL},
    {AS_MEMBER, "GET", "/v1/vms/rootvm", NULL, 403, SEE(0, "rootvm"), NULL,
     NULL},
    {AS_MEMBERP, "GET", "/v1/vms/theirs", NULL, 403, SEE(4244, "theirs"), NULL,
     NULL},
    {AS_MEMBER2, "GET", "/v1/vms/mine", NULL, 403, SEE(4242, "mine"), NULL,
     NULL},
    {AS_MEMBER, "GET", "/v1/vms/nosuchvm", NULL, 404, "nosuchvm", NULL, NULL},
    {AS_MEMBER, "GET", "/v1/vms/j1mine", NULL, 404, "j1mine", NULL, NULL},
    {AS_OTHER, "GET", "/v1/vms/rootvm", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_J1ROOT, "GET", "/v1/vms/j1mine", NULL, 200, NULL, NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/j1vm", NULL, 403, SEE(0, "j1vm"), NULL, NULL},
    {AS_J1ROOT, "GET", "/v1/vms/jpvm", NULL, 404, "jpvm", NULL, NULL},
    {AS_JPROOT, "GET", "/v1/vms/j1vm", NULL, 404, "j1vm", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/mine/console", NULL, 200, NULL, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/vms/mine/console", NULL, 200, NULL, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/vms/rootvm/console", NULL, 403, SEE(0, "rootvm"),
     NULL, NULL},
    {AS_OTHER, "GET", "/v1/vms/mine/console", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/j1vm/console", NULL, 403, SEE(0, "j1vm"),
     NULL, NULL},

    /* Starting: detached is root's (of the host or a jail); monitor mode
     * is for one's own VMs. */
    {AS_MEMBER, "POST", "/v1/vms/mine/start", NULL, 403, MONITOR_ONLY,
     "field=mode", NULL},
    {AS_MEMBERP, "POST", "/v1/vms/mine/start?mode=detached", NULL, 403,
     MONITOR_ONLY, "field=mode", NULL},
    {AS_OTHER, "POST", "/v1/vms/mine/start?mode=monitor", NULL, 403, NO_GROUP,
     NULL, NULL},
    {AS_MEMBER, "POST", "/v1/vms/rootvm/start?mode=monitor", NULL, 403,
     ACT(0, "rootvm"), NULL, NULL},
    {AS_MEMBER2, "POST", "/v1/vms/mine/start?mode=monitor", NULL, 403,
     ACT(4242, "mine"), NULL, NULL},
    {AS_MEMBER, "POST", "/v1/vms/j1mine/start?mode=monitor", NULL, 404,
     "j1mine", NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/mine", NULL, 200, NULL, "status.state=defined",
     NULL},
    {AS_MEMBER, "POST", "/v1/vms/mine/start?mode=monitor", NULL, 200, HELLO,
     NULL, NULL},
    {AS_ROOT, "POST", "/v1/vms/rootvm/start", NULL, 200, NULL,
     "status.state=running", NULL},
    {AS_J1MEMBER, "POST", "/v1/vms/j1mine/start", NULL, 403, MONITOR_ONLY,
     "field=mode", NULL},
    {AS_J1MEMBER, "POST", "/v1/vms/j1vm/start?mode=monitor", NULL, 403,
     ACT(0, "j1vm"), NULL, NULL},
    {AS_J1MEMBER, "POST", "/v1/vms/j1mine/start?mode=monitor", NULL, 200, HELLO,
     NULL, NULL},
    {AS_J1ROOT, "POST", "/v1/vms/j1vm/start", NULL, 200, NULL, NULL, NULL},
    {AS_J0ROOT, "POST", "/v1/vms/j1vm/start", NULL, 403, NO_VMM("j0"), NULL,
     NULL},

    /* Stop, delete, change, console input, registers: one's own VMs. */
    {AS_MEMBER, "POST", "/v1/vms/rootvm/stop", NULL, 403, ACT(0, "rootvm"),
     NULL, NULL},
    {AS_MEMBER, "DELETE", "/v1/vms/rootvm", NULL, 403, ACT(0, "rootvm"), NULL,
     NULL},
    {AS_MEMBER, "PUT", "/v1/vms/rootvm", VM("rootvm", "spin"), 403,
     ACT(0, "rootvm"), NULL, NULL},
    {AS_MEMBER, "PATCH", "/v1/vms/rootvm", "{\"description\":\"mine now\"}",
     403, ACT(0, "rootvm"), NULL, NULL},
    {AS_MEMBER, "POST", "/v1/vms/rootvm/console", "q", 403, ACT(0, "rootvm"),
     NULL, NULL},
    {AS_MEMBER, "GET", "/v1/vms/rootvm/vcpus/0/registers", NULL, 403,
     ACT(0, "rootvm"), NULL, NULL},
    {AS_MEMBER2, "POST", "/v1/vms/mine/stop", NULL, 403, ACT(4242, "mine"),
     NULL, NULL},
    {AS_MEMBER2, "DELETE", "/v1/vms/mine", NULL, 403, ACT(4242, "mine"), NULL,
     NULL},
    {AS_OTHER, "POST", "/v1/vms/rootvm/stop", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_OTHER, "DELETE", "/v1/vms/rootvm", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_OTHER, "GET", "/v1/vms/rootvm/vcpus/0/registers", NULL, 403, NO_GROUP,
     NULL, NULL},
    {AS_ROOT, "GET", "/v1/vms/rootvm/vcpus/0/registers", NULL, 200, NULL, NULL,
     NULL},
    {AS_ROOT, "POST", "/v1/vms/rootvm/stop?force=1", NULL, 200, NULL, NULL,
     NULL},
    {AS_ROOT, "GET", "/v1/vms/rootvm", NULL, 200, NULL,
     "generation=1 owner.uid=0", NULL},
    {AS_MEMBER, "POST", "/v1/vms/mine/stop", NULL, 200, NULL,
     "status.state=stopped", NULL},
    {AS_MEMBER, "GET", "/v1/vms/mine/vcpus/0/registers", NULL, 409,
     "needs it running", NULL, NULL},
    {AS_MEMBER, "GET", "/v1/vms/mine/console", NULL, 200, HELLO, NULL, NULL},
    {AS_MEMBER, "PATCH", "/v1/vms/mine", "{\"description\":\"mine\"}", 200,
     NULL, "generation=2 description=mine", NULL},
    {AS_ROOT, "PATCH", "/v1/vms/mine", "{\"description\":\"root\"}", 200, NULL,
     "generation=3 description=root", NULL},
    {AS_MEMBER, "DELETE", "/v1/vms/mine2", NULL, 204, NULL, NULL, NULL},
    {AS_ROOT, "DELETE", "/v1/vms/theirs", NULL, 204, NULL, NULL, NULL},
    {AS_MEMBER2, "GET", "/v1/vms/theirs", NULL, 404, "theirs", NULL, NULL},
    {AS_MEMBER2, "GET", "/v1/vms", NULL, 200, NULL, NULL, ""},
    {AS_ROOT, "DELETE", "/v1/vms/pptvm", NULL, 204, NULL, NULL, NULL},
    /* The same inside a jail. */
    {AS_J1MEMBER, "POST", "/v1/vms/j1vm/stop", NULL, 403, ACT(0, "j1vm"), NULL,
     NULL},
    {AS_J1MEMBER, "DELETE", "/v1/vms/j1vm", NULL, 403, ACT(0, "j1vm"), NULL,
     NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/j1vm/vcpus/0/registers", NULL, 403,
     ACT(0, "j1vm"), NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms/j1mine/console", NULL, 200, HELLO, NULL,
     NULL},
    {AS_J1ROOT, "GET", "/v1/vms/j1mine/console", NULL, 200, HELLO, NULL, NULL},
    {AS_J1ROOT, "POST", "/v1/vms/j1mine/stop", NULL, 200, NULL,
     "status.state=stopped", NULL},
    {AS_J0ROOT, "DELETE", "/v1/vms/j1vm", NULL, 403, NO_VMM("j0"), NULL, NULL},
    {AS_J1ROOT, "DELETE", "/v1/vms/j1mine", NULL, 204, NULL, NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/vms", NULL, 200, NULL, NULL, ""},

    /* Images: read by whoever may run VMs, written by host root. */
    {AS_ROOT, "GET", "/v1/images", NULL, 200, NULL, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/images", NULL, 200, NULL, NULL, NULL},
    {AS_MEMBERP, "GET", "/v1/images", NULL, 200, NULL, NULL, NULL},
    {AS_MEMBER, "GET", "/v1/images/spin.bin", NULL, 200, NULL, NULL, NULL},
    {AS_OTHER, "GET", "/v1/images", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_OTHER, "GET", "/v1/images/spin.bin", NULL, 403, NO_GROUP, NULL, NULL},
    {AS_J1ROOT, "GET", "/v1/images", NULL, 200, NULL, NULL, NULL},
    {AS_J1MEMBER, "GET", "/v1/images/hello.bin", NULL, 200, NULL, NULL, NULL},
    {AS_J0ROOT, "GET", "/v1/images", NULL, 403, NO_VMM("j0"), NULL, NULL},
    {AS_MEMBER, "PUT", "/v1/images/x.bin", "x", 403, IMAGES_ROOT, NULL, NULL},
    {AS_MEMBER, "DELETE", "/v1/images/spin.bin", NULL, 403, IMAGES_ROOT, NULL,
     NULL},
    {AS_OTHER, "PUT", "/v1/images/x.bin", "x", 403, IMAGES_ROOT, NULL, NULL},
    {AS_J1ROOT, "PUT", "/v1/images/x.bin", "x", 403, IMAGES_ROOT, NULL, NULL},
    {AS_J1ROOT, "DELETE", "/v1/images/hello.bin", NULL, 403, IMAGES_ROOT, NULL,
     NULL},
    {AS_ROOT, "GET", "/v1/images/x.bin", NULL, 404, "x.bin", NULL, NULL},
    {AS_ROOT, "PUT", "/v1/images/x.bin", "x", 201, NULL, NULL, NULL},
    {AS_ROOT, "DELETE", "/v1/images/x.bin", NULL, 204, NULL, NULL, NULL},

    /* Tokens, jails and the audit log: host root's; root in a jail is
     * root only there. */
    {AS_ROOT, "GET", "/v1/tokens", NULL, 200, NULL, NULL, NULL},
    {AS_ROOT, "GET", "/v1/jails", NULL, 200, NULL, NULL, NULL},
    {AS_ROOT, "GET", "/v1/audit", NULL, 200, NULL, NULL, NULL},
    ADMIN_REFUSED(AS_MEMBER, ADMIN_ONLY),
    ADMIN_REFUSED(AS_MEMBERP, ADMIN_ONLY),
    ADMIN_REFUSED(AS_OTHER, ADMIN_ONLY),
    ADMIN_REFUSED(AS_J1ROOT, ROOT_ONLY_THERE),
    {AS_J1ROOT, "PUT", "/v1/jails/j1",
     "{\"allow_vmm\":true,\"allow_vmm_ppt\":true}", 403, ROOT_ONLY_THERE, NULL,
     NULL},
    /* Nothing the refusals asked for was made. */
    {AS_ROOT, "GET", "/v1/jails/jx", NULL, 404, "jx", NULL, NULL},
    {AS_ROOT, "GET", "/v1/jails/j1", NULL, 200, NULL, "allow_vmm_ppt=false",
     NULL},
    {AS_ROOT, "GET", "/v1/tokens", NULL, 200, NULL, "items=0", NULL},
};

/*
 * What keeps r's JSON from holding each "dotted=value" of want
 * (space-separated): a string equal to value, a number or boolean
 * written as value, or an array of value elements.  A sentence (in buf),
 * or NULL.
 */
static const char *
json_mismatch(const struct harness_response *r, const char *want, char *buf,
	      size_t len)
{
	char pairs[256], *pair, *value, *save;
	const json_t *v;
	int same;

	snprintf(pairs, sizeof(pairs), "%s", want);
	for (pair = strtok_r(pairs, " ", &save); pair != NULL;
	     pair = strtok_r(NULL, " ", &save)) {
		value = strchr(pair, '=');
		assert_non_null(value); /* the table's own mistake */
		*value++ = '\0';
		v = harness_json_at(r->hr_json, pair);
		if (json_is_string(v))
			same = strcmp(json_string_value(v), value) == 0;
		else if (json_is_integer(v))
			same =
			    json_integer_value(v) == strtoll(value, NULL, 10);
		else if (json_is_boolean(v))
			same = strcmp(json_is_true(v) ? "true" : "false",
				      value) == 0;
		else if (json_is_array(v))
			same = json_array_size(v) == strtoull(value, NULL, 10);
		else
			same = 0;
		if (!same) {
			snprintf(buf, len, "%s is not %s", pair, value);
			return (buf);
		}
	}
	return (NULL);
}

/*
 * Sends row's request as id and returns the response (h's), hr_status 0
 * with *code curl's result when none came: not harness_as(), which would
 * fail the case without naming the row.
 */
static struct harness_response *
access_send(struct harness *h, const struct harness_identity *id,
	    const struct access_row *row, int *code)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	static const char *const merge[] = {
	    "Content-Type: application/merge-patch+json", NULL};
	static const char *const bytes[] = {
	    "Content-Type: application/octet-stream", NULL};
	struct harness_request rq;
	struct harness_child *c;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = row->ar_method;
	rq.rq_path = row->ar_path;
	rq.rq_body = row->ar_body;
	if (row->ar_body != NULL) {
		rq.rq_body_len = strlen(row->ar_body);
		if (row->ar_body[0] != '{')
			rq.rq_headers = bytes;
		else if (strcmp(row->ar_method, "PATCH") == 0)
			rq.rq_headers = merge;
		else
			rq.rq_headers = json;
	}
	c = harness_as_open(h, id, &rq, 0);
	/* The child's own timeout ends the transfer first. */
	return (harness_child_end(c, HARNESS_TIMEOUT_MS + 2000, code));
}

/* What keeps r from being what row expects: a sentence, or NULL. */
static const char *
access_mismatch(const struct harness_response *r, const struct access_row *row,
		char *buf, size_t len)
{
	const char *what, *text = r->hr_body;

	if (row->ar_status >= 400) {
		what =
		    harness_problem_mismatch(r, row->ar_status, NULL, buf, len);
		if (what != NULL)
			return (what);
		text = json_str(r, "detail");
	} else if (r->hr_status != row->ar_status) {
		snprintf(buf, len, "status %ld, expected %ld", r->hr_status,
			 row->ar_status);
		return (buf);
	}
	if (row->ar_says != NULL && strstr(text, row->ar_says) == NULL) {
		snprintf(buf, len, "does not say \"%s\"", row->ar_says);
		return (buf);
	}
	if (row->ar_json != NULL &&
	    (what = json_mismatch(r, row->ar_json, buf, len)) != NULL)
		return (what);
	if (row->ar_list != NULL)
		return (list_mismatch(r, row->ar_list, buf, len));
	return (NULL);
}

/*
 * Starts the daemon (a HARNESS_NOSTART case) on a generated sysfs tree
 * with one PCI device, 0/31/0, so that specs naming it may be defined
 * once it is reserved.
 */
static void
start_with_a_pci_device(struct harness *h)
{
	const char *root = sysfs_tree_make(h);
	const char *args[] = {"--sysfs-root", root, NULL};

	sysfs_tree_device(root, "0000:00:1f.0", 0x8086, 0x10d3, 0x020000,
			  "e1000e", 7);
	harness_start(h, args);
}

/*
 * Every row of access_rows, in order; a row that fails is named (index,
 * caller, request) with what differs, and the walk goes on so that one
 * broken rule shows every row it breaks.
 */
static void
test_access__every_caller_gets_what_the_access_table_says(struct harness *h)
{
	struct harness_identity ids[AS_COUNT];
	const struct access_row *row;
	struct harness_response *r;
	const char *what;
	char buf[512];
	size_t i, failed = 0;
	int code;

	harness_need_root(h);
	start_with_a_pci_device(h);
	harness_put_guest(h, "spin");
	harness_put_guest(h, "hello");
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 201);
	put_jail(h, "j0", 0, 0, jail_sock(h, "j0"), 201);
	put_jail(h, "jp", 1, 1, jail_sock(h, "jp"), 201);
	for (i = 0; i < AS_COUNT; i++)
		ids[i] = via(access_callers[i].ac_id,
			     access_callers[i].ac_jail != NULL
				 ? jail_sock(h, access_callers[i].ac_jail)
				 : NULL);
	for (i = 0; i < sizeof(access_rows) / sizeof(access_rows[0]); i++) {
		row = &access_rows[i];
		r = access_send(h, &ids[row->ar_as], row, &code);
		if (code != 0 || r->hr_status == 0) {
			snprintf(buf, sizeof(buf),
				 "no HTTP response (curl result %d)", code);
			what = buf;
		} else
			what = access_mismatch(r, row, buf, sizeof(buf));
		if (what == NULL)
			continue;
		failed++;
		print_error("access_rows[%zu], %s: %s %s: %s: %.300s\n", i,
			    access_callers[row->ar_as].ac_name, row->ar_method,
			    row->ar_path, what, r->hr_body);
	}
	if (failed > 0)
		fail_msg("%zu of %zu rows of the access table failed (above)",
			 failed, i);
}

/* ---- host root ---- */

static void
test_access__sockets_let_every_local_user_ask(struct harness *h)
{
	struct stat st;

	harness_need_root(h);
	assert_int_equal(stat(h->h_sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
	/* Any local user reaches the daemon and is told who it is. */
	assert_status(harness_req_as(h, &other, "GET", "/v1", NULL), 200);
	assert_status(harness_req_as(h, &other, "GET", "/v1/health", NULL),
		      200);
}

static void
test_access__host_root_starts_detached_and_stops_any_vm(struct harness *h)
{
	struct harness_response *r;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	define_as(h, &member, "spin1");
	r = harness_req(h, "POST", "/v1/vms/spin1/start", NULL, NULL);
	assert_status(r, 200);
	harness_wait_vm_state(h, "spin1", "running", WAIT_MS);
	/* The member's own VM, started by root: the member may see it. */
	r = harness_req_as(h, &member, "GET", "/v1/vms/spin1", NULL);
	assert_status(r, 200);
	assert_json_str(r, "status.state", "running");
	r = harness_req(h, "POST", "/v1/vms/spin1/stop?force=1", NULL, NULL);
	assert_status(r, 200);
	harness_wait_vm_state(h, "spin1", "stopped", WAIT_MS);
}

/* ---- vmm group members ---- */

static void
test_access__member_in_monitor_mode_streams_and_a_dead_client_stops_the_vm(
    struct harness *h)
{
	struct harness_child *c;
	struct harness_response *r;
	long long t0, took;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	define_as(h, &member, "spin1");
	c = monitor_start(h, &member, "spin1", 0);
	if (!harness_child_wait_for(c, "spinning\n", WAIT_MS))
		fail_msg("monitor mode: no console output within %d ms "
			 "(status %ld)",
			 WAIT_MS, harness_child_status(c));
	assert_int_equal(harness_child_status(c), 200);
	r = harness_get(h, "/v1/vms/spin1");
	assert_json_str(r, "status.state", "running");

	/* The client dies: its VM goes with it, its definition stays. */
	t0 = now_ms();
	harness_child_kill(c);
	took = wait_stopped(h, "spin1", t0);
	if (took > MONITOR_END_MS)
		fail_msg("the monitor-mode VM stopped %lld ms after its "
			 "client died (at most %d expected)",
			 took, MONITOR_END_MS);
	r = harness_req_as(h, &member, "GET", "/v1/vms/spin1", NULL);
	assert_status(r, 200);
	assert_json_str(r, "status.state", "stopped");
	assert_json_int(r, "owner.uid", MEMBER_UID);
	harness_child_end(c, 1000, NULL);
}

static void
test_access__member_in_monitor_mode_an_aborted_transfer_stops_the_vm(
    struct harness *h)
{
	struct harness_child *c;
	struct harness_response *r;
	long long t0, took;
	int code = 0;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	define_as(h, &member_primary, "spin1");
	/* curl gives up after the first byte; the process stays. */
	c = monitor_start(h, &member_primary, "spin1", 1);
	if (!harness_child_wait_done(c, WAIT_MS))
		fail_msg("the monitor-mode transfer did not end after its "
			 "first byte");
	t0 = now_ms();
	assert_int_equal(harness_child_status(c), 200);
	took = wait_stopped(h, "spin1", t0);
	if (took > MONITOR_END_MS)
		fail_msg("the monitor-mode VM stopped %lld ms after its "
			 "transfer was aborted (at most %d expected)",
			 took, MONITOR_END_MS);
	r = harness_get(h, "/v1/vms/spin1");
	assert_json_str(r, "status.state", "stopped");
	r = harness_child_end(c, 1000, &code);
	assert_int_equal(code, CURLE_WRITE_ERROR);
	assert_status(r, 200);
}

static void
test_access__running_limit_refuses_a_members_second_monitor_start(
    struct harness *h)
{
	struct harness_child *first, *second;
	struct harness_response *r;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	define_as(h, &member, "spin1");
	define_as(h, &member, "spin2");
	define_as(h, NULL, "spin3");
	/* At the limit: one running VM. */
	first = monitor_start(h, &member, "spin1", 0);
	if (!harness_child_wait_for(first, "spinning\n", WAIT_MS))
		fail_msg("the first monitor-mode start printed nothing");
	/* One past it. */
	second = monitor_start(h, &member, "spin2", 0);
	r = harness_child_end(second, WAIT_MS, NULL);
	assert_forbidden(r, "--max-running-per-uid", "4242", "1");
	assert_json_str(harness_get(h, "/v1/vms/spin2"), "status.state",
			"defined");
	/* Root is exempt. */
	assert_status(harness_req(h, "POST", "/v1/vms/spin3/start", NULL, NULL),
		      200);
	/* Once the first run is over, the member may run one again. */
	harness_child_kill(first);
	harness_wait_vm_state(h, "spin1", "stopped", WAIT_MS);
	second = monitor_start(h, &member, "spin2", 0);
	if (!harness_child_wait_for(second, "spinning\n", WAIT_MS))
		fail_msg("a start below the limit printed nothing (status "
			 "%ld)",
			 harness_child_status(second));
	assert_int_equal(harness_child_status(second), 200);
	harness_child_kill(second);
	harness_wait_vm_state(h, "spin2", "stopped", WAIT_MS);
	assert_status(
	    harness_req(h, "POST", "/v1/vms/spin3/stop?force=1", NULL, NULL),
	    200);
}

/* ---- the audit log ---- */

/*
 * The audit log names the caller the kernel reported, not whatever the
 * request claims.  (Refusals by the policy are not recorded: api/audit.c
 * records what a handler answered.)
 */
static void
test_access__audit_names_the_peer_credentials(struct harness *h)
{
	const json_t *items, *item;
	struct harness_response *r;
	size_t i;
	int seen = 0;

	harness_need_root(h);
	define_as(h, &member, "mine");
	r = harness_get(h, "/v1/audit");
	assert_status(r, 200);
	items = harness_json_at(r->hr_json, "items");
	json_array_foreach (items, i, item) {
		const char *via =
		    json_string_value(json_object_get(item, "via"));
		const char *method =
		    json_string_value(json_object_get(item, "method"));

		if (json_integer_value(json_object_get(item, "uid")) ==
			MEMBER_UID &&
		    json_integer_value(json_object_get(item, "gid")) ==
			MEMBER_UID &&
		    json_integer_value(json_object_get(item, "status")) ==
			201 &&
		    via != NULL && strcmp(via, "unix") == 0 && method != NULL &&
		    strcmp(method, "POST") == 0)
			seen = 1;
	}
	if (!seen)
		fail_msg("the audit log has no POST by uid %d gid %d over the "
			 "Unix socket: %s",
			 MEMBER_UID, MEMBER_UID, r->hr_body);
}

/* ---- jails ---- */

static void
test_access__jail_root_starts_detached_and_members_monitor_inside_it(
    struct harness *h)
{
	struct harness_identity jroot, jmember;
	struct harness_child *c;
	long long t0, took;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 201);
	jroot = via(&root_id, jail_sock(h, "j1"));
	jmember = via(&member, jail_sock(h, "j1"));
	define_as(h, &jroot, "j1root");
	define_as(h, &jmember, "j1mine");
	/* Root of the jail is root there: it may start detached. */
	assert_status(
	    harness_req_as(h, &jroot, "POST", "/v1/vms/j1root/start", NULL),
	    200);
	harness_wait_vm_state(h, "j1root?jail=j1", "running", WAIT_MS);
	assert_status(harness_req_as(h, &jroot, "POST",
				     "/v1/vms/j1root/stop?force=1", NULL),
		      200);
	harness_wait_vm_state(h, "j1root?jail=j1", "stopped", WAIT_MS);
	/* A member in the jail: monitor mode only, as on the host. */
	assert_forbidden(
	    harness_req_as(h, &jmember, "POST", "/v1/vms/j1mine/start", NULL),
	    "monitor mode");
	c = monitor_start(h, &jmember, "j1mine", 0);
	if (!harness_child_wait_for(c, "spinning\n", WAIT_MS))
		fail_msg("monitor mode through the jail's socket: no console "
			 "output (status %ld)",
			 harness_child_status(c));
	assert_int_equal(harness_child_status(c), 200);
	t0 = now_ms();
	harness_child_kill(c);
	took = wait_stopped(h, "j1mine?jail=j1", t0);
	if (took > MONITOR_END_MS)
		fail_msg("the monitor-mode VM in the jail stopped %lld ms "
			 "after its client died (at most %d expected)",
			 took, MONITOR_END_MS);
	harness_child_end(c, 1000, NULL);
}

/* --vmm-group naming no group: only root may act, and 403s say why. */
static void
test_access__an_unknown_vmm_group_leaves_only_root(struct harness *h)
{
	harness_need_root(h);
	define_as(h, NULL, "rootvm");
	assert_forbidden(harness_req_as(h, &member, "POST", "/v1/vms",
					vm_body(h, "mine", "")),
			 "vmm group");
	assert_forbidden(harness_req_as(h, &member, "GET", "/v1/vms", NULL),
			 "neither root nor in the vmm group");
}

/*
 * --vmm-group by name: looked up at start (in a child process, so the
 * daemon never loads NSS modules).  "root" is gid 0 everywhere: a caller
 * whose primary group is 0 is a member; one outside it is not.
 */
static void
test_access__a_vmm_group_named_is_looked_up(struct harness *h)
{
	static const struct harness_identity gid0 = {MEMBER_UID, 0, NULL, 0,
						     NULL};

	harness_need_root(h);
	assert_status(harness_req_as(h, &gid0, "POST", "/v1/vms",
				     vm_body(h, "bygroupname", "")),
		      201);
	assert_forbidden(harness_req_as(h, &other, "GET", "/v1/vms", NULL),
			 "neither root nor in the vmm group");
}

static void
test_access__jail_without_allow_vmm_is_403_naming_it(struct harness *h)
{
	struct harness_identity jroot;

	harness_need_root(h);
	put_jail(h, "j1", 0, 0, jail_sock(h, "j1"), 201);
	jroot = via(&root_id, jail_sock(h, "j1"));
	assert_forbidden(harness_req_as(h, &jroot, "POST", "/v1/vms",
					vm_body(h, "j1vm", "")),
			 "jail j1 lacks allow_vmm");
	assert_forbidden(harness_req_as(h, &jroot, "GET", "/v1/vms", NULL),
			 "jail j1 lacks allow_vmm");
	assert_not_found(harness_get(h, "/v1/vms/j1vm?jail=j1"), "j1vm");
	/* Granted, it takes effect for the next request. */
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 200);
	assert_status(harness_req_as(h, &jroot, "POST", "/v1/vms",
				     vm_body(h, "j1vm", "")),
		      201);
	/* And withdrawn, too: the jail's VM stays, untouchable from it. */
	put_jail(h, "j1", 0, 0, jail_sock(h, "j1"), 200);
	assert_forbidden(
	    harness_req_as(h, &jroot, "DELETE", "/v1/vms/j1vm", NULL),
	    "jail j1 lacks allow_vmm");
	assert_status(harness_get(h, "/v1/vms/j1vm?jail=j1"), 200);
}

static void
test_access__passthrough_from_jail_root_needs_allow_vmm_ppt(struct harness *h)
{
	struct harness_identity jroot;
	struct harness_response *r;

	harness_need_root(h);
	start_with_a_pci_device(h);
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 201);
	jroot = via(&root_id, jail_sock(h, "j1"));
	r = harness_req_as(h, &jroot, "POST", "/v1/vms",
			   vm_body(h, "ppt", "\"pptdevs\":[\"0/31/0\"]"));
	assert_problem(r, 403, "pptdevs");
	assert_forbidden(r, "jail j1 lacks allow_vmm_ppt");
	r = harness_req_as(h, &jroot, "PUT", "/v1/pptdevs/0/31/0", NULL);
	assert_forbidden(r, "jail j1 lacks allow_vmm_ppt");
	put_jail(h, "j1", 1, 1, jail_sock(h, "j1"), 200);
	/* Allowed now, and the device must be reserved first. */
	r = harness_req_as(h, &jroot, "POST", "/v1/vms",
			   vm_body(h, "ppt", "\"pptdevs\":[\"0/31/0\"]"));
	assert_problem(r, 422, "pptdevs[0]");
	r = harness_req_as(h, &jroot, "PUT", "/v1/pptdevs/0/31/0", NULL);
	assert_status(r, 201);
	r = harness_req_as(h, &jroot, "POST", "/v1/vms",
			   vm_body(h, "ppt", "\"pptdevs\":[\"0/31/0\"]"));
	assert_status(r, 201);
	assert_json_str(r, "owner.jail", "j1");
}

/* POST /v1/tokens as host root with body; returns the 201's answer. */
static struct harness_response *
new_token(struct harness *h, const char *body)
{
	struct harness_response *r =
	    harness_req(h, "POST", "/v1/tokens", body, NULL);

	assert_status(r, 201);
	if (json_str(r, "token") == NULL || json_str(r, "id") == NULL)
		fail_msg("POST /v1/tokens: no token or id: %s", r->hr_body);
	return r;
}

/* A request over TCP with token (NULL: none). */
static struct harness_response *
tcp_req(struct harness *h, const char *token, const char *method,
	const char *path, const char *body)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	struct harness_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_tcp = 1;
	rq.rq_token = token;
	rq.rq_headers = body != NULL ? json : NULL;
	rq.rq_body = body;
	rq.rq_body_len = body != NULL ? strlen(body) : 0;
	return harness_send(h, &rq);
}

static void
assert_unauthorized(const struct harness_response *r)
{
	assert_problem(r, 401, NULL);
	if (harness_header(r, "WWW-Authenticate") == NULL)
		fail_msg("%s %s: 401 without WWW-Authenticate", r->hr_method,
			 r->hr_path);
}

static void
test_access__jail_token_over_tcp_is_like_the_jail_socket(struct harness *h)
{
	struct harness_response *r;
	const char *jtok, *mtok;

	harness_need_root(h);
	put_jail(h, "j1", 1, 0, NULL, 201);
	define_as(h, NULL, "hostvm");
	jtok = json_str(new_token(h, "{\"uid\":0,\"gids\":[0],"
				     "\"jail\":\"j1\"}"),
			"token");
	mtok = json_str(new_token(h, "{\"uid\":4242,\"gids\":[4242,4200],"
				     "\"jail\":\"j1\"}"),
			"token");

	assert_list(tcp_req(h, jtok, "GET", "/v1/vms", NULL), "");
	assert_not_found(tcp_req(h, jtok, "GET", "/v1/vms/hostvm", NULL),
			 "hostvm");
	assert_forbidden(tcp_req(h, jtok, "GET", "/v1/tokens", NULL),
			 "only host root");
	r = tcp_req(h, jtok, "POST", "/v1/vms", vm_body(h, "j1vm", ""));
	assert_status(r, 201);
	assert_json_str(r, "owner.jail", "j1");
	assert_json_int(r, "owner.uid", 0);
	r = tcp_req(h, mtok, "POST", "/v1/vms", vm_body(h, "j1mine", ""));
	assert_status(r, 201);
	assert_json_str(r, "owner.jail", "j1");
	assert_json_int(r, "owner.uid", MEMBER_UID);
	assert_list(tcp_req(h, jtok, "GET", "/v1/vms", NULL), "j1vm j1mine");
	assert_list(tcp_req(h, mtok, "GET", "/v1/vms", NULL), "j1mine");
	assert_forbidden(tcp_req(h, mtok, "GET", "/v1/vms/j1vm", NULL),
			 "only the creator (uid 0) or root");
	r = tcp_req(h, mtok, "POST", "/v1/vms/j1mine/start", NULL);
	assert_problem(r, 403, "mode");
	assert_forbidden(r, "monitor mode");
	assert_json_str(harness_get(h, "/v1/vms/j1vm?jail=j1"), "owner.jail",
			"j1");
}

static void
test_access__deleting_a_jail_with_vms_is_409(struct harness *h)
{
	struct harness_identity jroot;
	struct harness_response *r;

	harness_need_root(h);
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 201);
	jroot = via(&root_id, jail_sock(h, "j1"));
	assert_status(harness_req_as(h, &jroot, "POST", "/v1/vms",
				     vm_body(h, "j1vm", "")),
		      201);
	r = harness_req(h, "DELETE", "/v1/jails/j1", NULL, NULL);
	assert_problem_naming(r, 409, "j1", (const char *)NULL);
	assert_status(harness_get(h, "/v1/jails/j1"), 200);
	assert_status(
	    harness_req(h, "DELETE", "/v1/vms/j1vm?jail=j1", NULL, NULL), 204);
	assert_status(harness_req(h, "DELETE", "/v1/jails/j1", NULL, NULL),
		      204);
	assert_not_found(harness_get(h, "/v1/jails/j1"), "j1");
}

static void
test_access__an_expired_token_is_401(struct harness *h)
{
	const char *tok;

	harness_need_root(h);
	tok = json_str(new_token(h, "{\"uid\":4242,\"gids\":[4200],"
				    "\"expires_in\":1}"),
		       "token");
	assert_status(tcp_req(h, tok, "GET", "/v1/vms", NULL), 200);
	sleep_ms(1500);
	assert_unauthorized(tcp_req(h, tok, "GET", "/v1/vms", NULL));
	assert_unauthorized(tcp_req(h, tok, "GET", "/v1", NULL));
}

static void
test_access__a_revoked_token_is_401_at_once(struct harness *h)
{
	struct harness_response *r;
	const char *tok, *id;
	char path[128];

	harness_need_root(h);
	r = new_token(h, "{\"uid\":4242,\"gids\":[4200]}");
	tok = json_str(r, "token");
	id = json_str(r, "id");
	assert_status(tcp_req(h, tok, "GET", "/v1/vms", NULL), 200);
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	assert_status(harness_req(h, "DELETE", path, NULL, NULL), 204);
	/* On the connection it used before, too. */
	assert_unauthorized(tcp_req(h, tok, "GET", "/v1/vms", NULL));
	assert_not_found(harness_req(h, "DELETE", path, NULL, NULL), id);
}

static void
test_access__the_bootstrap_admin_token_is_host_root(struct harness *h)
{
	struct harness_response *r;

	harness_need_root(h);
	if (h->h_token[0] == '\0')
		fail_msg("no admin.token after a start with a TCP listener");
	r = tcp_req(h, h->h_token, "GET", "/v1/tokens", NULL);
	assert_status(r, 200);
	assert_json_int(r, "items.0.uid", 0);
	assert_json_str(r, "items.0.jail", "");
	r = tcp_req(h, h->h_token, "POST", "/v1/vms", vm_body(h, "tcpvm", ""));
	assert_status(r, 201);
	assert_json_int(r, "owner.uid", 0);
	assert_status(tcp_req(h, h->h_token, "GET", "/v1/audit", NULL), 200);
	put_jail(h, "j1", 1, 0, NULL, 201);
	assert_status(tcp_req(h, h->h_token, "GET", "/v1/jails/j1", NULL), 200);
	/* No token, a wrong one: 401; health needs none. */
	assert_unauthorized(tcp_req(h, NULL, "GET", "/v1/vms", NULL));
	assert_unauthorized(tcp_req(h, "vmm_0000", "GET", "/v1/vms", NULL));
	assert_status(tcp_req(h, NULL, "GET", "/v1/health", NULL), 200);
}

/* ---- a VM namespace per jail (#14, finding 13) ---- */

/* A spin VM named name with a description saying whose it is. */
static const char *
ns_vm(struct harness *h, const char *name, const char *whose)
{
	char extra[64];

	snprintf(extra, sizeof(extra), "\"description\":\"%s\"", whose);
	return vm_body(h, name, extra);
}

/* method path as id (NULL: host root on h's own socket). */
static struct harness_response *
ns_req(struct harness *h, const struct harness_identity *id, const char *method,
       const char *path, const char *body)
{
	return id == NULL ? harness_req(h, method, path, body, NULL)
			  : harness_req_as(h, id, method, path, body);
}

/* GET path as id: 200 with owner.jail and description as given. */
static void
ns_expect(struct harness *h, const struct harness_identity *id,
	  const char *path, const char *jail, const char *whose)
{
	struct harness_response *r = ns_req(h, id, "GET", path, NULL);

	assert_status(r, 200);
	assert_json_str(r, "owner.jail", jail);
	assert_json_str(r, "description", whose);
}

/*
 * r (about a VM named a) and s (about one named b) are the same answer
 * but for the name: one status, the same members, one detail.
 */
static void
ns_assert_alike(const struct harness_response *r, const char *a,
		const struct harness_response *s, const char *b)
{
	const char *k, *dr = json_str(r, "detail"), *ds = json_str(s, "detail");
	char want[512], *at;
	json_t *v;

	if (r->hr_status != s->hr_status)
		fail_msg("%s %s -> %ld but %s %s -> %ld: %s | %s", r->hr_method,
			 r->hr_path, r->hr_status, s->hr_method, s->hr_path,
			 s->hr_status, r->hr_body, s->hr_body);
	if (json_is_object(r->hr_json) != json_is_object(s->hr_json))
		fail_msg("%s and %s: one body is JSON, the other not",
			 r->hr_path, s->hr_path);
	if (json_is_object(r->hr_json)) {
		if (json_object_size(r->hr_json) !=
		    json_object_size(s->hr_json))
			fail_msg("%s and %s: members differ: %s | %s",
				 r->hr_path, s->hr_path, r->hr_body,
				 s->hr_body);
		json_object_foreach (r->hr_json, k, v)
			if (json_object_get(s->hr_json, k) == NULL)
				fail_msg("%s has %s, %s not", r->hr_path, k,
					 s->hr_path);
	}
	if (dr == NULL && ds == NULL)
		return;
	assert_non_null(dr);
	assert_non_null(ds);
	snprintf(want, sizeof(want), "%s", dr);
	if ((at = strstr(want, a)) != NULL) {
		char tail[512];

		snprintf(tail, sizeof(tail), "%s", at + strlen(a));
		snprintf(at, sizeof(want) - (size_t)(at - want), "%s%s", b,
			 tail);
	}
	if (strcmp(want, ds) != 0)
		fail_msg("details differ but for the name: \"%s\" | \"%s\"", dr,
			 ds);
}

static void
test_access__the_host_and_each_jail_have_a_vm_namespace_of_their_own(
    struct harness *h)
{
	struct harness_identity j1, j1m, j2;
	struct harness_response *r, *s;
	static const char *const methods[] = {"GET", "DELETE"};
	char pa[128], pb[128];
	size_t i;

	harness_need_root(h);
	harness_put_guest(h, "spin");
	put_jail(h, "j1", 1, 0, jail_sock(h, "j1"), 201);
	put_jail(h, "j2", 1, 0, jail_sock(h, "j2"), 201);
	j1 = via(&root_id, jail_sock(h, "j1"));
	j1m = via(&member, jail_sock(h, "j1"));
	j2 = via(&root_id, jail_sock(h, "j2"));

	/* Three web1s: the host's, j1's (PUT) and j2's (POST). */
	r = ns_req(h, NULL, "PUT", "/v1/vms/web1", ns_vm(h, "web1", "host"));
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1");
	r = ns_req(h, &j1, "PUT", "/v1/vms/web1", ns_vm(h, "web1", "j1"));
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1");
	assert_json_str(r, "name", "web1");
	r = ns_req(h, &j2, "POST", "/v1/vms", ns_vm(h, "web1", "j2"));
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1");
	/* Each caller sees its own; host root names a jail's with ?jail=. */
	ns_expect(h, NULL, "/v1/vms/web1", "", "host");
	ns_expect(h, &j1, "/v1/vms/web1", "j1", "j1");
	ns_expect(h, &j1, "/v1/vms/web1?jail=j1", "j1", "j1");
	ns_expect(h, &j2, "/v1/vms/web1", "j2", "j2");
	ns_expect(h, NULL, "/v1/vms/web1?jail=j1", "j1", "j1");
	ns_expect(h, NULL, "/v1/vms/web1?jail=j2", "j2", "j2");
	assert_not_found(harness_get(h, "/v1/vms/web1?jail=j9"),
			 "no jail named j9");
	assert_problem(harness_get(h, "/v1/vms/web1?jail=j%211"), 400, "jail");
	assert_problem(harness_get(h, "/v1/vms/web1?jail"), 400, "jail");
	assert_problem(harness_get(h, "/v1/vms/web1?jail="), 400, "jail");
	assert_problem(harness_get(h, "/v1/vms?jail="), 400, "jail");
	assert_problem(harness_get(h, "/v1/vms/web1/console?jail=a/b"), 400,
		       "jail");
	/* The runner's sentences name the VM as its caller does, never by
	 * its key (j1/web1): here a stopped VM's registers. */
	r = ns_req(h, &j1, "GET", "/v1/vms/web1/vcpus/0/registers", NULL);
	assert_problem(r, 409, NULL);
	if (strstr(r->hr_body, "VM web1 is defined") == NULL ||
	    strstr(r->hr_body, "j1/") != NULL)
		fail_msg("a jail caller sees a key: %s", r->hr_body);
	/* A jail's declarative PUT replaces its own VM, not the host's. */
	assert_status(
	    ns_req(h, &j1, "PUT", "/v1/vms/web1", ns_vm(h, "web1", "j1 again")),
	    200);
	ns_expect(h, NULL, "/v1/vms/web1", "", "host");
	ns_expect(h, NULL, "/v1/vms/web1?jail=j1", "j1", "j1 again");
	/* Host root defines in a jail: the jail's VM, root's there. */
	r = ns_req(h, NULL, "PUT", "/v1/vms/web2?jail=j1",
		   ns_vm(h, "web2", "by host root"));
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web2?jail=j1");
	assert_json_str(r, "owner.jail", "j1");
	r = ns_req(h, NULL, "POST", "/v1/vms?jail=j2",
		   ns_vm(h, "web2", "by host root"));
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web2?jail=j2");
	ns_expect(h, &j1, "/v1/vms/web2", "j1", "by host root");
	assert_not_found(harness_get(h, "/v1/vms/web2"), "web2");
	/* Lists: host root every scope, or one; a jail its own. */
	assert_list(harness_get(h, "/v1/vms"), "web1 web1 web1 web2 web2");
	assert_list(harness_get(h, "/v1/vms?jail=j1"), "web1 web2");
	assert_list(ns_req(h, &j1, "GET", "/v1/vms", NULL), "web1 web2");
	assert_list(ns_req(h, &j1, "GET", "/v1/vms?jail=j2", NULL), "");
	assert_list(ns_req(h, &j1m, "GET", "/v1/vms", NULL), "");

	/* Nothing a jail does tells whether the host has a name: hostonly
	 * is the host's, nobody's is no one's; naming another jail is the
	 * same as naming a VM nobody has. */
	assert_status(ns_req(h, NULL, "PUT", "/v1/vms/hostonly",
			     ns_vm(h, "hostonly", "host")),
		      201);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r = ns_req(h, &j1, methods[i], "/v1/vms/hostonly", NULL);
		s = ns_req(h, &j1, methods[i], "/v1/vms/nobody", NULL);
		assert_status(r, 404);
		ns_assert_alike(r, "hostonly", s, "nobody");
		s = ns_req(h, &j1, methods[i], "/v1/vms/web1?jail=j2", NULL);
		ns_assert_alike(r, "hostonly", s, "web1");
		r = ns_req(h, &j1, methods[i], "/v1/vms/hostonly/guestinfo/k",
			   NULL);
		s = ns_req(h, &j1, methods[i], "/v1/vms/nobody/guestinfo/k",
			   NULL);
		assert_status(r, 404);
		ns_assert_alike(r, "hostonly", s, "nobody");
	}
	r = ns_req(h, &j1, "POST", "/v1/vms/hostonly/start", NULL);
	s = ns_req(h, &j1, "POST", "/v1/vms/nobody/start", NULL);
	assert_status(r, 404);
	ns_assert_alike(r, "hostonly", s, "nobody");
	/* Defining either name makes the jail's own VM, alike. */
	r = ns_req(h, &j1, "PUT", "/v1/vms/hostonly",
		   ns_vm(h, "hostonly", "j1"));
	s = ns_req(h, &j1, "PUT", "/v1/vms/nobody", ns_vm(h, "nobody", "j1"));
	assert_status(r, 201);
	ns_assert_alike(r, "hostonly", s, "nobody");
	assert_status(ns_req(h, &j1, "DELETE", "/v1/vms/hostonly", NULL), 204);
	assert_status(ns_req(h, &j1, "DELETE", "/v1/vms/nobody", NULL), 204);
	r = ns_req(h, &j1, "POST", "/v1/vms", ns_vm(h, "hostonly", "j1"));
	s = ns_req(h, &j1, "POST", "/v1/vms", ns_vm(h, "nobody", "j1"));
	assert_status(r, 201);
	ns_assert_alike(r, "hostonly", s, "nobody");
	ns_expect(h, NULL, "/v1/vms/hostonly", "", "host");
	/* A member of the host naming a jail: as a VM nobody has. */
	snprintf(pa, sizeof(pa), "/v1/vms/web1?jail=j1");
	snprintf(pb, sizeof(pb), "/v1/vms/nobody");
	r = ns_req(h, &member, "GET", pa, NULL);
	s = ns_req(h, &member, "GET", pb, NULL);
	assert_status(r, 404);
	ns_assert_alike(r, "web1", s, "nobody");

	/* Guestinfo keys are each web1's own. */
	assert_status(ns_req(h, NULL, "PUT", "/v1/vms/web1/guestinfo/role",
			     "{\"value\":\"host\"}"),
		      201);
	r = ns_req(h, &j1, "PUT", "/v1/vms/web1/guestinfo/role",
		   "{\"value\":\"j1\"}");
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1/guestinfo/role");
	r = ns_req(h, NULL, "PUT", "/v1/vms/web1/guestinfo/other?jail=j2",
		   "{\"value\":\"j2\"}");
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/vms/web1/guestinfo/other?jail=j2");
	assert_json_str(harness_get(h, "/v1/vms/web1/guestinfo/role"), "value",
			"host");
	assert_json_str(
	    ns_req(h, &j1, "GET", "/v1/vms/web1/guestinfo/role", NULL), "value",
	    "j1");
	assert_json_str(harness_get(h, "/v1/vms/web1/guestinfo/role?jail=j1"),
			"value", "j1");
	assert_not_found(
	    ns_req(h, &j2, "GET", "/v1/vms/web1/guestinfo/role", NULL), "role");

	/* The jail's start, stop and delete act on its own web1. */
	assert_status(ns_req(h, &j1, "POST", "/v1/vms/web1/start", NULL), 200);
	harness_wait_vm_state(h, "web1?jail=j1", "running", WAIT_MS);
	/* A monitor start of it points host root at its console, in j1. */
	r = harness_req(h, "POST", "/v1/vms/web1/start?mode=monitor&jail=j1",
			NULL, NULL);
	assert_problem(r, 409, NULL);
	if (strstr(r->hr_body, "GET /v1/vms/web1/console?jail=j1&follow=1") ==
	    NULL)
		fail_msg("no way to j1's console: %s", r->hr_body);
	assert_json_str(harness_get(h, "/v1/vms/web1"), "status.state",
			"defined");
	assert_json_str(harness_get(h, "/v1/vms/web1?jail=j2"), "status.state",
			"defined");
	assert_status(harness_req(h, "POST",
				  "/v1/vms/web1/stop?force=1&jail=j1", NULL,
				  NULL),
		      200);
	harness_wait_vm_state(h, "web1?jail=j1", "stopped", WAIT_MS);
	assert_status(ns_req(h, &j1, "DELETE", "/v1/vms/web1", NULL), 204);
	assert_not_found(ns_req(h, &j1, "GET", "/v1/vms/web1", NULL), "web1");
	ns_expect(h, NULL, "/v1/vms/web1", "", "host");
	ns_expect(h, &j2, "/v1/vms/web1", "j2", "j2");
	/* Host root deletes a jail's VM with ?jail=, the host's without. */
	assert_status(
	    harness_req(h, "DELETE", "/v1/vms/web2?jail=j2", NULL, NULL), 204);
	ns_expect(h, &j1, "/v1/vms/web2", "j1", "by host root");

	/* A restart keeps all of it. */
	harness_restart(h);
	ns_expect(h, NULL, "/v1/vms/web1", "", "host");
	ns_expect(h, NULL, "/v1/vms/web1?jail=j2", "j2", "j2");
	ns_expect(h, &j2, "/v1/vms/web1", "j2", "j2");
	ns_expect(h, &j1, "/v1/vms/web2", "j1", "by host root");
	assert_not_found(ns_req(h, &j1, "GET", "/v1/vms/web1", NULL), "web1");
	assert_json_str(harness_get(h, "/v1/vms/web1/guestinfo/role"), "value",
			"host");
	assert_json_str(
	    ns_req(h, &j2, "GET", "/v1/vms/web1/guestinfo/other", NULL),
	    "value", "j2");
	assert_list(harness_get(h, "/v1/vms"),
		    "web1 web1 web2 hostonly hostonly nobody");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(
		test_access__every_caller_gets_what_the_access_table_says,
		HARNESS_NOSTART, VMM_ARGS),
	    HARNESS_CASE_ARGS(test_access__sockets_let_every_local_user_ask, 0,
			      VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__host_root_starts_detached_and_stops_any_vm, 0,
		VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__member_in_monitor_mode_streams_and_a_dead_client_stops_the_vm,
		0, VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__member_in_monitor_mode_an_aborted_transfer_stops_the_vm,
		0, VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__running_limit_refuses_a_members_second_monitor_start,
		0, VMM_ARGS, "--max-running-per-uid", "1"),
	    HARNESS_CASE_ARGS(test_access__audit_names_the_peer_credentials, 0,
			      VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__jail_root_starts_detached_and_members_monitor_inside_it,
		0, VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__an_unknown_vmm_group_leaves_only_root, 0,
		"--vmm-group", "vmmapid-test-no-such-group"),
	    HARNESS_CASE_ARGS(test_access__a_vmm_group_named_is_looked_up, 0,
			      "--vmm-group", "root"),
	    HARNESS_CASE_ARGS(
		test_access__jail_without_allow_vmm_is_403_naming_it, 0,
		VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__passthrough_from_jail_root_needs_allow_vmm_ppt,
		HARNESS_NOSTART, VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__jail_token_over_tcp_is_like_the_jail_socket,
		HARNESS_TCP, VMM_ARGS),
	    HARNESS_CASE_ARGS(test_access__deleting_a_jail_with_vms_is_409, 0,
			      VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__the_host_and_each_jail_have_a_vm_namespace_of_their_own,
		0, VMM_ARGS),
	    HARNESS_CASE_ARGS(test_access__an_expired_token_is_401, HARNESS_TCP,
			      VMM_ARGS),
	    HARNESS_CASE_ARGS(test_access__a_revoked_token_is_401_at_once,
			      HARNESS_TCP, VMM_ARGS),
	    HARNESS_CASE_ARGS(
		test_access__the_bootstrap_admin_token_is_host_root,
		HARNESS_TCP, VMM_ARGS),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
