#!/usr/bin/env bash
# Benchmark 4: start latency of a guest, from the start request to the
# guest's first console byte, against the raw KVM ioctls that any VMM must
# make (bench/kvm_raw.c), and the daemon's HTTP round trip, in the same run.
# Target: daemon <= 1.5 x raw + one HTTP round trip (GET /v1/health).
#
# The guest is tests/guests/hello (prints a line, then cli; hlt, which
# powers it off), memory_mib BENCH_VM_MEMORY_MIB (64, the default of a
# VM spec), one vCPU.  Every round, after waiting for a quiet machine, in
# this order, BENCH_VM_STARTS times each:
#   raw      kvm_raw start: KVM_CREATE_VM .. the first OUT to 0x3f8
#   health   GET /v1/health on a keep-alive Unix-socket connection
#   monitor  POST /v1/vms/lat/start?mode=monitor: the answer is the run's
#            console, so this is the start request to the first console
#            byte in one request
#   cold     the same against a second daemon started with --spare-vms 0,
#            whose starts create the VM and its first vCPU themselves
#   follow   POST /v1/vms/lat/start (detached), then, once answered,
#            GET /v1/vms/lat/console?follow=1&offset=N on a second open
#            connection: to its first byte (two round trips)
#   compute  the same for the VM calc, the compute guest (a loop before
#            its first output, ~15 ms under kvm_pvm's emulation): how soon
#            the detached start is answered, which must not wait for the
#            guest (no target of its own; compare with hello's answer)
# The client (bench/vm_client.c) waits until the previous run is recorded
# as stopped before each start (not timed).  Opening the follow stream
# before the start does not work: following a VM that is not running ends
# at once (by design, see api/console.c).
#
# Settings: BENCH_VM_STARTS (50), BENCH_VM_MEMORY_MIB (64), BENCH_RUNS
# rounds (3), and those of lib.sh / vm_lib.sh.
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=SCRIPTDIR/vm_lib.sh
. "$BENCH_SRC/vm_lib.sh"

STARTS=${BENCH_VM_STARTS:-50}
MEM=${BENCH_VM_MEMORY_MIB:-64}

bench_init vm-start
bench_build
vm_build

HELLO=$BENCH_GUESTS/hello.bin
dir=$BENCH_WORK/state
sock=$dir/vmmapid.sock
port=$(bench_free_port)
bench_daemon_start "$dir" "$port" --spare-vms 0
COLD_PID=$DAEMON_PID
cold_sock=$sock
vm_upload "$cold_sock" "$HELLO" hello.bin
vm_define "$cold_sock" lat hello.bin "$MEM"
dir=$BENCH_WORK/state-warm
sock=$dir/vmmapid.sock
port=$(bench_free_port)
bench_daemon_start "$dir" "$port"
vm_upload "$sock" "$HELLO" hello.bin
vm_define "$sock" lat hello.bin "$MEM"
vm_upload "$sock" "$BENCH_GUESTS/compute.bin" compute.bin
vm_define "$sock" calc compute.bin "$MEM"

# Warm-up, not counted: the first VM of a process asks KVM what it
# supports, and the first run of kvm_raw pages in its code.
"$BENCH_VM_CLIENT" -s "$sock" -n 3 start lat >/dev/null
"$BENCH_VM_CLIENT" -s "$cold_sock" -n 3 start lat >/dev/null
"$BENCH_KVM_RAW" -m "$MEM" -n 3 start "$HELLO" >/dev/null

# batch NAME OUT CMD...: one batch, output in OUT, right after waiting for
# a quiet machine (and for other benchmarks, when one runs).  The batches
# last well under a second: too short for lib.sh's "other load" figure,
# which counts clock ticks.
batch() {
	local name=$1 out=$2
	shift 2
	vm_wait_quick
	bench_log "vm_start round $round: $name"
	timeout 600 "$@" >"$out" || bench_die "$* failed"
	[[ -z ${BENCH_RESULTS:-} ]] || cp "$out" "$BENCH_RESULTS/vm_start-$(basename "$out")"
}

