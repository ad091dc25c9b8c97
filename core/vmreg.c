#include "core/vmreg.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/limits.h"
#include "base/log.h"
#include "base/names.h"
#include "base/timefmt.h"
#include "db/db.h"

/*
 * One published version of a VM; immutable once in the array.  Its
 * parsed spec is the writer thread's alone: readers get deep copies
 * (vmreg_get_spec).  jansson's json_decref updates the count with release
 * order only, so a json_t freed by one thread after another's last use is
 * a data race in the memory model's terms; no json_t crosses threads.
 */
struct vmrec {
	char vr_name[VMKEY_SIZE]; /* the VM's key (base/names.h) */
	json_t *vr_spec;
	json_t *vr_status; /* status details as stored */
	uid_t vr_owner_uid;
	char vr_jail[65];
	enum vm_state vr_state;
	uint64_t vr_revision;
	uint64_t vr_generation;
	/* The revision that wrote this generation's spec: revisions from it
	 * to vr_revision differ in their run state only. */
	uint64_t vr_spec_revision;
	char *vr_body; /* rendered representation */
	size_t vr_len;
};

struct vmreg {
	struct db *vg_db;
	pthread_rwlock_t vg_lock; /* guards vg_recs, vg_n, vg_cap */
	struct vmrec **vg_recs;   /* sorted by name */
	size_t vg_n, vg_cap;
	/* What a list's ETag is made of (vmreg_list_version); vg_lock. */
	uint64_t vg_newest;  /* the newest revision ever published */
	uint64_t vg_changes; /* records put or removed since vmreg_open */
};

static void
vmrec_free(struct vmrec *rec)
{
	if (rec == NULL)
		return;
	json_decref(rec->vr_spec);
	json_decref(rec->vr_status);
	free(rec->vr_body);
	free(rec);
}

static json_t *
json_or_null_from(json_t *status, const char *key)
{
	json_t *v = json_object_get(status, key);

	return v != NULL ? json_incref(v) : json_null();
}

/*
 * The representation's members after the spec's own: status, owner,
 * generation, revision and timestamps, as compact JSON without braces.
 * NULL: out of memory.
 */
static char *
vmrec_render_tail(const struct db_vm_row *row, json_t *status)
{
	char created[40], updated[40], *st_text = NULL, *jail = NULL, *out;
	json_t *st, *j;
	json_int_t observed;
	int n;

	timefmt_rfc3339(row->vr_created_ms, created, sizeof(created));
	timefmt_rfc3339(row->vr_updated_ms, updated, sizeof(updated));
	/* The generation the current (or last) run started with; a live
	 * run of an older one does not have the spec's changes yet. */
	observed =
	    json_integer_value(json_object_get(status, "observed_generation"));
	st = json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "state",
	    vm_state_name(row->vr_state), "state_changed_at",
	    json_object_get(status, "state_changed_at") != NULL
		? json_or_null_from(status, "state_changed_at")
		: json_string(created),
	    "started_at", json_or_null_from(status, "started_at"), "stopped_at",
	    json_or_null_from(status, "stopped_at"), "exit_reason",
	    json_or_null_from(status, "exit_reason"), "exit_status",
	    json_or_null_from(status, "exit_status"), "observed_generation",
	    json_or_null_from(status, "observed_generation"), "pending_restart",
	    vm_state_is_live(row->vr_state) && observed > 0 &&
		(uint64_t)observed != row->vr_generation,
	    "start_cause", json_or_null_from(status, "start_cause"),
	    "autostart", json_or_null_from(status, "autostart"));
	j = json_string(row->vr_jail);
	if (st != NULL)
		st_text = json_dumps(st, JSON_COMPACT);
	if (j != NULL)
		jail = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(st);
	json_decref(j);
	out = NULL;
	if (st_text != NULL && jail != NULL) {
		n = asprintf(&out,
			     "\"status\":%s,\"owner\":{\"uid\":%llu,\"gid\":"
			     "%llu,\"jail\":%s},\"generation\":%llu,"
			     "\"revision\":%llu,\"created_at\":\"%s\","
			     "\"updated_at\":\"%s\"",
			     st_text, (unsigned long long)row->vr_owner_uid,
			     (unsigned long long)row->vr_owner_gid, jail,
			     (unsigned long long)row->vr_generation,
			     (unsigned long long)row->vr_revision, created,
			     updated);
		if (n < 0)
			out = NULL;
	}
	free(st_text);
	free(jail);
	return out;
}

