/*
 * boot.kind "linux" through the API (#15): what a backend without the
 * linux-boot feature answers (501, naming it), what the spec refuses at
 * definition (400), what the loader refuses at start (422 with its
 * reason), and, on kvm, Debian's kernel booted to the initramfs of
 * tests/guests/linux: its console read and typed into, power-off through
 * the debug-exit port, a reboot that restarts and one that stops, one and
 * two vCPUs, the payload decompressed by the daemon and by the guest,
 * open-vm-tools' vmware-rpctool reading and writing guestinfo keys;
 * one boot each, so that one feature's failure does not hide another's.
 *
 * The kernel and initramfs are fetched and built into the build tree by
 * tests/guests/linux/fetch-and-build (the linux-guest target); where they
 * could not be (no network), the cases that need them skip saying why.
 * Each boot takes 20-35 s in the nested KVM host, so the checks share a
 * few boots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif
#ifndef LINUX_GUEST_DIR
#error "LINUX_GUEST_DIR must name fetch-and-build's output directory"
#endif

/* How long a boot may take to reach the initramfs and power off. */
#define BOOT_MS (30000 * harness_time_factor())
/* Guest RAM: Debian's kernel and the 2.3 MiB initramfs need little. */
#define MEMORY_MIB 256
/* The recommended command line (docs/linux-boot.md). */
#define CMDLINE "console=ttyS0 reboot=t pci=off"
/* What the initramfs's /init prints (tests/guests/linux/init). */
#define MARK_UP "vmmapid-guest: up: kernel "
#define MARK_TYPE "vmmapid-guest: type a line"
#define MARK_ECHO "vmmapid-guest: echo: "
#define MARK_REBOOT "vmmapid-guest: rebooting"
#define MARK_INFO_GET "vmmapid-guest: rpctool info-get: status "
#define MARK_INFO_SET "vmmapid-guest: rpctool info-set: status "
#define MARK_POWEROFF "vmmapid-guest: powering off with status 42"
#define GUEST_EXIT_STATUS 42
#define TYPED "typed through the API"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* fetch-and-build's directory; VMMAPID_LINUX_GUEST_DIR overrides it. */
static const char *
guest_dir(void)
{
	const char *d = getenv("VMMAPID_LINUX_GUEST_DIR");

	return d != NULL && *d != '\0' ? d : LINUX_GUEST_DIR;
}

/* Skips the case unless the kernel and initramfs are there. */
static void
need_guest(struct harness *h)
{
	char path[512], reason[400] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/unavailable", guest_dir());
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(reason, sizeof(reason), f) != NULL)
			reason[strcspn(reason, "\n")] = '\0';
		fclose(f);
		harness_skip(h,
			     "the Linux test guest could not be fetched or "
			     "built: %s (tests/guests/linux/fetch-and-build)",
			     reason);
	}
	snprintf(path, sizeof(path), "%s/initrd.img", guest_dir());
	if (access(path, R_OK) != 0)
		harness_skip(h,
			     "no Linux test guest in %s: build the linux-guest "
			     "target (tests/guests/linux/fetch-and-build)",
			     guest_dir());
}

/*
 * Skips the case unless the initramfs has open-vm-tools' vmware-rpctool
 * and the host's kvm lets a guest's processes reach the backdoor.
 */
static void
need_rpctool(struct harness *h)
{
	char path[512], reason[400] = "";
	FILE *f;

	need_guest(h);
	snprintf(path, sizeof(path), "%s/rpctool-unavailable", guest_dir());
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(reason, sizeof(reason), f) != NULL)
			reason[strcspn(reason, "\n")] = '\0';
		fclose(f);
		harness_skip(h,
			     "vmware-rpctool is not in the Linux test guest: "
			     "%s (tests/guests/linux/fetch-and-build)",
			     reason);
	}
	if (!harness_backend_has(h, "guestinfo-backdoor-user"))
		harness_skip(h,
			     "this host's kvm module was loaded without "
			     "enable_vmware_backdoor=1 (GET /v1 lists no "
			     "guestinfo-backdoor-user): a guest's "
			     "vmware-rpctool dies of SIGSEGV on the backdoor's "
			     "port (tests/kvmhost loads it so)");
}

