#!/usr/bin/env bash
# 10. GET /v1/events fan-out (issue #13): one daemon (sim driver, the
# access log off), events_fanout.c as the client over the Unix socket:
# 1,000 creates by 8 keep-alive writers with no subscriber, then 1,000
# idle subscribers (the daemon's VmRSS before and after: memory per idle
# subscriber), then 1,000 more creates with every subscriber reading:
# creates/s with them, and per create the time from its 201 to the last
# subscriber's receipt of its vm.defined event (p50, p99, max).  Same
# daemon, same run.  Targets: the subscribers cost creates < 10 %, p99
# delivery < 50 ms, < 16 KiB per idle subscriber.  The client's own CPU
# time (its reader thread, its writers) is printed beside the daemon's:
# where both share the CPUs, it is taken from the creates too.
#
#   bench/events_fanout.sh                  # builds build-bench/ (Release)
#   BENCH_NO_BUILD=1 BENCH_SUBS=200 bench/events_fanout.sh
set -euo pipefail
# shellcheck source=bench/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

SUBS=${BENCH_SUBS:-1000}
CREATES=${BENCH_CREATES:-1000}
WRITERS=${BENCH_WRITERS:-8}
RUNS=${BENCH_RUNS_EVENTS:-3}
# Events queued per subscriber (the daemon's --events-buffer): more than
# the creates, so that the one client thread reading 1,000 streams, which
# falls behind on 2 CPUs, gets no gap (with 256 it does, as it should).
BUFFER=${BENCH_EVENTS_BUFFER:-1024}
# The subscribers' HTTP: 1.1 (a chunked body, as curl and EventSource ask)
# or 1.0 (the body as is).
HTTP=${BENCH_EVENTS_HTTP:-1.1}
case $HTTP in
1.1) http_flag=() ;;
1.0) http_flag=(-0) ;;
*) bench_die "BENCH_EVENTS_HTTP is 1.1 or 1.0, not $HTTP" ;;
esac

trap bench_cleanup EXIT
BENCH_WORK=$(mktemp -d "$BENCH_TMP/vmmapid-bench-events.XXXXXX")
if [[ $BENCH_NO_BUILD != 1 ]]; then
	bench_log "building vmmapid (Release) in $BENCH_BUILD"
	cmake -S "$BENCH_REPO" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DVMMAPID_TESTS=OFF >"$BENCH_BUILD.cmake.log" 2>&1
	cmake --build "$BENCH_BUILD" --target vmmapid -j2 \
		>>"$BENCH_BUILD.cmake.log" 2>&1
fi
[[ -x $BENCH_DAEMON ]] || bench_die "no $BENCH_DAEMON"
mkdir -p "$BENCH_BUILD/bench"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
	-o "$BENCH_BUILD/bench/events_fanout" "$BENCH_SRC/events_fanout.c" \
	-lpthread

echo "$SUBS subscribers (HTTP/$HTTP), $CREATES creates by $WRITERS writers, --events-buffer $BUFFER"
echo
echo "| run | creates/s without | creates/s with $SUBS subscribers | cost | delivery p50 ms | p99 ms | max ms | KiB per idle subscriber | daemon CPU ms per create without / with | daemon CPU µs per delivery | client reader CPU ms (µs per delivery) | client writers CPU ms without / with |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for ((run = 1; run <= RUNS; run++)); do
	dir=$BENCH_WORK/run$run
	bench_daemon_start "$dir" "$(bench_free_port)" --driver sim \
		--access-log off --connection-limit 4096 \
		--events-buffer "$BUFFER"
	"$BENCH_BUILD/bench/events_fanout" -s "$dir/vmmapid.sock" \
		-p "$DAEMON_PID" -n "$SUBS" -c "$CREATES" -w "$WRITERS" \
		"${http_flag[@]}" \
		>"$dir/out" || bench_die "events_fanout failed (run $run)"
	bench_stop "$DAEMON_PID"
	awk -v run="$run" '
		{v[$1] = $2}
		END {
			printf "| %d | %.0f | %.0f | %.1f %% | %.2f | %.2f | %.2f | %.2f | %.3f / %.3f | %.2f | %.0f (%.2f) | %.0f / %.0f |\n",
			    run, v["creates_per_s_without"], v["creates_per_s_with"],
			    (1 - v["creates_per_s_with"] / v["creates_per_s_without"]) * 100,
			    v["delivery_ms_p50"], v["delivery_ms_p99"],
			    v["delivery_ms_max"], v["kib_per_idle_subscriber"],
			    v["daemon_cpu_ms_per_create_without"],
			    v["daemon_cpu_ms_per_create_with"],
			    v["daemon_cpu_us_per_delivery"],
			    v["client_reader_cpu_ms"],
			    v["client_reader_cpu_us_per_delivery"],
			    v["client_writers_cpu_ms_without"],
			    v["client_writers_cpu_ms_with"]
		}' "$dir/out"
done
