/*
 * Handlers of the route table (api/router.c).  Each answers one matched
 * request: the router has already checked the method, authentication, the
 * Content-Type and parsed the body, which it lends as call->ca_body.
 */
#ifndef VMMAPID_API_HANDLERS_H
#define VMMAPID_API_HANDLERS_H

#include <jansson.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/names.h"

#define API_MAX_PARAMS 4

struct api_call {
	const struct api_request *ca_rq;
	const json_t *ca_body; /* borrowed; NULL for routes without a body */
	const char *ca_params[API_MAX_PARAMS]; /* {param}s in path order */
	char ca_param_buf[LIMIT_URL_LEN];
	/*
	 * Routes on one VM (/v1/vms/{name}...): the VM's key, {name} in
	 * the scope the request names (api_vm_scope), for the registry and
	 * the runner; ca_params[0] stays its name, for what is said back.
	 */
	char ca_vm[VMKEY_SIZE];
	char ca_vm_jail[LIMIT_NAME_LEN + 1]; /* its scope, "" the host */
};

/*
 * The scope a request names VMs in, into jail: the caller's jail ("" on
 * the host), or, for host root, the jail ?jail= names.  ?jail= naming
 * the caller's own jail is the same as none.  0; or -1 with the problem
 * answered in rs (when not NULL): 400 for a malformed ?jail=, 404 naming
 * the jail when host root names one that does not exist; 1 with nothing
 * answered when anyone else names a scope not its own (a VM there does
 * not exist for that caller: the router answers as for any VM that does
 * not exist).
 */
int api_vm_scope(const struct api_context *ctx, const struct api_request *rq,
		 char jail[LIMIT_NAME_LEN + 1], struct api_response *rs);

/*
 * Where the VM of key (and sub, "" or a path below it) is, as a URL:
 * /v1/vms/NAME + sub, then ?jail=JAIL for a jail's VM when the caller is
 * not in that jail (host root).
 */
void api_vm_location(const struct api_request *rq, const char *key,
		     const char *sub, char *buf, size_t len);

/* The size of api_vm_location's longest URL with a sub of sub_len. */
#define API_VM_LOCATION_SIZE(sub_len)                                          \
	(sizeof("/v1/vms/?jail=") + 2 * LIMIT_NAME_LEN + (sub_len))

typedef void (*api_handler)(const struct api_context *ctx,
			    const struct api_call *call,
			    struct api_response *rs);

/* api/metrics.c */
void api_metrics_get(const struct api_context *, const struct api_call *,
		     struct api_response *);

/* api/events.c */
void api_events_get(const struct api_context *, const struct api_call *,
		    struct api_response *);

