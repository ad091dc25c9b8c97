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
#   BENCH_TLS=1         over HTTPS: vmmapid's tls: listener and nginx with
#                       the same certificate (an ECDSA P-256 one made by
#                       openssl for the run); mhd_fixed, which has no TLS,
#                       is left out
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
TLS=${BENCH_TLS:-0}
SCHEME=http
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

# The certificate both servers present over HTTPS.
TLS_ARGS=()
if [[ $TLS == 1 ]]; then
	SCHEME=https
	mkdir -p "$BENCH_WORK/tls"
	(
		cd "$BENCH_WORK/tls"
		umask 077
		ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
		openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem \
			-days 2 -subj '/CN=bench CA'
		openssl req "${ec[@]}" -keyout key.pem -out host.csr \
			-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
		openssl x509 -req -in host.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -copy_extensions copy -days 2 -out cert.pem
	) >"$BENCH_WORK/openssl.log" 2>&1 ||
		bench_die "openssl could not make the certificate"
	export BENCH_NGINX_TLS_CERT=$BENCH_WORK/tls/cert.pem
	export BENCH_NGINX_TLS_KEY=$BENCH_WORK/tls/key.pem
	TLS_ARGS=(--cacert "$BENCH_WORK/tls/ca.pem")
fi

# check_same_body NAME PORT: the server answers 200 with the body file.
check_same_body() {
	local name=$1 port=$2 got=$BENCH_WORK/check.body code
	code=$(curl -sS --max-time 10 -o "$got" -w '%{http_code}' \
		-H "Authorization: Bearer ${DAEMON_TOKEN:-x}" "${TLS_ARGS[@]}" \
		"$SCHEME://127.0.0.1:$port$VM_PATH")
	[[ $code == 200 ]] || bench_die "$name answered $code, want 200"
	cmp -s "$got" "$BODY" || bench_die "$name answered another body"
}

# One set of measurements with access logging MODE (on/off); appends
# Markdown rows to SECTION and rows to the summary.
measure_set() {
	local mode=$1 port round name out tport
	local -A ports pids rates cpu other p99
	local servers=() tls=()

	if [[ $NO_DAEMON != 1 ]]; then
		port=$(bench_free_port)
		# Over HTTPS its tls: listener is the one measured.
		if [[ $TLS == 1 ]]; then
			tport=$(bench_free_port)
			tls=(--listen "tls:127.0.0.1:$tport"
				--tls-cert "$BENCH_NGINX_TLS_CERT"
				--tls-key "$BENCH_NGINX_TLS_KEY")
		fi
		bench_daemon_start "$BENCH_WORK/state-$mode" "$port" \
			--access-log "$mode" --http-threads "$HTTP_THREADS" \
			"${tls[@]}"
		bench_create_vm "$port" "$DAEMON_TOKEN" "$VM_NAME"
		# This daemon's body (its timestamps) for the other two servers.
		bench_curl "$port" "$DAEMON_TOKEN" -D "$BENCH_WORK/headers" \
			-o "$BODY" "http://127.0.0.1:$port$VM_PATH"
		CONTENT_TYPE=$(awk -F': *' 'tolower($1) == "content-type" {
			sub(/\r$/, "", $2); print $2}' "$BENCH_WORK/headers")
		[[ -n $CONTENT_TYPE ]] || bench_die "no Content-Type from vmmapid"
		servers+=(vmmapid)
		ports[vmmapid]=${tport:-$port}
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

	if [[ $TLS != 1 ]]; then
		port=$(bench_free_port)
		bench_spawn "$BENCH_WORK/mhd_fixed.log" "$BENCH_MHD_FIXED" \
			-p "$port" -f "$BODY" -t "$HTTP_THREADS" -c "$CONTENT_TYPE"
		bench_wait_port "$port" "$BENCH_LAST_PID" 10 ||
			bench_die "mhd_fixed did not start"
		servers+=(mhd_fixed)
		ports[mhd_fixed]=$port
		pids[mhd_fixed]=$BENCH_LAST_PID
	fi

	for name in "${servers[@]}"; do
		check_same_body "$name" "${ports[$name]}"
	done

	for ((round = 1; round <= BENCH_RUNS; round++)); do
		for name in "${servers[@]}"; do
			out=$BENCH_WORK/get-log$mode-$name-$round.txt
			bench_log "GET, access log $mode, run $round: $name"
			# The same header on every server: the same request bytes.
			bench_measure "$out" "${pids[$name]}" \
				"$SCHEME://127.0.0.1:${ports[$name]}$VM_PATH" \
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
			bench_summary "| 1. GET /v1/vms/{name}$([[ $TLS == 1 ]] && echo " over TLS"), access log $mode | $med req/s | nginx $nginx_med req/s | $ratio | ≥ 0.8 | $met |"
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
### 1. GET /v1/vms/{name} over $([[ $TLS == 1 ]] && echo "TLS (HTTPS)" || echo TCP) keep-alive

\`wrk -t$WRK_THREADS -c$WRK_CONNS -d${BENCH_DURATION}s --latency --timeout 10s -H 'Authorization: Bearer …' $SCHEME://127.0.0.1:PORT$VM_PATH\`,
$BENCH_RUNS runs per server, the servers alternating within each round. Body:
$(wc -c <"$BODY") bytes of \`$CONTENT_TYPE\`. vmmapid \`--http-threads $HTTP_THREADS\`
(default model); nginx \`worker_processes ${BENCH_NGINX_WORKERS:-2}\`,
\`open_file_cache\`, \`sendfile off\`, \`keepalive_requests 10000000\`;
$(if [[ $TLS == 1 ]]; then
	echo "both with the same ECDSA P-256 certificate, TLS 1.2 and 1.3;"
	echo "mhd_fixed has no TLS and is left out."
else
	echo "mhd_fixed: a libmicrohttpd pool of $HTTP_THREADS threads + epoll, never logs."
fi)
"CPU µs/req" is the server's own user+system CPU time per answered request
(median; wrk excluded); p99 is wrk's 99th-percentile latency per run;
"other load" is the percentage of the machine's CPU used by neither wrk nor
the server during each run (other processes, interrupts).

| access log | server | req/s per run | median req/s | ÷ nginx | CPU µs/req | p99 per run | other load % per run |
| --- | --- | --- | --- | --- | --- | --- | --- |
$SECTION
EOF
