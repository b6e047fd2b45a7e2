#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run-all.sh BUILD_DIR: the real-VM tests (scripts/test-all.sh stage "vm").
#
#   1. builds the programs statically: BUILD_DIR/amd64 (native) and
#      BUILD_DIR/arm64 (cmake/toolchains/aarch64-linux-gnu.cmake), only the
#      targets in GUEST_TARGETS and HOST_TARGETS that exist;
#   2. fetches Debian's kernels (fetch-kernel.sh; cached, see VMSG_VM_CACHE)
#      while the programs build;
#   3. packs one initramfs per arch with the guest programs;
#   4. decides the accelerator once (tcg unless KVM demonstrably works);
#   5. runs tests/vm/scenario-smoke.sh, then the other scenario-*.sh in name
#      order, each in its own process,
#      and prints PASS/FAIL, wall time and accelerator per scenario.
# Exit status non-zero if anything failed.
#
# Environment:
#   VMSG_VM_CACHE      kernel/busybox cache (default: <repo>/build/vm-cache,
#                      outside build/ci so test-all.sh does not wipe it)
#   VMSG_VM_SCENARIOS  space-separated scenario names to run (default: all),
#                      e.g. "smoke" for scenario-smoke.sh
#   VMSG_VM_SERVER     ivshmem server command (default: the project's
#                      vmsg-ivshmem-server built here)
#   VMSG_VM_ACCEL      tcg | kvm: skip the accelerator decision
#   VMSG_JOBS          build parallelism (default 2: the CI machine has 2
#                      cores, shared with the QEMUs)
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
cache=${VMSG_VM_CACHE:-$root/build/vm-cache}
mkdir -p "$cache" "$build/logs"
cache=$(cd "$cache" && pwd)
jobs=${VMSG_JOBS:-2}
[ "$jobs" -le 2 ] || jobs=2

# Programs for the guests (into each initramfs) and for the host side. A
# name whose target does not exist (yet) is skipped.
GUEST_TARGETS="vmsg_vm_probe vmsg_vm_node"
HOST_TARGETS="vmsg-ivshmem-server vmsg_vm_node"

t_start=$(date +%s.%N)
phase_t=$t_start
phase() { # phase NAME: log the time the previous phase took
	local now
	now=$(date +%s.%N)
	awk -v n="$1" -v a="$phase_t" -v b="$now" -v s="$t_start" \
		'BEGIN { printf "vm: %-28s %6.1f s (total %.1f s)\n", n, b - a, b - s }'
	phase_t=$now
}

# --- kernels, in the background while the programs build -------------------
declare -A fetch_pid
for arch in amd64 arm64; do
	bash "$here/fetch-kernel.sh" "$arch" "$cache" >"$build/logs/fetch-$arch.log" 2>&1 &
	fetch_pid[$arch]=$!
done

# --- static programs --------------------------------------------------------
# present_targets DIR NAMES...: the names that are targets in DIR's build.
present_targets() {
	local dir=$1 t out=""
	shift
	for t in "$@"; do
		if ninja -C "$dir" -t query "$t" >/dev/null 2>&1; then out="$out $t"; fi
	done
	echo "$out"
}

build_tree() { # build_tree ARCH TARGETS...
	local arch=$1 dir=$build/$1 tc=()
	shift
	[ "$arch" = arm64 ] && tc=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake")
	# Static so the programs run in a guest with no libc, and on any host.
	cmake -S "$root" -B "$dir" -G Ninja "${tc[@]}" -DCMAKE_BUILD_TYPE=Release \
		-DVMSG_BUILD_SHARED=OFF -DCMAKE_EXE_LINKER_FLAGS=-static \
		-DVMSG_BUILD_EXAMPLES=OFF -DVMSG_WERROR=ON >"$build/logs/cmake-$arch.log" 2>&1 ||
		{ cat "$build/logs/cmake-$arch.log"; return 1; }
	local targets
	phase "configure $arch"
	targets=$(present_targets "$dir" "$@")
	echo "vm: building for $arch:$targets"
	# shellcheck disable=SC2086
	cmake --build "$dir" -j "$jobs" --target $targets
}

# One list, duplicates dropped (a program may run on both sides).
# shellcheck disable=SC2046,SC2086
build_tree amd64 $(echo $GUEST_TARGETS $HOST_TARGETS | tr ' ' '\n' | sort -u)
phase "static programs amd64"
# shellcheck disable=SC2086
build_tree arm64 $GUEST_TARGETS
phase "static programs arm64"

for arch in amd64 arm64; do
	if ! wait "${fetch_pid[$arch]}"; then
		cat "$build/logs/fetch-$arch.log"
		echo "vm: fetching the $arch kernel failed" >&2
		exit 1
	fi
	cat "$build/logs/fetch-$arch.log"
done
phase "kernels (overlapped)"

# --- initramfs per arch -------------------------------------------------------
for arch in amd64 arm64; do
	progs=()
	# shellcheck disable=SC2086
	for t in $(present_targets "$build/$arch" $GUEST_TARGETS); do
		f=$(find "$build/$arch" -type f -name "$t" -perm -u+x | head -n 1)
		[ -n "$f" ] || { echo "vm: $t was not built for $arch" >&2; exit 1; }
		progs+=("$f")
	done
	bash "$here/build-initramfs.sh" "$arch" "$cache" "$build/initrd-$arch.gz" "${progs[@]}"
done
phase "initramfs"

# --- accelerator ------------------------------------------------------------
export VMSG_VM_DIR=$build VMSG_VM_CACHE=$cache
[ -n "${VMSG_VM_SERVER:-}" ] && export VMSG_VM_SERVER
rm -f "$build/accel"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
vm_pick_accel >/dev/null # logs its reason once
accel=$(vm_accel_summary)
phase "accelerator: $accel"

# --- scenarios ----------------------------------------------------------------
names=()
results=()
times=()
failed=0
# The harness's own smoke test first: when it fails, the other scenarios'
# failures are about the environment, not the library.
scenarios=()
[ -f "$here/scenario-smoke.sh" ] && scenarios+=("$here/scenario-smoke.sh")
for s in "$here"/scenario-*.sh; do
	[ "$s" = "$here/scenario-smoke.sh" ] || scenarios+=("$s")
done
for s in "${scenarios[@]}"; do
	name=${s##*/scenario-}
	name=${name%.sh}
	if [ -n "${VMSG_VM_SCENARIOS:-}" ] && ! [[ " $VMSG_VM_SCENARIOS " == *" $name "* ]]; then
		continue
	fi
	echo
	echo "=== vm scenario $name ($accel)"
	t0=$(date +%s.%N)
	set +e
	bash "$s" </dev/null 2>&1 | tee "$build/logs/scenario-$name.log"
	rc=${PIPESTATUS[0]}
	set -e
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	names+=("$name")
	times+=("$dt")
	if [ "$rc" -eq 0 ]; then
		results+=(PASS)
	else
		results+=(FAIL)
		failed=$((failed + 1))
	fi
	echo "=== vm scenario $name: ${results[-1]} (${dt} s, $accel)"
done

echo
printf '%-20s %-6s %8s  %s\n' scenario result seconds accelerator
for i in "${!names[@]}"; do
	printf '%-20s %-6s %8s  %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}" "$accel"
done
phase "scenarios"
if [ ${#names[@]} -eq 0 ]; then
	echo "vm: no scenario matched VMSG_VM_SCENARIOS='${VMSG_VM_SCENARIOS:-}'" >&2
	exit 1
fi
echo "vm: ${#names[@]} scenario(s), $failed failed"
[ "$failed" -eq 0 ]
