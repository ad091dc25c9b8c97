# shellcheck shell=bash
# Helpers of the running-guest benchmarks (vm_start.sh, vm_exits.sh,
# vm_memory.sh); sourced after lib.sh, never run.
#
# Settings (environment):
#   BENCH_VM_IDLE_WAIT  seconds to wait, before each round, for other
#                       benchmarks (wrk, mhd_fixed, sqlite_commit, or an
#                       nginx or vmmapid under some */vmmapid-bench-* that
#                       is not ours) to finish (default 900); then it
#                       measures anyway (without waiting again) and says so
#                       in the report
#   BENCH_VM_IDLE_CALM  seconds in a row without them that count as
#                       finished (default 10)

BENCH_KVM_RAW=$BENCH_BUILD/bench/kvm_raw
BENCH_VM_CLIENT=$BENCH_BUILD/bench/vm_client
BENCH_GUESTS=$BENCH_BUILD/bench/guests
VM_NOT_IDLE=0 # measurements taken while another benchmark ran

# Builds kvm_raw, vm_client and the test guests (flat binaries at 0x1000,
# as tests/guests/CMakeLists.txt makes them).  With BENCH_NO_BUILD=1 only
# what is missing.
vm_build() {
	local cflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror) g
	mkdir -p "$BENCH_BUILD/bench" "$BENCH_GUESTS"
	[[ -x /dev/kvm || -c /dev/kvm ]] || bench_die "no /dev/kvm here"
	bench_refuse_nested
	if ! command -v as >/dev/null || ! command -v ld >/dev/null; then
		bench_die "as and ld (binutils) are needed for the test guests"
	fi
	if [[ $BENCH_NO_BUILD != 1 || ! -x $BENCH_KVM_RAW ]]; then
		gcc "${cflags[@]}" -o "$BENCH_KVM_RAW" "$BENCH_SRC/kvm_raw.c"
	fi
	if [[ $BENCH_NO_BUILD != 1 || ! -x $BENCH_VM_CLIENT ]]; then
		gcc "${cflags[@]}" -o "$BENCH_VM_CLIENT" "$BENCH_SRC/vm_client.c" \
			"$BENCH_SRC/uclient.c"
	fi
	for g in hello bigout spin compute; do
		[[ $BENCH_NO_BUILD == 1 && -s $BENCH_GUESTS/$g.bin ]] && continue
		as --32 -o "$BENCH_GUESTS/$g.o" "$BENCH_REPO/tests/guests/$g.S"
		ld -m elf_i386 -Ttext=0x1000 --oformat binary -e _start \
			-o "$BENCH_GUESTS/$g.bin" "$BENCH_GUESTS/$g.o"
	done
}

# Other benchmarks now running: one "pid name" line each.  Ours (under
# $BENCH_WORK) do not count.
vm_others() {
	local pid args name
	# One name per pgrep: it refuses patterns longer than a process name.
	for name in wrk mhd_fixed sqlite_commit; do
		pgrep -x -a "$name" 2>/dev/null || true
	done
	# nginx and vmmapid only when a benchmark started them (a system nginx
	# does not count): their command lines name a vmmapid-bench directory.
	for name in nginx vmmapid; do
		for pid in $(pgrep -x "$name" 2>/dev/null || true); do
			args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) ||
				continue
			[[ $args == */vmmapid-bench-* ]] || continue
			[[ -n $BENCH_WORK && $args == *"$BENCH_WORK/"* ]] && continue
			echo "$pid $name"
		done
	done
}

# Waits until no other benchmark has run for BENCH_VM_IDLE_CALM seconds
# in a row (default 10: the suites pause between runs), at most
# BENCH_VM_IDLE_WAIT seconds in all, then for a quiet machine
# (bench_wait_quiet).  Sets VM_NOT_IDLE=1 when it gave up waiting.
vm_wait_idle() {
	local limit=${BENCH_VM_IDLE_WAIT:-900} calm=${BENCH_VM_IDLE_CALM:-10}
	local start=$SECONDS since=$SECONDS logged=-60 others
	# Having given up once, do not wait the whole time again each round.
	((VM_NOT_IDLE)) && limit=0
	while ((SECONDS - since < calm)); do
		others=$(vm_others)
		if [[ -n $others ]]; then
			since=$SECONDS
			if ((SECONDS - start >= limit)); then
				bench_log "other benchmarks still run after" \
					"${limit}s ($(tr '\n' ' ' <<<"$others"));" \
					"measuring anyway"
				VM_NOT_IDLE=1
				break
			fi
			if ((SECONDS - logged >= 60)); then
				bench_log "waiting for other benchmarks:" \
					"$(tr '\n' ' ' <<<"$others")"
				logged=$SECONDS
			fi
		fi
		sleep 1
	done
	bench_wait_quiet >/dev/null
}

