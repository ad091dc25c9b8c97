#!/usr/bin/env bash
# Benchmark 1: GET /v1/vms/{name} over TCP keep-alive, measured with wrk
# against three servers in the same run, alternating within each round:
#   vmmapid    the daemon (Release build)
#   nginx      a static file with the same body and Content-Type
#   mhd_fixed  bare libmicrohttpd answering the same body (bench/mhd_fixed.c)
# Target: vmmapid >= 0.8 x nginx, access logging the same on both.
#
# Settings (environment), besides those in lib.sh:
#   BENCH_ACCESS_LOG    off | on | both (default: both): access logging of
#                       vmmapid and nginx, always the same for the two
#   BENCH_WRK_THREADS   wrk -t (default 2)
#   BENCH_WRK_CONNS     wrk -c (default 32)
#   BENCH_HTTP_THREADS  vmmapid --http-threads and mhd_fixed's pool size
#                       (default 2: one per core)
#   BENCH_NGINX_WORKERS nginx worker_processes (default 2)
#   BENCH_NO_DAEMON=1   measure nginx and mhd_fixed only, on the body in the
#                       file BENCH_BODY (to develop the references)
#
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ACCESS_LOG=${BENCH_ACCESS_LOG:-both}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
WRK_CONNS=${BENCH_WRK_CONNS:-32}
HTTP_THREADS=${BENCH_HTTP_THREADS:-2}
NO_DAEMON=${BENCH_NO_DAEMON:-0}
VM_NAME=bench-get
VM_PATH=/v1/vms/$VM_NAME

case $ACCESS_LOG in
off | on) LOG_MODES=("$ACCESS_LOG") ;;
both) LOG_MODES=(off on) ;;
*) bench_die "BENCH_ACCESS_LOG must be off, on or both" ;;
esac

bench_init http-get
if [[ $NO_DAEMON == 1 ]]; then
	[[ -s ${BENCH_BODY:-} ]] || bench_die "BENCH_NO_DAEMON=1 needs BENCH_BODY"
	bench_build_baselines
	BODY=$BENCH_BODY
	CONTENT_TYPE=${BENCH_CONTENT_TYPE:-application/json}
else
	bench_build
	BODY=$BENCH_WORK/body.json
	CONTENT_TYPE=
fi

# check_same_body NAME PORT: the server answers 200 with the body file.
check_same_body() {
	local name=$1 port=$2 got=$BENCH_WORK/check.body code
	code=$(curl -sS --max-time 10 -o "$got" -w '%{http_code}' \
		-H "Authorization: Bearer ${DAEMON_TOKEN:-x}" \
		"http://127.0.0.1:$port$VM_PATH")
	[[ $code == 200 ]] || bench_die "$name answered $code, want 200"
	cmp -s "$got" "$BODY" || bench_die "$name answered another body"
}