# monitor_batch NAME SOCK: one batch of monitor-mode starts of lat on the
# daemon at SOCK, output in $BENCH_WORK/NAME-ROUND.txt.
monitor_batch() {
	local name=$1 out=$BENCH_WORK/$1-$round.txt
	batch "$name" "$out" \
		"$BENCH_VM_CLIENT" -s "$2" -n "$STARTS" -m monitor start lat
	[[ $(vm_field "$(cat "$out")" bytes | sort -u) == 25 ]] ||
		bench_die "$name runs did not all stream the 25 bytes of hello"
}

# Samples of every round, per method (microseconds).
RAW=() RAW_CREATE=() HEALTH=() MON=() COLD=() FOL=() FOL_RESP=() CALC=()
ROUND_ROWS=
for ((round = 1; round <= BENCH_RUNS; round++)); do
	vm_wait_idle
	batch raw "$BENCH_WORK/raw-$round.txt" \
		"$BENCH_KVM_RAW" -m "$MEM" -n "$STARTS" start "$HELLO"
	out=$(cat "$BENCH_WORK/raw-$round.txt")
	mapfile -t r < <(vm_field "$out" total_us)
	mapfile -t rc < <(vm_field "$out" create_us)
	RAW+=("${r[@]}") RAW_CREATE+=("${rc[@]}")

	batch health "$BENCH_WORK/health-$round.txt" \
		"$BENCH_VM_CLIENT" -s "$sock" -n "$STARTS" health
	mapfile -t h < <(vm_field "$(cat "$BENCH_WORK/health-$round.txt")" us)
	HEALTH+=("${h[@]}")

	monitor_batch monitor "$sock"
	mapfile -t m < <(vm_field "$(cat "$BENCH_WORK/monitor-$round.txt")" first_us)
	MON+=("${m[@]}")
	monitor_batch cold "$cold_sock"
	mapfile -t c < <(vm_field "$(cat "$BENCH_WORK/cold-$round.txt")" first_us)
	COLD+=("${c[@]}")

	batch follow "$BENCH_WORK/follow-$round.txt" \
		"$BENCH_VM_CLIENT" -s "$sock" -n "$STARTS" -m follow start lat
	out=$(cat "$BENCH_WORK/follow-$round.txt")
	mapfile -t f < <(vm_field "$out" first_us)
	mapfile -t fr < <(vm_field "$out" resp_us)
	[[ $(vm_field "$out" bytes | sort -u) == 25 ]] ||
		bench_die "follow runs did not all read the 25 bytes of hello"
	FOL+=("${f[@]}") FOL_RESP+=("${fr[@]}")

	batch compute "$BENCH_WORK/compute-$round.txt" \
		"$BENCH_VM_CLIENT" -s "$sock" -n "$STARTS" -m follow start calc
	mapfile -t k < <(vm_field "$(cat "$BENCH_WORK/compute-$round.txt")" resp_us)
	CALC+=("${k[@]}")

	ROUND_ROWS+="| $round | $(BENCH_PREC=1 bench_median "${r[@]}") | $(BENCH_PREC=1 bench_median "${h[@]}") | $(BENCH_PREC=1 bench_median "${m[@]}") | $(BENCH_PREC=1 bench_median "${c[@]}") | $(BENCH_PREC=1 bench_median "${f[@]}") | $(BENCH_PREC=1 bench_median "${fr[@]}") |"$'\n'
done
threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$DAEMON_PID/status")
spares=$(curl -sS --max-time 10 --unix-socket "$sock" http://localhost/v1 |
	jq -c .driver.spare_vms)
bench_stop "$DAEMON_PID"
bench_stop "$COLD_PID"

med() { BENCH_PREC=1 bench_median "$@"; }
raw_med=$(med "${RAW[@]}")
health_med=$(med "${HEALTH[@]}")
mon_med=$(med "${MON[@]}")
cold_med=$(med "${COLD[@]}")
fol_med=$(med "${FOL[@]}")
limit=$(awk -v r="$raw_med" -v h="$health_med" 'BEGIN {printf "%.1f", 1.5 * r + h}')
mon_met=no fol_met=no
bench_ge "$limit" "$mon_med" && mon_met=yes
bench_ge "$limit" "$fol_med" && fol_met=yes
mon_ratio=$(bench_ratio "$mon_med" "$raw_med")
fol_ratio=$(bench_ratio "$fol_med" "$raw_med")
cold_ratio=$(bench_ratio "$cold_med" "$raw_med")
cold_met=no
bench_ge "$limit" "$cold_med" && cold_met=yes

