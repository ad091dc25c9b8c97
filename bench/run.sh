#!/usr/bin/env bash
# Runs every benchmark of vmmapid: builds the daemon (Release, into
# build-bench/) and the C baselines, then
#   1.  bench/http_get.sh     GET vs nginx and bare libmicrohttpd
#   1b. bench/http_models.sh  --http-model / --http-threads
#   2.  bench/creates.sh      durable creates vs raw SQLite commits
#   3.  bench/rss.sh          resident memory
#   4.  bench/vm_start.sh     guest start to first console byte vs raw KVM
#   5.  bench/vm_exits.sh     port-I/O exits through the runner vs raw KVM
#   6.  bench/vm_memory.sh    daemon memory per running VM
#   8.  bench/linux_boot.sh   a Linux kernel's boot vs QEMU -kernel
# and prints the results as Markdown on stdout (also saved, with the raw
# wrk outputs, under build-bench/bench-results/DATE/).  Progress goes to
# stderr.  Takes about 10 minutes with the defaults.
#
#   bench/run.sh [http_get] [http_models] [creates] [rss] [vm_start]
#                [vm_exits] [vm_memory] [linux_boot]
#
# Settings: see bench/lib.sh and the scripts' headers.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ALL=(http_get http_models creates rss vm_start vm_exits vm_memory linux_boot)
if (($# > 0)); then
	WHICH=("$@")
else
	WHICH=("${ALL[@]}")
fi
for w in "${WHICH[@]}"; do
	[[ -x $BENCH_SRC/$w.sh ]] || bench_die "no benchmark $w (${ALL[*]})"
done

bench_init run
bench_build

stamp=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_RESULTS=$BENCH_BUILD/bench-results/$stamp
mkdir -p "$BENCH_RESULTS"
export BENCH_SUMMARY=$BENCH_RESULTS/summary.rows
export BENCH_NO_BUILD=1
: >"$BENCH_SUMMARY"

sections=()
for w in "${WHICH[@]}"; do
	bench_log "=== $w"
	"$BENCH_SRC/$w.sh" >"$BENCH_RESULTS/$w.md"
	sections+=("$BENCH_RESULTS/$w.md")
done

report=$BENCH_RESULTS/report.md
{
	echo "## Results ($stamp)"
	echo
	echo "Machine: $(lscpu | awk -F': *' '$1 == "Model name" {print $2}'),"
	echo "$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM,"
	echo "Linux $(uname -r); \`$BENCH_TMP\` on $(df -P "$BENCH_TMP" | awk 'NR == 2 {print $1}')"
	echo "($(findmnt -no FSTYPE -T "$BENCH_TMP" 2>/dev/null || echo '?')). wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'),"
	echo "$(nginx -v 2>&1 | sed 's/.*: //'), libmicrohttpd $(pkg-config --modversion libmicrohttpd),"
	echo "SQLite $(pkg-config --modversion sqlite3). The load generator (wrk) runs on the"
	echo "same $(nproc) CPUs as the server it measures. vmmapid binary: built"
	echo "$(date -u -r "$BENCH_DAEMON" +%Y-%m-%dT%H:%MZ), sha256 $(sha256sum "$BENCH_DAEMON" | cut -c1-12)."
	echo
	echo "| benchmark | result | baseline (same run) | ratio | target | met |"
	echo "| --- | --- | --- | --- | --- | --- |"
	cat "$BENCH_SUMMARY"
	for s in "${sections[@]}"; do
		echo
		cat "$s"
	done
} >"$report"
cat "$report"
bench_log "report and raw outputs in $BENCH_RESULTS"
