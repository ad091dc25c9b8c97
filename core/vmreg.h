/*
 * The VM registry: every VM definition in memory, authoritative for reads,
 * persisted through db/.  Loaded from the database at start-up; every
 * change is written to the database first and published here from the
 * database's commit hook, so readers see changes in commit order and only
 * once they are durable.
 *
 * Each VM's JSON representation is rendered once per change and kept, so
 * a read is a lookup and a copy.
 *
 * A VM is named here by its key (base/names.h): "web1" for the host's,
 * "j1/web1" for jail j1's; every `name` below is a key, and the jail a
 * VM is created in is its key's.
 *
 * Locking: one rwlock guards the sorted array of records; records are
 * immutable once published (a change publishes a new record).
 */
#ifndef VMMAPID_CORE_VMREG_H
#define VMMAPID_CORE_VMREG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/names.h"
#include "base/vm_state.h"
#include "core/spec.h"

struct db;
struct vmreg;

/* Opens the registry over db, loading every VM. -1 with errno. */
int vmreg_open(struct vmreg **out, struct db *db);

/* Frees the registry (the db stays open). NULL ok. */
void vmreg_close(struct vmreg *reg);

/* Number of VMs defined. */
size_t vmreg_count(struct vmreg *reg);

/* A copy of one VM's representation. The caller frees *body. */
struct vmreg_doc {
	char *vd_body;
	size_t vd_len;
	uint64_t vd_revision; /* the ETag is "<revision>" in quotes */
};

/* Representation of VM name. ENOENT. */
int vmreg_get(struct vmreg *reg, const char *name, struct vmreg_doc *doc);

/* A copy of VM name's spec, and its revision. ENOENT, ENOMEM. */
int vmreg_get_spec(struct vmreg *reg, const char *name, json_t **spec,
		   uint64_t *revision);

/*
 * VM name as a write must check it, in one look under the read lock: a
 * copy of its spec (none with spec NULL), its revision, the revision that wrote
 * this spec
 * (*spec_revision <= *revision: the versions between differ in their run
 * state only; as loaded at start-up, the revision itself), and its
 * creator and jail.  A
 * revision names one version of one VM for the daemon's life (db/: never
 * handed out twice) and a VM's owner never changes, so a write made with
 * expect_revision = *revision (vmreg_replace, vmreg_delete) lands on the
 * very VM whose owner was checked, or fails with ESTALE/ENOENT.  ENOENT.
 */
int vmreg_get_spec_owned(struct vmreg *reg, const char *name, json_t **spec,
			 uint64_t *revision, uint64_t *spec_revision,
			 uid_t *owner, char jail[65]);

/*
 * VM name's spec, typed (core/spec.h), into *out.  ENOENT; EINVAL when
 * the stored spec lacks what a start needs (a hand-edited database).
 */
int vmreg_get_vm_spec(struct vmreg *reg, const char *name, struct vm_spec *out);

struct vmreg_owner {
	uid_t vo_uid;
	gid_t vo_gid;
	const char *vo_jail; /* "" outside any jail; the key's jail */
};

/*
 * Defines VM name with a validated, normalized spec.  The registry keeps
 * a reference to spec as the published version's: the caller must not
 * change it afterwards.  EEXIST: the key is taken.  ENOSPC: LIMIT_VMS
 * reached.  EINVAL: owner's jail is not the key's.
 * On success *doc holds the new representation.
 */
int vmreg_create(struct vmreg *reg, const char *name, json_t *spec,
		 const struct vmreg_owner *owner, struct vmreg_doc *doc);

/*
 * vmreg_create with the VM's first guestinfo keys, stored in the same
 * transaction as the VM (db_vm_insert_keys).
 */
struct db_guestinfo_kv;
int vmreg_create_keys(struct vmreg *reg, const char *name, json_t *spec,
		      const struct vmreg_owner *owner,
		      const struct db_guestinfo_kv *keys, size_t nkeys,
		      struct vmreg_doc *doc);

/*
 * Replaces VM name's spec when its revision is expect_revision (0: any);
 * spec is kept as vmreg_create keeps it.
 * ENOENT, ESTALE.  On success *doc holds the new representation.
 */
int vmreg_replace(struct vmreg *reg, const char *name, json_t *spec,
		  uint64_t expect_revision, struct vmreg_doc *doc);

