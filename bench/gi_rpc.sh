#!/usr/bin/env bash
# Benchmark 7: guestinfo through the VMware backdoor, from inside a guest.
#
#   a. info-get round trips: the gi_big_get (low bandwidth: four bytes per
#      `in` on 0x5658) and gi_big_get_hb (high bandwidth: `rep insb` on
#      0x5659, in pieces of at most 32 KiB) guests read guestinfo.big, of
#      1 KiB, 16 KiB and 64 KiB (BENCH_GI_SIZES), N times in a row (open,
#      send, receive, close: the whole conversation each time), N chosen
#      so that the loop lasts about BENCH_GI_SECONDS (1) after
#      calibration runs (N = 4, 32, 256, ...).  Timed from the console (bench/gi_client rtt):
#      the guest's `go` line to its `len=` line; the guest checks nothing,
#      gi_client checks the last reply's length and sum against the value
#      (the guest sums it once, after the loop and before its `len=`
#      line: 65,538 bytes, ~0.7 M instructions, inside the timed span).
#      Per read: loop time / N; value bytes per second: N * size / loop
#      time.  BENCH_RUNS runs (3) of each, the median reported.
#   b. PUT -> the guest sees it: gi_poll reads guestinfo.poll over and
#      over (high bandwidth, a fresh channel each time) and prints each
#      new value; bench/gi_client poll PUTs a new value BENCH_GI_ROUNDS
#      (30) times, 20 ms apart, and times the PUT's 2xx to the console
#      line with the value.  Median and p99 (nearest rank).
#
# The driver: BENCH_GI_DRIVER = sim (default) or kvm.  kvm on a host that
# is itself a guest is refused unless BENCH_ALLOW_NESTED=1 (vm_lib.sh),
# and its figures are labelled nested; sim figures are the software
# interpreter's and are labelled with the machine they ran on.
#
# Settings: BENCH_GI_DRIVER, BENCH_GI_SIZES, BENCH_GI_SECONDS,
# BENCH_GI_ROUNDS, BENCH_RUNS, BENCH_QUIET_WAIT (waits for a quiet machine
# before each measurement), BENCH_NO_BUILD, BENCH_TMP, BENCH_KEEP.
# Prints a Markdown section on stdout; progress on stderr.  Needs no wrk
# or nginx (unlike the HTTP benchmarks): it does not call bench_init's
# tool check.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=SCRIPTDIR/vm_lib.sh
. "$BENCH_SRC/vm_lib.sh"

DRIVER=${BENCH_GI_DRIVER:-sim}
SIZES=${BENCH_GI_SIZES:-1024 16384 65536}
SECONDS_WANT=${BENCH_GI_SECONDS:-1}
ROUNDS=${BENCH_GI_ROUNDS:-30}
GI_CLIENT=$BENCH_BUILD/bench/gi_client
GI_GUESTS=(gi_big_get gi_big_get_hb gi_poll)

case $DRIVER in sim | kvm) ;; *) bench_die "BENCH_GI_DRIVER: sim or kvm" ;; esac

# bench_init without bench_need_tools (wrk and nginx are not needed).
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bench_host_nested
BENCH_WORK=$(mktemp -d "$BENCH_TMP/vmmapid-bench-gi.XXXXXX")
if [[ $DRIVER == kvm ]]; then
	[[ -c /dev/kvm ]] || bench_die "no /dev/kvm here (BENCH_GI_DRIVER=kvm)"
	bench_refuse_nested
fi

# The daemon (Release), gi_client and the three guests.
bench_build
if [[ $BENCH_NO_BUILD != 1 || ! -x $GI_CLIENT ]]; then
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
		-o "$GI_CLIENT" "$BENCH_SRC/gi_client.c" "$BENCH_SRC/uclient.c"