/* PUT /v1/images/name with data; uploads are slow in the nested host. */
static void
put_image(struct harness *h, const char *name, const void *data, size_t len)
{
	const char *headers[] = {"Content-Type: application/octet-stream",
				 NULL};
	struct harness_request rq = {0};
	struct harness_response *r;
	char path[256];

	snprintf(path, sizeof(path), "/v1/images/%s", name);
	rq.rq_method = "PUT";
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_body = data;
	rq.rq_body_len = len;
	rq.rq_timeout_ms = 20000L * harness_time_factor();
	r = harness_send(h, &rq);
	if (r->hr_status != 200 && r->hr_status != 201)
		fail_msg("PUT %s: %ld %s", path, r->hr_status, r->hr_body);
}

/* Uploads fetch-and-build's kernel and initramfs as bzImage, initrd.img. */
static void
put_kernel_and_initrd(struct harness *h)
{
	char path[512];
	size_t len;
	char *data;

	need_guest(h);
	snprintf(path, sizeof(path), "%s/bzImage", guest_dir());
	data = harness_read_file(h, path, &len);
	put_image(h, "bzImage", data, len);
	snprintf(path, sizeof(path), "%s/initrd.img", guest_dir());
	data = harness_read_file(h, path, &len);
	put_image(h, "initrd.img", data, len);
}

/* The kernel release fetch-and-build recorded ("6.1.0-57-amd64"). */
static const char *
kernel_release(struct harness *h)
{
	char path[512];
	size_t len;
	char *s;

	snprintf(path, sizeof(path), "%s/kernel-release", guest_dir());
	s = harness_read_file(h, path, &len);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/*
 * Defines VM name booting bzImage and initrd.img with cmdline, more JSON
 * members in extra ("" or e.g. "\"vcpus\":2"), boot members in bextra;
 * fails unless 201.
 */
static void
define_linux(struct harness *h, const char *name, const char *cmdline,
	     const char *bextra, const char *extra)
{
	struct harness_response *r;
	char *body = harness_alloc(h, 4096);

	snprintf(body, 4096,
		 "{\"name\":\"%s\",\"memory_mib\":%d,"
		 "\"boot\":{\"kind\":\"linux\",\"kernel\":\"bzImage\","
		 "\"initrd\":\"initrd.img\",\"cmdline\":\"%s\"%s%s}%s%s}",
		 name, MEMORY_MIB, cmdline, *bextra != '\0' ? "," : "", bextra,
		 *extra != '\0' ? "," : "", extra);
	r = harness_req(h, "POST", "/v1/vms", body, NULL);
	if (r->hr_status != 201)
		fail_msg("defining %s: %ld %s", name, r->hr_status, r->hr_body);
}

static struct harness_response *
vm_op(struct harness *h, const char *name, const char *op)
{
	char path[256];
	struct harness_request rq = {0};

	snprintf(path, sizeof(path), "/v1/vms/%s/%s", name, op);
	rq.rq_method = "POST";
	rq.rq_path = path;
	rq.rq_timeout_ms = 30000L * harness_time_factor();
	return harness_send(h, &rq);
}

/* The VM's console output so far (GET, the whole kept text). */
static const char *
console_text(struct harness *h, const char *name)
{
	struct harness_request rq = {0};
	struct harness_response *r;
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/console", name);
	rq.rq_method = "GET";
	rq.rq_path = path;
	rq.rq_timeout_ms = 10000L * harness_time_factor();
	r = harness_send(h, &rq);
	assert_status(r, 200);
	return r->hr_body;
}

static int
count_of(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)) != NULL; text += strlen(needle))
		n++;
	return n;
}

/*
 * Polls the console until needle appears n times, for up to ms: 1 if it
 * did, 0 if not; *text is the console's text either way.
 */
static int
poll_console(struct harness *h, const char *name, const char *needle, int n,
	     int ms, const char **text)
{
	long long until = now_ms() + ms;

	for (;;) {
		*text = console_text(h, name);
		if (count_of(*text, needle) >= n)
			return 1;
		if (now_ms() > until)
			return 0;
		sleep_ms(250);
	}
}

/*
 * Polls the console until needle appears n times, for up to ms; returns
 * the text, or fails the case showing its tail.
 */
static const char *
wait_console(struct harness *h, const char *name, const char *needle, int n,
	     int ms)
{
	const char *text;
	size_t len;

	if (poll_console(h, name, needle, n, ms, &text))
		return text;
	len = strlen(text);
	fail_msg("VM %s: \"%s\" not seen %d time(s) in %d ms; the console "
		 "ends with:\n%s",
		 name, needle, n, ms, text + (len > 3000 ? len - 3000 : 0));
	return NULL;
}

