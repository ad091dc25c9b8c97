#!/usr/bin/env bash
# Benchmark 6: the daemon's memory per running VM.  For each count N in
# BENCH_VM_COUNTS (default "1 100 1000"), a fresh daemon:
#   cold     after uploading the image and a few requests;
#   R0       after one warm-up VM (defined, started, stopped, deleted): the
#            one-time costs of the first run are in R0, not in the VMs;
#   defined  after defining N VMs (tests/guests/spin, memory_mib
#            BENCH_VM_MEMORY_MIB_SMALL, default 1, the smallest a spec
#            allows);
#   paused   after starting each one, seeing its "spinning\n" on its
#            console and pausing it (BENCH_VM_PARALLEL clients, default 4,
#            each doing that for its share of the VMs);
#   running  (N <= BENCH_VM_RUNNING_MAX, default 100) after resuming all:
#            every guest spinning;
#   stopped  after stopping them all (?force=1), informational.
# Each after 1 s of rest: VmRSS, RssAnon, RssFile and Threads from
# /proc/PID/status, open fds from /proc/PID/fd, and guest RAM: the
# resident pages of the anonymous MADV_DONTDUMP mappings in /proc/PID/smaps
# (only guest RAM is mapped so; their size, N MiB, is checked).
# Per VM = (RSS - R0) / N, with and without those guest pages.
# Target: under 256 KiB per VM (daemon memory, guest RAM excluded).
#
# Why paused: a spin guest loops forever (jmp .), and under kvm_pvm every
# guest instruction is emulated, so each running spin VM keeps a CPU busy.
# With 1000 of them the two CPUs are shared by 1000 vCPU threads: every
# start and stop then waits for CPU time (100 spinning VMs took 13 s to
# stop), and anything else on the machine is starved.  A paused VM has all
# a running one has (KVM VM and vCPU, their fds, guest RAM, the vCPU
# thread parked in the runner, console, runner state); the running and
# paused rows at N <= BENCH_VM_RUNNING_MAX show how close the two are.
#
# Kernel memory of the VMs (KVM's structures, page tables, the vCPU
# threads' kernel stacks) is not in the daemon's RSS; the report gives the
# machine-wide change of SUnreclaim, KernelStack, PageTables and Percpu in
# /proc/meminfo, informational (anything else running changes them too).
#
# Settings: BENCH_VM_COUNTS, BENCH_VM_MEMORY_MIB_SMALL, BENCH_VM_PARALLEL,
# BENCH_VM_RUNNING_MAX, and those of lib.sh / vm_lib.sh.  Needs 2 fds per
# running VM (KVM's VM and vCPU): the soft open-files limit is raised to
# the hard one when short.
# Prints a Markdown section on stdout; progress on stderr.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=SCRIPTDIR/vm_lib.sh
. "$BENCH_SRC/vm_lib.sh"

read -r -a COUNTS <<<"${BENCH_VM_COUNTS:-1 100 1000}"
MEM=${BENCH_VM_MEMORY_MIB_SMALL:-1}
PAR=${BENCH_VM_PARALLEL:-4}
RUNNING_MAX=${BENCH_VM_RUNNING_MAX:-100}
TARGET_KIB=256

bench_init vm-memory
bench_build
vm_build

max=0
for n in "${COUNTS[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_VM_COUNTS: bad count $n"
	((n > max)) && max=$n
done
need=$((2 * max + 256))
if (($(ulimit -Sn) < need)); then
	ulimit -Sn "$(ulimit -Hn)" || true
	(($(ulimit -Sn) >= need)) ||
		bench_die "open files limit $(ulimit -Sn) < $need; raise it (ulimit -n)"
fi

