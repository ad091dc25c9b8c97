/*
 * The API test harness: runs the real vmmapid binary (VMMAPID_BIN) on a
 * temporary directory and talks to it with libcurl over its Unix socket or
 * a TCP listener on 127.0.0.1.
 *
 * Each test case gets its own daemon: harness_setup() makes the directory
 * and starts the daemon, harness_teardown() stops it with SIGTERM (failing
 * unless it exits 0), prints the daemon's log when the case failed, and
 * removes the directory.  A case is declared with HARNESS_CASE() so the
 * harness knows whether it ran to the end:
 *
 *	static void test_vms__get_unknown_is_404(struct harness *h)
 *	{
 *		struct harness_response *r = harness_get(h, "/v1/vms/nope");
 *		assert_problem(r, 404, NULL);
 *	}
 *	...
 *	const struct CMUnitTest tests[] = {
 *		HARNESS_CASE(test_vms__get_unknown_is_404, 0),
 *	};
 *	return cmocka_run_group_tests(tests, NULL, NULL);
 *
 * Responses returned by harness_send() and friends belong to the harness
 * and are freed at teardown; a case never frees them.
 */
#ifndef VMMAPID_TESTS_API_HARNESS_H
#define VMMAPID_TESTS_API_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

/* Case flags. */
#define HARNESS_TCP 0x1     /* also listen on tcp:127.0.0.1:<free port> */
#define HARNESS_NOSTART 0x2 /* setup makes the directory only */

/* Longest path the harness builds (sun_path is 108 bytes on Linux). */
#define HARNESS_PATH_MAX 108
#define HARNESS_DIR_MAX 64
#define HARNESS_MAX_HEADERS 64
#define HARNESS_TIMEOUT_MS 5000

struct harness;
struct harness_block;
struct harness_stream;
struct harness_child;
typedef void (*harness_fn)(struct harness *h);

struct harness_case {
	const char *hc_name; /* the function's name, for skips */
	harness_fn hc_fn;
	int hc_flags;
	const char *const *hc_args; /* extra daemon arguments, NULL-ended */
};

/* One daemon and its directory, for one test case. */
struct harness {
	const struct harness_case *h_case;
	char h_dir[HARNESS_DIR_MAX];
	char h_sock[HARNESS_PATH_MAX]; /* DIR/vmmapid.sock */
	char h_db[HARNESS_PATH_MAX];   /* DIR/vmmapid.db */
	char h_log[HARNESS_PATH_MAX];  /* DIR/daemon.log, appended per start */
	char h_token_path[HARNESS_PATH_MAX]; /* DIR/admin.token */
	pid_t h_pid;                         /* the running daemon, or -1 */
	int h_tcp_port;                      /* 0: no TCP listener */
	char h_token[256]; /* admin.token's content, "" if none */
	int h_exit_status; /* waitpid() status of the last stop */
	void *h_curl;      /* CURL *, reused for keep-alive */
	struct harness_response *h_responses; /* freed at teardown */
	struct harness_block *h_blocks;       /* harness_alloc()'s, ditto */
	struct harness_stream *h_streams; /* harness_stream_open()'s, ditto */
	struct harness_child *h_children; /* harness_as_open()'s, ditto */
	int h_passed;                     /* the case ran to its end */
};

/* What to send.  Zero-initialize and fill what matters. */
struct harness_request {
	const char *rq_method;         /* "GET", ... */
	const char *rq_path;           /* "/v1/vms?limit=10", already encoded */
	const char *const *rq_headers; /* "Name: value" lines, NULL-ended */
	const char *rq_body;           /* NULL: no body */
	size_t rq_body_len;
	int rq_chunked;         /* send the body chunked, no length */
	int rq_expect_continue; /* keep curl's Expect: 100-continue */
	int rq_tcp;             /* over TCP instead of the Unix socket */
	const char *rq_token;   /* bearer token over TCP, or NULL */
	long rq_timeout_ms;     /* 0: HARNESS_TIMEOUT_MS */
};

/* What came back.  Headers are those of the final response only. */
struct harness_response {
	char hr_method[16];
	char hr_path[256]; /* for messages; may be truncated */
	long hr_status;
	char *hr_body; /* NUL-terminated; "" when empty */
	size_t hr_body_len;
	json_t *hr_json; /* the body when it parses as JSON */
	char *hr_headers[HARNESS_MAX_HEADERS]; /* "Name: value" */
	int hr_nheaders;
	long hr_num_connects; /* new connections curl opened */
	struct harness_response *hr_next;
};

/* cmocka fixtures and the trampoline HARNESS_CASE() points at. */
int harness_setup(void **state);
int harness_teardown(void **state);
void harness_run(void **state);