fi
mkdir -p "$BENCH_GUESTS"
for g in "${GI_GUESTS[@]}"; do
	[[ $BENCH_NO_BUILD == 1 && -s $BENCH_GUESTS/$g.bin ]] && continue
	as --32 -I "$BENCH_REPO/tests/guests" -o "$BENCH_GUESTS/$g.o" \
		"$BENCH_REPO/tests/guests/$g.S"
	ld -m elf_i386 -Ttext=0x1000 --oformat binary -e _start \
		-o "$BENCH_GUESTS/$g.bin" "$BENCH_GUESTS/$g.o"
done

dir=$BENCH_WORK/state
sock=$dir/vmmapid.sock
bench_daemon_start "$dir" "$(bench_free_port)" --driver "$DRIVER"

# gi_image GUEST ROUNDS NAME: GUEST's binary with its rounds (u16 at file
# offset 8) set, uploaded as image NAME.
gi_image() {
	local f=$BENCH_WORK/$3
	cp "$BENCH_GUESTS/$1.bin" "$f"
	# shellcheck disable=SC2059 # the format is the bytes
	printf "$(printf '\\%03o\\%03o' $(($2 & 255)) $(($2 >> 8 & 255)))" |
		dd of="$f" bs=1 seek=8 conv=notrunc status=none
	vm_upload "$sock" "$f" "$3"
}

