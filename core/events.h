/*
 * The live side of the event journal (GET /v1/events): the events the
 * database publishes as writes commit (db_event_config's sink) go to each
 * subscriber's bounded queue; a subscriber reads them as Server-Sent
 * Events text.  A subscriber that asked for an id first replays the
 * journal up to the newest event published when it subscribed, then
 * takes its queue, which holds exactly what came after: no gap and no
 * duplicate at the seam.  A subscriber whose queue fills gets a "gap"
 * event naming the first id it missed, and its stream ends; it resumes
 * from the journal with Last-Event-ID.
 *
 * Threads: the database's writer only queues a committed event (under
 * ev_qlock), so a commit never waits for the fan-out; a dispatcher
 * thread hands out everything queued since its last pass at once, in id
 * order, and wakes each subscriber once per pass; passes are at least
 * 10 µs per subscriber apart (at most 10 ms), so a burst reaches a
 * stream in a few large writes; a keep-alive thread wakes idle ones.  A
 * woken stream's read takes as many events as fit, sent from the shared
 * event text without a copy.
 *
 * Locking: ev_qlock guards the queue of events not yet handed out;
 * ev_lock the subscriber list and the newest id handed out; each
 * subscriber's sb_lock its ring, gap and wake.  Lock order: ev_lock,
 * then sb_lock; ev_qlock is never held with another.  Wakes are called
 * with ev_lock held and sb_lock not: a wake takes the server's stream
 * lock, which is held while the stream reads (and then takes sb_lock).
 */
#ifndef VMMAPID_CORE_EVENTS_H
#define VMMAPID_CORE_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "db/db.h"

struct events;
struct events_sub;

struct events_opts {
	unsigned eo_buffer;      /* events a subscriber's queue holds */
	unsigned eo_keepalive_s; /* idle seconds before a comment */
	int64_t eo_keep;         /* journal: events kept (0: no bound) */
	int64_t eo_max_age_s;    /* journal: oldest kept (0: no bound) */
};

/*
 * Opens the hub on db: reads the newest id, sets the journal's bounds,
 * becomes db's event sink and starts the keep-alive thread.  Before any
 * write whose events should be seen.  -1 with errno.
 */
int events_open(struct events **out, struct db *db,
		const struct events_opts *opts);

/* After db_close (the last events are published by then).  NULL ok. */
void events_close(struct events *ev);

/*
 * What a subscriber sees.  ef_may(ef_arg, e) says whether it may see
 * event e (access); types and vms (NULL-terminated lists, may be NULL)
 * narrow it: a type matches itself, and "vm" matches every "vm.*".
 * events_subscribe takes it; ef_free(ef_arg) is called when the
 * subscriber is freed.
 */
struct events_filter {
	int (*ef_may)(void *arg, const struct db_event *e);
	void *ef_arg;
	void (*ef_free)(void *arg);
	char **ef_types; /* owned, NULL-terminated; NULL: every type */
	char **ef_vms;   /* owned, NULL-terminated; NULL: every VM */
	char **ef_jails; /* the VMs' jails, as ef_vms; NULL: every scope */
};

/*
 * Subscribes with filter f (taken, also on failure): since < 0 from the
 * next event on; else from the event after since, replayed from the
 * journal.  -1 with errno: ESTALE when since is older than the oldest
 * event kept (*oldest: that id, or the next id when none is kept),
 * ERANGE when it is newer than the newest (*newest), ENOMEM, EIO.
 */
int events_subscribe(struct events *ev, int64_t since, struct events_filter *f,
		     struct events_sub **out, int64_t *oldest, int64_t *newest);

/*
 * The api_stream operations of a subscriber: read (bytes, 0 nothing yet,
 * -1 the end), watch (wake(arg) once when read may have more; 1 when it
 * has already), free (cancels the watch).  One reader at a time.
 */
ssize_t events_sub_read(struct events_sub *s, char *buf, size_t max);
int events_sub_watch(struct events_sub *s, void (*wake)(void *), void *arg);
void events_sub_free(struct events_sub *s);

/*
 * Records "daemon.started": this version, and how many VMs (n keys)
 * start-up found recorded as running with no run behind them, now
 * stopped (each has its own vm.stopped event, which names it).  Durable
 * when it returns 0.
 */
int events_daemon_started(struct db *db, const char *version,
			  const char (*stopped)[VMKEY_SIZE], size_t n);

/* For /metrics: events published since start, subscribers now. */
void events_stats(struct events *ev, uint64_t *emitted, uint64_t *subscribers);

#endif
