# shellcheck shell=bash
# Shared helpers of the bench/*.sh scripts; sourced, never run.
#
# Every script: set -euo pipefail, then `. "$BENCH_SRC/lib.sh"`, then
# bench_init.  Children started with bench_spawn are stopped on exit (also on
# error or Ctrl-C), and the temporary directory is removed.
#
# Settings (environment):
#   BENCH_BUILD     build directory (default: <repo>/build-bench)
#   BENCH_TMP       parent of the temporary directories (default: /tmp); the
#                   daemon's database and the raw SQLite baseline both live
#                   there, so it picks the disk that is measured
#   BENCH_DURATION  seconds of each wrk run (default: 10)
#   BENCH_RUNS      runs of each wrk measurement, alternating servers (3)
#   BENCH_QUIET_WAIT, BENCH_QUIET_PCT, BENCH_OTHER_MAX: see bench_wait_quiet
#                   and bench_measure
#   BENCH_NO_BUILD  1: do not build, use what is in BENCH_BUILD
#   BENCH_SUMMARY   file to which the scripts append summary table rows
#                   (bench/run.sh sets it)
#   BENCH_ALLOW_NESTED  1: measure running guests on a host that is itself
#                   a guest (see bench_refuse_nested); every summary row
#                   from such a host is labelled nested either way

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_SRC/.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$BENCH_REPO/build-bench}
BENCH_TMP=${BENCH_TMP:-/tmp}
BENCH_DURATION=${BENCH_DURATION:-10}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_NO_BUILD=${BENCH_NO_BUILD:-0}
BENCH_SUMMARY=${BENCH_SUMMARY:-}
BENCH_DAEMON=$BENCH_BUILD/vmmapid
BENCH_MHD_FIXED=$BENCH_BUILD/bench/mhd_fixed
BENCH_SQLITE_COMMIT=$BENCH_BUILD/bench/sqlite_commit

BENCH_PIDS=()
BENCH_WORK=
BENCH_NESTED= # set by bench_init: "" or what this host is nested in

bench_log() {
	printf '[bench] %s\n' "$*" >&2
}

bench_die() {
	printf '[bench] error: %s\n' "$*" >&2
	exit 1
}

# Stops every child we started (TERM, then KILL after 5 s), removes the
# temporary directory.  Runs on every exit path.
bench_cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BENCH_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	BENCH_PIDS=()
	if [[ -n $BENCH_WORK && -d $BENCH_WORK ]]; then
		if [[ $rc != 0 ]]; then
			# Logs of the daemon, nginx and wrk tell what went wrong.
			printf '[bench] failed; kept %s\n' "$BENCH_WORK" >&2
		elif [[ ${BENCH_KEEP:-0} != 1 ]]; then
			rm -rf -- "$BENCH_WORK"
		fi
	fi
	exit "$rc"
}

# bench_init NAME [TOOL...]: traps, checks the tools (TOOL...: only those
# and what building needs; default: every tool of the HTTP benchmarks),
# makes $BENCH_WORK.
bench_init() {
	local name=$1
	shift
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	bench_need_tools "$@"
	bench_host_nested
	if [[ -n $BENCH_NESTED ]]; then
		bench_log "this host is itself a guest ($BENCH_NESTED):" \
			"every figure is labelled nested"
	fi
	BENCH_WORK=$(mktemp -d "$BENCH_TMP/vmmapid-bench-$name.XXXXXX")
	# nginx's workers drop to an unprivileged user when we are root.
	chmod 755 "$BENCH_WORK"
}