# Right before a short measurement: the full wait if another benchmark
# runs now, else only a quiet machine.
vm_wait_quick() {
	if [[ -n $(vm_others) ]]; then
		vm_wait_idle
	else
		bench_wait_quiet >/dev/null
	fi
}

# vm_measured OUT CMD...: runs CMD (bounded: timeout 600), stdout to OUT,
# and tells where the CPU went meanwhile.  Sets VM_CMD_MS (CMD's own CPU,
# ms), VM_DAEMON_MS (the daemon's, $DAEMON_PID, ms), VM_WALL_MS and
# VM_OTHER (percent of the machine's CPUs used by anything else).
vm_measured() {
	local out=$1 m0 m1 d0 d1 t0 t1 cpu hz TIMEFORMAT='%U %S'
	shift
	hz=$(getconf CLK_TCK)
	m0=$(bench_machine_ticks)
	d0=$(bench_proc_ticks "$DAEMON_PID")
	t0=$(date +%s%N)
	{ time timeout 600 "$@" >"$out"; } 2>"$out.time" ||
		{ cat "$out.time" >&2; bench_die "$* failed"; }
	t1=$(date +%s%N)
	d1=$(bench_proc_ticks "$DAEMON_PID")
	m1=$(bench_machine_ticks)
	cpu=$(tail -1 "$out.time")
	VM_WALL_MS=$(((t1 - t0) / 1000000))
	VM_CMD_MS=$(awk -v c="$cpu" 'BEGIN {split(c, x, " "); printf "%.0f", (x[1] + x[2]) * 1000}')
	VM_DAEMON_MS=$(((d1 - d0) * 1000 / hz))
	# shellcheck disable=SC2034 # for the caller
	VM_OTHER=$(awk -v m=$((m1 - m0)) -v c="$VM_CMD_MS" -v d="$VM_DAEMON_MS" \
		-v w="$VM_WALL_MS" -v n="$(nproc)" -v hz="$hz" 'BEGIN {
		o = (m * 1000 / hz - c - d) / (w * n) * 100
		printf "%.0f", (o < 0 ? 0 : o)
	}')
}

# vm_api SOCK CURL-ARGS...: curl to the daemon's Unix socket (root: no
# token), bounded.
vm_api() {
	local sock=$1
	shift
	curl -sS --max-time 30 --unix-socket "$sock" "$@"
}

# vm_upload SOCK FILE NAME: PUT /v1/images/NAME, fails unless 201 or 200.
vm_upload() {
	local code
	code=$(vm_api "$1" -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "http://localhost/v1/images/$3")
	[[ $code == 201 || $code == 200 ]] ||
		bench_die "PUT /v1/images/$3 gave $code"
}

# vm_define SOCK NAME IMAGE MEMORY_MIB: PUT /v1/vms/NAME, fails unless 201.
vm_define() {
	local code
	code=$(vm_api "$1" -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' \
		--data "{\"vcpus\":1,\"memory_mib\":$4,\"boot\":{\"kind\":\"flat\",\"image\":\"$3\"}}" \
		"http://localhost/v1/vms/$2")
	[[ $code == 201 ]] || bench_die "PUT /v1/vms/$2 gave $code, want 201"
}

# vm_field LINES KEY: the values of KEY=VALUE fields, one per line.
vm_field() {
	awk -v k="$2" '{for (i = 1; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == k) print kv[2]}}' <<<"$1"
}

# vm_pct P NUM...: the P-th percentile (nearest rank), one decimal.
vm_pct() {
	local p=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v p="$p" '
		{v[NR] = $1}
		END {
			if (NR == 0) exit 1
			r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1
			printf "%.1f\n", v[r]
		}'
}

# vm_fmt NUM: NUM with thousands separators, no decimals.
vm_fmt() {
	LC_ALL=C awk -v n="$1" 'BEGIN {
		s = sprintf("%.0f", n); o = ""
		while (length(s) > 3) {
			o = "," substr(s, length(s) - 2) o
			s = substr(s, 1, length(s) - 3)
		}
		print s o
	}'
}

# The note for the report when a measurement could not wait for idleness.
vm_idle_note() {
	if ((VM_NOT_IDLE)); then
		echo
		echo "**Some measurements ran while another benchmark was still running"
		echo "(it did not finish within BENCH_VM_IDLE_WAIT); treat them with care.**"
	fi
}
