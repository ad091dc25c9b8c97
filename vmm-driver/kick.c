/*
 * The kick signal's handler (see kick.h).
 */
#include "vmm-driver/kick.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static int kick_errno;

/*
 * Does nothing: its only job is to exist, so that the signal interrupts
 * the vCPU thread's ioctl (EINTR) instead of killing the process.
 */
static void
kick_handler(int sig)
{
	(void)sig;
}

static void
kick_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the interrupted KVM_RUN must come back with EINTR. */
	sa.sa_flags = 0;
	if (sigaction(VMM_KICK_SIGNAL, &sa, NULL) != 0)
		kick_errno = errno;
}

/*
 * Installs the handler the first time; later calls report how that went.
 * 0, or -1 with sigaction's errno.
 */
int
vmm_kick_init(void)
{
	pthread_once(&kick_once, kick_install);
	if (kick_errno != 0) {
		errno = kick_errno;
		return -1;
	}
	return 0;
}