/*
 * Renders a row as the VM's representation: the spec's fields, then
 * status, owner, generation, revision and timestamps.  The body is the
 * stored spec text (compact JSON, as written) with those members spliced
 * in before its closing brace, so the spec is not parsed and serialized
 * again.  spec: the row's spec already parsed (shared), or NULL to parse
 * the row's text.
 */
static struct vmrec *
vmrec_from_row(const struct db_vm_row *row, json_t *spec)
{
	struct vmrec *rec;
	json_t *status = NULL;
	json_error_t jerr;
	char *tail = NULL;
	size_t speclen, taillen;

	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	snprintf(rec->vr_name, sizeof(rec->vr_name), "%s", row->vr_name);
	rec->vr_state = row->vr_state;
	rec->vr_revision = row->vr_revision;
	rec->vr_generation = row->vr_generation;
	rec->vr_spec_revision = row->vr_spec_revision;
	rec->vr_owner_uid = row->vr_owner_uid;
	snprintf(rec->vr_jail, sizeof(rec->vr_jail), "%s", row->vr_jail);
	rec->vr_spec = spec != NULL ? json_incref(spec)
				    : json_loads(row->vr_spec, 0, &jerr);
	speclen = strlen(row->vr_spec);
	if (rec->vr_spec == NULL || !json_is_object(rec->vr_spec) ||
	    speclen < 2 || row->vr_spec[speclen - 1] != '}') {
		log_warnx("vm %s: stored spec is not a JSON object: %s",
			  row->vr_name,
			  rec->vr_spec == NULL ? jerr.text : "bad text");
		errno = EIO;
		goto fail;
	}
	status = json_loads(row->vr_status != NULL ? row->vr_status : "{}", 0,
			    &jerr);
	if (status == NULL)
		status = json_object();
	if (status == NULL || (tail = vmrec_render_tail(row, status)) == NULL)
		goto nomem;
	taillen = strlen(tail);
	/* "{...}" + "," + tail: the spec's members, then ours */
	if ((rec->vr_body = malloc(speclen + 1 + taillen + 1)) == NULL)
		goto nomem;
	memcpy(rec->vr_body, row->vr_spec, speclen - 1);
	rec->vr_len = speclen - 1;
	if (json_object_size(rec->vr_spec) > 0)
		rec->vr_body[rec->vr_len++] = ',';
	memcpy(rec->vr_body + rec->vr_len, tail, taillen);
	rec->vr_len += taillen;
	rec->vr_body[rec->vr_len++] = '}';
	rec->vr_body[rec->vr_len] = '\0';
	free(tail);
	rec->vr_status = status;
	return rec;

nomem:
	errno = ENOMEM;
fail:
	free(tail);
	json_decref(status);
	vmrec_free(rec);
	return NULL;
}

static const char *
vmreg_name_at(const void *recs, size_t i)
{
	return ((const struct vmrec *const *)recs)[i]->vr_name;
}

/* Index of name, or of where it would go (*found says which). */
static size_t
vmreg_find(const struct vmreg *reg, const char *name, int *found)
{
	size_t at;

	*found = name_search(reg->vg_recs, reg->vg_n, vmreg_name_at, name, &at);
	return at;
}