status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
meminfo_kb() { awk -v f="$1:" '$1 == f {print $2}' /proc/meminfo; }
# Kernel-side: SUnreclaim + KernelStack + PageTables + Percpu, kB.
kernel_kb() {
	echo $(($(meminfo_kb SUnreclaim) + $(meminfo_kb KernelStack) + \
		$(meminfo_kb PageTables) + $(meminfo_kb Percpu)))
}
# guest_ram PID: "SIZE_KB RSS_KB" of the anonymous mappings marked
# MADV_DONTDUMP (VmFlags "dd"): guest RAM (vmm-driver/kvm.c).
guest_ram() {
	awk '
		/^[0-9a-f]+-[0-9a-f]+ / {anon = (NF == 5)}
		$1 == "Size:" {size = $2}
		$1 == "Rss:" {rss = $2}
		$1 == "VmFlags:" && anon && / dd( |$)/ {s += size; r += rss}
		END {print s + 0, r + 0}' "/proc/$1/smaps"
}
# threads_by_kind PID: "vcpu N, kvm N, http N, other N" from thread names.
threads_by_kind() {
	cat /proc/"$1"/task/*/comm 2>/dev/null | awk '
		/^vcpu/ {v++; next}
		/^kvm-/ {k++; next}
		/^MHD-/ {h++; next}
		{o++}
		END {printf "vcpu %d, kvm %d, http %d, other %d\n", v, k, h, o}'
}

# snap LABEL: S_<field> of the daemon now (after 1 s of rest).
snap() {
	sleep 1
	S_RSS=$(status_kb "$DAEMON_PID" VmRSS)
	S_ANON=$(status_kb "$DAEMON_PID" RssAnon)
	S_FILE=$(status_kb "$DAEMON_PID" RssFile)
	S_THREADS=$(status_kb "$DAEMON_PID" Threads)
	S_KINDS=$(threads_by_kind "$DAEMON_PID")
	S_FDS=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
	read -r S_GSIZE S_GRSS < <(guest_ram "$DAEMON_PID")
	S_KERNEL=$(kernel_kb)
	bench_log "$1: VmRSS $S_RSS kB (anon $S_ANON, file $S_FILE)," \
		"$S_THREADS threads ($S_KINDS), $S_FDS fds, guest RAM" \
		"$S_GRSS of $S_GSIZE kB, kernel $S_KERNEL kB"
}

# many SOCK METHOD PATH-FORMAT N [DATA]: N requests (PATH-FORMAT with the
# VM number, e.g. /v1/vms/mem-%05d/resume), PAR in flight, through one
# curl; dies unless all are answered 2xx.
many() {
	local sock=$1 method=$2 fmt=$3 n=$4 data=${5:-} cfg codes i bad
	cfg=$BENCH_WORK/curl-$method.cfg
	codes=$BENCH_WORK/curl-$method.codes
	for ((i = 1; i <= n; i++)); do
		((i == 1)) || echo next
		# shellcheck disable=SC2059 # fmt is ours
		printf 'url = "http://localhost%s"\n' "$(printf "$fmt" "$i")"
		printf 'request = "%s"\noutput = "/dev/null"\n' "$method"
		printf 'write-out = "%%{http_code}\\n"\nmax-time = 120\n'
		printf 'unix-socket = "%s"\n' "$sock"
		if [[ -n $data ]]; then
			printf 'header = "Content-Type: application/json"\n'
			printf 'data = "%s"\n' "${data//\"/\\\"}"
		fi
	done >"$cfg"
	if ! timeout 900 curl -sS --parallel --parallel-max "$PAR" -K "$cfg" \
		>"$codes" 2>"$cfg.err"; then
		tail -5 "$cfg.err" >&2
		bench_die "curl failed: $method $fmt x $n"
	fi
	bad=$(grep -cv '^2[0-9][0-9]$' "$codes" || true)
	if ((bad != 0)); then
		sort "$codes" | uniq -c >&2
		bench_die "$bad of $n $method $fmt were not answered 2xx"
	fi
}

# post_ok SOCK PATH: POST, dies unless 200.
post_ok() {
	local code
	code=$(vm_api "$1" -o /dev/null -w '%{http_code}' -X POST \
		"http://localhost$2") || code=curl-failed
	[[ $code == 200 ]] || bench_die "POST $2 gave $code, want 200"
}

# start_spinning SOCK NAME: starts VM NAME and waits (at most 60 s) until
# its console shows the 9 bytes of "spinning\n": the guest has run.
start_spinning() {
	local sock=$1 name=$2 t size
	post_ok "$sock" "/v1/vms/$name/start"
	for ((t = 0; t < 6000; t++)); do
		size=$(vm_api "$sock" -o /dev/null -w '%{size_download}' \
			"http://localhost/v1/vms/$name/console")
		[[ $size == 9 ]] && return 0
		sleep 0.01
	done
	bench_die "VM $name did not print \"spinning\" within 60 s"
}

# start_pause_share SOCK K N: client K of PAR: start, wait, pause VMs K,
# K + PAR, ... up to N (run in a subshell: a failure exits it).
start_pause_share() {
	local sock=$1 k=$2 n=$3 i name
	for ((i = k; i <= n; i += PAR)); do
		name=$(printf 'mem-%05d' "$i")
		start_spinning "$sock" "$name"
		post_ok "$sock" "/v1/vms/$name/pause"
	done
}

kib() { awk -v k="$1" -v n="$2" 'BEGIN {printf "%.1f", k / n}'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }

ROWS='' DETAIL='' SUMMARY_MET=yes SUMMARY=''
for n in "${COUNTS[@]}"; do
	vm_wait_idle
	dir=$BENCH_WORK/state-$n
	sock=$dir/vmmapid.sock
	port=$(bench_free_port)
	bench_daemon_start "$dir" "$port"
	vm_upload "$sock" "$BENCH_GUESTS/spin.bin" spin.bin
	for p in /v1/vms /v1/vms/none /v1/health; do
		vm_api "$sock" -o /dev/null "http://localhost$p"
	done
	snap "N=$n, cold"
	cold_rss=$S_RSS

	# The warm-up VM: the first run of a process sets up KVM (supported
	# CPUID, the kick signal), a worker thread and the like, once.
	vm_define "$sock" warm spin.bin "$MEM"
	start_spinning "$sock" warm
	post_ok "$sock" "/v1/vms/warm/stop?force=1"
	code=$(vm_api "$sock" -o /dev/null -w '%{http_code}' -X DELETE \
		http://localhost/v1/vms/warm)
	[[ $code == 204 || $code == 200 ]] || bench_die "DELETE warm gave $code"
	snap "N=$n, before (after a warm-up VM)"
	r0_rss=$S_RSS r0_threads=$S_THREADS r0_fds=$S_FDS r0_kernel=$S_KERNEL
	r0_grss=$S_GRSS

	bench_log "defining $n VMs"
	many "$sock" PUT "/v1/vms/mem-%05d" "$n" \
		"{\"vcpus\":1,\"memory_mib\":$MEM,\"boot\":{\"kind\":\"flat\",\"image\":\"spin.bin\"}}"
	snap "N=$n, defined"
	r1_rss=$S_RSS

	bench_log "starting and pausing $n VMs, $PAR clients"
	t0=$(date +%s%N)
	pids=()
	for ((k = 1; k <= PAR && k <= n; k++)); do
		start_pause_share "$sock" "$k" "$n" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || bench_die "starting and pausing the VMs failed"
	done
	t1=$(date +%s%N)
	snap "N=$n, all paused"
	rp_rss=$S_RSS rp_anon=$S_ANON rp_file=$S_FILE rp_threads=$S_THREADS
	rp_kinds=$S_KINDS rp_fds=$S_FDS rp_gsize=$S_GSIZE rp_grss=$S_GRSS
	rp_kernel=$S_KERNEL
	((rp_gsize == n * MEM * 1024)) ||
		bench_log "warning: $rp_gsize kB of guest RAM mapped for $n VMs"

	run_row=
	if ((n <= RUNNING_MAX)); then
		bench_log "resuming $n VMs"
		many "$sock" POST "/v1/vms/mem-%05d/resume" "$n"
		snap "N=$n, all running"
		guest=$((S_GRSS - r0_grss))
		per_ex=$(kib $((S_RSS - r0_rss - guest)) "$n")
		met=no
		bench_ge "$TARGET_KIB" "$per_ex" && met=yes
		[[ $met == yes ]] || SUMMARY_MET=no
		run_row="| $n | running (spinning) | $S_RSS | $S_ANON / $S_FILE | $S_GRSS ($(kib "$guest" "$n")) | **$per_ex** | $(kib $((S_RSS - r0_rss)) "$n") | $S_THREADS ($S_KINDS) | $S_FDS | $met |"
		SUMMARY+="${SUMMARY:+; }$per_ex KiB at N = $n running"
	fi

	bench_log "stopping $n VMs"
	t2=$(date +%s%N)
	many "$sock" POST "/v1/vms/mem-%05d/stop?force=1" "$n"
	t3=$(date +%s%N)
	snap "N=$n, stopped"
	r3_rss=$S_RSS r3_threads=$S_THREADS r3_fds=$S_FDS
	bench_stop "$DAEMON_PID"

	guest=$((rp_grss - r0_grss))
	per_ex=$(kib $((rp_rss - r0_rss - guest)) "$n")
	met=no
	bench_ge "$TARGET_KIB" "$per_ex" && met=yes
	[[ $met == yes ]] || SUMMARY_MET=no
	ROWS+="| $n | paused | $rp_rss | $rp_anon / $rp_file | $rp_grss ($(kib "$guest" "$n")) | **$per_ex** | $(kib $((rp_rss - r0_rss)) "$n") | $rp_threads ($rp_kinds) | $rp_fds | $met |"$'\n'
	[[ -n $run_row ]] && ROWS+="$run_row"$'\n'
	# Machine-wide: only meaningful when the VMs' share stands out.
	kern=$(kib $((rp_kernel - r0_kernel)) "$n")
	((n >= 100)) || kern="— (N too small)"
	DETAIL+="| $n | $cold_rss | $r0_rss ($r0_threads threads, $r0_fds fds) | $r1_rss ($(kib $((r1_rss - r0_rss)) "$n")/VM) | $(secs "$t0" "$t1") s | $(secs "$t2" "$t3") s | $r3_rss ($(kib $((r3_rss - r0_rss)) "$n")/VM; $r3_threads threads, $r3_fds fds) | $kern |"$'\n'
	SUMMARY+="${SUMMARY:+; }$per_ex KiB at N = $n paused"
done

bench_summary "| 6. Daemon memory per VM (spin guest, ${MEM} MiB), guest RAM excluded | $SUMMARY | — | — | < $TARGET_KIB KiB | $SUMMARY_MET |"

cat <<EOF
### 6. Memory per running VM

\`\`\`sh
bench/vm_memory.sh     # BENCH_VM_COUNTS="${COUNTS[*]}"
\`\`\`

For each N a fresh daemon (default flags, KVM backend) and one warm-up VM
(defined, run, stopped, deleted) before R0; then N VMs with the spin
guest, 1 vCPU, $MEM MiB each, defined over the Unix socket by one curl
($PAR requests in flight), then started, seen spinning and paused by $PAR
clients (curl), then (N ≤ $RUNNING_MAX) all resumed. Memory in kB
(\`/proc/PID/status\`), 1 s after each step. Guest RAM: resident pages of
the daemon's guest-RAM mappings (\`/proc/PID/smaps\`; the pages the loader
and the guest touched). Per VM: (VmRSS − R0) / N, in KiB.

| N | VMs | VmRSS | RssAnon / RssFile | guest RAM resident (KiB per VM) | **KiB per VM, guest RAM excluded** | KiB per VM, all | threads | open fds | < $TARGET_KIB KiB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$ROWS
| N | VmRSS cold | R0: after a warm-up VM | defined | starting + pausing all | stopping all | after stopping all | kernel KiB per VM (machine-wide, paused) |
| --- | --- | --- | --- | --- | --- | --- | --- |
$DETAIL
Target: under $TARGET_KIB KiB of daemon memory per running VM, guest RAM
excluded: **$SUMMARY_MET** (every row).
$(vm_idle_note)
EOF
