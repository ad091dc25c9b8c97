#include "vmm-driver/detect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/kvm.h>
#endif

#define KVM_DEVICE "/dev/kvm"

/*
 * Which KVM answers: the vendor module loaded, so that a user reading
 * GET /v1 knows whether guests run on hardware or, under PVM, through
 * instruction emulation for code that is not PVM-aware.
 */
const char *
vmm_kvm_flavor(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "kvm_pvm: guest code that is not PVM-aware runs under "
		       "instruction emulation";
	if (access("/sys/module/kvm_intel", F_OK) == 0)
		return "kvm_intel: hardware-assisted (VT-x)";
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		return "kvm_amd: hardware-assisted (SVM)";
	return "vendor module unknown";
}

/* 0 when /dev/kvm opens and answers the stable API version. */
static int
vmm_kvm_usable(char *why, size_t len)
{
#ifdef __linux__
	int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC), ver;

	if (fd < 0) {
		snprintf(why, len, "%s: %s", KVM_DEVICE, strerror(errno));
		return -1;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (ver != KVM_API_VERSION) {
		snprintf(why, len, "%s: API version %d, expected %d",
			 KVM_DEVICE, ver, KVM_API_VERSION);
		return -1;
	}
	snprintf(why, len, "%s opened (KVM API %d, %s)", KVM_DEVICE, ver,
		 vmm_kvm_flavor());
	return 0;
#else
	snprintf(why, len, "KVM exists only on Linux");
	return -1;
#endif
}

int
vmm_usable(const char *backend, char *why, size_t len)
{
	if (strcmp(backend, "kvm") == 0)
		return vmm_kvm_usable(why, len);
	if (strcmp(backend, "sim") == 0) {
		snprintf(why, len,
			 "the software backend needs nothing of the "
			 "host");
		return 0;
	}
	snprintf(why, len, "no backend named %s", backend);
	return -1;
}

int
vmm_detect(const char *want, const char **name, char *reason, size_t len)
{
	char why[256];

	if (strcmp(want, "sim") == 0) {
		*name = "sim";
		snprintf(reason, len, "--driver sim");
		return 0;
	}
	if (vmm_kvm_usable(why, sizeof(why)) == 0) {
		*name = "kvm";
		snprintf(reason, len, "%s%s",
			 want[0] == 'k' ? "--driver kvm: " : "auto: ", why);
		return 0;
	}
	if (strcmp(want, "kvm") == 0) {
		*name = "kvm";
		snprintf(reason, len, "--driver kvm: %s", why);
		return -1;
	}
	*name = "sim";
	snprintf(reason, len, "auto: %s; using the software backend", why);
	return 0;
}