/* Fails unless text holds needle, showing what it holds around. */
static void
assert_in(const char *text, const char *needle)
{
	size_t len = strlen(text);

	if (strstr(text, needle) == NULL)
		fail_msg("\"%s\" is not on the console; it ends with:\n%s",
			 needle, text + (len > 3000 ? len - 3000 : 0));
}

/* The line of text that holds needle, in buf. */
static const char *
line_of(const char *text, const char *needle, char *buf, size_t len)
{
	const char *p = strstr(text, needle);
	size_t n;

	assert_non_null(p);
	n = strcspn(p, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/*
 * Prints every line of text that holds one of the needles (NULL-ended):
 * what a failure needs to be read (the kernel's own lines about a
 * process it killed), which fail_msg's tail may cut off.
 */
static void
print_lines_with(const char *text, const char *const *needles)
{
	const char *p = text, *end;
	size_t i;

	for (; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		for (i = 0; needles[i] != NULL; i++) {
			const char *at = strstr(p, needles[i]);

			if (at != NULL && at < end) {
				print_message("linux_boot: console: %.*s\n",
					      (int)(end - p), p);
				break;
			}
		}
	}
}

/* A VM whose start answered 422 that names what, and is not running. */
static void
assert_start_422(struct harness *h, const char *name, const char *what)
{
	struct harness_response *r = vm_op(h, name, "start");
	char path[256];

	assert_problem(r, 422, NULL);
	if (strstr(r->hr_body, what) == NULL)
		fail_msg("the 422 does not say \"%s\": %s", what, r->hr_body);
	snprintf(path, sizeof(path), "/v1/vms/%s", name);
	assert_json_str(harness_get(h, path), "status.state", "defined");
}

/* The kvm backend must boot Linux: its feature missing is a failure. */
static void
need_linux_boot(struct harness *h)
{
	harness_need_driver(h, "kvm", "booting a Linux kernel");
	if (!harness_backend_has(h, "linux-boot"))
		fail_msg("the kvm backend does not list linux-boot in GET /v1 "
			 "driver.features");
}

/* On sim: 501 naming the backend, before any image is looked at. */
static void
test_linux_boot__on_a_backend_without_linux_boot_start_is_501(struct harness *h)
{
	static const char *const kernels[] = {"vmlinuz", "hello.bin"};
	struct harness_response *r;
	char body[512];
	size_t i;

	harness_need_driver(h, "sim", "a backend without linux-boot");
	assert_false(harness_backend_has(h, "linux-boot"));
	harness_put_guest(h, "hello");
	/* A kernel that does not exist, and an image that is not one. */
	for (i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "{\"name\":\"deb%zu\",\"boot\":{\"kind\":\"linux\","
			 "\"kernel\":\"%s\",\"cmdline\":\"" CMDLINE "\"}}",
			 i, kernels[i]);
		assert_status(harness_req(h, "POST", "/v1/vms", body, NULL),
			      201);
		snprintf(body, sizeof(body), "deb%zu", i);
		r = vm_op(h, body, "start");
		assert_problem(r, 501, NULL);
		if (strstr(r->hr_body, "the sim backend runs flat binaries "
				       "only") == NULL)
			fail_msg("the 501 does not name the backend: %s",
				 r->hr_body);
		snprintf(body, sizeof(body), "/v1/vms/deb%zu", i);
		assert_json_str(harness_get(h, body), "status.state",
				"defined");
	}
	/* Nothing stayed pinned. */
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/hello.bin", NULL, NULL), 204);
}

/* Limits the spec knows: 400 at definition on every backend. */
static void
test_linux_boot__cmdline_and_memory_past_their_limits_are_400(struct harness *h)
{
	size_t n = 2049 + 256;
	char *body = harness_alloc(h, n + 256), *cmdline = harness_alloc(h, n);

	memset(cmdline, 'c', 2049);
	snprintf(body, n + 256,
		 "{\"name\":\"deb\",\"boot\":{\"kind\":\"linux\","
		 "\"kernel\":\"bzImage\",\"cmdline\":\"%s\"}}",
		 cmdline);
	assert_problem(harness_req(h, "POST", "/v1/vms", body, NULL), 400,
		       "boot.cmdline");
	assert_problem(harness_req(h, "POST", "/v1/vms",
				   "{\"name\":\"deb\",\"memory_mib\":3073,"
				   "\"boot\":{\"kind\":\"linux\","
				   "\"kernel\":\"bzImage\"}}",
				   NULL),
		       400, "memory_mib");
	assert_problem(harness_req(h, "POST", "/v1/vms",
				   "{\"name\":\"deb\",\"boot\":{\"kind\":"
				   "\"linux\",\"kernel\":\"bzImage\","
				   "\"decompress\":\"both\"}}",
				   NULL),
		       400, "boot.decompress");
	assert_problem(harness_req(h, "POST", "/v1/vms",
				   "{\"name\":\"deb\",\"on_reboot\":\"halt\","
				   "\"boot\":{\"kind\":\"linux\","
				   "\"kernel\":\"bzImage\"}}",
				   NULL),
		       400, "on_reboot");
	assert_problem(harness_get(h, "/v1/vms/deb"), 404, NULL);
}

/* On kvm, without booting: images missing, or not a kernel. */
static void
test_linux_boot__what_cannot_boot_is_422_saying_why(struct harness *h)
{
	need_linux_boot(h);
	harness_put_guest(h, "hello");
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"nokernel\",\"memory_mib\":64,"
				  "\"boot\":{\"kind\":\"linux\","
				  "\"kernel\":\"vmlinuz\"}}",
				  NULL),
		      201);
	assert_start_422(h, "nokernel", "kernel image vmlinuz does not exist");
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"noinitrd\",\"memory_mib\":64,"
				  "\"boot\":{\"kind\":\"linux\","
				  "\"kernel\":\"hello.bin\","
				  "\"initrd\":\"initrd.img\"}}",
				  NULL),
		      201);
	assert_start_422(h, "noinitrd",
			 "initrd image initrd.img does not exist");
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"notakernel\",\"memory_mib\":64,"
				  "\"boot\":{\"kind\":\"linux\","
				  "\"kernel\":\"hello.bin\"}}",
				  NULL),
		      201);
	assert_start_422(h, "notakernel", "hello.bin");
	assert_start_422(h, "notakernel", "not a kernel");
	/* The failed starts pinned nothing. */
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/hello.bin", NULL, NULL), 204);
}

