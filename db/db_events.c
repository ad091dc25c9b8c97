/*
 * The events table: the journal behind GET /v1/events.  A table file's
 * job adds its events with db_event_add while it runs, so an event is in
 * the same transaction (and SAVEPOINT) as the change it reports: a job
 * rolled back takes its events with it.  The writer publishes a committed
 * job's events to the sink after the job's own commit hook, so a reader
 * woken by an event already sees the change in memory.
 *
 * The stored document has no id (AUTOINCREMENT assigns it at the INSERT);
 * it is spliced in front when the event is published or read back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

static _Thread_local struct db_actor db_actor_cur;

void
db_actor_set(const struct db_actor *actor)
{
	if (actor != NULL)
		db_actor_cur = *actor;
	else
		memset(&db_actor_cur, 0, sizeof(db_actor_cur));
}

void
db_event_actor_take(struct db_job *job)
{
	job->j_actor = db_actor_cur;
	job->j_events = NULL;
	job->j_events_tail = &job->j_events;
}

/* A growing text buffer; b_len SIZE_MAX once an allocation failed. */
struct db_ev_buf {
	char *b_data;
	size_t b_len, b_cap;
};

static void
db_ev_put(struct db_ev_buf *b, const char *s, size_t n)
{
	char *p;

	if (b->b_len == SIZE_MAX)
		return;
	if (b->b_len + n + 1 > b->b_cap) {
		size_t cap = b->b_cap ? b->b_cap : 256;

		while (cap < b->b_len + n + 1)
			cap *= 2;
		if ((p = realloc(b->b_data, cap)) == NULL) {
			b->b_len = SIZE_MAX;
			return;
		}
		b->b_data = p;
		b->b_cap = cap;
	}
	memcpy(b->b_data + b->b_len, s, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
}

static void
db_ev_puts(struct db_ev_buf *b, const char *s)
{
	db_ev_put(b, s, strlen(s));
}

/* s as a JSON string, quoted (RFC 8259 section 7). */
static void
db_ev_str(struct db_ev_buf *b, const char *s)
{
	char esc[8];

	db_ev_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			db_ev_put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			db_ev_put(b, esc, 6);
		} else {
			db_ev_put(b, s, 1);
		}
	}
	db_ev_put(b, "\"", 1);
}

static void
db_ev_int(struct db_ev_buf *b, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	db_ev_puts(b, num);
}