# gi_define VM IMAGE: PUT /v1/vms/VM (4 MiB, one vCPU), 201 or 200.
gi_define() {
	local code
	code=$(vm_api "$sock" -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' \
		--data "{\"vcpus\":1,\"memory_mib\":4,\"boot\":{\"kind\":\"flat\",\"image\":\"$2\"}}" \
		"http://localhost/v1/vms/$1")
	[[ $code == 201 || $code == 200 ]] ||
		bench_die "PUT /v1/vms/$1 gave $code"
}

# gi_rtt VM VALUEFILE: one run; prints loop_us.
gi_rtt() {
	local out
	out=$(timeout 600 "$GI_CLIENT" -s "$sock" rtt "$1" "$2") ||
		bench_die "gi_client rtt $1 failed"
	vm_field "$out" loop_us
}

gi_define lo lo.bin
gi_define hb hb.bin
machine_busy=()
rows=()
for size in $SIZES; do
	value=$BENCH_WORK/value-$size
	# (Not `| head -c`: base64's SIGPIPE would end the script, pipefail.)
	head -c $((size * 3 / 4 + 4)) /dev/urandom | base64 -w0 >"$value.b64"
	head -c "$size" "$value.b64" >"$value"
	for vm in lo hb; do
		"$GI_CLIENT" -s "$sock" put "$vm" big "$value"
	done
	for vm in lo hb; do
		guest=gi_big_get
		[[ $vm == hb ]] && guest=gi_big_get_hb
		# Calibration: N = 4, 32, 256, ... until the loop takes an
		# eighth of SECONDS_WANT (one round is too short to time: its
		# two lines come in one read), then N for about SECONDS_WANT.
		n=4
		while :; do
			gi_image "$guest" "$n" "$vm.bin"
			loop=$(gi_rtt "$vm" "$value")
			awk -v l="$loop" -v s="$SECONDS_WANT" -v n="$n" \
				'BEGIN {exit !(l < s * 1e6 / 8 && n * 8 <= 65535)}' ||
				break
			n=$((n * 8))
		done
		n=$(awk -v s="$SECONDS_WANT" -v l="$loop" -v n="$n" 'BEGIN {
			n = int(s * 1e6 / (l > 1 ? l : 1) * n)
			print (n < 3 ? 3 : (n > 65535 ? 65535 : n)) }')
		gi_image "$guest" "$n" "$vm.bin"
		per=() bps=()
		for ((run = 1; run <= BENCH_RUNS; run++)); do
			busy=$(bench_wait_quiet)
			machine_busy+=("$busy")
			loop=$(gi_rtt "$vm" "$value")
			per+=("$(awk -v l="$loop" -v n="$n" 'BEGIN {printf "%.1f", l / n}')")
			bps+=("$(awk -v l="$loop" -v n="$n" -v s="$size" 'BEGIN {printf "%.0f", n * s / (l / 1e6)}')")
			bench_log "$vm $size B: N=$n loop ${loop} us: ${per[-1]} us per read"
		done
		path="low bandwidth (\`in\`, 4 B per exit)"
		[[ $vm == hb ]] && path="high bandwidth (\`rep insb\`)"
		med=$(BENCH_PREC=1 bench_median "${per[@]}")
		medb=$(bench_median "${bps[@]}")
		rows+=("| $path | $(vm_fmt "$size") | $n | $med ($(tr ' ' '/' <<<"${per[*]}")) | $(awk -v b="$medb" 'BEGIN {printf "%.2f", b / 1048576}') |")
	done
done

# b. PUT -> the guest's line.
gi_image gi_poll 1 poll.bin
gi_define poller poll.bin
code=$(vm_api "$sock" -o /dev/null -w '%{http_code}' -X POST \
	"http://localhost/v1/vms/poller/start")
[[ $code == 200 ]] || bench_die "starting the poller gave $code"
busy=$(bench_wait_quiet)
machine_busy+=("$busy")
if ! timeout 600 "$GI_CLIENT" -s "$sock" -n "$ROUNDS" poll poller poll \
	>"$BENCH_WORK/poll.out" 2>"$BENCH_WORK/poll.err"; then
	cat "$BENCH_WORK/poll.out" "$BENCH_WORK/poll.err" >&2
	vm_api "$sock" "http://localhost/v1/vms/poller/console" | tail -5 >&2
	vm_api "$sock" "http://localhost/v1/vms/poller/vcpus/0" >&2
	tail -20 "$DAEMON_LOG" >&2
	bench_die "gi_client poll failed"
fi
out=$(cat "$BENCH_WORK/poll.out")
vm_api "$sock" -o /dev/null -X POST "http://localhost/v1/vms/poller/stop?force=1"
lat=() put=() snd=()
# (No `< <(...)`: the nested KVM host has no /dev/fd.)
read -ra lat <<<"$(vm_field "$out" lat_us | tr '\n' ' ')"
read -ra put <<<"$(vm_field "$out" put_us | tr '\n' ' ')"
read -ra snd <<<"$(vm_field "$out" send_us | tr '\n' ' ')"
where="sim (the software interpreter) on $(nproc) CPUs of this machine"
[[ -n $BENCH_NESTED ]] && where="$where [$BENCH_NESTED]"
if [[ $DRIVER == kvm ]]; then
	where="kvm"
	[[ -n $BENCH_NESTED ]] && where="kvm [$BENCH_NESTED]"
fi
echo "### 7. Guestinfo from inside a guest ($where)"
echo
echo "a. \`info-get guestinfo.big\` round trips (open, send, receive, close),"
echo "N in a row, timed from the guest's console; $BENCH_RUNS runs each:"
echo
echo "| path | value bytes | N | µs per info-get, median (runs) | MiB/s of value |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "b. PUT guestinfo.poll → the polling guest prints the new value, $ROUNDS rounds:"
echo
echo "| measure | median | p99 | min | max |"
echo "| --- | --- | --- | --- | --- |"
gi_stats() { # median, p99, min, max of NUM... (µs, one decimal)
	echo "$(BENCH_PREC=1 bench_median "$@") | $(vm_pct 99 "$@") | $(printf '%s\n' "$@" | sort -g | head -1) | $(printf '%s\n' "$@" | sort -g | tail -1)"
}
echo "| PUT's 2xx → the console line with the value (µs) | $(gi_stats "${lat[@]}") |"
echo "| PUT sent → that line (µs) | $(gi_stats "${snd[@]}") |"
echo "| the PUT, sent → its 2xx (µs) | $(gi_stats "${put[@]}") |"
echo
echo "Machine busy before each measurement (%, other processes): ${machine_busy[*]}."