bench_summary "| 4. Start to first console byte (monitor-mode start, one request) | $mon_med µs | raw KVM $raw_med µs; HTTP round trip $health_med µs | $mon_ratio | ≤ 1.5 × raw + RTT = $limit µs | $mon_met |"
bench_summary "| 4. The same with --spare-vms 0 (the start creates the VM) | $cold_med µs | same | $cold_ratio | ≤ $limit µs | $cold_met |"
bench_summary "| 4. Start to first console byte (detached start, then follow) | $fol_med µs | raw KVM $raw_med µs; HTTP round trip $health_med µs | $fol_ratio | ≤ $limit µs | $fol_met |"
calc_med=$(med "${CALC[@]}")
resp_med=$(med "${FOL_RESP[@]}")
bench_summary "| 4. Detached start answered, a guest that computes before its first output (informational) | $calc_med µs (p99 $(vm_pct 99 "${CALC[@]}") µs) | hello's answer $resp_med µs | $(bench_ratio "$calc_med" "$resp_med") | — | — |"

row() { # LABEL SAMPLES...
	local label=$1
	shift
	echo "| $label | $(med "$@") | $(vm_pct 10 "$@") | $(vm_pct 90 "$@") | $(vm_pct 99 "$@") | $# |"
}

cat <<EOF
### 4. Start latency: start request to the guest's first console byte

\`\`\`sh
bench/vm_start.sh
build-bench/bench/kvm_raw -m $MEM -n $STARTS start build-bench/bench/guests/hello.bin
build-bench/bench/vm_client -s STATE/vmmapid.sock -n $STARTS health
build-bench/bench/vm_client -s STATE/vmmapid.sock -n $STARTS -m monitor start lat
build-bench/bench/vm_client -s COLD/vmmapid.sock -n $STARTS -m monitor start lat
build-bench/bench/vm_client -s STATE/vmmapid.sock -n $STARTS -m follow start lat
build-bench/bench/vm_client -s STATE/vmmapid.sock -n $STARTS -m follow start calc
\`\`\`

The daemon with default flags (\`vmmapid -d --state-dir DIR --db
DIR/vmmapid.db --listen unix:DIR/vmmapid.sock --listen tcp:127.0.0.1:PORT\`,
KVM backend, its default spare VMs made ahead), and a second one (COLD) with
\`--spare-vms 0\`; on each the VM \`lat\`: hello guest, 1 vCPU, $MEM MiB (and on
the first \`calc\`, the same with the compute guest); the clients
on the Unix socket. $BENCH_RUNS rounds of $STARTS of each, after waiting
for a quiet machine; all samples together (µs):

| what | median | p10 | p90 | p99 | samples |
| --- | --- | --- | --- | --- | --- |
$(row "raw KVM ioctls: KVM_CREATE_VM to the first OUT to 0x3f8" "${RAW[@]}")
$(row "… of which setup (KVM_CREATE_VM to the first KVM_RUN)" "${RAW_CREATE[@]}")
$(row "HTTP round trip: GET /v1/health" "${HEALTH[@]}")
$(row "**vmmapid: POST start?mode=monitor to the first console byte**" "${MON[@]}")
$(row "vmmapid --spare-vms 0: the same" "${COLD[@]}")
$(row "vmmapid: POST start (detached) answered" "${FOL_RESP[@]}")
$(row "vmmapid: POST start, then GET console?follow=1: to its first byte" "${FOL[@]}")
$(row "vmmapid: POST start (detached) of the compute guest answered" "${CALC[@]}")

Medians per round (µs):

| round | raw | GET /v1/health | monitor start → first byte | the same, --spare-vms 0 | start + follow → first byte | detached start answered |
| --- | --- | --- | --- | --- | --- | --- |
$ROUND_ROWS
Target: ≤ 1.5 × raw + one HTTP round trip = 1.5 × $raw_med + $health_med =
**$limit µs**. Monitor-mode start (one request): **$mon_med µs, $mon_met**
($mon_ratio × raw). Detached start then follow (two requests): $fol_med µs,
$fol_met. Without a spare VM (\`--spare-vms 0\`): $cold_med µs, $cold_met
($cold_ratio × raw). Spare VMs of the first daemon at the end (GET /v1):
\`$spares\`. Its threads at the end: $threads.
$(vm_idle_note)
EOF
