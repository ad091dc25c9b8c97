/*
 * Streamed responses: a body that comes from an api_stream (a console
 * followed live) rather than from a buffer.  While the stream has nothing
 * to send, the connection is suspended; the stream's watch (new data) or
 * a hang-up of the client resumes it, whichever comes first.  The server
 * keeps a list of the streams under way so that a stopping daemon, or a
 * jail socket that goes, can end them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/types.h>

#include "api/metrics.h"
#include "base/log.h"
#include "server/hangup.h"
#include "server/http_internal.h"

/* Bytes libmicrohttpd asks a stream for at a time (when it does not chunk
 * it: see stream_response). */
#define STREAM_BLOCK (16 * 1024)

/*
 * The response's own buffer of a chunked stream, which libmicrohttpd
 * does not use: it reads a chunked body into the connection's buffer
 * (up to about half of LIMIT_CONNECTION_MEMORY) instead.  It allocates
 * the block with every response all the same, and an idle event
 * subscriber would hold 2 KiB of it for nothing.
 */
#define STREAM_BLOCK_CHUNKED 256

struct stream {
	struct http_server *sm_srv;
	struct http_listener *sm_listener;
	struct MHD_Connection *sm_conn;
	struct api_stream *sm_api; /* owned */
	int sm_fd;
	pthread_mutex_t sm_lock; /* guards sm_suspended, sm_ended */
	int sm_suspended;
	int sm_ended;   /* the client left or the daemon stops */
	int sm_watched; /* registered with the hang-up watcher */
	struct stream *sm_next, *sm_prev; /* in hs_streams */
};

/*
 * Resumes a suspended stream once; called by whichever wakes it first.
 * The hang-up registration stays for the stream's life (stream_free ends
 * it): a stream woken for every burst of events costs no watcher call.
 */
static void
stream_resume(struct stream *sm, int ended)
{
	int was;

	pthread_mutex_lock(&sm->sm_lock);
	if (ended)
		sm->sm_ended = 1;
	was = sm->sm_suspended;
	sm->sm_suspended = 0;
	pthread_mutex_unlock(&sm->sm_lock);
	if (was)
		MHD_resume_connection(sm->sm_conn);
}

static void
stream_wake(void *arg)
{
	stream_resume(arg, 0);
}

/* The client left: a parked stream resumes to end; one that is sending
 * ends at its next read (or libmicrohttpd's failed send). */
