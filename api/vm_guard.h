/*
 * The guard of a VM's key (issue #14, finding 2).  A route on one VM
 * holds it from the policy's look at the VM (its owner and jail) until
 * its handler has acted, so that what the policy checked is what is
 * acted on: the VM cannot be deleted, and so not defined again by
 * someone else, in between (a member's stop or guestinfo write landing
 * on another member's VM of the same name).  A DELETE holds it alone.
 *
 * Requests that are not deletes never wait (some run on the event
 * thread): one that finds a delete of its VM under way is refused,
 * EBUSY.  A delete waits, at most a bound in all, for another delete of
 * its VM (which answers first; this one then finds no VM) and for the
 * requests in flight on its VM, and meanwhile no new request enters.
 */
#ifndef VMMAPID_API_VM_GUARD_H
#define VMMAPID_API_VM_GUARD_H

/* How long a delete waits for the requests in flight on its VM. */
#define VM_GUARD_DELETE_WAIT_MS 5000

struct vm_guard;

/* NULL: no memory. */
struct vm_guard *vm_guard_new(void);
/* Every request has left. */
void vm_guard_free(struct vm_guard *g);

/*
 * Enters a request on VM key that is not a delete.  0; -1 with EBUSY (a
 * delete of key is under way) or ENOMEM.  vm_guard_leave after.
 */
int vm_guard_enter(struct vm_guard *g, const char *key);

/*
 * Enters the delete of VM key: once another delete of key under way has
 * left, no request enters key; once the ones in flight have left, 0.
 * All within wait_ms, else -1 with ETIMEDOUT (nothing held); ENOMEM.
 * vm_guard_leave after a 0.
 */
int vm_guard_enter_delete(struct vm_guard *g, const char *key,
			  unsigned wait_ms);

/* Leaves what vm_guard_enter (deleting 0) or _enter_delete (1) entered. */
void vm_guard_leave(struct vm_guard *g, const char *key, int deleting);

#endif