/* The event's document without its id: {"time":...}. */
static int
db_ev_render(struct db_ev_buf *b, const struct db_actor *ac, int64_t now,
	     const struct db_event_in *in)
{
	static const char *kinds[] = {"daemon", "api", "guest"};
	char when[40];

	timefmt_rfc3339(now, when, sizeof(when));
	db_ev_puts(b, "{\"time\":");
	db_ev_str(b, when);
	db_ev_puts(b, ",\"type\":");
	db_ev_str(b, in->ei_type);
	db_ev_puts(b, ",\"target\":{\"kind\":");
	db_ev_str(b, in->ei_kind);
	db_ev_puts(b, ",\"name\":");
	db_ev_str(b, in->ei_target);
	db_ev_puts(b, "},\"actor\":{\"kind\":");
	db_ev_str(b, kinds[ac->da_kind <= DB_ACTOR_GUEST ? ac->da_kind : 0]);
	if (ac->da_kind == DB_ACTOR_API) {
		db_ev_puts(b, ",\"uid\":");
		db_ev_int(b, ac->da_uid);
		db_ev_puts(b, ",\"jail\":");
		db_ev_str(b, ac->da_jail);
		db_ev_puts(b, ",\"via\":");
		db_ev_str(b, ac->da_via);
		if (ac->da_token[0] != '\0') {
			db_ev_puts(b, ",\"token\":");
			db_ev_str(b, ac->da_token);
		}
	}
	db_ev_puts(b, "}");
	if (in->ei_vm != NULL) {
		db_ev_puts(b, ",\"vm\":");
		db_ev_str(b, in->ei_vm);
		db_ev_puts(b, ",\"jail\":");
		db_ev_str(b, in->ei_jail != NULL ? in->ei_jail : "");
	}
	if (in->ei_revision != 0) {
		db_ev_puts(b, ",\"revision\":");
		db_ev_int(b, (int64_t)in->ei_revision);
	}
	if (in->ei_generation != 0) {
		db_ev_puts(b, ",\"generation\":");
		db_ev_int(b, (int64_t)in->ei_generation);
	}
	if (in->ei_state < VM_NSTATES) {
		db_ev_puts(b, ",\"state\":");
		db_ev_str(b, vm_state_name(in->ei_state));
	}
	if (in->ei_detail != NULL && in->ei_detail[0] == '{') {
		db_ev_puts(b, ",\"detail\":");
		db_ev_puts(b, in->ei_detail);
	}
	db_ev_puts(b, "}");
	if (b->b_len == SIZE_MAX) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * A published copy: the document with "id" spliced in after its "{",
 * in one allocation with the node.
 */
static struct db_event_node *
db_ev_node(int64_t id, const char *doc, size_t len)
{
	struct db_event_node *en;
	char head[40];
	int hl;

	hl = snprintf(head, sizeof(head), "{\"id\":%" PRId64 ",", id);
	if ((en = calloc(1, sizeof(*en) + (size_t)hl + len)) == NULL)
		return NULL;
	memcpy(en->en_data, head, (size_t)hl);
	memcpy(en->en_data + hl, doc + 1, len - 1);
	en->en_data[hl + len - 1] = '\0';
	en->en_ev.ev_id = id;
	en->en_ev.ev_data = en->en_data;
	en->en_ev.ev_data_len = (size_t)hl + len - 1;
	return en;
}

/*
 * The id at and below which the journal keeps none of its newest keep
 * ids: the newest id (the sequence's) less keep, counting only ids that
 * can exist (db_restore.c's ranges are none).  0 or less: keep them all.
 * Writer thread.
 */
static int64_t
db_event_cut(struct db *db, int64_t keep)
{
	sqlite3_stmt *st;
	int64_t cut = 0;
	size_t i;

	if (db_prepare(&db->db_wconn,
		       "SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
		       "WHERE name = 'events'",
		       &st) == -1)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		cut = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* Down from the newest: the ranges, in ascending order, from the
	 * last. */
	for (i = db->db_nlost; i > 0 && keep > 0; i--) {
		const struct db_lost_range *r = &db->db_lost[i - 1];

		if (r->lr_kind != DB_LOST_EVENT || (int64_t)r->lr_lo > cut)
			continue;
		if ((int64_t)r->lr_hi < cut) {
			if (cut - (int64_t)r->lr_hi >= keep)
				break;
			keep -= cut - (int64_t)r->lr_hi;
		}
		cut = (int64_t)r->lr_lo - 1;
	}
	return cut - keep;
}

/* Removes what is past the journal's bounds.  Writer thread. */
static int
db_event_prune(struct db *db)
{
	sqlite3 *sql = db->db_wconn.dc_sql;
	sqlite3_stmt *st;
	int rc;

	if (db->db_ev_keep > 0) {
		/* The newest db_ev_keep ids, counted past what a restore
		 * left out (db_restore.c): ids are contiguous but for that. */
		if (db_prepare(&db->db_wconn,
			       "DELETE FROM events WHERE id <= ?1", &st) == -1)
			return -1;
		sqlite3_bind_int64(st, 1, db_event_cut(db, db->db_ev_keep));
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_fail(sql, rc, "prune events by count");
	}
	if (db->db_ev_max_age_ms > 0) {
		/* Ids follow time: the old ones are a prefix, found from the
		 * oldest on, without an index on time. */
		if (db_prepare(
			&db->db_wconn,
			"DELETE FROM events WHERE id < (SELECT id FROM "
			"events WHERE time_ms >= ?1 ORDER BY id LIMIT 1)",
			&st) == -1)
			return -1;
		sqlite3_bind_int64(st, 1,
				   timefmt_now_ms() - db->db_ev_max_age_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_fail(sql, rc, "prune events by age");
	}
	return 0;
}

int
db_event_add(struct db *db, struct db_job *job, const struct db_event_in *in)
{
	struct db_ev_buf b = {NULL, 0, 0};
	struct db_event_node *en;
	struct db_event_in out = *in;
	char jail[65] = "";
	int64_t owner = in->ei_owner_uid, now = timefmt_now_ms(), id;
	sqlite3_stmt *st;
	int rc;

	if (in->ei_vm != NULL && in->ei_jail == NULL) {
		/* The VM's owner, for who may see it. */
		if (db_prepare(&db->db_wconn,
			       "SELECT owner_uid FROM vms WHERE name = ?1",
			       &st) == -1)
			return -1;
		sqlite3_bind_text(st, 1, in->ei_vm, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			owner = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_fail(db->db_wconn.dc_sql, rc, "event's vm");
	}
	if (in->ei_vm != NULL) {
		/* ei_vm is the VM's key: an event names the VM by its name
		 * and jail, as every output does, and is stored so. */
		vmkey_jail(in->ei_vm, jail);
		out.ei_vm = vmkey_name(in->ei_vm);
		out.ei_jail = jail;
		if (in->ei_target == in->ei_vm)
			out.ei_target = out.ei_vm;
	}
	in = &out;
	if (db_ev_render(&b, &job->j_actor, now, in) == -1) {
		free(b.b_data);
		return -1;
	}
	st = db_stmt(&db->db_wconn, DB_STMT_EVENT_INSERT,
		     "INSERT INTO events (time_ms, type, scope, vm, jail, "
		     "owner_uid, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (st == NULL) {
		free(b.b_data);
		return -1;
	}
	if ((rc = sqlite3_bind_int64(st, 1, now)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, in->ei_type, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, (int)in->ei_scope)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 4, in->ei_vm ? in->ei_vm : "", -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, jail, -1, SQLITE_STATIC)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6, in->ei_vm ? owner : -1)) !=
		SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 7, b.b_data, (int)b.b_len,
				    SQLITE_STATIC)) != SQLITE_OK) {
		db_stmt_done(st);
		free(b.b_data);
		return db_fail(db->db_wconn.dc_sql, rc, "bind event");
	}
	rc = sqlite3_step(st);
	db_stmt_done(st);
	if (rc != SQLITE_DONE) {
		free(b.b_data);
		return db_fail(db->db_wconn.dc_sql, rc, "insert event");
	}
	id = sqlite3_last_insert_rowid(db->db_wconn.dc_sql);
	en = db_ev_node(id, b.b_data, b.b_len);
	free(b.b_data);
	if (en == NULL) {
		errno = ENOMEM;
		return -1;
	}
	en->en_ev.ev_time_ms = now;
	snprintf(en->en_ev.ev_type, sizeof(en->en_ev.ev_type), "%s",
		 in->ei_type);
	en->en_ev.ev_scope = in->ei_scope;
	snprintf(en->en_ev.ev_vm, sizeof(en->en_ev.ev_vm), "%s",
		 in->ei_vm ? in->ei_vm : "");
	memcpy(en->en_ev.ev_jail, jail, sizeof(jail));
	en->en_ev.ev_owner_uid = in->ei_vm ? owner : -1;
	if (job->j_events_tail == NULL)
		job->j_events_tail = &job->j_events;
	*job->j_events_tail = en;
	job->j_events_tail = &en->en_next;
	if (++db->db_ev_added % DB_EVENT_PRUNE_EVERY == 0)
		return db_event_prune(db);
	return 0;
}

