#!/usr/bin/env bash
# Soak (issue #14, "Load"): the daemon under a steady mix of reads and
# writes for a bounded time, with guests starting and stopping on the sim
# backend, its resident memory, descriptors and threads sampled all along.
#
# One daemon (Release, --driver sim) on 127.0.0.1 and its Unix socket:
#   - wrk (bench/soak.lua) over TCP with the admin token, BENCH_SOAK_CONNS
#     threads of one connection each, each waiting BENCH_SOAK_DELAY_MS
#     after every answer: GET /v1/vms, creates, GETs, PATCHes and PUTs of
#     specs, guestinfo PUTs and GETs, deletes (soak.lua lists the cycle);
#   - a guest loop on the Unix socket (root), one start after the other:
#     ghello (tests/guests/hello: prints a line, powers off) started
#     detached and waited for until it is stopped; gspin (spin: never
#     powers off) started, left running BENCH_SOAK_SPIN_S, stopped with
#     ?force=1; every tenth round ghello in monitor mode (the answer is its
#     console, to its end);
#   - every BENCH_SOAK_SAMPLE seconds: the daemon's VmRSS, open
#     descriptors and threads.
#
# Pass/fail (exit 1 on failure):
#   - every answer, wrk's and the guest loop's, is a 2xx (soak.lua orders
#     each connection's steps so that no 404 or 409 is expected);
#   - RSS after warm-up (BENCH_SOAK_WARMUP seconds): the mean of the last
#     three samples under load less the mean of the first three after
#     warm-up at most BENCH_SOAK_MAX_GROWTH_KIB; the least-squares slope
#     after warm-up is reported too;
#   - descriptors with the daemon idle after the load (connections closed,
#     guests stopped) at most BENCH_SOAK_FD_SLACK more than idle before it.
#
# wrk's connections all come from 127.0.0.1 with a token: one caller for
# the daemon's per-caller limits (--connections-per-caller 64 by default),
# so BENCH_SOAK_CONNS must stay under 64; the guest loop is another caller
# (root over the Unix socket).  No limit is raised.
#
# Settings (defaults in brackets): BENCH_SOAK_DURATION seconds [600],
# BENCH_SOAK_WARMUP [60, at most a fifth of the duration],
# BENCH_SOAK_CONNS [4], BENCH_SOAK_DELAY_MS [10], BENCH_SOAK_SAMPLE [5],
# BENCH_SOAK_SPIN_S [1], BENCH_SOAK_MAX_GROWTH_KIB [2048],
# BENCH_SOAK_FD_SLACK [2]; and lib.sh's (BENCH_BUILD, BENCH_NO_BUILD,
# BENCH_TMP, BENCH_KEEP).  Prints a Markdown section on stdout, progress on
# stderr; the samples are kept in $BENCH_RESULTS when set.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

DURATION=${BENCH_SOAK_DURATION:-600}
WARMUP=${BENCH_SOAK_WARMUP:-60}
((WARMUP <= DURATION / 5)) || WARMUP=$((DURATION / 5))
CONNS=${BENCH_SOAK_CONNS:-4}
DELAY_MS=${BENCH_SOAK_DELAY_MS:-10}
SAMPLE=${BENCH_SOAK_SAMPLE:-5}
SPIN_S=${BENCH_SOAK_SPIN_S:-1}
MAX_GROWTH=${BENCH_SOAK_MAX_GROWTH_KIB:-2048}
FD_SLACK=${BENCH_SOAK_FD_SLACK:-2}
GUESTS=$BENCH_BUILD/bench/guests

((CONNS >= 1 && CONNS < 64)) ||
	bench_die "BENCH_SOAK_CONNS=$CONNS: 1 to 63 (--connections-per-caller 64)"
((DURATION >= 30)) || bench_die "BENCH_SOAK_DURATION=$DURATION: at least 30"

bench_init soak wrk curl jq
bench_build
# The two guests, flat binaries at 0x1000 as tests/guests builds them
# (no /dev/kvm needed: they run on sim).
mkdir -p "$GUESTS"
for g in hello spin; do
	[[ $BENCH_NO_BUILD == 1 && -s $GUESTS/$g.bin ]] && continue
	as --32 -o "$GUESTS/$g.o" "$BENCH_REPO/tests/guests/$g.S"
	ld -m elf_i386 -Ttext=0x1000 --oformat binary -e _start \
		-o "$GUESTS/$g.bin" "$GUESTS/$g.o"
