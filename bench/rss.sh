#!/usr/bin/env bash
# Benchmark 3: resident memory of the daemon.
#   idle: a fresh daemon, a few requests (create one VM, get it, list,
#         a 404, and the same over the Unix socket), then VmRSS and VmHWM
#         from /proc/PID/status 1 s and 10 s after the last request (the
#         daemon trims its heap after 3-6 s without one).  Target: VmRSS
#         < 8 MiB when idle.
#   10,000 VMs defined (informational): after creating them over the API,
#         and again after a restart that loads them from the database.
#
# Settings: BENCH_RSS_VMS (default 10000) besides those of lib.sh.
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

NVMS=${BENCH_RSS_VMS:-10000}
TARGET_KIB=$((8 * 1024))

bench_init rss
bench_build

# status_field PID FIELD: the value in kB of FIELD in /proc/PID/status.
status_field() {
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# A few ordinary requests over TCP and the Unix socket.
few_requests() {
	local port=$1 sock=$2 code
	for path in /v1/vms/idle-vm /v1/vms /v1/vms/no-such-vm; do
		code=$(bench_curl "$port" "$DAEMON_TOKEN" -o /dev/null \
			-w '%{http_code}' "http://127.0.0.1:$port$path")
		bench_log "GET $path (tcp): $code"
		code=$(curl -sS --max-time 10 --unix-socket "$sock" -o /dev/null \
			-w '%{http_code}' "http://localhost$path")
		bench_log "GET $path (unix): $code"
	done
}

mib() {
	awk -v k="$1" 'BEGIN {printf "%.2f", k / 1024}'
}

# measure LABEL [SECONDS]: sleeps SECONDS (default 1) and adds a row for
# the daemon now.
ROWS=
measure() {
	local label=$1 rss hwm threads anon file
	sleep "${2:-1}"
	rss=$(status_field "$DAEMON_PID" VmRSS)
	hwm=$(status_field "$DAEMON_PID" VmHWM)
	anon=$(status_field "$DAEMON_PID" RssAnon)
	file=$(status_field "$DAEMON_PID" RssFile)
	threads=$(status_field "$DAEMON_PID" Threads)
	bench_log "$label: VmRSS $rss kB, VmHWM $hwm kB, $threads threads"
	ROWS+="| $label | $(mib "$rss") MiB ($rss kB) | $(mib "$hwm") MiB | $anon kB | $file kB | $threads |"$'\n'
	LAST_RSS=$rss
}

# create_many PORT N: N creates through one curl process, 32 in parallel
# over keep-alive connections; dies unless every one was answered 201.
create_many() {
	local port=$1 n=$2 cfg=$BENCH_WORK/curl-create.cfg codes i ok
	# One block per create; "next" between blocks (not after the last:
	# curl would take an empty block as an error).
	for ((i = 1; i <= n; i++)); do
		((i == 1)) || echo next
		printf 'url = "http://127.0.0.1:%s/v1/vms"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"rss-%06d\\",\\"vcpus\\":1,\\"memory_mib\\":64,\\"boot\\":{\\"kind\\":\\"flat\\",\\"image\\":\\"hello.bin\\"},\\"labels\\":{\\"bench\\":\\"rss\\"}}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 30\nsilent\nshow-error\n' \
			"$port" "$DAEMON_TOKEN" "$i"
	done >"$cfg"
	codes=$BENCH_WORK/curl-create.codes
	if ! timeout 600 curl --parallel --parallel-max 32 -K "$cfg" \
		>"$codes" 2>"$BENCH_WORK/curl-create.err"; then
		tail -5 "$BENCH_WORK/curl-create.err" >&2
		bench_die "curl failed while creating $n VMs"
	fi
	ok=$(grep -c '^201$' "$codes" || true)
	if ((ok != n)); then
		sort "$codes" | uniq -c >&2
		bench_die "$ok of $n creates answered 201"
	fi
}

dir=$BENCH_WORK/state
port=$(bench_free_port)
bench_daemon_start "$dir" "$port"
measure "just started, no request yet"
bench_create_vm "$port" "$DAEMON_TOKEN" idle-vm
few_requests "$port" "$dir/vmmapid.sock"
measure "1 VM, 1 s after a few requests"
AFTER_RSS=$LAST_RSS
# The daemon gives free heap back after 3-6 s without a request
# (server/main.c, MAIN_IDLE_CHECK_S).
measure "idle, 1 VM, 10 s after the last request" 9
IDLE_RSS=$LAST_RSS

bench_log "creating $NVMS VMs"
start=$(date +%s.%N)
create_many "$port" "$NVMS"
end=$(date +%s.%N)
bench_log "$NVMS creates in $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s"
few_requests "$port" "$dir/vmmapid.sock"
measure "$((NVMS + 1)) VMs, after creating them"

bench_stop "$DAEMON_PID"
start=$(date +%s.%N)
bench_daemon_start "$dir" "$port"
end=$(date +%s.%N)
STARTUP=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')
few_requests "$port" "$dir/vmmapid.sock"
measure "$((NVMS + 1)) VMs, after a restart (loaded from the database)"
bench_stop "$DAEMON_PID"

met=no
if ((IDLE_RSS < TARGET_KIB)); then
	met=yes
fi
bench_summary "| 3. Idle resident memory (VmRSS), 10 s after the last request | $(mib "$IDLE_RSS") MiB ($(mib "$AFTER_RSS") MiB 1 s after it) | — | — | < 8 MiB | $met |"

cat <<EOF
### 3. Resident memory

\`vmmapid -d --state-dir DIR --db DIR/vmmapid.db --listen unix:DIR/vmmapid.sock --listen tcp:127.0.0.1:PORT\`
(default flags otherwise), read from \`/proc/PID/status\` 1 s after the
last request, and for the idle row 10 s after it (the daemon trims its
heap after 3-6 s without a request). The $NVMS VMs were created over HTTP by one curl process,
32 requests in parallel. Restart with $((NVMS + 1)) VMs: ${STARTUP} s until the
TCP port accepted and the token was there.

| state | VmRSS | VmHWM (peak) | RssAnon (heap, stacks) | RssFile (binary, libraries) | threads |
| --- | --- | --- | --- | --- | --- |
$ROWS
Target: idle VmRSS under 8 MiB: **$met** (1 s after the last request:
$(mib "$AFTER_RSS") MiB).
EOF