/*
 * One vCPU, the payload decompressed by the daemon: the kernel's own
 * lines (version, our command line, our e820 map), the initramfs's
 * marker, a typed line echoed, and power-off through the debug-exit
 * port ending the VM stopped with the guest's status.  Before that, a
 * command line over the kernel's own limit (2047 bytes), and an initrd
 * that does not fit in memory, are 422s.
 */
static void
test_linux_boot__boots_to_its_initramfs_echoes_a_line_and_powers_off(
    struct harness *h)
{
	char *body = harness_alloc(h, 4096), line[512], want[256];
	struct harness_response *r;
	const char *text;
	long long t0;

	need_linux_boot(h);
	put_kernel_and_initrd(h);

	/* 2048 bytes: the spec's limit, one past Debian's cmdline_size. */
	snprintf(body, 4096,
		 "{\"name\":\"long\",\"memory_mib\":%d,\"boot\":{\"kind\":"
		 "\"linux\",\"kernel\":\"bzImage\",\"cmdline\":\"%-2048s\"}}",
		 MEMORY_MIB, CMDLINE);
	assert_status(harness_req(h, "POST", "/v1/vms", body, NULL), 201);
	assert_start_422(h, "long", "command line");
	/* An initrd bigger than the memory left above the kernel (96 MiB
	 * in 128, the kernel taking up to 80 with its init_size): a 422
	 * before the guest runs, never a guest that hangs. */
	{
		size_t big = 96u << 20;
		char *zeros = calloc(1, big);

		assert_non_null(zeros);
		assert_status(harness_put_image(h, "big.img", zeros, big), 201);
		free(zeros);
	}
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"bigrd\",\"memory_mib\":128,"
				  "\"boot\":{\"kind\":\"linux\","
				  "\"kernel\":\"bzImage\",\"initrd\":"
				  "\"big.img\",\"cmdline\":\"" CMDLINE "\"}}",
				  NULL),
		      201);
	assert_start_422(h, "bigrd",
			 "the initrd (100663296 bytes) does not fit");
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/big.img", NULL, NULL), 204);

	define_linux(h, "deb", CMDLINE, "", "");
	t0 = now_ms();
	assert_status(vm_op(h, "deb", "start"), 200);
	text = wait_console(h, "deb", MARK_TYPE, 1, BOOT_MS);
	print_message("linux_boot: 1 vCPU, host decompression: initramfs "
		      "marker %lld ms after the start\n",
		      now_ms() - t0);
	assert_in(text, "Linux version ");
	assert_in(text, kernel_release(h));
	assert_in(text, "Command line: " CMDLINE);
	/* The e820 map lxboot builds (vmm-driver/lxboot.h) for 256 MiB. */
	assert_in(text, "BIOS-e820: [mem 0x0000000000000000-"
			"0x000000000009fbff] usable");
	assert_in(text, "BIOS-e820: [mem 0x000000000009fc00-"
			"0x00000000000fffff] reserved");
	assert_in(text, "BIOS-e820: [mem 0x0000000000100000-"
			"0x000000000fffffff] usable");
	snprintf(want, sizeof(want), MARK_UP "%s, cpus online 0, cmdline: %s",
		 kernel_release(h), CMDLINE);
	if (strstr(text, want) == NULL)
		fail_msg("the marker is not \"%s\": %s", want,
			 line_of(text, MARK_UP, line, sizeof(line)));

	r = harness_req(h, "POST", "/v1/vms/deb/console", TYPED "\n",
			"Content-Type: application/octet-stream", NULL);
	assert_status(r, 200);
	wait_console(h, "deb", MARK_ECHO TYPED, 1, BOOT_MS);
	r = harness_wait_vm_state(h, "deb", "stopped", BOOT_MS);
	assert_json_int(r, "status.exit_status", GUEST_EXIT_STATUS);
	print_message("linux_boot: powered off %lld ms after the start\n",
		      now_ms() - t0);
	/* The run's images are no longer in use. */
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/initrd.img", NULL, NULL), 204);
}

