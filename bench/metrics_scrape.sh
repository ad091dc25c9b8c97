#!/usr/bin/env bash
# 8. What a GET /metrics scrape costs with 1,000 VMs defined (and with
# none): 300 scrapes on one keep-alive connection over TCP with the
# admin token, curl's time per transfer (median, p99), the body's size,
# and the daemon's CPU time per scrape (utime + stime from /proc over
# the whole run, divided by the scrapes).  In the same run, as yardsticks:
# GET /v1 (a small inline read) and GET /v1/vms?limit=1000 (the list of
# the same 1,000 VMs).  The sim driver: nothing runs, so the per-VM
# series (vCPU exits, console bytes) are not there; a scrape with running
# VMs adds one lock and four counters per running VM.
#
#   bench/metrics_scrape.sh            # builds build-bench/ (Release)
#   BENCH_NO_BUILD=1 BENCH_SCRAPES=100 bench/metrics_scrape.sh
set -euo pipefail
# shellcheck source=bench/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

SCRAPES=${BENCH_SCRAPES:-300}
NVMS=${BENCH_NVMS:-1000}

trap bench_cleanup EXIT
BENCH_WORK=$(mktemp -d "$BENCH_TMP/vmmapid-bench-metrics.XXXXXX")
if [[ $BENCH_NO_BUILD != 1 ]]; then
	bench_log "building vmmapid (Release) in $BENCH_BUILD"
	cmake -S "$BENCH_REPO" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DVMMAPID_TESTS=OFF >"$BENCH_BUILD.cmake.log" 2>&1
	cmake --build "$BENCH_BUILD" --target vmmapid -j2 \
		>>"$BENCH_BUILD.cmake.log" 2>&1
fi
[[ -x $BENCH_DAEMON ]] || bench_die "no $BENCH_DAEMON"

# Daemon CPU ticks (utime + stime) so far.
daemon_ticks() {
	awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"
}

# measure LABEL PATH: SCRAPES GETs on one connection; prints a table row.
measure() {
	local label=$1 path=$2 urls=() i t0 t1 hz bytes
	for ((i = 0; i < SCRAPES; i++)); do
		urls+=(-o /dev/null "http://127.0.0.1:$PORT$path")
	done
	hz=$(getconf CLK_TCK)
	t0=$(daemon_ticks)
	curl -sS --max-time 120 -H "Authorization: Bearer $DAEMON_TOKEN" \
		-w '%{time_total} %{size_download} %{http_code}\n' \
		"${urls[@]}" >"$BENCH_WORK/times"
	t1=$(daemon_ticks)
	grep -vq ' 200$' "$BENCH_WORK/times" &&
		bench_die "$path: not every answer was 200"
	bytes=$(awk 'NR == 1 {print $2}' "$BENCH_WORK/times")
	awk '{print $1 * 1e6}' "$BENCH_WORK/times" | sort -g >"$BENCH_WORK/us"
	awk -v label="$label" -v bytes="$bytes" -v n="$SCRAPES" \
		-v ticks=$((t1 - t0)) -v hz="$hz" '
		{v[NR] = $1}
		END {
			p50 = v[int((NR + 1) / 2)]; p99 = v[int(NR * 0.99 + 0.5)]
			printf "| %s | %d | %.0f | %.0f | %.0f |\n", label, bytes,
			    p50, p99, ticks / hz / n * 1e6
		}' "$BENCH_WORK/us"
}

PORT=$(bench_free_port)
bench_daemon_start "$BENCH_WORK/state" "$PORT" --driver sim
bench_log "daemon $DAEMON_PID on 127.0.0.1:$PORT"
# Counters for every route that will be scraped, before the first row.
bench_curl "$PORT" "$DAEMON_TOKEN" -o /dev/null "http://127.0.0.1:$PORT/v1"

echo "| request | body bytes | median µs | p99 µs | daemon CPU µs per request |"
echo "| --- | --- | --- | --- | --- |"
measure "GET /metrics, 0 VMs" /metrics
bench_log "defining $NVMS VMs"
seq -f 'vm-%04g' 1 "$NVMS" |
	xargs -P 4 -I{} curl -sS --max-time 10 -o /dev/null \
		-H "Authorization: Bearer $DAEMON_TOKEN" \
		-H 'Content-Type: application/json' \
		--data '{"name":"{}","boot":{"kind":"flat","image":"hello.bin"}}' \
		"http://127.0.0.1:$PORT/v1/vms"
n=$(bench_curl "$PORT" "$DAEMON_TOKEN" "http://127.0.0.1:$PORT/metrics" |
	awk -F' ' '/^vmmapid_vms\{state="defined"\}/ {print $2}')
[[ $n == "$NVMS" ]] || bench_die "$n VMs defined, want $NVMS"
measure "GET /metrics, $NVMS VMs" /metrics
measure "GET /v1 (yardstick)" /v1
measure "GET /v1/vms?limit=1000, $NVMS VMs (yardstick)" "/v1/vms?limit=1000"
bench_stop "$DAEMON_PID"