#define HARNESS_CASE(fn, flags)                                                \
	{                                                                      \
#fn, harness_run, harness_setup, harness_teardown,             \
		    &(struct harness_case)                                     \
		{                                                              \
#fn, fn, flags, NULL                                   \
		}                                                              \
	}
/* The same with extra daemon arguments, e.g. "--driver", "sim". */
#define HARNESS_CASE_ARGS(fn, flags, ...)                                      \
	{                                                                      \
#fn, harness_run, harness_setup, harness_teardown,             \
		    &(struct harness_case)                                     \
		{                                                              \
#fn, fn, flags, (const char *const[])                  \
			{                                                      \
				__VA_ARGS__, NULL                              \
			}                                                      \
		}                                                              \
	}

/*
 * Starts the daemon on h's directory with the case's flags and arguments
 * plus extra (NULL-ended, may be NULL), waits up to 10 s until its sockets
 * accept, and reads admin.token when there is one.  Fails the case (with
 * the daemon's log) when the daemon exits or does not get ready.
 */
void harness_start(struct harness *h, const char *const *extra);

/*
 * Sends sig to the daemon and waits up to timeout_ms for it to exit;
 * returns its waitpid() status (also kept in h_exit_status).  Fails the
 * case on timeout, after killing it.  Drops curl's kept connections.
 */
int harness_signal_and_wait(struct harness *h, int sig, int timeout_ms);

/* SIGTERM, then fails the case unless the daemon exited 0 within 10 s. */
void harness_stop(struct harness *h);

/* harness_stop() then harness_start(h, NULL) on the same directory. */
void harness_restart(struct harness *h);

/*
 * Forks and execs the daemon with exactly argv[1..] = args (NULL-ended),
 * stdin from /dev/null, stdout and stderr appended to log_path.  Returns
 * the pid; does not wait.  Fails the case when fork fails.
 */
pid_t harness_spawn(const char *const *args, const char *log_path);

/*
 * Waits up to timeout_ms for pid to exit: 0 with *status, or -1 when it
 * is still running.
 */
int harness_wait_pid(pid_t pid, int timeout_ms, int *status);

/*
 * Sends one request with curl (a CURL * the caller owns, one per thread)
 * and fills *rs, which the caller releases with harness_response_clear().
 * Never asserts, so threads may call it: 0, or -1 with a message on stderr
 * when the transfer failed (no HTTP response).
 */
int harness_fetch(const struct harness *h, void *curl,
		  const struct harness_request *rq,
		  struct harness_response *rs);

/* Frees what rs holds. */
void harness_response_clear(struct harness_response *rs);

/* A new CURL * with nothing set, or fails the case. */
void *harness_curl_new(void);
void harness_curl_free(void *curl);

/*
 * harness_fetch() on h's own handle; fails the case when no HTTP response
 * came.  The response belongs to h.
 */
struct harness_response *harness_send(struct harness *h,
				      const struct harness_request *rq);

/*
 * A request over the Unix socket with a JSON body (or NULL) and header
 * lines ending with NULL; "Content-Type: application/json" is added when
 * there is a body and no Content-Type line.
 */
struct harness_response *harness_req(struct harness *h, const char *method,
				     const char *path, const char *body, ...)
    __attribute__((sentinel));

/* GET path over the Unix socket. */
struct harness_response *harness_get(struct harness *h, const char *path);
/* 1 when GET /v1's driver.features lists feature (fails on no list). */
int harness_backend_has(struct harness *h, const char *feature);

/*
 * len bytes (zeroed) that h frees at teardown, so that a failing case
 * leaks nothing; fails the case when out of memory.
 */
void *harness_alloc(struct harness *h, size_t len);

/*
 * The file at path read whole into memory that h frees at teardown
 * (NUL-terminated past *len); fails the case when it cannot be read.
 */
char *harness_read_file(struct harness *h, const char *path, size_t *len);

/*
 * PUT /v1/images/name over the Unix socket with len bytes of data as
 * application/octet-stream (20 s allowed).
 */
struct harness_response *harness_put_image(struct harness *h, const char *name,
					   const void *data, size_t len);

/*
 * The driver the daemon runs with: the environment's VMMAPID_TEST_DRIVER
 * ("sim" or "kvm"), "sim" when unset.  harness_start() passes it as
 * --driver unless the case's own arguments name one.  ctest runs each
 * program that starts guests once per driver (test_X and test_X@kvm);
 * with "kvm" a program where /dev/kvm does not open skips as a whole
 * (exit TSKIP_EXIT, before main()), saying why.
 */
const char *harness_driver(void);