# One set of measurements with access logging MODE (on/off); appends
# Markdown rows to SECTION and rows to the summary.
measure_set() {
	local mode=$1 port round name out
	local -A ports pids rates cpu other p99
	local servers=()

	if [[ $NO_DAEMON != 1 ]]; then
		port=$(bench_free_port)
		bench_daemon_start "$BENCH_WORK/state-$mode" "$port" \
			--access-log "$mode" --http-threads "$HTTP_THREADS"
		bench_create_vm "$port" "$DAEMON_TOKEN" "$VM_NAME"
		# This daemon's body (its timestamps) for the other two servers.
		bench_curl "$port" "$DAEMON_TOKEN" -D "$BENCH_WORK/headers" \
			-o "$BODY" "http://127.0.0.1:$port$VM_PATH"
		CONTENT_TYPE=$(awk -F': *' 'tolower($1) == "content-type" {
			sub(/\r$/, "", $2); print $2}' "$BENCH_WORK/headers")
		[[ -n $CONTENT_TYPE ]] || bench_die "no Content-Type from vmmapid"
		servers+=(vmmapid)
		ports[vmmapid]=$port
		pids[vmmapid]=$DAEMON_PID
	fi
	mkdir -p "$BENCH_WORK/www${VM_PATH%/*}"
	cp "$BODY" "$BENCH_WORK/www$VM_PATH"
	chmod -R a+rX "$BENCH_WORK/www"

	port=$(bench_free_port)
	bench_nginx_start "$BENCH_WORK/nginx-$mode" "$port" "$mode" \
		"$BENCH_WORK/www" "$CONTENT_TYPE"
	servers+=(nginx)
	ports[nginx]=$port
	pids[nginx]=$NGINX_PID

	port=$(bench_free_port)
	bench_spawn "$BENCH_WORK/mhd_fixed.log" "$BENCH_MHD_FIXED" -p "$port" \
		-f "$BODY" -t "$HTTP_THREADS" -c "$CONTENT_TYPE"
	bench_wait_port "$port" "$BENCH_LAST_PID" 10 ||
		bench_die "mhd_fixed did not start"
	servers+=(mhd_fixed)
	ports[mhd_fixed]=$port
	pids[mhd_fixed]=$BENCH_LAST_PID

	for name in "${servers[@]}"; do
		check_same_body "$name" "${ports[$name]}"
	done

	for ((round = 1; round <= BENCH_RUNS; round++)); do
		for name in "${servers[@]}"; do
			out=$BENCH_WORK/get-log$mode-$name-$round.txt
			bench_log "GET, access log $mode, run $round: $name"
			# The same header on every server: the same request bytes.
			bench_measure "$out" "${pids[$name]}" \
				"http://127.0.0.1:${ports[$name]}$VM_PATH" \
				-t"$WRK_THREADS" -c"$WRK_CONNS" \
				-H "Authorization: Bearer ${DAEMON_TOKEN:-x}"
			rates[$name]+="$M_RPS "
			cpu[$name]+="$M_US "
			other[$name]+="$M_OTHER "
			p99[$name]+="$M_P99 "
		done
	done

	local nginx_med med ratio row met
	# shellcheck disable=SC2086
	nginx_med=$(bench_median ${rates[nginx]})
	for name in "${servers[@]}"; do
		# shellcheck disable=SC2086
		med=$(bench_median ${rates[$name]})
		ratio=$(bench_ratio "$med" "$nginx_med")
		row="| $mode | $name | ${rates[$name]% } | **$med** | $ratio |"
		# shellcheck disable=SC2086
		row+=" $(BENCH_PREC=1 bench_median ${cpu[$name]}) |"
		row+=" ${p99[$name]% } | ${other[$name]% } |"
		SECTION+="$row"$'\n'
		if [[ $name == vmmapid ]]; then
			met=no
			if bench_ge "$ratio" 0.8; then
				met=yes
			fi
			bench_summary "| 1. GET /v1/vms/{name}, access log $mode | $med req/s | nginx $nginx_med req/s | $ratio | ≥ 0.8 | $met |"
		fi
	done

	for name in "${servers[@]}"; do
		bench_stop "${pids[$name]}"
	done
}

SECTION=
for mode in "${LOG_MODES[@]}"; do
	measure_set "$mode"
done

cat <<EOF
### 1. GET /v1/vms/{name} over TCP keep-alive

\`wrk -t$WRK_THREADS -c$WRK_CONNS -d${BENCH_DURATION}s --latency --timeout 10s -H 'Authorization: Bearer …' http://127.0.0.1:PORT$VM_PATH\`,
$BENCH_RUNS runs per server, the servers alternating within each round. Body:
$(wc -c <"$BODY") bytes of \`$CONTENT_TYPE\`. vmmapid \`--http-threads $HTTP_THREADS\`
(default model); nginx \`worker_processes ${BENCH_NGINX_WORKERS:-2}\`,
\`open_file_cache\`, \`sendfile off\`, \`keepalive_requests 10000000\`;
mhd_fixed: a libmicrohttpd pool of $HTTP_THREADS threads + epoll, never logs.
"CPU µs/req" is the server's own user+system CPU time per answered request
(median; wrk excluded); p99 is wrk's 99th-percentile latency per run;
"other load" is the percentage of the machine's CPU used by neither wrk nor
the server during each run (other processes, interrupts).

| access log | server | req/s per run | median req/s | ÷ nginx | CPU µs/req | p99 per run | other load % per run |
| --- | --- | --- | --- | --- | --- | --- | --- |
$SECTION
EOF