static void
stream_hangup(void *arg)
{
	stream_resume(arg, 1);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *sm = cls;
	ssize_t n;
	int w;

	(void)pos;
	pthread_mutex_lock(&sm->sm_lock);
	if (sm->sm_ended) {
		pthread_mutex_unlock(&sm->sm_lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = sm->sm_api->st_read(sm->sm_api->st_cls, buf, max);
	if (n != 0) {
		pthread_mutex_unlock(&sm->sm_lock);
		return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
	}
	/*
	 * Nothing yet: park the connection (libmicrohttpd's pattern for a
	 * reader without data) until the watch or a hang-up resumes it.
	 */
	MHD_suspend_connection(sm->sm_conn);
	sm->sm_suspended = 1;
	w = sm->sm_api->st_watch(sm->sm_api->st_cls, stream_wake, sm);
	if (w == 0 && !sm->sm_watched) {
		/* Once: the hang-up fires once, whenever it comes. */
		sm->sm_watched = 1;
		if (hangup_add(sm->sm_srv->hs_hangup, sm->sm_fd, stream_hangup,
			       sm) != 0)
			log_warn("streaming response: cannot watch for "
				 "hang-up");
	}
	if (w != 0) {
		sm->sm_suspended = 0;
		if (w < 0)
			sm->sm_ended = 1;
		MHD_resume_connection(sm->sm_conn);
	}
	pthread_mutex_unlock(&sm->sm_lock);
	return 0;
}

static void
stream_free(void *cls)
{
	struct stream *sm = cls;
	struct http_server *srv = sm->sm_srv;

	pthread_mutex_lock(&srv->hs_streams_lock);
	if (sm->sm_prev != NULL)
		sm->sm_prev->sm_next = sm->sm_next;
	else
		srv->hs_streams = sm->sm_next;
	if (sm->sm_next != NULL)
		sm->sm_next->sm_prev = sm->sm_prev;
	pthread_mutex_unlock(&srv->hs_streams_lock);
	hangup_remove(srv->hs_hangup, sm);
	api_metrics_stream(-1);
	/* Cancels the watch and waits out a wake under way. */
	sm->sm_api->st_free(sm->sm_api->st_cls);
	free(sm->sm_api);
	pthread_mutex_destroy(&sm->sm_lock);
	free(sm);
}

/* A response whose body comes from rs's api_stream; see http_internal.h. */
struct MHD_Response *
stream_response(struct http_listener *l, struct MHD_Connection *conn,
		struct api_response *rs, int chunked)
{
	struct http_server *srv = l->hl_srv;
	const union MHD_ConnectionInfo *ci;
	struct stream *sm = calloc(1, sizeof(*sm));
	struct MHD_Response *resp;
	size_t block;

	if (sm == NULL)
		return NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	sm->sm_srv = srv;
	sm->sm_listener = l;
	sm->sm_conn = conn;
	sm->sm_fd = ci != NULL ? ci->connect_fd : -1;
	pthread_mutex_init(&sm->sm_lock, NULL);
	if (chunked)
		block = STREAM_BLOCK_CHUNKED;
	else if ((block = rs->rs_stream->st_block) == 0)
		block = STREAM_BLOCK;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, block,
						 stream_read, sm, stream_free);
	if (resp == NULL) {
		pthread_mutex_destroy(&sm->sm_lock);
		free(sm);
		return NULL;
	}
	sm->sm_api = rs->rs_stream;
	rs->rs_stream = NULL;
	pthread_mutex_lock(&srv->hs_streams_lock);
	sm->sm_next = srv->hs_streams;
	if (sm->sm_next != NULL)
		sm->sm_next->sm_prev = sm;
	srv->hs_streams = sm;
	pthread_mutex_unlock(&srv->hs_streams_lock);
	api_metrics_stream(1);
	return resp;
}

/* Ends the streams of l (NULL: all); see http_internal.h. */
void
stream_end(struct http_server *srv, struct http_listener *l)
{
	struct stream *sm;

	for (;;) {
		pthread_mutex_lock(&srv->hs_streams_lock);
		for (sm = srv->hs_streams; sm != NULL; sm = sm->sm_next) {
			if (l != NULL && sm->sm_listener != l)
				continue;
			pthread_mutex_lock(&sm->sm_lock);
			if (!sm->sm_ended)
				break; /* sm_lock stays held */
			pthread_mutex_unlock(&sm->sm_lock);
		}
		if (sm == NULL) {
			pthread_mutex_unlock(&srv->hs_streams_lock);
			return;
		}
		sm->sm_ended = 1;
		if (!sm->sm_suspended) {
			pthread_mutex_unlock(&sm->sm_lock);
			pthread_mutex_unlock(&srv->hs_streams_lock);
			continue;
		}
		sm->sm_suspended = 0;
		pthread_mutex_unlock(&sm->sm_lock);
		/* Still listed, so not freed until we let go of the list. */
		MHD_resume_connection(sm->sm_conn);
		pthread_mutex_unlock(&srv->hs_streams_lock);
	}
}

/* The streams' lock and the hang-up watcher; see http_internal.h. */
int
stream_start(struct http_server *srv)
{
	pthread_mutex_init(&srv->hs_streams_lock, NULL);
	if (hangup_start(&srv->hs_hangup) != 0) {
		pthread_mutex_destroy(&srv->hs_streams_lock);
		return -1;
	}
	return 0;
}

void
stream_stop(struct http_server *srv)
{
	hangup_stop(srv->hs_hangup);
	pthread_mutex_destroy(&srv->hs_streams_lock);
}
