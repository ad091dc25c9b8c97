/*
 * kvm_raw: the raw-ioctl baseline of bench/vm_start.sh and bench/vm_exits.sh.
 * It does for one flat guest what vmmapid's KVM backend and runner must do
 * at the least, with nothing else around: no HTTP, no database, no threads,
 * no device model.
 *
 *   kvm_raw [-m MEMORY_MIB] [-n RUNS] start|exits IMAGE
 *
 * Each run, with /dev/kvm already open and KVM_GET_VCPU_MMAP_SIZE asked
 * once before the first: KVM_CREATE_VM, KVM_SET_TSS_ADDR, one anonymous
 * mapping of MEMORY_MIB (default 64) as memory slot 0 at gpa 0,
 * KVM_CREATE_VCPU, mmap of its kvm_run, real-mode registers as the
 * runner sets them for a flat image (KVM_GET_SREGS, then cs = 0 with base
 * 0, KVM_SET_SREGS; KVM_SET_REGS with ip = 0x1000, flags = 2), IMAGE
 * copied to gpa 0x1000, then KVM_RUN until:
 *
 *   start  the first OUT to COM1 (0x3f8): the guest's first console byte;
 *   exits  an OUT to the debug-exit port 0x501, every OUT to 0x3f8 before
 *          it counted and discarded (one KVM_RUN per exit, as the runner).
 *
 * then closes everything (not timed).  Prints one line per run:
 *
 *   run=I total_us=T create_us=C bytes=B exits=E
 *
 * total_us from before KVM_CREATE_VM to that exit; create_us from before
 * KVM_CREATE_VM to just before the first KVM_RUN (the setup alone); bytes
 * the COM1 bytes seen; exits the KVM_RUN returns.  Exit status 0 when every
 * run reached its end, 1 otherwise (an unexpected exit is printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

/* The same addresses as vmm-driver/kvm.c and the runner's flat boot. */
#define KVM_RAW_TSS_ADDR 0xfffbd000UL
#define KVM_RAW_LOAD 0x1000
#define KVM_RAW_COM1 0x3f8
#define KVM_RAW_DEBUG_EXIT 0x501
/* Longest image: real mode reaches 1 MiB. */
#define KVM_RAW_IMAGE_MAX (0x100000 - KVM_RAW_LOAD)

enum kvm_raw_mode { KVM_RAW_START, KVM_RAW_EXITS };

struct kvm_raw_conf {
	enum kvm_raw_mode kc_mode;
	unsigned long kc_memory_mib;
	unsigned long kc_runs;
	const char *kc_image_path;
	uint8_t *kc_image;
	size_t kc_image_len;
};

/* What one run measured. */
struct kvm_raw_result {
	double kr_total_us;
	double kr_create_us;
	unsigned long kr_bytes;
	unsigned long kr_exits;
};

static double
kvm_raw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
kvm_raw_usage(void)
{
	fprintf(stderr,
		"usage: kvm_raw [-m MEMORY_MIB] [-n RUNS] start|exits IMAGE\n"
		"  -m  guest memory in MiB (default 64)\n"
		"  -n  runs (default 1)\n"
		"  start: until the first OUT to 0x3f8\n"
		"  exits: until an OUT to 0x501, discarding 0x3f8 bytes\n");
}

static int
kvm_raw_parse_args(int argc, char **argv, struct kvm_raw_conf *c)
{
	char *end;
	int ch;

	c->kc_memory_mib = 64;
	c->kc_runs = 1;
	while ((ch = getopt(argc, argv, "m:n:")) != -1) {
		switch (ch) {
		case 'm':
			errno = 0;
			c->kc_memory_mib = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' ||
			    c->kc_memory_mib == 0 || c->kc_memory_mib > 3072)
				goto fail;
			break;
		case 'n':
			errno = 0;
			c->kc_runs = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || c->kc_runs == 0)
				goto fail;
			break;
		default:
			goto fail;
		}
	}
	if (argc - optind != 2)
		goto fail;
	if (strcmp(argv[optind], "start") == 0)
		c->kc_mode = KVM_RAW_START;
	else if (strcmp(argv[optind], "exits") == 0)
		c->kc_mode = KVM_RAW_EXITS;
	else
		goto fail;
	c->kc_image_path = argv[optind + 1];
	return 0;
fail:
	kvm_raw_usage();
	return -1;
}