/*
 * Deletes VM name when its revision is expect_revision (0: any).
 * ENOENT, ESTALE, EBUSY (running).
 */
int vmreg_delete(struct vmreg *reg, const char *name, uint64_t expect_revision);

/*
 * Records VM name's run state and its status details (a JSON object with
 * state_changed_at, started_at, stopped_at, exit_reason, exit_status;
 * borrowed).  Generation stays; revision changes.  ENOENT.
 */
int vmreg_set_state(struct vmreg *reg, const char *name, enum vm_state state,
		    const json_t *status);

/*
 * vmreg_set_state told as event type ("vm.autostart_failed") rather than
 * the event the change of state implies (db_vm_update_state_as).
 */
int vmreg_set_state_as(struct vmreg *reg, const char *name, enum vm_state state,
		       const json_t *status, const char *type);

/* The database the registry writes to (for the tables beside it). */
struct db *vmreg_db(struct vmreg *reg);

/* VM name's creator and jail ("" outside any). ENOENT. */
int vmreg_get_owner(struct vmreg *reg, const char *name, uid_t *uid,
		    char jail[65]);

/*
 * What a lifecycle operation reads of a VM, in one look under the read
 * lock: its state and owner always, its status details (a copy the caller
 * drops) and its typed spec when what asks for them.
 */
struct vmreg_view {
	enum vm_state vv_state;
	uid_t vv_owner;
	uint64_t vv_generation; /* the spec's */
	json_t *vv_status;      /* VMREG_VIEW_STATUS */
	struct vm_spec vv_spec; /* VMREG_VIEW_SPEC */
};
#define VMREG_VIEW_STATUS 0x1
#define VMREG_VIEW_SPEC 0x2

/* ENOENT; ENOMEM; EINVAL: the stored spec does not decode. */
int vmreg_view(struct vmreg *reg, const char *name, unsigned what,
	       struct vmreg_view *out);

/* VM name's state into *state and a new reference to its status
 * details. ENOENT. */
int vmreg_get_state(struct vmreg *reg, const char *name, enum vm_state *state,
		    json_t **status);

/*
 * The keys of the VMs whose state keep answers 1 for (keep NULL: every
 * VM), in key order, as a new array the caller frees.  -1 ENOMEM.
 */
int vmreg_names(struct vmreg *reg, int (*keep)(enum vm_state),
		char (**names)[VMKEY_SIZE], size_t *n);

/*
 * The number of VMs in jail ("": outside any jail) into *n, under the
 * read lock; a snapshot, which a create may change the moment after.
 * Always 0.
 */
int vmreg_count_in_jail(struct vmreg *reg, const char *jail, size_t *n);

struct vmreg_label {
	const char *vl_key;
	const char *vl_value;
};

struct vmreg_filter {
	const enum vm_state *vf_state;       /* NULL: any */
	const struct vmreg_label *vf_labels; /* all must match */
	size_t vf_nlabels;
	/* Keys > after; NULL: from the start.  With vf_jail set, the key
	 * of that jail's VM of this name (vmkey_make). */
	const char *vf_after;
	size_t vf_limit; /* >= 1 */
	/* When set, only VMs for which it answers 1 (access control). */
	int (*vf_visible)(void *cls, uid_t owner_uid, const char *jail);
	void *vf_cls;
	/* Only the VMs of this jail ("": the host's); NULL: every scope.
	 * Set, the cursor "next" is a name in it rather than a key. */
	const char *vf_jail;
};

/*
 * A page of VMs in key order, as {"items": [...], "next": "cursor"|null}.
 * next is the last key of this page when more VMs match after it (its
 * name only, with vf_jail set).
 * The caller frees *body.
 */
int vmreg_list(struct vmreg *reg, const struct vmreg_filter *filter,
	       char **body, size_t *len);

/*
 * What a list of the registry can have changed by: the newest revision
 * ever published, and how many records were put or removed since
 * vmreg_open (a delete takes no revision, so the newest alone would not
 * move when the newest VM but one goes).  Two calls in one process that
 * give the same pair saw the same records.
 */
void vmreg_list_version(struct vmreg *reg, uint64_t *newest, uint64_t *changes);

/* How many VMs are in each state, under the read lock: no write. */
void vmreg_count_by_state(struct vmreg *reg, size_t counts[VM_NSTATES]);

#endif