/*
 * How many times longer than on hardware a guest's work may take here:
 * 10 inside the nested KVM host (VMMAPID_IN_KVMHOST=1, tests/kvmhost),
 * where every exit is emulated; else 1.  For a case's time bounds, and
 * the harness's own (a request's HARNESS_TIMEOUT_MS, the daemon's start
 * and stop): there the daemon shares the host's two emulated CPUs with
 * the guests (twenty spinning ones under TSan starved a console read
 * past 5 s, and the stop that forced them off past 10).  Ten times more
 * with the daemon in valgrind (VMMAPID_TEST_VALGRIND=1, harness_spawn).
 */
int harness_time_factor(void);

/* 1 when harness_driver() is name. */
int harness_driver_is(const char *name);

/* Guest memory of a VM harness_define_vm() makes: the guests use 32 KiB. */
#define HARNESS_VM_MEMORY_MIB 4

/*
 * Uploads the test guest GUESTS_DIR/guest.bin (tests/guests) as the
 * image guest.bin; fails the case unless the answer is 200 or 201.
 */
void harness_put_guest(struct harness *h, const char *guest);

/*
 * Defines VM name with HARNESS_VM_MEMORY_MIB of memory booting image
 * (flat), extra JSON members added ("" or e.g. "\"vcpus\":2"); fails the
 * case unless the answer is 201.
 */
void harness_define_vm(struct harness *h, const char *name, const char *image,
		       const char *extra);

/*
 * Skips the case (tskip(): counted, the reason printed, no log dump)
 * unless the daemon's driver, GET /v1's driver.name, is name: for the
 * few cases about something only one backend has (pvclock on kvm), why
 * says what that is.
 */
void harness_need_driver(struct harness *h, const char *name, const char *why);

/*
 * GETs /v1/vms/vm until its status.state is state, for up to timeout_ms;
 * returns that last response (h's), or fails the case showing it.
 */
struct harness_response *harness_wait_vm_state(struct harness *h,
					       const char *vm,
					       const char *state,
					       int timeout_ms);

/*
 * A request without a body (GET, or POST and the like with an empty one)
 * whose answer is read while it arrives, on a thread of its own with its
 * own connection over the Unix socket: for streamed responses
 * (?follow=1), and for requests that run while the case does something
 * else.  headers: extra "Name: value" lines, NULL-ended, or NULL.
 * max_bytes > 0: the transfer is aborted (the connection closed) as soon
 * as that many body bytes came.  The transfer may run for timeout_ms at
 * most.  The stream belongs to h: teardown aborts and frees it.
 */
struct harness_stream *harness_stream_open(struct harness *h,
					   const char *method, const char *path,
					   const char *const *headers,
					   size_t max_bytes, long timeout_ms);

/* Waits up to ms until the body so far contains needle: 1, else 0. */
int harness_stream_wait_for(struct harness_stream *s, const char *needle,
			    int ms);

/* The body bytes received so far. */
size_t harness_stream_len(struct harness_stream *s);

/* Makes the transfer abort soon (within about a second when idle). */
void harness_stream_abort(struct harness_stream *s);

/*
 * Waits up to ms for the transfer to end and returns what came (h's):
 * hr_status 0 when no response head arrived; *curl_code (may be NULL)
 * gets curl's result, 0 (CURLE_OK) for a transfer that ended cleanly.
 * Fails the case, after aborting the transfer, when it is still going.
 */
struct harness_response *harness_stream_end(struct harness_stream *s, int ms,
					    int *curl_code);

/* The value of header name (case-insensitive) in r, or NULL. */
const char *harness_header(const struct harness_response *r, const char *name);

/* The value at a dotted path ("status.state") in v, or NULL. */
json_t *harness_json_at(const json_t *v, const char *dotted);

/*
 * The number in a strong ETag `"<n>"`; fails the case when the header is
 * missing or has another form.
 */
uint64_t harness_etag_number(const struct harness_response *r, const char *file,
			     int line);

/* 1 if s is an RFC 3339 date-time (e.g. 2024-05-01T12:00:00.123Z). */
int harness_is_rfc3339(const char *s);

/* The daemon's log so far (malloc'd), or NULL. */
char *harness_read_log(const struct harness *h);

/* Prints the daemon's log through cmocka's print_error(). */
void harness_print_log(const struct harness *h);

/* Assertion back ends; use the macros below. */
void harness_assert_status(const struct harness_response *r, long status,
			   const char *file, int line);
void harness_assert_problem(const struct harness_response *r, long status,
			    const char *field, const char *file, int line);
void harness_assert_header(const struct harness_response *r, const char *name,
			   const char *value, const char *file, int line);
void harness_assert_json_str(const struct harness_response *r,
			     const char *dotted, const char *value,
			     const char *file, int line);
