#!/usr/bin/env bash
# Benchmark 2: durable creates per second (POST /v1/vms answered 201) with
# 1 client and with 32 clients, against the raw rate of single-row SQLite
# commits (WAL, synchronous=FULL) in the same directory, in the same run.
# Targets: 1 client >= 0.7 x raw; 32 clients >= 1.5 x raw.
#
# Each round measures, in this order: raw SQLite commits, the floor with
# 1 and 32 clients, vmmapid with 1 client (wrk -t1 -c1) and 32 clients
# (wrk -t2 -c32); every daemon run starts from a fresh state directory.
# The floor is bench/mhd_fixed.c -d: bare libmicrohttpd committing the raw
# baseline's row per request before its 201 (an HTTP round trip plus one
# commit, nothing else): how close to the raw rate any HTTP server can
# come on this machine.  Only 201 answers count (bench/create.lua); a run
# with any other answer or a socket error is invalid and stops the script.
# After each daemon run the rows in its database are counted: at least as
# many as the 201s wrk saw must be there.
#
# Settings: those of lib.sh (BENCH_RUNS rounds), and BENCH_CREATE_DURATION
# (default 5): seconds of each run, raw and daemon alike.  Short because the
# daemon holds at most 100,000 VMs (api/limits.h LIMIT_VMS), and 10 s at
# 32 clients can get there; a 507 answer would make the run invalid.
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

bench_init creates
bench_build
BENCH_DURATION=${BENCH_CREATE_DURATION:-5}

LUA=$BENCH_SRC/create.lua
CONFIGS=("1 1" "2 32") # wrk threads, connections

# raw_commits DIR: the raw SQLite commit rate in DIR (same length as a wrk
# run, at most 1,000,000 rows).
raw_commits() {
	local line
	bench_wait_quiet >/dev/null
	line=$("$BENCH_SQLITE_COMMIT" -n 1000000 -t "$BENCH_DURATION" "$1")
	bench_log "$line"
	awk '{for (i = 1; i <= NF; i++) if ($i ~ /^commits_per_sec=/) {
		sub(/.*=/, "", $i); printf "%.0f\n", $i}}' <<<"$line"
}

# db_rows DB: rows of the vms table (sqlite3 shell), "?" if unreadable.
db_rows() {
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$1" 'SELECT count(*) FROM vms' 2>/dev/null || echo "?"
	else
		echo "?"
	fi
}

# create_run ROUND THREADS CONNS: one daemon run; sets C_RATE, C_P99,
# C_CREATED, C_ROWS, C_US, C_OTHER.
create_run() {
	local round=$1 threads=$2 conns=$3 dir port out line failed
	dir=$BENCH_WORK/state-c$conns-$round
	port=$(bench_free_port)
	bench_daemon_start "$dir" "$port"
	out=$BENCH_WORK/creates-c$conns-$round.txt
	bench_log "creates, run $round: $conns client(s)"
	bench_measure "$out" "$DAEMON_PID" "http://127.0.0.1:$port/v1/vms" \
		-t"$threads" -c"$conns" -s "$LUA" \
		-H "Authorization: Bearer $DAEMON_TOKEN"
	line=$(grep '^create_result ' "$out") ||
		{ cat "$out" >&2; bench_die "no create_result in wrk output"; }
	# shellcheck disable=SC2001
	failed=$(sed 's/.* failed=\([0-9]*\).*/\1/' <<<"$line")
	if [[ $failed != 0 ]]; then
		cat "$out" >&2
		bench_die "$failed creates were not answered 201 (invalid run)"
	fi
	# shellcheck disable=SC2001
	C_CREATED=$(sed 's/.* created=\([0-9]*\).*/\1/' <<<"$line")
	# shellcheck disable=SC2001
	C_RATE=$(sed 's/.*created_per_sec=\([0-9]*\).*/\1/' <<<"$line")
	# shellcheck disable=SC2153 # set by bench_measure
	C_P99=$M_P99
	# shellcheck disable=SC2153
	C_US=$M_US
	# shellcheck disable=SC2153
	C_OTHER=$M_OTHER
	bench_stop "$DAEMON_PID"
	C_ROWS=$(db_rows "$dir/vmmapid.db")
	if [[ $C_ROWS != "?" ]] && ((C_ROWS < C_CREATED)); then
		bench_die "$C_CREATED creates answered 201 but $C_ROWS rows on disk"
	fi
	rm -rf -- "$dir"
}

# floor_run ROUND THREADS CONNS: one mhd_fixed -d run; sets F_RATE.
floor_run() {
	local round=$1 threads=$2 conns=$3 dir port out line pid
	dir=$BENCH_WORK/floor-c$conns-$round
	mkdir -p "$dir"
	port=$(bench_free_port)
	bench_spawn "$dir/mhd_fixed.log" "$BENCH_MHD_FIXED" -p "$port" \
		-f "$FLOOR_BODY" -t 2 -d "$dir"
	pid=$BENCH_LAST_PID
	bench_wait_port "$port" "$pid" 20 ||
		bench_die "mhd_fixed -d did not listen on 127.0.0.1:$port"
	out=$BENCH_WORK/floor-c$conns-$round.txt
	bench_log "creates, run $round: floor (mhd_fixed -d), $conns client(s)"
	bench_measure "$out" "$pid" "http://127.0.0.1:$port/v1/vms" \
		-t"$threads" -c"$conns" -s "$LUA"
	line=$(grep '^create_result ' "$out") ||
		{ cat "$out" >&2; bench_die "no create_result in wrk output"; }
	# shellcheck disable=SC2001
	F_RATE=$(sed 's/.*created_per_sec=\([0-9]*\).*/\1/' <<<"$line")
	bench_stop "$pid"
	rm -rf -- "$dir"
}

