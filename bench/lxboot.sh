#!/usr/bin/env bash
# 7. What booting a Linux bzImage costs the host before the guest runs:
# lxboot_load with the payload decompressed on the host, without cache,
# storing into the cache, and from it; the decompression alone; the
# guest-side mode (the image copied as is) for scale
# (bench/lxboot_decompress.c).  No guest runs: the figures hold on a
# host that is itself a guest, and say so.
#
#   bench/lxboot.sh [KERNEL]
#
# KERNEL is a bzImage; by default BENCH_KERNEL, else the one in
# $BENCH_BUILD/kernel/ fetched before, else the kernel package that
# linux-image-amd64 depends on, fetched with apt-get download (as
# tests/kvmhost/run does) and unpacked there.  BENCH_RUNS_LXBOOT runs
# each [7], at least 5.
set -euo pipefail
# shellcheck shell=bash source=SCRIPTDIR/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
trap bench_cleanup EXIT
RUNS=${BENCH_RUNS_LXBOOT:-7}
((RUNS < 5)) && RUNS=5 # a median of at least five
BIN=$BENCH_BUILD/bench_lxboot_decompress

kernel=${1:-${BENCH_KERNEL:-}}
if [[ -z $kernel ]]; then
	kernel=$(find "$BENCH_BUILD/kernel" -name 'vmlinuz-*' -print -quit 2>/dev/null || true)
fi
if [[ -z $kernel ]]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[[ -n $pkg ]] || bench_die "apt does not know linux-image-amd64; give a bzImage: bench/lxboot.sh KERNEL"
	mkdir -p "$BENCH_BUILD/kernel"
	bench_log "fetching $pkg with apt-get download"
	(cd "$BENCH_BUILD/kernel" && apt-get -o APT::Sandbox::User="$(id -un)" \
		download "$pkg" >&2) || bench_die "apt-get download $pkg failed"
	dpkg-deb --fsys-tarfile "$BENCH_BUILD/kernel/$pkg"_*.deb |
		tar -x -C "$BENCH_BUILD/kernel" --wildcards './boot/vmlinuz-*'
	rm -f "$BENCH_BUILD/kernel/$pkg"_*.deb
	kernel=$(find "$BENCH_BUILD/kernel" -name 'vmlinuz-*' -print -quit)
fi
[[ -r $kernel ]] || bench_die "cannot read the kernel $kernel"

if [[ $BENCH_NO_BUILD != 1 ]]; then
	bench_log "building bench_lxboot_decompress (Release) in $BENCH_BUILD"
	mkdir -p "$BENCH_BUILD"
	cmake -S "$BENCH_REPO" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DVMMAPID_TESTS=OFF >"$BENCH_BUILD.cmake.log" 2>&1 ||
		{ cat "$BENCH_BUILD.cmake.log" >&2; bench_die "cmake failed"; }
	cmake --build "$BENCH_BUILD" --target bench_lxboot_decompress -j2 \
		>>"$BENCH_BUILD.cmake.log" 2>&1 ||
		{ tail -40 "$BENCH_BUILD.cmake.log" >&2; bench_die "build failed"; }
fi
[[ -x $BIN ]] || bench_die "$BIN is not built"

bench_host_nested
busy=$(bench_wait_quiet)
echo "### Linux boot: host-side decompression ($(date -u +%Y-%m-%d))"
echo
echo "\`bench/lxboot.sh $kernel\`: $(nproc) CPUs ($(lscpu | awk -F': *' '$1 == "Model name" {print $2}'))${BENCH_NESTED:+, ${BENCH_NESTED}}; machine ${busy}% busy before the run."
echo
"$BIN" -n "$RUNS" -d "$BENCH_TMP" "$kernel"