# bench_need_tools [TOOL...]: installs the tools (default: those of
# every benchmark; always what building needs) when root and missing;
# otherwise says how.
bench_need_tools() {
	local missing=() pkgs=() t tools=("$@")
	((${#tools[@]} > 0)) || tools=(wrk nginx curl sqlite3)
	for t in "${tools[@]}" cmake gcc pkg-config; do
		command -v "$t" >/dev/null && continue
		missing+=("$t")
		case $t in
		nginx) pkgs+=(nginx-light) ;;
		qemu-system-x86_64) pkgs+=(qemu-system-x86) ;;
		*) pkgs+=("$t") ;;
		esac
	done
	((${#missing[@]} == 0)) && return 0
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		bench_log "installing ${pkgs[*]}"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			"${pkgs[@]}" >&2
	else
		bench_die "missing ${missing[*]}: run" \
			"sudo apt-get install -y ${pkgs[*]}"
	fi
}

# Builds the daemon (Release, no tests) and the two C baselines.
bench_build() {
	local cflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror)
	if [[ $BENCH_NO_BUILD == 1 ]]; then
		[[ -x $BENCH_DAEMON && -x $BENCH_MHD_FIXED &&
			-x $BENCH_SQLITE_COMMIT ]] ||
			bench_die "BENCH_NO_BUILD=1 but $BENCH_BUILD is incomplete"
		return 0
	fi
	bench_log "building vmmapid (Release) in $BENCH_BUILD"
	cmake -S "$BENCH_REPO" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DVMMAPID_TESTS=OFF >"$BENCH_BUILD.cmake.log" 2>&1 ||
		{ cat "$BENCH_BUILD.cmake.log" >&2; bench_die "cmake failed"; }
	cmake --build "$BENCH_BUILD" --target vmmapid -j2 \
		>>"$BENCH_BUILD.cmake.log" 2>&1 ||
		{ tail -40 "$BENCH_BUILD.cmake.log" >&2; bench_die "build failed"; }
	mkdir -p "$BENCH_BUILD/bench"
	# shellcheck disable=SC2046
	gcc "${cflags[@]}" -o "$BENCH_MHD_FIXED" "$BENCH_SRC/mhd_fixed.c" \
		$(pkg-config --cflags --libs libmicrohttpd sqlite3) -lpthread
	# shellcheck disable=SC2046
	gcc "${cflags[@]}" -o "$BENCH_SQLITE_COMMIT" \
		"$BENCH_SRC/sqlite_commit.c" $(pkg-config --cflags --libs sqlite3)
}

# Builds only the C baselines (for developing without the daemon).
bench_build_baselines() {
	local save=$BENCH_NO_BUILD
	mkdir -p "$BENCH_BUILD/bench"
	# shellcheck disable=SC2046
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
		-o "$BENCH_MHD_FIXED" "$BENCH_SRC/mhd_fixed.c" \
		$(pkg-config --cflags --libs libmicrohttpd sqlite3) -lpthread
	# shellcheck disable=SC2046
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
		-o "$BENCH_SQLITE_COMMIT" "$BENCH_SRC/sqlite_commit.c" \
		$(pkg-config --cflags --libs sqlite3)
	BENCH_NO_BUILD=$save
}

# bench_spawn LOG CMD...: starts CMD in the background, output to LOG;
# sets BENCH_LAST_PID and remembers it for the cleanup.
bench_spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null &
	BENCH_LAST_PID=$!
	BENCH_PIDS+=("$BENCH_LAST_PID")
}

# bench_stop PID: TERM, wait up to 5 s, KILL; forgets the pid.
bench_stop() {
	local pid=$1 i keep=()
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for i in "${BENCH_PIDS[@]}"; do
		[[ $i == "$pid" ]] || keep+=("$i")
	done
	BENCH_PIDS=("${keep[@]}")
}

# A TCP port on 127.0.0.1 that nothing listens on now.
bench_free_port() {
	local port i used
	used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' || true)
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + RANDOM % 40000))
		grep -qx "$port" <<<"$used" || { echo "$port"; return 0; }
	done
	bench_die "no free port found"
}