/* Puts rec in place of its name's record, or inserts it. Write-locked. */
static int
vmreg_put_locked(struct vmreg *reg, struct vmrec *rec)
{
	int found;
	size_t i = vmreg_find(reg, rec->vr_name, &found);

	reg->vg_changes++;
	if (rec->vr_revision > reg->vg_newest)
		reg->vg_newest = rec->vr_revision;
	if (found) {
		/* A new version of the same definition (a state change, or
		 * a write that changed nothing) keeps where its spec began. */
		if (reg->vg_recs[i]->vr_generation == rec->vr_generation)
			rec->vr_spec_revision =
			    reg->vg_recs[i]->vr_spec_revision;
		vmrec_free(reg->vg_recs[i]);
		reg->vg_recs[i] = rec;
		return 0;
	}
	if (reg->vg_n == reg->vg_cap) {
		size_t ncap = reg->vg_cap ? reg->vg_cap * 2 : 64;
		struct vmrec **n = realloc(reg->vg_recs, ncap * sizeof(*n));

		if (n == NULL)
			return -1;
		reg->vg_recs = n;
		reg->vg_cap = ncap;
	}
	memmove(&reg->vg_recs[i + 1], &reg->vg_recs[i],
		(reg->vg_n - i) * sizeof(*reg->vg_recs));
	reg->vg_recs[i] = rec;
	reg->vg_n++;
	return 0;
}

static void
vmreg_remove_locked(struct vmreg *reg, const char *name)
{
	int found;
	size_t i = vmreg_find(reg, name, &found);

	if (!found)
		return;
	reg->vg_changes++;
	vmrec_free(reg->vg_recs[i]);
	memmove(&reg->vg_recs[i], &reg->vg_recs[i + 1],
		(reg->vg_n - i - 1) * sizeof(*reg->vg_recs));
	reg->vg_n--;
}

static int
vmreg_load_one(void *arg, const struct db_vm_row *row)
{
	struct vmreg *reg = arg;
	struct vmrec *rec = vmrec_from_row(row, NULL);

	if (rec == NULL)
		return -1;
	if (vmreg_put_locked(reg, rec) != 0) {
		vmrec_free(rec);
		return -1;
	}
	return 0;
}

int
vmreg_open(struct vmreg **out, struct db *db)
{
	struct vmreg *reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return -1;
	reg->vg_db = db;
	pthread_rwlock_init(&reg->vg_lock, NULL);
	if (db_vm_load_all(db, vmreg_load_one, reg) != 0) {
		if (errno == 0)
			errno = EIO;
		vmreg_close(reg);
		return -1;
	}
	log_info("%zu VM definitions loaded", reg->vg_n);
	*out = reg;
	return 0;
}

void
vmreg_close(struct vmreg *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->vg_n; i++)
		vmrec_free(reg->vg_recs[i]);
	free(reg->vg_recs);
	pthread_rwlock_destroy(&reg->vg_lock);
	free(reg);
}

size_t
vmreg_count(struct vmreg *reg)
{
	size_t n;

	pthread_rwlock_rdlock(&reg->vg_lock);
	n = reg->vg_n;
	pthread_rwlock_unlock(&reg->vg_lock);
	return n;
}

static int
vmreg_copy_doc(const struct vmrec *rec, struct vmreg_doc *doc)
{
	if ((doc->vd_body = malloc(rec->vr_len + 1)) == NULL)
		return -1;
	memcpy(doc->vd_body, rec->vr_body, rec->vr_len + 1);
	doc->vd_len = rec->vr_len;
	doc->vd_revision = rec->vr_revision;
	return 0;
}

int
vmreg_get(struct vmreg *reg, const char *name, struct vmreg_doc *doc)
{
	int found, rc = -1;
	size_t i;

	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (!found)
		errno = ENOENT;
	else
		rc = vmreg_copy_doc(reg->vg_recs[i], doc);
	pthread_rwlock_unlock(&reg->vg_lock);
	return rc;
}

