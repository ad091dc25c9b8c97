/*
 * A VM's serial console: what the guest wrote (a ring buffer addressed by
 * absolute byte offsets, so a reader can resume where it stopped and learn
 * what it missed) and what the API sent it (an input queue the UART
 * drains).  It outlives runs of the VM: output stays readable after the
 * guest stopped, and a new run appends to it.
 *
 * Locking: one mutex per console guards everything in it.  Watch
 * callbacks are called with that mutex released.
 */
#ifndef VMMAPID_CORE_CONSOLE_H
#define VMMAPID_CORE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct console;

/* A console keeping the last out_size output bytes and in_size input,
 * with one reference. */
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
void console_unwatch(struct console *c, void *arg);

#endif