# bench_wait_port PORT PID [SECONDS]: until 127.0.0.1:PORT accepts, or PID
# died, or the time ran out (default 10 s).
bench_wait_port() {
	local port=$1 pid=$2 limit=${3:-10} i
	for ((i = 0; i < limit * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# bench_daemon_start STATEDIR PORT [daemon flags...]: starts vmmapid with a
# fresh state in STATEDIR (created), TCP on PORT and a Unix socket; waits
# for the admin token.  Sets DAEMON_PID, DAEMON_TOKEN, DAEMON_LOG.
bench_daemon_start() {
	local dir=$1 port=$2 i
	shift 2
	mkdir -p "$dir"
	DAEMON_LOG=$dir/daemon.log
	bench_spawn "$DAEMON_LOG" "$BENCH_DAEMON" -d --state-dir "$dir" \
		--db "$dir/vmmapid.db" --listen "unix:$dir/vmmapid.sock" \
		--listen "tcp:127.0.0.1:$port" "$@"
	DAEMON_PID=$BENCH_LAST_PID
	if ! bench_wait_port "$port" "$DAEMON_PID" 20; then
		tail -20 "$DAEMON_LOG" >&2
		bench_die "vmmapid did not listen on 127.0.0.1:$port"
	fi
	for ((i = 0; i < 100; i++)); do
		[[ -s $dir/admin.token ]] && break
		sleep 0.05
	done
	[[ -s $dir/admin.token ]] || bench_die "no $dir/admin.token"
	# shellcheck disable=SC2034 # for the caller
	DAEMON_TOKEN=$(tr -d ' \n' <"$dir/admin.token")
}

# bench_curl PORT TOKEN CURL-ARGS...: curl to the daemon over TCP, bounded.
bench_curl() {
	local port=$1 token=$2
	shift 2
	curl -sS --max-time 10 -H "Authorization: Bearer $token" "$@"
}

# bench_create_vm PORT TOKEN NAME: POST /v1/vms, fails unless 201.
bench_create_vm() {
	local code
	code=$(bench_curl "$1" "$2" -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/json' \
		--data "{\"name\":\"$3\",\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}}" \
		"http://127.0.0.1:$1/v1/vms")
	[[ $code == 201 ]] || bench_die "POST /v1/vms $3 gave $code, want 201"
}

# Clock ticks all CPUs spent in user, nice and system mode so far.
bench_machine_ticks() {
	awk '/^cpu / {print $2 + $3 + $4}' /proc/stat
}

# bench_wrk OUT WRK-ARGS...: runs wrk (bounded by -d), output to OUT;
# prints "REQS_PER_SEC ERRORS MACHINE_TICKS WRK_TICKS": ERRORS counts
# non-2xx/3xx answers and socket errors; MACHINE_TICKS the user+system
# ticks of the whole machine during the run, WRK_TICKS wrk's own (so that
# what neither wrk nor the server used can be told apart: other load).
bench_wrk() {
	local out=$1 rps errs m0 m1 wt TIMEFORMAT='%U %S'
	shift
	m0=$(bench_machine_ticks)
	{ time timeout 120 wrk "$@" >"$out" 2>&1; } 2>"$out.time" || {
		cat "$out" >&2
		bench_die "wrk failed"
	}
	m1=$(bench_machine_ticks)
	wt=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($1 + $2) * hz}' \
		"$out.time")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	[[ -n $rps ]] || { cat "$out" >&2; bench_die "no rate in wrk output"; }
	errs=$(awk '
		/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i + 0
		}
		END {print n + 0}' "$out")
	echo "$rps $errs $((m1 - m0)) $wt"
}

# bench_other_load MACHINE_TICKS WRK_TICKS SERVER_TICKS SECONDS: percent of
# the machine's CPUs used by neither wrk nor the server during a run.
bench_other_load() {
	awk -v m="$1" -v w="$2" -v s="$3" -v d="$4" -v n="$(nproc)" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		o = (m - w - s) / (hz * d * n) * 100
		printf "%.0f\n", (o < 0 ? 0 : o)
	}'
}

# bench_median NUM...: the median (mean of the two middle values), with
# BENCH_PREC decimals (default 0).
bench_median() {
	printf '%s\n' "$@" | sort -g | awk -v fmt="%.${BENCH_PREC:-0}f\n" '
		{v[NR] = $1}
		END {
			if (NR == 0) exit 1
			if (NR % 2) printf fmt, v[(NR + 1) / 2]
			else printf fmt, (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# bench_ratio A B: A/B with two decimals.
bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f\n", (b > 0 ? a / b : 0)}'
}

# bench_ge A B: exit 0 if A >= B (floats).
bench_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'
}

# Percent of all CPUs busy over the next SECONDS (default 1), from /proc/stat.
bench_cpu_busy() {
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	sleep "${1:-1}"
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]
		printf "%.0f\n", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0)
	}'
}

