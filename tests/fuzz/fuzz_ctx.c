#include "fuzz_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/policy.h"
#include "api/vm_spec.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "core/auth.h"
#include "core/images.h"
#include "core/jails.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "db/db.h"
#include "vmm-driver/vmm.h"

#define FUZZ_OPENAPI "openapi: 3.1.0\ninfo:\n  title: fuzz\n"

static char fuzz_dir[256];
static struct api_context fuzz_context;
static struct policy fuzz_policy;

static void
fuzz_ctx_cleanup(void)
{
	char cmd[300];

	/* The process ends here: the objects are not closed, the directory
	 * (database, images) goes. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fuzz_dir);
	(void)system(cmd);
}

/* web1, uid 1000's, so that the routes on one VM reach their handlers. */
static void
fuzz_ctx_vm(struct vmreg *reg)
{
	static const char text[] =
	    "{\"name\":\"web1\",\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"hello.bin\"},\"labels\":{\"env\":\"prod\"}}";
	const struct vm_spec_limits lim = {2, 256};
	const struct vmreg_owner owner = {1000, 1000, ""};
	struct vm_spec_error err;
	struct vmreg_doc doc;
	json_t *in, *spec;

	if ((in = json_loads(text, 0, NULL)) == NULL ||
	    (spec = vm_spec_normalize(in, NULL, &lim, NULL, &err)) == NULL ||
	    vmreg_create(reg, "web1", spec, &owner, &doc) != 0)
		abort();
	free(doc.vd_body);
	json_decref(spec); /* the registry keeps a copy of its own */
	json_decref(in);
}

static void
fuzz_ctx_make(void)
{
	struct api_context *c = &fuzz_context;
	char path[128];
	struct db *db;
	struct vmreg *reg;
	struct auth *auth;
	struct images *im;
	struct vmrun *vr;
	struct jails *jails;

	/* Quiet: a refused request logs a line, and there are millions. */
	log_init(1, 0);
	/* Under $TMPDIR: tests/fuzz/run points it into build-fuzz, so that
	 * what a crash leaves behind (atexit does not run then) goes with
	 * the build. */
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/vmmapid-fuzz.XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_ctx_cleanup);
	snprintf(path, sizeof(path), "%s/vmmapid.db", fuzz_dir);
	if (db_open(&db, path) != 0 || vmreg_open(&reg, db) != 0 ||
	    auth_open(&auth, db) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/images", fuzz_dir);
	if (images_open(&im, db, path) != 0 ||
	    vmrun_open(&vr, reg, im, &vmm_sim_ops, NULL) != 0 ||
	    jails_open(&jails, db) != 0)
		abort();
	fuzz_ctx_vm(reg);
	c->ac_vmreg = reg;
	c->ac_db = db;
	c->ac_driver = "sim";
	c->ac_driver_reason = "fuzzing";
	c->ac_ops = &vmm_sim_ops;
	c->ac_max_vcpus = 2;
	c->ac_max_memory_mib = 256;
	c->ac_spool_dir = images_spool_dir(im);
	c->ac_upload_max = 1 << 20;
	c->ac_images = im;
	c->ac_vmrun = vr;
	c->ac_jails = jails;
	c->ac_auth = auth;
	c->ac_openapi = FUZZ_OPENAPI;
	c->ac_openapi_len = strlen(FUZZ_OPENAPI);
	c->ac_started_at_ms = (uint64_t)timefmt_now_ms();
	fuzz_policy.po_vmm_gid = 1000;
	fuzz_policy.po_jails = jails;
	c->ac_policy = &fuzz_policy;
}

const struct api_context *
fuzz_ctx(void)
{
	if (fuzz_context.ac_db == NULL)
		fuzz_ctx_make();
	return &fuzz_context;
}
