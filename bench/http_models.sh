#!/usr/bin/env bash
# Benchmark 1, variant: the daemon's HTTP threading, to justify the
# defaults.  The same GET as bench/http_get.sh against vmmapid started with
#   --http-model pool --http-threads 1 | 2 | 4
#   --http-model per-connection
# all running at once (each with its own state), nginx as the reference,
# the servers alternating within each round.
#
# Settings, besides those of lib.sh:
#   BENCH_MODEL_CONNS  wrk connection counts to try (default "32 256")
#   BENCH_WRK_THREADS  wrk -t (default 2)
#   BENCH_ACCESS_LOG   on | off for every server (default off)
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

CONNS_LIST=${BENCH_MODEL_CONNS:-32 256}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
MODE=${BENCH_ACCESS_LOG:-off}
[[ $MODE == on || $MODE == off ]] || bench_die "BENCH_ACCESS_LOG: on or off"
VM_NAME=bench-get
VM_PATH=/v1/vms/$VM_NAME

bench_init http-models
bench_build

declare -A ports pids tokens
servers=()
BODY=$BENCH_WORK/body.json
CONTENT_TYPE=

# The per-connection model ignores --http-threads; 2 is passed for form.
for cfg in "pool 1" "pool 2" "pool 4" "per-connection 2"; do
	read -r model threads <<<"$cfg"
	if [[ $model == pool ]]; then
		name="pool, $threads thread(s)"
	else
		name=per-connection
	fi
	port=$(bench_free_port)
	bench_daemon_start "$BENCH_WORK/state-$model-$threads" "$port" \
		--access-log "$MODE" --http-model "$model" --http-threads "$threads"
	bench_create_vm "$port" "$DAEMON_TOKEN" "$VM_NAME"
	if [[ ! -s $BODY ]]; then
		bench_curl "$port" "$DAEMON_TOKEN" -D "$BENCH_WORK/headers" \
			-o "$BODY" "http://127.0.0.1:$port$VM_PATH"
		CONTENT_TYPE=$(awk -F': *' 'tolower($1) == "content-type" {
			sub(/\r$/, "", $2); print $2}' "$BENCH_WORK/headers")
	fi
	servers+=("$name")
	ports[$name]=$port
	pids[$name]=$DAEMON_PID
	tokens[$name]=$DAEMON_TOKEN
done

mkdir -p "$BENCH_WORK/www${VM_PATH%/*}"
cp "$BODY" "$BENCH_WORK/www$VM_PATH"
chmod -R a+rX "$BENCH_WORK/www"
port=$(bench_free_port)
bench_nginx_start "$BENCH_WORK/nginx" "$port" "$MODE" "$BENCH_WORK/www" \
	"${CONTENT_TYPE:-application/json}"
servers+=(nginx)
ports[nginx]=$port
pids[nginx]=$NGINX_PID
tokens[nginx]=x

SECTION=
for conns in $CONNS_LIST; do
	declare -A rates=() cpu=()
	for ((round = 1; round <= BENCH_RUNS; round++)); do
		for name in "${servers[@]}"; do
			bench_log "models, -c$conns, run $round: $name"
			bench_measure "$BENCH_WORK/models-c$conns-${name//[^a-z0-9]/_}-$round.txt" \
				"${pids[$name]}" "http://127.0.0.1:${ports[$name]}$VM_PATH" \
				-t"$WRK_THREADS" -c"$conns" \
				-H "Authorization: Bearer ${tokens[$name]}"
			rates[$name]+="$M_RPS "
			cpu[$name]+="$M_US "
		done
	done
	# shellcheck disable=SC2086
	nginx_med=$(bench_median ${rates[nginx]})
	for name in "${servers[@]}"; do
		# shellcheck disable=SC2086
		med=$(bench_median ${rates[$name]})
		# shellcheck disable=SC2086
		SECTION+="| $conns | $name | ${rates[$name]% } | **$med** | $(bench_ratio "$med" "$nginx_med") | $(BENCH_PREC=1 bench_median ${cpu[$name]}) |"$'\n'
	done
	unset rates cpu
done

cat <<EOF
### 1b. HTTP threading model of the daemon

The GET of benchmark 1 (\`wrk -t$WRK_THREADS -cC -d${BENCH_DURATION}s\`), access log
$MODE on every server, against daemons started with the flags shown (all
running at once, servers alternating within each of $BENCH_RUNS rounds) and
nginx as the reference.

| connections | vmmapid --http-model / --http-threads | req/s per run | median req/s | ÷ nginx | CPU µs/req |
| --- | --- | --- | --- | --- | --- |
$SECTION
EOF