# Waits (at most BENCH_QUIET_WAIT seconds, default 120) until the machine
# is quiet: under BENCH_QUIET_PCT percent busy (default 10) over one
# second, with our own servers idle.  Other people's builds on the same
# two cores would otherwise be measured too.  Prints the last busy
# percentage seen; logs when it gave up.
bench_wait_quiet() {
	local limit=${BENCH_QUIET_WAIT:-120} pct=${BENCH_QUIET_PCT:-10} busy i
	for ((i = 0; i <= limit; i++)); do
		busy=$(bench_cpu_busy 1)
		if ((busy < pct)); then
			echo "$busy"
			return 0
		fi
		((i % 10 == 0)) && bench_log "machine ${busy}% busy, waiting"
	done
	bench_log "machine still ${busy}% busy after ${limit}s; measuring anyway"
	echo "$busy"
}

# Sets BENCH_NESTED when this host runs under a hypervisor (the CPUID
# hypervisor bit, which the kernel shows as the "hypervisor" flag): which
# hypervisor, and which KVM runs the guests here; "" on bare metal.
bench_host_nested() {
	local vendor kvm=none
	BENCH_NESTED=
	grep -qw hypervisor /proc/cpuinfo 2>/dev/null || return 0
	vendor=$(lscpu 2>/dev/null |
		awk -F: '/^Hypervisor vendor/ {gsub(/^ +/, "", $2); print $2}' || true)
	if [[ -z $vendor ]]; then
		# The kernel's own word (dmesg may need root).
		vendor=$(dmesg 2>/dev/null |
			sed -n 's/.*Hypervisor detected: //p' | head -n1 || true)
	fi
	if [[ -e /sys/module/kvm_pvm ]]; then
		kvm=kvm_pvm
	elif [[ -e /sys/module/kvm_intel ]]; then
		kvm="kvm_intel (nested VMX)"
	elif [[ -e /sys/module/kvm_amd ]]; then
		kvm="kvm_amd (nested SVM)"
	fi
	BENCH_NESTED="nested: KVM $kvm under ${vendor:-a hypervisor}"
}

# Guest figures from a host that is itself a guest measure the hypervisor
# under it (nested SVM under QEMU's emulator runs guest code 10-100
# times slower, an exit costs 50 us) rather than vmmapid: refused unless
# BENCH_ALLOW_NESTED=1, and then labelled (docs/benchmarks.md).
bench_refuse_nested() {
	[[ -z $BENCH_NESTED ]] && return 0
	if [[ ${BENCH_ALLOW_NESTED:-0} != 1 ]]; then
		bench_die "this host is itself a guest ($BENCH_NESTED): its" \
			"guest figures would measure the nesting, not vmmapid;" \
			"measure on a host with real KVM, or set" \
			"BENCH_ALLOW_NESTED=1 (the figures are then labelled nested)"
	fi
	bench_log "BENCH_ALLOW_NESTED=1: measuring guests on a nested host;" \
		"the figures are labelled [$BENCH_NESTED]"
}

# bench_summary ROW: appends a Markdown table row to $BENCH_SUMMARY, if
# set; on a nested host its first cell starts with [nested: ...].
bench_summary() {
	local row=$1
	[[ -n $BENCH_SUMMARY ]] || return 0
	if [[ -n $BENCH_NESTED ]]; then
		row="| [$BENCH_NESTED] ${row#| }"
	fi
	printf '%s\n' "$row" >>"$BENCH_SUMMARY"
}

# bench_proc_ticks PID: user+system clock ticks of PID and its children
# (nginx's workers are children of the master).
bench_proc_ticks() {
	local pid=$1 total=0 p t
	for p in "$pid" $(pgrep -P "$pid" || true); do
		# Fields 14 and 15 of /proc/PID/stat, counted after "(comm) ".
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null |
			awk '{print $12 + $13}') || t=0
		total=$((total + ${t:-0}))
	done
	echo "$total"
}