/* Reads the whole image into c->kc_image. */
static int
kvm_raw_read_image(struct kvm_raw_conf *c)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(c->kc_image_path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0)
		goto fail;
	if (st.st_size <= 0 || st.st_size > KVM_RAW_IMAGE_MAX ||
	    (uint64_t)st.st_size + KVM_RAW_LOAD > c->kc_memory_mib << 20) {
		fprintf(stderr, "kvm_raw: %s: %lld bytes do not fit\n",
			c->kc_image_path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	if ((c->kc_image = malloc((size_t)st.st_size)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size) {
		n = read(fd, c->kc_image + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		got += (size_t)n;
	}
	c->kc_image_len = got;
	close(fd);
	return 0;
fail:
	fprintf(stderr, "kvm_raw: %s: %s\n", c->kc_image_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One VM from KVM_CREATE_VM to the exit the mode waits for. */
static int
kvm_raw_run_once(const struct kvm_raw_conf *c, int kvm, size_t run_size,
		 struct kvm_raw_result *res)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run = MAP_FAILED;
	size_t mem_len = (size_t)c->kc_memory_mib << 20;
	uint8_t *mem = MAP_FAILED;
	double t0, t_run;
	int vm = -1, vcpu = -1, rc = -1, done = 0;
	const char *what;

	memset(res, 0, sizeof(*res));
	t0 = kvm_raw_now_us();
	what = "KVM_CREATE_VM";
	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		goto fail;
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(vm, KVM_SET_TSS_ADDR, KVM_RAW_TSS_ADDR) < 0)
		goto fail;
	what = "mmap guest memory";
	mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		goto fail;
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_len;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	what = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto fail;
	what = "KVM_CREATE_VCPU";
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		goto fail;
	what = "mmap kvm_run";
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		goto fail;
	what = "KVM_GET_SREGS";
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	what = "KVM_SET_SREGS";
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	regs.rip = KVM_RAW_LOAD;
	regs.rflags = 2;
	what = "KVM_SET_REGS";
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		goto fail;
	memcpy(mem + KVM_RAW_LOAD, c->kc_image, c->kc_image_len);

	t_run = kvm_raw_now_us();
	what = "KVM_RUN";
	while (!done) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			goto fail;
		}
		res->kr_exits++;
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_OUT) {
			fprintf(stderr,
				"kvm_raw: unexpected exit %u (io direction "
				"%u) after %lu exits\n",
				run->exit_reason, run->io.direction,
				res->kr_exits);
			errno = EPROTO;
			goto fail;
		}
		if (run->io.port == KVM_RAW_COM1) {
			/* The bytes are at data_offset; discarded. */
			res->kr_bytes +=
			    (unsigned long)run->io.size * run->io.count;
			done = c->kc_mode == KVM_RAW_START;
		} else if (run->io.port == KVM_RAW_DEBUG_EXIT) {
			done = 1;
		}
	}
	res->kr_total_us = kvm_raw_now_us() - t0;
	res->kr_create_us = t_run - t0;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "kvm_raw: %s: %s\n", what, strerror(errno));
out:
	if (run != MAP_FAILED)
		munmap(run, run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (mem != MAP_FAILED)
		munmap(mem, mem_len);
	return rc;
}

int
main(int argc, char **argv)
{
	struct kvm_raw_conf c;
	struct kvm_raw_result res;
	unsigned long i;
	int kvm, size;

	memset(&c, 0, sizeof(c));
	if (kvm_raw_parse_args(argc, argv, &c) != 0)
		return 2;
	if (kvm_raw_read_image(&c) != 0)
		return 1;
	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "kvm_raw: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	if ((size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) {
		fprintf(stderr, "kvm_raw: KVM_GET_VCPU_MMAP_SIZE: %s\n",
			strerror(errno));
		return 1;
	}
	for (i = 0; i < c.kc_runs; i++) {
		if (kvm_raw_run_once(&c, kvm, (size_t)size, &res) != 0)
			return 1;
		printf("run=%lu total_us=%.1f create_us=%.1f bytes=%lu "
		       "exits=%lu\n",
		       i + 1, res.kr_total_us, res.kr_create_us, res.kr_bytes,
		       res.kr_exits);
		fflush(stdout);
	}
	close(kvm);
	free(c.kc_image);
	return 0;
}
