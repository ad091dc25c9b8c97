/*
 * A VM's serial console: what the guest wrote (a ring buffer addressed by
 * absolute byte offsets, so a reader can resume where it stopped and learn
 * what it missed) and what the API sent it (an input queue the UART
 * drains).  It outlives runs of the VM: output stays readable after the
 * guest stopped, and a new run appends to it.
 *
 * Both rings live in one anonymous mapping made when the console is: a
 * page costs memory only once the guest (or the API) wrote to it, and the
 * whole is given back to the system when the last reference goes, so a
 * quiet VM's console costs a few pages whatever the heap did before
 * (heap memory only when mmap fails).
 *
 * Locking: one mutex per console guards everything in it, but for the
 * place in the console timer's queue (cn_timer_*), which the timer's own
 * mutex guards; that one is taken inside the console's, never around it.
 * Watch callbacks are called with both released.
 */
#ifndef VMMAPID_BASE_CONSOLE_H
#define VMMAPID_BASE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * How a followed console is coalesced (api/console.c; docs/api.md): a
 * chunk goes out when CONSOLE_STREAM_LOW_WATER bytes wait, when the run
 * ended, or when something waits and the previous chunk went out at least
 * CONSOLE_STREAM_DELAY_US ago.  So a byte after a quiet spell (a
 * keystroke's echo) goes out at once, no byte waits longer than the delay,
 * and a guest writing a byte per exit costs one chunk per delay instead
 * of one per byte or two.
 */
#define CONSOLE_STREAM_LOW_WATER 4096
#define CONSOLE_STREAM_DELAY_US 2000

struct console;

/* A console keeping the last out_size output bytes and in_size input,
 * with one reference.  NULL with errno (EINVAL for a size of 0, ENOMEM). */
struct console *console_new(size_t out_size, size_t in_size);
/* Takes another reference; console_free drops one and frees at zero. */
void console_hold(struct console *c);
void console_free(struct console *c);

/* Guest output: appends, overwriting the oldest bytes when full. */
void console_put(struct console *c, const void *buf, size_t len);

/*
 * Reads output from *offset on.  When bytes before the oldest kept one
 * were asked for, reading starts at the oldest and *lost says how many were
 * skipped.  Returns the bytes copied and advances *offset past them.
 */
size_t console_read(struct console *c, uint64_t *offset, void *buf, size_t len,
		    uint64_t *lost);

/* The offset one past the newest output byte. */
uint64_t console_end(struct console *c);

/*
 * Waits at most us microseconds, yielding the CPU, for output past offset
 * or the end of the run; 1 when either came, else 0.  For a stream about
 * to begin: output that is imminent then goes out with the stream's first
 * write instead of after a park and a wake-up.
 */
int console_wait_past(struct console *c, uint64_t offset, unsigned us);

/*
 * How many bytes console_read would return from *offset on (with no limit
 * on len), and in *closed whether the run has ended, both at one instant:
 * with *closed set, no more output will come before console_open.  Moves
 * *offset to where that read would start, as console_read does: past the
 * bytes no longer kept, or back to the end when it was past it.
 */
uint64_t console_pending(struct console *c, uint64_t *offset, int *closed);

/*
 * Input for the guest: queues all len bytes and returns len, or queues
 * nothing and returns 0 when they do not all fit (the guest is not
 * reading fast enough).
 */
size_t console_input(struct console *c, const void *buf, size_t len);

/* The guest takes one input byte: 1 with *byte set, 0 when none. */
int console_take(struct console *c, uint8_t *byte);

/* Input bytes waiting. */
size_t console_input_pending(struct console *c);

/*
 * Calls fn(arg) after each console_input that queued bytes, on that
 * thread, with no console lock held (fn may call console_take and
 * console_input_pending): a UART that interrupts its guest when input
 * arrives.  One listener per console; fn NULL removes it, and once that
 * call has returned no call of the old listener is under way (so not
 * from fn itself).
 */
void console_input_listen(struct console *c, void (*fn)(void *), void *arg);

/*
 * Marks the end of a run (the VM stopped); watchers are woken.  A new run
 * clears the mark with console_open().
 */
void console_close(struct console *c);
void console_open(struct console *c);
int console_is_closed(struct console *c);

/*
 * Calls wake(arg) once, from whichever thread next appends output past
 * offset or closes the console.  Returns 1 without registering when that
 * is already so, 0 when registered, -1 (ENOMEM).  A registration is
 * removed by console_unwatch() or by its call; after console_unwatch
 * returns, no call for arg is under way.  wake must not call
 * console_unwatch.
 */
int console_watch(struct console *c, uint64_t offset, void (*wake)(void *),
		  void *arg);

/*
 * console_watch for a reader that wants output in batches: wake(arg) is
 * called once when at least low bytes past offset are there, when the
 * console closes, or when there is at least one byte past offset and
 * CLOCK_MONOTONIC (timefmt_mono_us) has reached due_us, whichever comes
 * first.  The first two are called from the thread that appends or
 * closes; the deadline from the console timer, one thread shared by every
 * console and started on first use, which sleeps until the soonest
 * deadline (if it cannot be started, the deadline counts as reached).
 * Returns and removal as console_watch.
 */
int console_watch_batch(struct console *c, uint64_t offset, size_t low,
			uint64_t due_us, void (*wake)(void *), void *arg);
void console_unwatch(struct console *c, void *arg);

/*
 * Calls now the watches of every console waiting for a deadline and drops
 * the timer's references to them, after the one it may be calling: at
 * shutdown (vmrun_close), so no console outlives its last user by the
 * deadline.  Consoles armed afterwards are queued again as usual.
 */
void console_timer_drain(void);

#endif
