#!/usr/bin/env bash
# Benchmark 9: a stock Linux kernel's boot (#15), from the start to the
# kernel's "Linux version" line and to its initramfs's marker line, on
# the daemon with the payload decompressed by the daemon (cached and
# cold) and by the guest, against QEMU booting the same bzImage, initrd,
# command line, memory and vCPUs, in the same host and the same run.
# Target: host-side decompression at most half of QEMU's time to the
# marker.
#
# The guest is tests/guests/linux (fetch-and-build): Debian 12's kernel
# and a busybox initramfs whose /init prints "vmmapid-guest: up: ..."
# and then waits for a typed line.  Every round, in this order:
#   qemu        qemu-system-x86_64 -accel kvm -kernel bzImage -initrd
#               initrd.img -append CMDLINE -m MEM -smp VCPUS -nographic
#               -no-reboot, from its exec to the lines on its serial
#               console (stdout); killed at the marker
#   host        POST /v1/vms/lxh/start?mode=monitor (boot.decompress
#               "host", the vmlinux already in the daemon's cache/), from
#               just before curl runs to the lines in the answer (the
#               run's console); the connection is then closed, which
#               destroys the VM (monitor mode)
#   guest       the same for lxg (boot.decompress "guest")
#   host-cold   lxh again, the daemon's cache/ emptied first: the start
#               decompresses the payload itself
# Both sides include starting a process (curl, qemu): a few ms.  The
# lines are picked out by grep --line-buffered and timed by bash
# ($EPOCHREALTIME).
#
# Settings: BENCH_LINUX_BOOTS (5 rounds, a boot of each per round),
# BENCH_LINUX_QEMU_BOOTS (as many; fewer boots QEMU only in the first
# rounds: in the nested KVM host a QEMU boot takes minutes, and the
# report says how many there were),
# BENCH_LINUX_MEMORY_MIB (256), BENCH_LINUX_VCPUS (1), BENCH_LINUX_CMDLINE
# ("console=ttyS0 reboot=t pci=off"), BENCH_LINUX_TIMEOUT (seconds a boot
# may take, 120), BENCH_LINUX_DIR (fetch-and-build's output; default
# BENCH_BUILD/bench/linux, fetched there), and those of lib.sh.
# Refuses a nested host unless BENCH_ALLOW_NESTED=1 (then every figure is
# labelled nested).  Prints a Markdown section on stdout; progress on
# stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

BOOTS=${BENCH_LINUX_BOOTS:-5}
QBOOTS=${BENCH_LINUX_QEMU_BOOTS:-$BOOTS}
MEM=${BENCH_LINUX_MEMORY_MIB:-256}
VCPUS=${BENCH_LINUX_VCPUS:-1}
CMDLINE=${BENCH_LINUX_CMDLINE:-console=ttyS0 reboot=t pci=off}
TIMEOUT=${BENCH_LINUX_TIMEOUT:-120}
LXDIR=${BENCH_LINUX_DIR:-$BENCH_BUILD/bench/linux}
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
MARK='vmmapid-guest: up: '

bench_init linux-boot curl jq "$QEMU"
[[ -c /dev/kvm ]] || bench_die "no /dev/kvm here"
bench_refuse_nested
bench_build
if [[ -z ${BENCH_LINUX_DIR:-} ]]; then
	"$BENCH_REPO/tests/guests/linux/fetch-and-build" "$LXDIR"
fi
[[ ! -e $LXDIR/unavailable ]] ||
	bench_die "no Linux guest: $(cat "$LXDIR/unavailable")"
[[ -s $LXDIR/bzImage && -s $LXDIR/initrd.img ]] ||
	bench_die "no bzImage and initrd.img in $LXDIR"

dir=$BENCH_WORK/state
sock=$dir/vmmapid.sock
port=$(bench_free_port)
bench_daemon_start "$dir" "$port"
api() {
	curl -sS --max-time 60 --unix-socket "$sock" "$@"
}
for f in bzImage initrd.img; do
	code=$(api -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' \
		--data-binary "@$LXDIR/$f" "http://localhost/v1/images/$f")
	[[ $code == 201 ]] || bench_die "PUT /v1/images/$f gave $code"
done
for vm in lxh:host lxg:guest; do
	code=$(api -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' --data "{
		\"vcpus\": $VCPUS, \"memory_mib\": $MEM, \"boot\": {
		\"kind\": \"linux\", \"kernel\": \"bzImage\",
		\"initrd\": \"initrd.img\", \"cmdline\": \"$CMDLINE\",
		\"decompress\": \"${vm#*:}\"}}" "http://localhost/v1/vms/${vm%:*}")
	[[ $code == 201 ]] || bench_die "PUT /v1/vms/${vm%:*} gave $code"
done

# boot_times CMD...: runs CMD, whose stdout is a Linux guest's console,
# and sets T_VERSION and T_MARK: ms from just before CMD to the kernel's
# "Linux version" line and to the marker.  CMD is killed at the marker.
boot_times() {
	local fifo=$BENCH_WORK/console.fifo lines=$BENCH_WORK/lines.fifo
	local t0 now line fd cpid gpid until
	T_VERSION='' T_MARK=''
	rm -f "$fifo" "$lines"
	# FIFOs rather than process substitution: the nested KVM host's
	# chroot has no /dev/fd.
	mkfifo "$fifo" "$lines"
	t0=$EPOCHREALTIME
	"$@" >"$fifo" 2>>"$BENCH_WORK/boot.err" </dev/null &
	cpid=$!
	grep --line-buffered -a -E "Linux version |$MARK" <"$fifo" >"$lines" &
	gpid=$!
	exec {fd}<"$lines"
	until=$((SECONDS + TIMEOUT))
	while [[ -z $T_MARK ]] && ((SECONDS < until)); do
		IFS= read -r -t $((until - SECONDS + 1)) -u "$fd" line || break
		now=$EPOCHREALTIME
		case $line in
		*"Linux version "*)
			[[ -n $T_VERSION ]] ||
				T_VERSION=$(awk -v a="$t0" -v b="$now" 'BEGIN {printf "%.1f", (b - a) * 1000}')
			;;
		*"$MARK"*)
			T_MARK=$(awk -v a="$t0" -v b="$now" 'BEGIN {printf "%.1f", (b - a) * 1000}')
			;;
		esac
	done
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	exec {fd}<&-
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	[[ -n $T_VERSION && -n $T_MARK ]] ||
		bench_die "no \"Linux version\" and marker within ${TIMEOUT}s from: $*" \
			"(stderr: $(tail -n3 "$BENCH_WORK/boot.err" | tr '\n' ' '))"
}