/*
 * The bzImage's own decompressor and on_reboot "stop": the guest's reboot
 * (a triple fault with reboot=t) ends the run stopped, without a status.
 */
static void
test_linux_boot__decompressing_in_the_guest_and_a_reboot_that_stops(
    struct harness *h)
{
	struct harness_response *r;
	const char *text;
	long long t0;

	need_linux_boot(h);
	put_kernel_and_initrd(h);
	define_linux(h, "deb2", CMDLINE " vmmapid.test=reboot",
		     "\"decompress\":\"guest\"", "\"on_reboot\":\"stop\"");
	t0 = now_ms();
	assert_status(vm_op(h, "deb2", "start"), 200);
	wait_console(h, "deb2", MARK_REBOOT, 1, BOOT_MS);
	print_message("linux_boot: 1 vCPU, guest decompression: initramfs "
		      "marker %lld ms after the start\n",
		      now_ms() - t0);
	r = harness_wait_vm_state(h, "deb2", "stopped", BOOT_MS);
	if (!json_is_null(harness_json_at(r->hr_json, "status.exit_status")))
		fail_msg("a reboot is not a power-off with a status: %s",
			 r->hr_body);
	assert_json_str(r, "status.exit_reason",
			"guest rebooted (on_reboot: stop)");
	text = console_text(h, "deb2");
	assert_int_equal(count_of(text, "Linux version "), 1);
}

/* Two vCPUs: both online in the guest, which then powers off. */
static void
test_linux_boot__two_vcpus_are_both_online(struct harness *h)
{
	struct harness_response *r;
	char line[512];
	const char *text;
	long long t0;

	need_linux_boot(h);
	/*
	 * The nested KVM host boots Debian in a host of one CPU
	 * (tests/kvmhost/ctest-kvm): the daemon runs with --max-vcpus 2
	 * (main), and the two vCPUs share that CPU.
	 */
	put_kernel_and_initrd(h);
	define_linux(h, "smp", CMDLINE, "", "\"vcpus\":2");
	t0 = now_ms();
	assert_status(vm_op(h, "smp", "start"), 200);
	text = wait_console(h, "smp", MARK_TYPE, 1, BOOT_MS);
	print_message("linux_boot: 2 vCPUs, host decompression: initramfs "
		      "marker %lld ms after the start\n",
		      now_ms() - t0);
	if (strstr(text, "cpus online 0-1,") == NULL)
		fail_msg("not both vCPUs online: %s",
			 line_of(text, MARK_UP, line, sizeof(line)));
	r = harness_req(h, "POST", "/v1/vms/smp/console", TYPED "\n",
			"Content-Type: application/octet-stream", NULL);
	assert_status(r, 200);
	r = harness_wait_vm_state(h, "smp", "stopped", BOOT_MS);
	assert_json_int(r, "status.exit_status", GUEST_EXIT_STATUS);
}

/*
 * on_reboot "restart" (the default): the guest that reboots boots again
 * in the same run, with host-side decompression from the cache.
 */