int
vmreg_view(struct vmreg *reg, const char *name, unsigned what,
	   struct vmreg_view *out)
{
	const struct vmrec *rec;
	int found, rc = 0;
	size_t i;

	out->vv_status = NULL;
	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (!found) {
		pthread_rwlock_unlock(&reg->vg_lock);
		errno = ENOENT;
		return -1;
	}
	rec = reg->vg_recs[i];
	out->vv_state = rec->vr_state;
	out->vv_owner = rec->vr_owner_uid;
	out->vv_generation = rec->vr_generation;
	if ((what & VMREG_VIEW_SPEC) &&
	    spec_decode(rec->vr_spec, &out->vv_spec) != 0)
		rc = -1; /* EINVAL */
	if (rc == 0 && (what & VMREG_VIEW_STATUS) &&
	    (out->vv_status = json_deep_copy(rec->vr_status)) == NULL) {
		errno = ENOMEM;
		rc = -1;
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	return rc;
}

int
vmreg_get_vm_spec(struct vmreg *reg, const char *name, struct vm_spec *out)
{
	struct vmreg_view v;

	if (vmreg_view(reg, name, VMREG_VIEW_SPEC, &v) != 0)
		return -1;
	*out = v.vv_spec;
	return 0;
}

int
vmreg_get_spec(struct vmreg *reg, const char *name, json_t **spec,
	       uint64_t *revision)
{
	int found;
	size_t i;

	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (found) {
		*spec = json_deep_copy(reg->vg_recs[i]->vr_spec);
		*revision = reg->vg_recs[i]->vr_revision;
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	if (!found || *spec == NULL) {
		errno = found ? ENOMEM : ENOENT;
		return -1;
	}
	return 0;
}

int
vmreg_get_spec_owned(struct vmreg *reg, const char *name, json_t **spec,
		     uint64_t *revision, uint64_t *spec_revision, uid_t *owner,
		     char jail[65])
{
	const struct vmrec *rec;
	int found;
	size_t i;

	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (found) {
		rec = reg->vg_recs[i];
		if (spec != NULL)
			*spec = json_deep_copy(rec->vr_spec);
		*revision = rec->vr_revision;
		*spec_revision = rec->vr_spec_revision;
		*owner = rec->vr_owner_uid;
		memcpy(jail, rec->vr_jail, 65);
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	if (!found || (spec != NULL && *spec == NULL)) {
		errno = found ? ENOMEM : ENOENT;
		return -1;
	}
	return 0;
}

/* What a write hands to the commit hook, and gets back from it. */
struct vmreg_commit {
	struct vmreg *vc_reg;
	int vc_delete;
	struct vmreg_doc *vc_doc; /* NULL for deletes */
	int vc_failed;            /* rendering failed: errno value */
	json_t *vc_spec; /* the spec written, parsed; NULL: not written */
};

/*
 * The parsed spec of the published version of name when its generation
 * is generation (the spec did not change since), with a reference; else
 * NULL.
 */
static json_t *
vmreg_same_spec(struct vmreg *reg, const char *name, uint64_t generation)
{
	json_t *spec = NULL;
	int found;
	size_t i;

	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (found && reg->vg_recs[i]->vr_generation == generation)
		spec = json_incref(reg->vg_recs[i]->vr_spec);
	pthread_rwlock_unlock(&reg->vg_lock);
	return spec;
}

/*
 * The database's commit hook, on the writer thread in commit order: the
 * registry changes exactly as the database did.
 */
static void
vmreg_commit_hook(void *arg, const struct db_vm_row *row)
{
	struct vmreg_commit *vc = arg;
	struct vmreg *reg = vc->vc_reg;
	struct vmrec *rec = NULL;
	json_t *spec = NULL;

	if (!vc->vc_delete)
		spec = vc->vc_spec != NULL
			   ? json_deep_copy(vc->vc_spec)
			   : vmreg_same_spec(reg, row->vr_name,
					     row->vr_generation);
	if (!vc->vc_delete && (rec = vmrec_from_row(row, spec)) == NULL) {
		/*
		 * The row is durable but could not be rendered (out of
		 * memory): drop the stale version rather than serve it.
		 */
		vc->vc_failed = errno;
		log_warn("vm %s: committed but not published", row->vr_name);
	}
	if (rec != NULL && vc->vc_doc != NULL &&
	    vmreg_copy_doc(rec, vc->vc_doc) != 0)
		vc->vc_failed = ENOMEM;
	pthread_rwlock_wrlock(&reg->vg_lock);
	if (rec == NULL) {
		vmreg_remove_locked(reg, row->vr_name);
	} else if (vmreg_put_locked(reg, rec) != 0) {
		vmreg_remove_locked(reg, row->vr_name);
		vmrec_free(rec);
		vc->vc_failed = ENOMEM;
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	json_decref(spec);
}

static int
vmreg_commit_result(struct vmreg_commit *vc)
{
	if (vc->vc_failed) {
		if (vc->vc_doc != NULL) {
			free(vc->vc_doc->vd_body);
			vc->vc_doc->vd_body = NULL;
		}
		errno = vc->vc_failed;
		return -1;
	}
	return 0;
}

int
vmreg_create(struct vmreg *reg, const char *name, json_t *spec,
	     const struct vmreg_owner *owner, struct vmreg_doc *doc)
{
	return vmreg_create_keys(reg, name, spec, owner, NULL, 0, doc);
}

int
vmreg_create_keys(struct vmreg *reg, const char *name, json_t *spec,
		  const struct vmreg_owner *owner,
		  const struct db_guestinfo_kv *keys, size_t nkeys,
		  struct vmreg_doc *doc)
{
	struct vmreg_commit vc = {reg, 0, doc, 0, spec};
	struct db_vm_row row;
	int rc;

	if (vmreg_count(reg) >= LIMIT_VMS) {
		errno = ENOSPC;
		return -1;
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	/* A VM lives in its key's scope: its owner's jail is that one. */
	vmkey_jail(name, row.vr_jail);
	if (strcmp(row.vr_jail, owner->vo_jail != NULL ? owner->vo_jail : "") !=
	    0) {
		errno = EINVAL;
		return -1;
	}
	row.vr_owner_uid = owner->vo_uid;
	row.vr_owner_gid = owner->vo_gid;
	row.vr_state = VM_DEFINED;
	row.vr_spec = json_dumps(spec, JSON_COMPACT);
	row.vr_status = strdup("{}");
	if (row.vr_spec == NULL || row.vr_status == NULL) {
		db_vm_row_clear(&row);
		errno = ENOMEM;
		return -1;
	}
	rc = db_vm_insert_keys(reg->vg_db, &row, keys, nkeys, vmreg_commit_hook,
			       &vc);
	db_vm_row_clear(&row);
	if (rc != 0)
		return -1;
	return vmreg_commit_result(&vc);
}

int
vmreg_replace(struct vmreg *reg, const char *name, json_t *spec,
	      uint64_t expect_revision, struct vmreg_doc *doc)
{
	struct vmreg_commit vc = {reg, 0, doc, 0, spec};
	struct db_vm_row row;
	int rc;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	if ((row.vr_spec = json_dumps(spec, JSON_COMPACT)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = db_vm_update_spec(reg->vg_db, &row, expect_revision,
			       vmreg_commit_hook, &vc);
	db_vm_row_clear(&row);
	if (rc != 0)
		return -1;
	return vmreg_commit_result(&vc);
}

int
vmreg_set_state(struct vmreg *reg, const char *name, enum vm_state state,
		const json_t *status)
{
	return vmreg_set_state_as(reg, name, state, status, NULL);
}

int
vmreg_set_state_as(struct vmreg *reg, const char *name, enum vm_state state,
		   const json_t *status, const char *type)
{
	struct vmreg_commit vc = {reg, 0, NULL, 0, NULL};
	struct db_vm_row row;
	int rc;

	memset(&row, 0, sizeof(row));
	snprintf(row.vr_name, sizeof(row.vr_name), "%s", name);
	row.vr_state = state;
	if ((row.vr_status = json_dumps(status, JSON_COMPACT)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = type != NULL
		 ? db_vm_update_state_as(reg->vg_db, &row, type,
					 vmreg_commit_hook, &vc)
		 : db_vm_update_state(reg->vg_db, &row, vmreg_commit_hook, &vc);
	db_vm_row_clear(&row);
	if (rc != 0)
		return -1;
	return vmreg_commit_result(&vc);
}

struct db *
vmreg_db(struct vmreg *reg)
{
	return reg->vg_db;
}

int
vmreg_get_owner(struct vmreg *reg, const char *name, uid_t *uid, char jail[65])
{
	int found;
	size_t i;

	pthread_rwlock_rdlock(&reg->vg_lock);
	i = vmreg_find(reg, name, &found);
	if (found) {
		*uid = reg->vg_recs[i]->vr_owner_uid;
		memcpy(jail, reg->vg_recs[i]->vr_jail, 65);
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
vmreg_get_state(struct vmreg *reg, const char *name, enum vm_state *state,
		json_t **status)
{
	struct vmreg_view v;

	if (vmreg_view(reg, name, VMREG_VIEW_STATUS, &v) != 0)
		return -1;
	*state = v.vv_state;
	*status = v.vv_status;
	return 0;
}

int
vmreg_delete(struct vmreg *reg, const char *name, uint64_t expect_revision)
{
	struct vmreg_commit vc = {reg, 1, NULL, 0, NULL};

	return db_vm_delete(reg->vg_db, name, expect_revision,
			    vmreg_commit_hook, &vc);
}

int
vmreg_names(struct vmreg *reg, int (*keep)(enum vm_state),
	    char (**names)[VMKEY_SIZE], size_t *n)
{
	size_t i, k = 0;

	pthread_rwlock_rdlock(&reg->vg_lock);
	*names = calloc(reg->vg_n + 1, sizeof(**names));
	if (*names == NULL) {
		pthread_rwlock_unlock(&reg->vg_lock);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < reg->vg_n; i++) {
		if (keep != NULL && !keep(reg->vg_recs[i]->vr_state))
			continue;
		memcpy((*names)[k++], reg->vg_recs[i]->vr_name, VMKEY_SIZE);
	}
	pthread_rwlock_unlock(&reg->vg_lock);
	*n = k;
	return 0;
}

int
vmreg_count_in_jail(struct vmreg *reg, const char *jail, size_t *n)
{
	size_t i, k = 0;

	pthread_rwlock_rdlock(&reg->vg_lock);
	for (i = 0; i < reg->vg_n; i++)
		if (strcmp(reg->vg_recs[i]->vr_jail, jail) == 0)
			k++;
	pthread_rwlock_unlock(&reg->vg_lock);
	*n = k;
	return 0;
}

static int
vmrec_matches(const struct vmrec *rec, const struct vmreg_filter *f)
{
	json_t *labels;
	size_t i;

	if (f->vf_state != NULL && rec->vr_state != *f->vf_state)
		return 0;
	if (f->vf_jail != NULL && strcmp(rec->vr_jail, f->vf_jail) != 0)
		return 0;
	if (f->vf_visible != NULL &&
	    !f->vf_visible(f->vf_cls, rec->vr_owner_uid, rec->vr_jail))
		return 0;
	if (f->vf_nlabels == 0)
		return 1;
	labels = json_object_get(rec->vr_spec, "labels");
	for (i = 0; i < f->vf_nlabels; i++) {
		const char *v = json_string_value(
		    json_object_get(labels, f->vf_labels[i].vl_key));

		if (v == NULL || strcmp(v, f->vf_labels[i].vl_value) != 0)
			return 0;
	}
	return 1;
}

/* A growing buffer for list bodies. */
struct buf {
	char *b_data;
	size_t b_len, b_cap;
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->b_len + n + 1 > b->b_cap) {
		size_t ncap = b->b_cap ? b->b_cap : 1024;
		char *d;

		while (b->b_len + n + 1 > ncap)
			ncap *= 2;
		if ((d = realloc(b->b_data, ncap)) == NULL)
			return -1;
		b->b_data = d;
		b->b_cap = ncap;
	}
	memcpy(b->b_data + b->b_len, s, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
	return 0;
}

int
vmreg_list(struct vmreg *reg, const struct vmreg_filter *f, char **body,
	   size_t *len)
{
	struct buf b = {NULL, 0, 0};
	const struct vmrec *last = NULL;
	size_t i = 0, count = 0;
	int found, more = 0, err = 0;

	assert(f->vf_limit >= 1);
	if (buf_add(&b, "{\"items\":[", 10) != 0)
		goto nomem;
	pthread_rwlock_rdlock(&reg->vg_lock);
	if (f->vf_after != NULL) {
		i = vmreg_find(reg, f->vf_after, &found);
		if (found)
			i++;
	} else if (f->vf_jail != NULL && f->vf_jail[0] != '\0') {
		/* A jail's VMs are the keys from "JAIL/" on. */
		char from[VMKEY_SIZE];

		snprintf(from, sizeof(from), "%s/", f->vf_jail);
		i = vmreg_find(reg, from, &found);
	}
	for (; i < reg->vg_n && !err; i++) {
		const struct vmrec *rec = reg->vg_recs[i];

		if (!vmrec_matches(rec, f))
			continue;
		if (count == f->vf_limit) {
			more = 1; /* one more matches: the page gets a cursor */
			break;
		}
		if ((count > 0 && buf_add(&b, ",", 1) != 0) ||
		    buf_add(&b, rec->vr_body, rec->vr_len) != 0)
			err = 1;
		last = rec;
		count++;
	}
	/* The cursor is the page's last key, or its name within the one
	 * jail listed; neither needs escaping. */
	if (!err && more) {
		const char *cursor = f->vf_jail != NULL
					 ? vmkey_name(last->vr_name)
					 : last->vr_name;

		err = buf_add(&b, "],\"next\":\"", 10) != 0 ||
		      buf_add(&b, cursor, strlen(cursor)) != 0 ||
		      buf_add(&b, "\"}", 2) != 0;
	} else if (!err)
		err = buf_add(&b, "],\"next\":null}", 14) != 0;
	pthread_rwlock_unlock(&reg->vg_lock);
	if (err)
		goto nomem;
	*body = b.b_data;
	*len = b.b_len;
	return 0;

nomem:
	free(b.b_data);
	errno = ENOMEM;
	return -1;
}

void
vmreg_list_version(struct vmreg *reg, uint64_t *newest, uint64_t *changes)
{
	pthread_rwlock_rdlock(&reg->vg_lock);
	*newest = reg->vg_newest;
	*changes = reg->vg_changes;
	pthread_rwlock_unlock(&reg->vg_lock);
}

void
vmreg_count_by_state(struct vmreg *reg, size_t counts[VM_NSTATES])
{
	size_t i;

	memset(counts, 0, VM_NSTATES * sizeof(counts[0]));
	pthread_rwlock_rdlock(&reg->vg_lock);
	for (i = 0; i < reg->vg_n; i++)
		if ((unsigned)reg->vg_recs[i]->vr_state < VM_NSTATES)
			counts[reg->vg_recs[i]->vr_state]++;
	pthread_rwlock_unlock(&reg->vg_lock);
}
