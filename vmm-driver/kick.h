/*
 * The signal that interrupts a vCPU thread inside the kernel's run call
 * (KVM_RUN): vcpu_kick sends it with pthread_kill, and its handler does
 * nothing; the interrupted ioctl returns EINTR.
 *
 * vCPU threads (the runner's) keep it unblocked and block everything
 * else.  Every other thread of the daemon should keep it blocked, so that
 * a stray SIGUSR1 sent to the process lands on a vCPU thread (where it is
 * a harmless early return) rather than on an HTTP thread's syscall.
 * The handler is installed by the first vm_create of a backend that
 * kicks with signals; installing it earlier with vmm_kick_init() is fine.
 */
#ifndef VMMAPID_VMM_DRIVER_KICK_H
#define VMMAPID_VMM_DRIVER_KICK_H

#include <signal.h>

#define VMM_KICK_SIGNAL SIGUSR1

/* Installs the do-nothing handler once (no SA_RESTART).  0 or -1. */
int vmm_kick_init(void);

#endif