static void
test_linux_boot__a_reboot_restarts_the_guest(struct harness *h)
{
	struct harness_response *r;
	long long t0;

	need_linux_boot(h);
	put_kernel_and_initrd(h);
	define_linux(h, "deb3", CMDLINE " vmmapid.test=reboot", "", "");
	t0 = now_ms();
	assert_status(vm_op(h, "deb3", "start"), 200);
	wait_console(h, "deb3", "Linux version ", 2, 2 * BOOT_MS);
	wait_console(h, "deb3", MARK_UP, 2, BOOT_MS);
	print_message("linux_boot: second boot's marker %lld ms after the "
		      "start\n",
		      now_ms() - t0);
	r = harness_get(h, "/v1/vms/deb3");
	assert_json_str(r, "status.state", "running");
	assert_status(vm_op(h, "deb3", "stop?force=1"), 200);
	harness_wait_vm_state(h, "deb3", "stopped", BOOT_MS);
}

/*
 * open-vm-tools' vmware-rpctool in the guest (vmmapid.test=rpctool): its
 * info-get reads the key the API set before the start, and the key its
 * info-set writes is the API's, updated by "guest".  It talks only to a
 * VM whose CPUID says VMware, and the kernel must still have chosen KVM
 * and kvm-clock (the KVM leaves one block up).
 */
static void
test_linux_boot__vmware_rpctool_gets_and_sets_guestinfo(struct harness *h)
{
	/* The kernel's choice of platform and clock, rpctool's results and
	 * what the kernel said of a process it killed. */
	static const char *const shown[] = {"Hypervisor detected",
					    "vmware:",
					    "kvm-clock:",
					    "rpctool",
					    "traps:",
					    "segfault",
					    NULL};
	struct harness_response *r;
	const char *text;
	long long t0;

	harness_need_driver(h, "kvm",
			    "vmware-rpctool in a booted Linux guest; the sim "
			    "boots no Linux, and test_guestinfo_api runs the "
			    "backdoor's own test guests on it");
	need_linux_boot(h);
	need_rpctool(h);
	put_kernel_and_initrd(h);
	define_linux(h, "tools", CMDLINE " vmmapid.test=rpctool", "", "");
	assert_status(harness_req(h, "PUT",
				  "/v1/vms/tools/guestinfo/vmmapid.in",
				  "{\"value\":\"set through the API\"}", NULL),
		      201);
	t0 = now_ms();
	assert_status(vm_op(h, "tools", "start"), 200);
	text = wait_console(h, "tools", MARK_POWEROFF, 1, BOOT_MS);
	print_lines_with(text, shown);
	print_message("linux_boot: vmware-rpctool done %lld ms after the "
		      "start\n",
		      now_ms() - t0);
	/* Linux saw VMware's signature and still runs on KVM, kvm-clock. */
	assert_in(text, "vmware: hypercall mode: 0x00");
	assert_in(text, "Hypervisor detected: KVM");
	assert_in(text, "kvm-clock: Using msrs");
	assert_in(text, MARK_INFO_GET "0: set through the API");
	assert_in(text, MARK_INFO_SET "0:");
	r = harness_wait_vm_state(h, "tools", "stopped", BOOT_MS);
	assert_json_int(r, "status.exit_status", GUEST_EXIT_STATUS);
	r = harness_get(h, "/v1/vms/tools/guestinfo/vmmapid.out");
	assert_status(r, 200);
	assert_json_str(r, "value", "set by the guest");
	assert_json_str(r, "updated_by", "guest");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_linux_boot__on_a_backend_without_linux_boot_start_is_501,
		0),
	    HARNESS_CASE(
		test_linux_boot__cmdline_and_memory_past_their_limits_are_400,
		0),
	    HARNESS_CASE(test_linux_boot__what_cannot_boot_is_422_saying_why,
			 0),
	    HARNESS_CASE(
		test_linux_boot__boots_to_its_initramfs_echoes_a_line_and_powers_off,
		0),
	    HARNESS_CASE(
		test_linux_boot__decompressing_in_the_guest_and_a_reboot_that_stops,
		0),
	    HARNESS_CASE_ARGS(test_linux_boot__two_vcpus_are_both_online, 0,
			      "--max-vcpus", "2"),
	    HARNESS_CASE(test_linux_boot__a_reboot_restarts_the_guest, 0),
	    HARNESS_CASE(
		test_linux_boot__vmware_rpctool_gets_and_sets_guestinfo, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