int
db_event_simple(struct db *db, struct db_job *job, const char *type,
		enum db_event_scope scope, const char *kind, const char *target,
		const char *detail)
{
	struct db_event_in in = {type, scope, kind, target,     NULL,  NULL,
				 -1,   0,     0,    VM_NSTATES, detail};

	return db_event_add(db, job, &in);
}

void
db_event_drop(struct db_job *job)
{
	struct db_event_node *en, *next;

	for (en = job->j_events; en != NULL; en = next) {
		next = en->en_next;
		free(en);
	}
	job->j_events = NULL;
	job->j_events_tail = &job->j_events;
}

void
db_event_publish(struct db *db, struct db_job *job)
{
	struct db_event_node *en;

	if (db->db_ev_sink != NULL)
		for (en = job->j_events; en != NULL; en = en->en_next)
			db->db_ev_sink(db->db_ev_sink_arg, &en->en_ev);
	db_event_drop(job);
}

static int
db_event_prune_run(struct db *db, struct db_job *job)
{
	(void)job;
	return db_event_prune(db);
}

int
db_event_config(struct db *db, db_event_sink sink, void *arg, int64_t keep,
		int64_t max_age_ms)
{
	db->db_ev_sink = sink;
	db->db_ev_sink_arg = arg;
	db->db_ev_keep = keep > 0 ? keep : 0;
	db->db_ev_max_age_ms = max_age_ms > 0 ? max_age_ms : 0;
	return db_writer_run(db, db_event_prune_run, NULL);
}

/* A published event, as db_event_list hands it out. */
struct db_ev_list {
	int (*el_cb)(void *arg, const struct db_event *ev);
	void *el_arg;
	int64_t el_after, el_upto, el_limit;
};

static int
db_ev_list_bind(void *arg, sqlite3_stmt *st)
{
	struct db_ev_list *el = arg;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, el->el_after)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, el->el_upto)) != SQLITE_OK)
		return rc;
	return sqlite3_bind_int64(st, 3, el->el_limit);
}

