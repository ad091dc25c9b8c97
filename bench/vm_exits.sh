#!/usr/bin/env bash
# Benchmark 5: the cost of an exit.  tests/guests/bigout writes N bytes
# (BENCH_VM_EXIT_BYTES, default 100,000) to COM1, one OUT per byte, each a
# port-I/O exit, then powers off through port 0x501.  Its run time through
# vmmapid's runner against a raw KVM_RUN loop that handles the same exits
# for the same binary and discards the bytes (bench/kvm_raw.c exits), in
# the same run.  Target: daemon time <= 1.2 x raw time.
#
# Every round, after waiting for a quiet machine, BENCH_VM_EXIT_REPS times
# (default 3), in this order:
#   raw      kvm_raw exits: KVM_CREATE_VM .. the OUT to 0x501
#   monitor  POST /v1/vms/big/start?mode=monitor, the console streamed to
#            the client until the run ends (every byte must arrive): the
#            start request to the end of the stream
#   poll     POST /v1/vms/big/start (detached), nobody reading the console,
#            GET /v1/vms/big every millisecond until it is stopped
# A run during which other processes used more than BENCH_OTHER_MAX % of
# the machine (15) is repeated, twice at most.  That figure counts clock
# ticks (10 ms): it means something for runs of a second or more, as with
# the default N, not for a small BENCH_VM_EXIT_BYTES.
#
# Settings: BENCH_VM_EXIT_BYTES, BENCH_VM_EXIT_REPS, BENCH_VM_MEMORY_MIB
# (64), BENCH_RUNS rounds (3), and those of lib.sh / vm_lib.sh.
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=SCRIPTDIR/vm_lib.sh
. "$BENCH_SRC/vm_lib.sh"

NBYTES=${BENCH_VM_EXIT_BYTES:-100000}
REPS=${BENCH_VM_EXIT_REPS:-3}
MEM=${BENCH_VM_MEMORY_MIB:-64}

bench_init vm-exits
bench_build
vm_build

# bigout with its byte count (u32, little-endian, at file offset 4).
BIG=$BENCH_WORK/bigout.bin
cp "$BENCH_GUESTS/bigout.bin" "$BIG"
# shellcheck disable=SC2059 # the format is the bytes
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((NBYTES & 255)) \
	$((NBYTES >> 8 & 255)) $((NBYTES >> 16 & 255)) $((NBYTES >> 24 & 255)))" |
	dd of="$BIG" bs=1 seek=4 conv=notrunc status=none

dir=$BENCH_WORK/state
sock=$dir/vmmapid.sock
port=$(bench_free_port)
bench_daemon_start "$dir" "$port"
vm_upload "$sock" "$BIG" bigout.bin
vm_define "$sock" big bigout.bin "$MEM"

# Warm-up, not counted (and a check of the guest: N bytes through both).
"$BENCH_VM_CLIENT" -s "$sock" -n 1 start big >"$BENCH_WORK/warm.txt"
[[ $(vm_field "$(cat "$BENCH_WORK/warm.txt")" bytes) == "$NBYTES" ]] ||
	bench_die "bigout did not print $NBYTES bytes through the daemon"
"$BENCH_KVM_RAW" -m "$MEM" exits "$BIG" >"$BENCH_WORK/warm-raw.txt"
[[ $(vm_field "$(cat "$BENCH_WORK/warm-raw.txt")" bytes) == "$NBYTES" ]] ||
	bench_die "bigout did not print $NBYTES bytes under kvm_raw"

# one KIND ROUND REP: one measured run; appends to the KIND_* arrays.
RAW_US=() MON_US=() POLL_US=() RAW_CPU=() MON_CPU=() POLL_CPU=()
RAW_OTHER=() MON_OTHER=() POLL_OTHER=()
one() {
	local kind=$1 round=$2 rep=$3 out try us bytes
	out=$BENCH_WORK/$kind-$round-$rep.txt
	for ((try = 1; try <= 3; try++)); do
		vm_wait_quick
		case $kind in
		raw) vm_measured "$out" "$BENCH_KVM_RAW" -m "$MEM" exits "$BIG" ;;
		monitor) vm_measured "$out" "$BENCH_VM_CLIENT" -s "$sock" \
			-m monitor start big ;;
		poll) vm_measured "$out" "$BENCH_VM_CLIENT" -s "$sock" \
			-m poll start big ;;
		esac
		((VM_OTHER <= ${BENCH_OTHER_MAX:-15})) && break
		bench_log "other load ${VM_OTHER}% during the $kind run; repeating it"
	done
	case $kind in
	raw) us=$(vm_field "$(cat "$out")" total_us) ;;
	*) us=$(vm_field "$(cat "$out")" end_us) ;;
	esac
	us=$(printf '%.0f' "$us")
	bytes=$(vm_field "$(cat "$out")" bytes)
	if [[ $kind != poll && $bytes != "$NBYTES" ]]; then
		bench_die "$kind run: $bytes bytes, want $NBYTES"
	fi
	bench_log "$kind: $us µs, CPU ${VM_CMD_MS} ms (client/raw) +" \
		"${VM_DAEMON_MS} ms (daemon), other load ${VM_OTHER}%"
	[[ -n ${BENCH_RESULTS:-} ]] && cp "$out" "$BENCH_RESULTS/vm_exits-$kind-$round-$rep.txt"
	case $kind in
	raw)
		RAW_US+=("$us") RAW_OTHER+=("$VM_OTHER")
		RAW_CPU+=("$VM_CMD_MS")
		;;
	monitor)
		MON_US+=("$us") MON_OTHER+=("$VM_OTHER")
		MON_CPU+=("$VM_DAEMON_MS+$VM_CMD_MS")
		;;
	poll)
		POLL_US+=("$us") POLL_OTHER+=("$VM_OTHER")
		POLL_CPU+=("$VM_DAEMON_MS+$VM_CMD_MS")
		;;
	esac
	return 0
}