void harness_assert_json_int(const struct harness_response *r,
			     const char *dotted, long long value,
			     const char *file, int line);

/*
 * The check assert_problem() makes, without failing: NULL when r is the
 * problem it describes, else a sentence saying what differs (buf, or a
 * constant string).  For a case that gathers several mismatches.
 */
const char *harness_problem_mismatch(const struct harness_response *r,
				     long status, const char *field, char *buf,
				     size_t len);

/* Status is exactly s; on mismatch prints the request and the body. */
#define assert_status(r, s) harness_assert_status(r, s, __FILE__, __LINE__)
/*
 * An RFC 9457 problem: status s, Content-Type application/problem+json,
 * type/title/status/detail present, status member equal to s, and
 * "field" equal to f unless f is NULL; an f ending in '*' ("pptdevs*")
 * matches as a prefix.
 */
#define assert_problem(r, s, f)                                                \
	harness_assert_problem(r, s, f, __FILE__, __LINE__)
/* Header n is present and equals v (media types compare without params). */
#define assert_header(r, n, v)                                                 \
	harness_assert_header(r, n, v, __FILE__, __LINE__)
#define assert_json_str(r, p, v)                                               \
	harness_assert_json_str(r, p, v, __FILE__, __LINE__)
#define assert_json_int(r, p, v)                                               \
	harness_assert_json_int(r, p, v, __FILE__, __LINE__)
#define etag_number(r) harness_etag_number(r, __FILE__, __LINE__)

/*
 * Another caller on the Unix socket.  A request "as" an identity is sent
 * from a forked child that calls setgroups(), setgid() and setuid() to
 * it before connecting, so that the daemon's SO_PEERCRED and
 * SO_PEERGROUPS report exactly that identity.  Needs root (see
 * harness_need_root()); h's directory is made traversable (0755) for it.
 */
struct harness_identity {
	uid_t hi_uid;
	gid_t hi_gid;           /* primary group */
	const gid_t *hi_groups; /* supplementary groups (may be NULL) */
	int hi_ngroups;
	const char *hi_sock; /* the Unix socket; NULL: h's own */
};

/*
 * Skips the case, counted (tests/common/tskip.h), with the reason printed
 * and no log dump.
 */
void harness_skip(struct harness *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Skips the case (harness_skip()) unless this process is root and so may take
 * other identities.
 */
void harness_need_root(struct harness *h);

/*
 * Sends rq (over a Unix socket: rq_tcp must be 0) as id from a forked
 * child and returns the complete response (h's); fails the case, with
 * the daemon's log, when no HTTP response came or the child could not
 * take the identity.
 */
struct harness_response *harness_as(struct harness *h,
				    const struct harness_identity *id,
				    const struct harness_request *rq);

/*
 * harness_as() with a JSON body (or NULL) and "Content-Type:
 * application/json" when there is one.
 */
struct harness_response *harness_req_as(struct harness *h,
					const struct harness_identity *id,
					const char *method, const char *path,
					const char *body);

/*
 * Starts rq as id in a forked child and returns at once; the response
 * arrives while the case goes on (a monitor-mode start, a followed
 * console).  max_bytes > 0: the child aborts the transfer (its
 * connection closes) as soon as that many body bytes came, and stays
 * alive until harness_child_end() or harness_child_kill(), so that the
 * end of the connection and the end of the process can be told apart.
 * The child belongs to h: teardown kills it.
 */
struct harness_child *harness_as_open(struct harness *h,
				      const struct harness_identity *id,
				      const struct harness_request *rq,
				      size_t max_bytes);

/* Waits up to ms until the body so far contains needle: 1, else 0. */
int harness_child_wait_for(struct harness_child *c, const char *needle, int ms);

/*
 * Waits up to ms until the child's transfer is over (the child may still
 * be alive): 1, else 0.
 */
int harness_child_wait_done(struct harness_child *c, int ms);

/* The status of the response head so far; 0 before it came. */
long harness_child_status(struct harness_child *c);

/*
 * Kills the child at once (SIGKILL) and reaps it: its connection closes
 * as a crashed or interrupted client's does.
 */
void harness_child_kill(struct harness_child *c);

/*
 * Waits up to ms for the transfer to end, lets the child exit and
 * returns what came (h's): hr_status 0 when no head arrived; *curl_code
 * (may be NULL) gets curl's result in the child, 0 (CURLE_OK) for a
 * transfer that ended cleanly, -1 when the child was killed first.
 * Fails the case, after killing the child, when the transfer still goes
 * on.  After it, c is gone.
 */
struct harness_response *harness_child_end(struct harness_child *c, int ms,
					   int *curl_code);

#endif