# bench_measure OUT PID URL [WRK-ARGS...]: one wrk run against the server
# PID at URL, after waiting for a quiet machine.  Sets M_RPS (integer
# req/s), M_US (server CPU microseconds per request), M_OTHER (percent of
# the machine used by other processes during the run), M_P99.  Dies if wrk
# saw any error: such a run is invalid.
bench_measure() {
	local out=$1 pid=$2 url=$3 res rps errs mt wt before after reqs try
	shift 3
	# A run during which something else took more than BENCH_OTHER_MAX
	# percent of the machine (default 15) is repeated, twice at most.
	for ((try = 1; try <= 3; try++)); do
		bench_wait_quiet >/dev/null
		kill -0 "$pid" 2>/dev/null ||
			bench_die "the server to measure (pid $pid, $url) has exited"
		before=$(bench_proc_ticks "$pid")
		# A repeated run must not reuse the names of creates: see
		# create.lua.
		export BENCH_TRY=$try
		res=$(bench_wrk "$out" -d"${BENCH_DURATION}s" --latency \
			--timeout 10s "$@" "$url")
		after=$(bench_proc_ticks "$pid")
		read -r rps errs mt wt <<<"$res"
		M_OTHER=$(bench_other_load "$mt" "$wt" $((after - before)) \
			"$BENCH_DURATION")
		((M_OTHER <= ${BENCH_OTHER_MAX:-15})) && break
		bench_log "other load ${M_OTHER}% during the run; repeating it"
	done
	if ((errs != 0)); then
		cat "$out" >&2
		bench_die "$url: $errs errors in the wrk run (invalid run)"
	fi
	reqs=$(awk '/requests in/ {print $1}' "$out")
	# shellcheck disable=SC2034 # M_*: for the caller
	M_RPS=${rps%.*}
	# shellcheck disable=SC2034
	M_US=$(awk -v t=$((after - before)) -v r="$reqs" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')
	# shellcheck disable=SC2034
	M_P99=$(awk '$1 == "99%" {print $2}' "$out")
	if [[ -n ${BENCH_RESULTS:-} ]]; then
		cp "$out" "$BENCH_RESULTS/"
	fi
}

# bench_nginx_start DIR PORT ACCESS_LOG(on|off) ROOT CONTENT_TYPE: nginx
# as a foreground child serving ROOT on 127.0.0.1:PORT, config in DIR.
# Sets NGINX_PID.
bench_nginx_start() {
	local dir=$1 port=$2 mode=$3 root=$4 ctype=$5 log
	local listen="listen 127.0.0.1:$port;"
	# BENCH_NGINX_TLS_CERT/KEY: HTTPS with that certificate, TLS 1.2+.
	if [[ -n ${BENCH_NGINX_TLS_CERT:-} ]]; then
		listen="listen 127.0.0.1:$port ssl;
		ssl_certificate $BENCH_NGINX_TLS_CERT;
		ssl_certificate_key $BENCH_NGINX_TLS_KEY;
		ssl_protocols TLSv1.2 TLSv1.3;"
	fi
	mkdir -p "$dir/tmp"
	chmod 755 "$dir"
	if [[ $mode == on ]]; then
		log="access_log $dir/access.log;"
	else
		log="access_log off;"
	fi
	cat >"$dir/nginx.conf" <<EOF
# Generated by bench/lib.sh: one static file, nginx at its fastest for a
# small body: open_file_cache saves the open/fstat/close per request and
# sendfile off answers with one writev() (see docs/benchmarks.md).
worker_processes ${BENCH_NGINX_WORKERS:-2};
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
	worker_connections 1024;
	use epoll;
}
http {
	$log
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	sendfile ${BENCH_NGINX_SENDFILE:-off};
	open_file_cache ${BENCH_NGINX_OPEN_FILE_CACHE:-max=1000};
	keepalive_timeout 65s;
	keepalive_requests 10000000;
	types { }
	default_type $ctype;
	server {
		$listen
		root $root;
		location / { }
	}
}
EOF
	bench_spawn "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" \
		-e "$dir/error.log"
	NGINX_PID=$BENCH_LAST_PID
	if ! bench_wait_port "$port" "$NGINX_PID" 10; then
		cat "$dir/error.log" "$dir/stdout.log" >&2 || true
		bench_die "nginx did not start"
	fi
}
