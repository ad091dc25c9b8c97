#include "vmm-driver/detect.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/kvm.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
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

const char *
vmm_kvm_kind(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "pvm";
	if (access("/sys/module/kvm_intel", F_OK) == 0)
		return "vmx";
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		return "svm";
	return "unknown";
}

void
vmm_hv_signature(uint32_t ebx, uint32_t ecx, uint32_t edx, char *sig)
{
	uint32_t regs[3] = {ebx, ecx, edx};
	size_t i, n = 0;

	for (i = 0; i < 12; i++) {
		unsigned char c = (unsigned char)(regs[i / 4] >> (8 * (i % 4)));

		if (c == 0)
			continue;
		sig[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (n > 0 && sig[n - 1] == ' ')
		n--;
	sig[n] = '\0';
}

int
vmm_kvm_backdoor_user(const char *path)
{
	char buf[8] = "";
	FILE *f;
	int err;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		err = ferror(f) ? EIO : EINVAL;
		fclose(f);
		errno = err;
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	/* A bool module parameter reads Y or N; 1 and 0 are what one
	 * writes, and what an older kernel may show. */
	if (strcmp(buf, "Y") == 0 || strcmp(buf, "1") == 0)
		return 1;
	if (strcmp(buf, "N") == 0 || strcmp(buf, "0") == 0)
		return 0;
	errno = EINVAL;
	return -1;
}

static pthread_once_t vmm_nested_once = PTHREAD_ONCE_INIT;
static int vmm_nested;
static char vmm_nested_sig[13];

static void
vmm_host_nested_ask(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) == 0 || !(c & (1U << 31)))
		return;
	vmm_nested = 1;
	/* Not __get_cpuid: it checks the leaf against the basic maximum,
	 * and the hypervisor range lies outside it. */
	__cpuid(0x40000000, a, b, c, d);
	vmm_hv_signature(b, c, d, vmm_nested_sig);
#endif
}

int
vmm_host_nested(char *sig, size_t len)
{
	pthread_once(&vmm_nested_once, vmm_host_nested_ask);
	snprintf(sig, len, "%s", vmm_nested_sig);
	return vmm_nested;
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