for ((round = 1; round <= BENCH_RUNS; round++)); do
	vm_wait_idle
	for ((rep = 1; rep <= REPS; rep++)); do
		bench_log "vm_exits round $round, run $rep"
		one raw "$round" "$rep"
		one monitor "$round" "$rep"
		one poll "$round" "$rep"
	done
done
threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$DAEMON_PID/status")
bench_stop "$DAEMON_PID"

med() { BENCH_PREC=0 bench_median "$@"; }
raw_med=$(med "${RAW_US[@]}")
mon_med=$(med "${MON_US[@]}")
poll_med=$(med "${POLL_US[@]}")
mon_ratio=$(bench_ratio "$mon_med" "$raw_med")
poll_ratio=$(bench_ratio "$poll_med" "$raw_med")
mon_met=no poll_met=no
bench_ge 1.2 "$mon_ratio" && mon_met=yes
bench_ge 1.2 "$poll_ratio" && poll_met=yes
rate() { awk -v n="$NBYTES" -v us="$1" 'BEGIN {printf "%.0f", n / us * 1e6}'; }
per_exit() { awk -v n="$NBYTES" -v us="$1" 'BEGIN {printf "%.2f", us / (n + 1)}'; }

bench_summary "| 5. Exits: bigout $(vm_fmt "$NBYTES") bytes, console streamed to a client | $(vm_fmt "$(rate "$mon_med")") B/s ($(per_exit "$mon_med") µs/exit) | raw KVM_RUN loop $(vm_fmt "$(rate "$raw_med")") B/s ($(per_exit "$raw_med") µs/exit) | $mon_ratio × raw time | ≤ 1.2 × raw time | $mon_met |"
bench_summary "| 5. Exits: bigout $(vm_fmt "$NBYTES") bytes, nobody reading the console | $(vm_fmt "$(rate "$poll_med")") B/s ($(per_exit "$poll_med") µs/exit) | raw KVM_RUN loop $(vm_fmt "$(rate "$raw_med")") B/s | $poll_ratio × raw time | ≤ 1.2 × raw time | $poll_met |"

row() { # LABEL MEDIAN-US "US..." "CPU..." "OTHER..."
	echo "| $1 | $(vm_fmt "$2") | $3 | $(vm_fmt "$(rate "$2")") | $(per_exit "$2") | $(bench_ratio "$2" "$raw_med") | $4 | $5 |"
}

cat <<EOF
### 5. Exit cost: bigout, $(vm_fmt "$NBYTES") console bytes, one port-I/O exit each

\`\`\`sh
bench/vm_exits.sh
build-bench/bench/kvm_raw -m $MEM exits bigout.bin     # N patched at offset 4
build-bench/bench/vm_client -s STATE/vmmapid.sock -m monitor start big
build-bench/bench/vm_client -s STATE/vmmapid.sock -m poll start big
\`\`\`

The daemon with default flags, VM \`big\`: bigout with N = $NBYTES, 1 vCPU,
$MEM MiB, KVM backend. $BENCH_RUNS rounds of $REPS runs of each, after
waiting for a quiet machine. Times from before the start (KVM_CREATE_VM
for kvm_raw, writing the start request for the daemon) to the end of the
run; $((NBYTES + 1)) exits per run (N OUTs to 0x3f8, one to 0x501). CPU:
the daemon's + the client's (vm_client), or kvm_raw's own, in ms.

| what | median µs | µs per run | bytes/s | µs per exit | × raw | CPU ms per run | other load % |
| --- | --- | --- | --- | --- | --- | --- | --- |
$(row "raw KVM_RUN loop (kvm_raw exits)" "$raw_med" "${RAW_US[*]}" "${RAW_CPU[*]}" "${RAW_OTHER[*]}")
$(row "**vmmapid, console streamed to the client** (monitor-mode start)" "$mon_med" "${MON_US[*]}" "${MON_CPU[*]}" "${MON_OTHER[*]}")
$(row "vmmapid, nobody reading the console (detached start, state polled)" "$poll_med" "${POLL_US[*]}" "${POLL_CPU[*]}" "${POLL_OTHER[*]}")

Target: daemon time ≤ 1.2 × raw time. Console streamed: **$mon_ratio ×, $mon_met**;
nobody reading: **$poll_ratio ×, $poll_met**. Daemon threads at the end: $threads.
$(vm_idle_note)
EOF