done

dir=$BENCH_WORK/state
sock=$dir/vmmapid.sock
port=$(bench_free_port)
bench_daemon_start "$dir" "$port" --driver sim
pid=$DAEMON_PID

# api CURL-ARGS...: root over the Unix socket, bounded.
api() {
	curl -sS --max-time 30 --unix-socket "$sock" "$@"
}
# put_json PATH BODY: PUT, fails unless 200 or 201.
put_json() {
	local code
	code=$(api -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' --data "$2" \
		"http://localhost$1")
	[[ $code == 200 || $code == 201 ]] || bench_die "PUT $1 gave $code"
}
for g in hello spin; do
	code=$(api -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' \
		--data-binary "@$GUESTS/$g.bin" "http://localhost/v1/images/$g.bin")
	[[ $code == 200 || $code == 201 ]] || bench_die "image $g.bin: $code"
	put_json "/v1/vms/g$g" \
		"{\"vcpus\":1,\"memory_mib\":16,\"boot\":{\"kind\":\"flat\",\"image\":\"$g.bin\"}}"
done
for ((t = 1; t <= CONNS; t++)); do
	put_json "/v1/vms/keep$t" \
		'{"vcpus":1,"memory_mib":64,"boot":{"kind":"flat","image":"hello.bin"}}'
	put_json "/v1/vms/keep$t/guestinfo/counter" '{"value":"0"}'
done

# sample: "SECONDS RSS_KIB FDS THREADS" of the daemon now.
sample() {
	local rss thr fds
	rss=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")
	thr=$(awk '$1 == "Threads:" {print $2}' "/proc/$pid/status")
	fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	echo "$SECONDS $rss $fds $thr"
}

# The guest loop, until $BENCH_WORK/stop exists.  One line per request
# ("CODE WHAT") in guests.log; the Unix socket's caller is root.
guest_loop() {
	local round=0 code state i
	set +e # a failed request is recorded (code 000), not the loop's end
	while [[ ! -e $BENCH_WORK/stop ]]; do
		round=$((round + 1))
		if ((round % 10 == 0)); then
			code=$(api -o "$BENCH_WORK/monitor.out" -w '%{http_code}' \
				-X POST "http://localhost/v1/vms/ghello/start?mode=monitor")
			echo "$code start?mode=monitor ghello"
		else
			code=$(api -o /dev/null -w '%{http_code}' -X POST \
				http://localhost/v1/vms/ghello/start)
			echo "$code start ghello"
		fi
		# Its record says stopped soon after (at once after a monitor
		# start, whose answer ends with the run).
		for ((i = 0; i < 100; i++)); do
			state=$(api http://localhost/v1/vms/ghello | jq -r .status.state)
			[[ $state == running ]] || break
			sleep 0.05
		done
		echo "state:$state ghello"
		code=$(api -o /dev/null -w '%{http_code}' -X POST \
			http://localhost/v1/vms/gspin/start)
		echo "$code start gspin"
		sleep "$SPIN_S"
		code=$(api -o /dev/null -w '%{http_code}' -X POST \
			"http://localhost/v1/vms/gspin/stop?force=1")
		echo "$code stop gspin"
	done
}

# Idle before the load: a few requests answered, then a second's rest.
sleep 1
read -r _ rss_idle0 fds_idle0 thr_idle0 <<<"$(sample)"
bench_log "idle: VmRSS $rss_idle0 KiB, $fds_idle0 fds, $thr_idle0 threads"

load_avg0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$SECONDS
started=$(date -u +%H:%M:%S)
: >"$BENCH_WORK/samples.txt"
(
	while [[ ! -e $BENCH_WORK/stop ]]; do
		s=$(sample) || break
		echo "$((${s%% *} - t0)) ${s#* }"
		sleep "$SAMPLE"
	done
) >>"$BENCH_WORK/samples.txt" &
BENCH_PIDS+=("$!")
sampler=$!
guest_loop >"$BENCH_WORK/guests.log" 2>&1 &
BENCH_PIDS+=("$!")
guests=$!

bench_log "soak: ${DURATION}s, wrk -t$CONNS -c$CONNS, ${DELAY_MS} ms between" \
	"requests per connection, guests starting and stopping"
m0=$(bench_machine_ticks)
d0=$(bench_proc_ticks "$pid")
TIMEFORMAT='%U %S'
{ time SOAK_TOKEN=$DAEMON_TOKEN SOAK_DELAY_MS=$DELAY_MS SOAK_GUEST_VM=ghello \
	timeout $((DURATION + 60)) wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" \
	--timeout 10s --latency -s "$BENCH_SRC/soak.lua" \
	"http://127.0.0.1:$port" >"$BENCH_WORK/wrk.txt" 2>&1; } \
	2>"$BENCH_WORK/wrk.time" ||
	{ cat "$BENCH_WORK/wrk.txt" >&2; bench_die "wrk failed"; }
wrk_ticks=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($1 + $2) * hz}' \
	"$BENCH_WORK/wrk.time")
d1=$(bench_proc_ticks "$pid")
m1=$(bench_machine_ticks)
load_avg1=$(cut -d' ' -f1-3 /proc/loadavg)
ended=$(date -u +%H:%M:%S)
touch "$BENCH_WORK/stop"
wait "$guests" || true
wait "$sampler" || true
kill -0 "$pid" 2>/dev/null || bench_die "the daemon died during the soak"

# Idle after the load: guests stopped, wrk's connections closed.
sleep 2
read -r _ rss_idle1 fds_idle1 thr_idle1 <<<"$(sample)"
vms_left=$(api "http://localhost/v1/vms?limit=1000" | jq '.items | length')

if [[ -n ${BENCH_RESULTS:-} ]]; then
	cp "$BENCH_WORK/wrk.txt" "$BENCH_RESULTS/soak-wrk.txt"
	cp "$BENCH_WORK/samples.txt" "$BENCH_RESULTS/soak-samples.txt"
	cp "$BENCH_WORK/guests.log" "$BENCH_RESULTS/soak-guests.log"
fi

# wrk's figures.
res=$(grep '^soak_result' "$BENCH_WORK/wrk.txt") ||
	{ cat "$BENCH_WORK/wrk.txt" >&2; bench_die "no soak_result from wrk"; }
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$res"; }
w_reqs=$(field requests) w_ok=$(field ok)
w_404=$(field s404) w_409=$(field s409) w_other=$(field other)
w_sockerr=$(awk '/Socket errors:/ {
	for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i + 0 }
	END {print n + 0}' "$BENCH_WORK/wrk.txt")
w_rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$BENCH_WORK/wrk.txt")
w_p50=$(awk '$1 == "50%" {print $2}' "$BENCH_WORK/wrk.txt")
w_p99=$(awk '$1 == "99%" {print $2}' "$BENCH_WORK/wrk.txt")
# The guest loop's.
g_reqs=$(grep -cv '^state:' "$BENCH_WORK/guests.log" || true)
g_bad=$(awk '$1 !~ /^(2[0-9][0-9]|state:.*)$/' "$BENCH_WORK/guests.log" | wc -l)
g_runs=$(grep -c 'start ghello$\|start?mode=monitor' "$BENCH_WORK/guests.log" || true)
g_spins=$(grep -c 'stop gspin$' "$BENCH_WORK/guests.log" || true)
g_notstopped=$(grep '^state:' "$BENCH_WORK/guests.log" |
	grep -vc '^state:stopped ' || true)

# Memory: samples under load (the last may be taken after wrk ended: the
# sampler stops on the stop file, so all are under load or just after).
read -r rss_start rss_warm rss_end growth slope n_after fds_min fds_max \
	thr_min thr_max rss_max <<<"$(awk -v w="$WARMUP" '
	{t[NR] = $1; r[NR] = $2; f[NR] = $3; h[NR] = $4}
	END {
		n = NR; k = 0
		for (i = 1; i <= n; i++) if (t[i] >= w) {
			k++; tt[k] = t[i]; rr[k] = r[i]; ff[k] = f[i]; hh[k] = h[i]
		}
		if (k < 6) { print "0 0 0 0 0 0 0 0 0 0 0"; exit }
		warm = (rr[1] + rr[2] + rr[3]) / 3
		end_ = (rr[k] + rr[k - 1] + rr[k - 2]) / 3
		sx = sy = sxx = sxy = 0
		fmin = fmax = ff[1]; hmin = hmax = hh[1]; rmax = rr[1]
		for (i = 1; i <= k; i++) {
			x = tt[i] / 60; sx += x; sy += rr[i]
			sxx += x * x; sxy += x * rr[i]
			if (ff[i] < fmin) fmin = ff[i]; if (ff[i] > fmax) fmax = ff[i]
			if (hh[i] < hmin) hmin = hh[i]; if (hh[i] > hmax) hmax = hh[i]
			if (rr[i] > rmax) rmax = rr[i]
		}
		slope = (k * sxy - sx * sy) / (k * sxx - sx * sx)
		printf "%d %.0f %.0f %.0f %.1f %d %d %d %d %d %d\n", r[1], warm, end_,
			end_ - warm, slope, k, fmin, fmax, hmin, hmax, rmax
	}' "$BENCH_WORK/samples.txt")"
((n_after >= 6)) ||
	bench_die "only $n_after samples after warm-up: lengthen the run"
cpu_s=$(awk -v t=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" \
	'BEGIN {printf "%.0f", t / hz}')
other=$(bench_other_load $((m1 - m0)) "$wrk_ticks" $((d1 - d0)) "$DURATION")
wrk_cpu_s=$(awk -v t="$wrk_ticks" -v hz="$(getconf CLK_TCK)" \
	'BEGIN {printf "%.0f", t / hz}')

fail=()
((w_ok == w_reqs && w_sockerr == 0)) ||
	fail+=("wrk: $((w_reqs - w_ok)) answers not 2xx, $w_sockerr socket errors")
((g_bad == 0)) || fail+=("guest loop: $g_bad answers not 2xx")
((g_notstopped == 0)) ||
	fail+=("ghello not stopped 5 s after its start $g_notstopped times")
((growth <= MAX_GROWTH)) ||
	fail+=("VmRSS grew $growth KiB after warm-up (limit $MAX_GROWTH)")
((fds_idle1 <= fds_idle0 + FD_SLACK)) ||
	fail+=("idle descriptors $fds_idle0 before, $fds_idle1 after the load")
verdict=pass
((${#fail[@]} == 0)) || verdict="FAIL: $(printf '%s; ' "${fail[@]}")"

kib_mib() { awk -v k="$1" 'BEGIN {printf "%.2f", k / 1024}'; }
cat <<EOF
## Soak: ${DURATION} s of mixed reads and writes, guests starting and stopping

$(date -u +%F) $started–$ended UTC, load average $load_avg0 before and
$load_avg1 at the end (1, 5, 15 min); other load $other % of the $(nproc) CPUs
(neither the daemon nor wrk: the guest loop's curl and jq, and whatever
else ran on the machine).
wrk -t$CONNS -c$CONNS, ${DELAY_MS} ms between requests per connection
(one caller: 127.0.0.1 with the admin token, under
--connections-per-caller 64; no limit raised), daemon --driver sim.

| figure | value |
| --- | --- |
| wrk requests | $w_reqs ($w_rate req/s; p50 $w_p50, p99 $w_p99) |
| wrk answers not 2xx | $((w_reqs - w_ok)) (404: $w_404, 409: $w_409, other: $w_other); socket errors $w_sockerr |
| guest loop requests (Unix socket, root) | $g_reqs, not 2xx: $g_bad |
| guest runs | $g_runs ghello (to its power-off), $g_spins gspin (forced stop after ${SPIN_S} s) |
| CPU | daemon $cpu_s s, wrk $wrk_cpu_s s |
| VmRSS idle before / at load start / after ${WARMUP} s warm-up / end | $(kib_mib "$rss_idle0") / $(kib_mib "$rss_start") / $(kib_mib "$rss_warm") / $(kib_mib "$rss_end") MiB (max $(kib_mib "$rss_max")) |
| VmRSS growth after warm-up | $growth KiB (limit $MAX_GROWTH); slope $slope KiB/min over $n_after samples |
| VmRSS idle after | $(kib_mib "$rss_idle1") MiB |
| descriptors under load | $fds_min–$fds_max; idle $fds_idle0 before, $fds_idle1 after |
| threads under load | $thr_min–$thr_max; idle $thr_idle0 before, $thr_idle1 after |
| VMs left | $vms_left (the 2 guests, $CONNS keep VMs, and up to $CONNS a connection was in the middle of) |
| verdict | $verdict |
EOF
if grep -q '^soak_first_error' "$BENCH_WORK/wrk.txt"; then
	grep '^soak_first_error' "$BENCH_WORK/wrk.txt" >&2
fi
((${#fail[@]} == 0)) || bench_die "soak failed: ${fail[*]}"