# Waits until VM $1 is no longer running (monitor mode ends it when its
# connection closes).
vm_wait_down() {
	local i state
	for ((i = 0; i < 600; i++)); do
		state=$(api "http://localhost/v1/vms/$1" | jq -r .status.state)
		[[ $state == running || $state == stopping ]] || return 0
		sleep 0.1
	done
	bench_die "VM $1 still $state a minute after its monitor connection closed"
}

daemon_boot() {
	boot_times curl -sS -N --unix-socket "$sock" -X POST \
		"http://localhost/v1/vms/$1/start?mode=monitor"
	vm_wait_down "$1"
}

qemu_boot() {
	boot_times "$QEMU" -accel kvm -kernel "$LXDIR/bzImage" \
		-initrd "$LXDIR/initrd.img" -append "$CMDLINE" -m "$MEM" \
		-smp "$VCPUS" -nographic -no-reboot
}

# Warm-up, not counted: page cache, the daemon's first VM, the vmlinux
# into the cache.
((QBOOTS == 0)) || qemu_boot
daemon_boot lxh
daemon_boot lxg

declare -A V M
MODES=(qemu host guest host-cold)
for m in "${MODES[@]}"; do V[$m]='' M[$m]=''; done
for ((round = 1; round <= BOOTS; round++)); do
	for m in "${MODES[@]}"; do
		[[ $m != qemu ]] || ((round <= QBOOTS)) || continue
		bench_wait_quiet >/dev/null
		bench_log "linux_boot $round/$((BOOTS)): $m"
		case $m in
		qemu) qemu_boot ;;
		host) daemon_boot lxh ;;
		guest) daemon_boot lxg ;;
		host-cold)
			rm -rf "${dir:?}/cache/"*
			daemon_boot lxh
			;;
		esac
		V[$m]+="$T_VERSION " M[$m]+="$T_MARK "
	done
done
bench_stop "$DAEMON_PID"

med() { BENCH_PREC=1 bench_median "$@"; }
# shellcheck disable=SC2086 # word lists of samples
row() {
	[[ -n ${V[$1]} ]] || return 0
	echo "| $2 | $(med ${V[$1]}) | $(med ${M[$1]}) | ${V[$1]% } | ${M[$1]% } |"
}
# shellcheck disable=SC2086
{
	qm=$(med ${M[qemu]:-0})
	hm=$(med ${M[host]})
	gm=$(med ${M[guest]})
	cm=$(med ${M[host-cold]})
}
ratio=$(bench_ratio "$hm" "$qm")
met=no
bench_ge 0.5 "$ratio" && met=yes
bench_summary "| 8. Linux boot to the initramfs marker, host-side decompression (cached) | $hm ms | QEMU -kernel $qm ms; guest-side decompression $gm ms; host-side cold $cm ms | $ratio | ≤ 0.5 × QEMU | $met |"
label=
[[ -z $BENCH_NESTED ]] || label=" [$BENCH_NESTED: figures of emulated hardware, not of vmmapid on real KVM]"

cat <<EOF
### 8. Linux boot: start to "Linux version" and to the initramfs marker$label

\`\`\`sh
bench/linux_boot.sh
$QEMU -accel kvm -kernel bzImage -initrd initrd.img \\
    -append '$CMDLINE' -m $MEM -smp $VCPUS -nographic -no-reboot
curl --unix-socket STATE/vmmapid.sock -X POST 'http://localhost/v1/vms/lxh/start?mode=monitor'
\`\`\`

Kernel $(cat "$LXDIR/kernel-release") (tests/guests/linux), its initramfs,
\`$CMDLINE\`, $MEM MiB, $VCPUS vCPU(s); $BOOTS boots of each on the
daemon and $QBOOTS of QEMU, interleaved, after waiting for a quiet
machine (ms; each boot's figure in order):

| what | median to "Linux version" | median to the marker | to "Linux version" | to the marker |
| --- | --- | --- | --- | --- |
$(row qemu "QEMU $($QEMU --version | head -n1 | awk '{print $4}') -accel kvm -kernel (its firmware, the bzImage's decompressor)")
$(row host "vmmapid, \`decompress: host\`, vmlinux cached")
$(row host-cold "vmmapid, \`decompress: host\`, cache emptied first")
$(row guest "vmmapid, \`decompress: guest\` (the bzImage's decompressor)")

Target: host-side decompression to the marker ≤ 0.5 × QEMU's: $hm ms
against $qm ms, **$ratio × QEMU, $met**. Guest-side decompression: $gm ms;
host-side with the cache emptied: $cm ms.
EOF