/* api/backup.c */
void api_admin_backup(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/host.c */
void api_host_root(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_host_health(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_host_openapi(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/guestinfo.c */
struct db_guestinfo_kv;
/*
 * The "guestinfo" member of a VM's creation request (an object of key to
 * string value) as keys for vmreg_create_keys: 0 with *keys (malloc'd;
 * the strings are member's) and *n; -1 with a 400 answered in rs.
 */
int api_guestinfo_keys(const json_t *member, struct db_guestinfo_kv **keys,
		       size_t *n, struct api_response *rs);
/*
 * Answers 400 and returns -1 when body, a PUT or PATCH of a VM, carries
 * "guestinfo": keys are set at creation, then one by one.
 */
int api_guestinfo_not_here(const json_t *body, struct api_response *rs);
void api_guestinfo_list(const struct api_context *, const struct api_call *,
			struct api_response *);
void api_guestinfo_get(const struct api_context *, const struct api_call *,
		       struct api_response *);
void api_guestinfo_put(const struct api_context *, const struct api_call *,
		       struct api_response *);
void api_guestinfo_delete(const struct api_context *, const struct api_call *,
			  struct api_response *);

/* api/host.c: the host's own hypervisors (pvbus) */
void api_host_pvbus(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_host_pvbus_key(const struct api_context *, const struct api_call *,
			struct api_response *);

/* api/problems.c */
void api_problems_list(const struct api_context *, const struct api_call *,
		       struct api_response *);
void api_problems_get(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/vms.c */
void api_vms_list(const struct api_context *, const struct api_call *,
		  struct api_response *);
void api_vms_create(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_vms_get(const struct api_context *, const struct api_call *,
		 struct api_response *);
void api_vms_put(const struct api_context *, const struct api_call *,
		 struct api_response *);
void api_vms_patch(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_delete(const struct api_context *, const struct api_call *,
		    struct api_response *);

/* api/lifecycle.c */
void api_vms_start(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_stop(const struct api_context *, const struct api_call *,
		  struct api_response *);
void api_vms_reset(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_pause(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vms_resume(const struct api_context *, const struct api_call *,
		    struct api_response *);

/* api/console.c */
struct console;
/*
 * Makes rs a 200 streaming console c (a reference is taken) from offset
 * until the run ends or the client leaves; then on_free(arg) (may be
 * NULL) is called once.  -1 ENOMEM.
 */
int api_console_follow(struct console *c, uint64_t offset, const char *type,
		       void (*on_free)(void *), void *arg,
		       struct api_response *rs);
void api_console_get(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_console_post(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/images.c */
void api_images_list(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_images_get(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_images_put(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_images_delete(const struct api_context *, const struct api_call *,
		       struct api_response *);

/* api/vcpus.c, api/vcpus_params.c, api/vcpus_protect.c */
void api_vcpus_list(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_vcpus_get(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_vcpus_regs_get(const struct api_context *, const struct api_call *,
			struct api_response *);
void api_vcpus_regs_put(const struct api_context *, const struct api_call *,
			struct api_response *);
void api_vcpus_reset(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_vcpus_interrupt(const struct api_context *, const struct api_call *,
			 struct api_response *);
void api_vcpus_params_get(const struct api_context *, const struct api_call *,
			  struct api_response *);
void api_vcpus_params_put(const struct api_context *, const struct api_call *,
			  struct api_response *);
void api_vcpus_protect(const struct api_context *, const struct api_call *,
		       struct api_response *);

/* api/tokens.c (host root) */
void api_tokens_list(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_tokens_create(const struct api_context *, const struct api_call *,
		       struct api_response *);
void api_tokens_get(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_tokens_delete(const struct api_context *, const struct api_call *,
		       struct api_response *);

/* api/jails.c (host root) */
void api_jails_list(const struct api_context *, const struct api_call *,
		    struct api_response *);
void api_jails_get(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_jails_put(const struct api_context *, const struct api_call *,
		   struct api_response *);
void api_jails_delete(const struct api_context *, const struct api_call *,
		      struct api_response *);

/* api/pptdevs.c (POL_PPT) */
void api_pptdevs_list(const struct api_context *, const struct api_call *,
		      struct api_response *);
void api_pptdevs_loader_conf(const struct api_context *,
			     const struct api_call *, struct api_response *);
void api_pptdevs_get(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_pptdevs_put(const struct api_context *, const struct api_call *,
		     struct api_response *);
void api_pptdevs_delete(const struct api_context *, const struct api_call *,
			struct api_response *);
/*
 * Whether every device a normalized spec's "pptdevs" names is reserved:
 * 0, or -1 with a 422 naming the first that is not (field pptdevs[i]).
 */
int api_pptdevs_spec_ok(const struct api_context *ctx, const json_t *spec,
			struct api_response *rs);
/*
 * The same for call's VM's stored spec before a start, and no other VM's
 * run holds one of its devices: 0, or -1 with a 422 or a 409 naming the
 * VM that has it (as the caller may be told of it).  0 when there is no
 * such VM (the start answers that).  A check before the start, whose own
 * claim (core/pptdevs.h) decides a race.
 */
int api_pptdevs_start_ok(const struct api_context *ctx,
			 const struct api_call *call, struct api_response *rs);

/*
 * api/images.c: 0 when the database's file system has --disk-reserve-mib
 * free, else a 507 in rs saying what was refused (what: "creating a VM")
 * and -1.  Deletes never ask: they are what frees space.
 */
int api_space_ok(const struct api_context *ctx, struct api_response *rs,
		 const char *what);

/* api/audit.c */
void api_audit_list(const struct api_context *, const struct api_call *,
		    struct api_response *);
/*
 * Records a finished mutating request (POST, PUT, PATCH, DELETE) in the
 * audit log: who (principal), what (method, path), the status.  Does not
 * wait for the disk.
 */
void api_audit_record(const struct api_context *ctx,
		      const struct api_request *rq, int status);

/*
 * api_audit_record as if answered at now_ms (tests: the rate's minutes
 * without waiting for them).
 */
void api_audit_record_at(const struct api_context *ctx,
			 const struct api_request *rq, int status,
			 int64_t now_ms);

/* The value of query argument key (the first if repeated), or NULL. */
const char *api_query(const struct api_request *rq, const char *key);

/* The value of request header name, or NULL. */
const char *api_header(const struct api_request *rq, const char *name);

#endif