static int
db_ev_list_each(void *arg, sqlite3_stmt *st)
{
	struct db_ev_list *el = arg;
	const char *doc = (const char *)sqlite3_column_text(st, 7);
	size_t len = (size_t)sqlite3_column_bytes(st, 7);
	struct db_event_node *en;
	int ret;

	if (doc == NULL || len < 2 || doc[0] != '{') {
		errno = EIO;
		return -1;
	}
	if ((en = db_ev_node(sqlite3_column_int64(st, 0), doc, len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	en->en_ev.ev_time_ms = sqlite3_column_int64(st, 1);
	(void)db_column_copy(st, 2, en->en_ev.ev_type,
			     sizeof(en->en_ev.ev_type));
	en->en_ev.ev_scope = (enum db_event_scope)sqlite3_column_int(st, 3);
	(void)db_column_copy(st, 4, en->en_ev.ev_vm, sizeof(en->en_ev.ev_vm));
	(void)db_column_copy(st, 5, en->en_ev.ev_jail,
			     sizeof(en->en_ev.ev_jail));
	en->en_ev.ev_owner_uid = sqlite3_column_int64(st, 6);
	ret = el->el_cb(el->el_arg, &en->en_ev);
	free(en);
	return ret;
}

int
db_event_list(struct db *db, int64_t after, int64_t upto, size_t limit,
	      int (*cb)(void *arg, const struct db_event *ev), void *arg)
{
	struct db_ev_list el = {cb, arg, after, upto, (int64_t)limit};
	static const struct db_query q = {
	    DB_STMT_NONE,
	    "SELECT id, time_ms, type, scope, vm, jail, owner_uid, data FROM "
	    "events WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
	    db_ev_list_bind, db_ev_list_each, "list events"};

	return db_read_each(db, &q, &el);
}

int
db_event_bounds(struct db *db, int64_t *oldest, int64_t *newest)
{
	static const struct db_query qo = {
	    DB_STMT_NONE, "SELECT coalesce(min(id), 0) FROM events", NULL,
	    db_each_int64, "oldest event"};
	static const struct db_query qn = {
	    DB_STMT_NONE,
	    "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = "
	    "'events'",
	    NULL, db_each_int64, "newest event"};

	*oldest = *newest = 0;
	if (db_read_each(db, &qo, oldest) != 0 ||
	    db_read_each(db, &qn, newest) != 0)
		return -1;
	return 0;
}

/* db_event_append's job. */
struct db_ev_append {
	const char *ea_type;
	enum db_event_scope ea_scope;
	const char *ea_vm;
	const char *ea_detail;
};

static int
db_event_append_run(struct db *db, struct db_job *job)
{
	const struct db_ev_append *a = job->j_arg;
	struct db_event_in in = {a->ea_type,
				 a->ea_scope,
				 a->ea_vm ? "vm" : "daemon",
				 a->ea_vm ? a->ea_vm : "vmmapid",
				 a->ea_vm,
				 NULL,
				 -1,
				 0,
				 0,
				 VM_NSTATES,
				 a->ea_detail};
	sqlite3_stmt *st;
	char jail[65] = "";
	int rc;

	if (a->ea_vm != NULL) {
		if (db_prepare(&db->db_wconn,
			       "SELECT jail, owner_uid, revision, generation, "
			       "state FROM vms WHERE name = ?1",
			       &st) == -1)
			return -1;
		sqlite3_bind_text(st, 1, a->ea_vm, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			(void)db_column_copy(st, 0, jail, sizeof(jail));
			in.ei_owner_uid = sqlite3_column_int64(st, 1);
			in.ei_revision = (uint64_t)sqlite3_column_int64(st, 2);
			in.ei_generation =
			    (uint64_t)sqlite3_column_int64(st, 3);
			if (db_column_state(st, 4, &in.ei_state) == -1)
				in.ei_state = VM_NSTATES;
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE) {
			errno = ENOENT;
			return -1;
		}
		if (rc != SQLITE_ROW)
			return db_fail(db->db_wconn.dc_sql, rc, "event's vm");
		in.ei_jail = jail;
	}
	return db_event_add(db, job, &in);
}

int
db_event_append(struct db *db, const char *type, enum db_event_scope scope,
		const char *vm, const char *detail)
{
	struct db_ev_append a = {type, scope, vm, detail};

	if (type == NULL ||
	    strlen(type) >= sizeof(((struct db_event *)0)->ev_type)) {
		errno = EINVAL;
		return -1;
	}
	return db_writer_run(db, db_event_append_run, &a);
}
