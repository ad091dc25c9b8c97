/*
 * holdvms: keeps two idle KVM VMs open until it is killed.
 *
 * Runs inside the nested test host (tests/kvmhost/run), before the
 * command.  KVM flips static keys (the kernel patches its own code) when
 * the first VM or vCPU of a kind appears and after the last one goes;
 * under QEMU's multi-threaded TCG that patching has frozen the nested
 * kernel.  Holding one VM of each kind the tests make -- with and
 * without an in-kernel irqchip, each with a vCPU -- keeps those keys
 * from ever flipping back while the tests create and destroy theirs.
 *
 * Exits once both VMs exist, leaving a child that holds them.  Built
 * statically by tests/kvmhost/run with the host's cc: it runs
 * in the initramfs, before the host's file system is mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A VM with one vCPU; irqchip asks for the in-kernel one.  0 or -1. */
static int
holdvms_make(int kvm, int irqchip)
{
	int vm, vcpu;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "holdvms: KVM_CREATE_VM: %s\n",
			strerror(errno));
		return -1;
	}
	if (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) != 0)
		fprintf(stderr, "holdvms: KVM_CREATE_IRQCHIP: %s\n",
			strerror(errno));
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fprintf(stderr, "holdvms: KVM_CREATE_VCPU: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

int
main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0) {
		fprintf(stderr, "holdvms: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	if (holdvms_make(kvm, 0) != 0 || holdvms_make(kvm, 1) != 0)
		return 1;
	/* The parent's exit tells the init the VMs exist; the child keeps
	 * them (it inherited the fds) until it is killed. */
	switch (fork()) {
	case -1:
		fprintf(stderr, "holdvms: fork: %s\n", strerror(errno));
		return 1;
	case 0:
		for (;;)
			pause();
	default:
		return 0;
	}
}