# The floor's answer: about the size of a VM's representation.
FLOOR_BODY=$BENCH_WORK/floor-body.json
printf '{"name":"floor","vcpus":1,"memory_mib":64,"boot":{"kind":"flat","image":"hello.bin","load_address":4096,"entry":4096},"labels":{"bench":"create"},"pptdevs":[],"autostart":false,"description":"created by bench/create.lua","status":{"state":"defined","state_changed_at":"2026-11-25T00:00:00.000Z","started_at":null,"stopped_at":null,"exit_reason":null,"exit_status":null},"owner":{"uid":0,"gid":0,"jail":""},"generation":1,"revision":1,"created_at":"2026-11-25T00:00:00.000Z","updated_at":"2026-11-25T00:00:00.000Z"}' >"$FLOOR_BODY"

raw_all=()
declare -A rates p99s rows others cpus floors
for ((round = 1; round <= BENCH_RUNS; round++)); do
	rawdir=$BENCH_WORK/raw-$round
	mkdir -p "$rawdir"
	bench_log "creates, run $round: raw SQLite commits in $rawdir"
	raw_all+=("$(raw_commits "$rawdir")")
	rm -rf -- "$rawdir"
	for cfg in "${CONFIGS[@]}"; do
		read -r threads conns <<<"$cfg"
		floor_run "$round" "$threads" "$conns"
		floors[$conns]+="$F_RATE "
	done
	for cfg in "${CONFIGS[@]}"; do
		read -r threads conns <<<"$cfg"
		create_run "$round" "$threads" "$conns"
		rates[$conns]+="$C_RATE "
		p99s[$conns]+="$C_P99 "
		rows[$conns]+="$C_CREATED/$C_ROWS "
		others[$conns]+="$C_OTHER "
		cpus[$conns]+="$C_US "
	done
done

raw_med=$(bench_median "${raw_all[@]}")
SECTION="| raw SQLite commits (WAL, synchronous=FULL) | — | ${raw_all[*]} | **$raw_med** | 1.00 | — | — | — | — | — | — |"$'\n'
declare -A floor_meds
for cfg in "${CONFIGS[@]}"; do
	read -r threads conns <<<"$cfg"
	# shellcheck disable=SC2086
	floor_meds[$conns]=$(bench_median ${floors[$conns]})
	SECTION+="| floor: libmicrohttpd + one raw commit per request, $conns client(s) | \`-t$threads -c$conns\` | ${floors[$conns]% } | **${floor_meds[$conns]}** | $(bench_ratio "${floor_meds[$conns]}" "$raw_med") | 1.00 | — | — | — | — | — |"$'\n'
done
for cfg in "${CONFIGS[@]}"; do
	read -r threads conns <<<"$cfg"
	# shellcheck disable=SC2086
	med=$(bench_median ${rates[$conns]})
	ratio=$(bench_ratio "$med" "$raw_med")
	if ((conns == 1)); then
		target=0.7
	else
		target=1.5
	fi
	met=no
	if bench_ge "$ratio" "$target"; then
		met=yes
	fi
	# shellcheck disable=SC2086
	SECTION+="| vmmapid creates, $conns client(s) | \`-t$threads -c$conns\` | ${rates[$conns]% } | **$med** | $ratio | $(bench_ratio "$med" "${floor_meds[$conns]}") | ≥ $target: $met | ${p99s[$conns]% } | $(BENCH_PREC=1 bench_median ${cpus[$conns]}) | ${rows[$conns]% } | ${others[$conns]% } |"$'\n'
	bench_summary "| 2. Durable creates, $conns client(s) | $med /s | raw SQLite $raw_med commits/s; floor (HTTP + commit) ${floor_meds[$conns]} /s | $ratio (÷ floor $(bench_ratio "$med" "${floor_meds[$conns]}")) | ≥ $target | $met |"
done

cat <<EOF
### 2. Durable creates per second

Raw baseline: \`sqlite_commit -n 1000000 -t $BENCH_DURATION DIR\` (bench/sqlite_commit.c:
fresh database, \`journal_mode=WAL\`, \`synchronous=FULL\`, a table shaped like
\`vms\`, one prepared INSERT per commit) in a directory beside the daemon's
state directories under \`$BENCH_TMP\` (same filesystem). Creates:
\`wrk -tT -cC -d${BENCH_DURATION}s --latency --timeout 10s -s bench/create.lua -H 'Authorization: Bearer …' http://127.0.0.1:PORT/v1/vms\`,
a fresh daemon state directory for each run, $BENCH_RUNS rounds of
(raw, floor with 1 and 32 clients, vmmapid with 1 and 32 clients). The
floor is \`mhd_fixed -p PORT -f BODY -t 2 -d DIR\` (bench/mhd_fixed.c):
libmicrohttpd with the daemon's flags, committing the raw baseline's row
(one transaction, serialized) before answering each request 201, under
the same wrk command: no server that makes each create durable before
answering it can beat it by much. Only 201 answers are counted; "201s/rows" is
the 201s wrk saw and the rows found in the database after the daemon
stopped (rows ≥ 201s: requests still in flight when wrk stopped may
also have been committed).

| what | wrk | per run (/s) | median (/s) | ÷ raw | ÷ floor | target | p99 per run | daemon CPU µs/create | 201s/rows | other load % |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$SECTION
EOF
