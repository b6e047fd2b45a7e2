#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The project's one test command (CI runs it through .ci/run). It installs
# what is missing (scripts/install-deps.sh), then runs every stage below in
# a fresh build dir build/ci/<stage>, keeps going after a failed stage, and
# ends with a PASS/FAIL table and the line "<N> passed, <M> failed". The exit
# status is non-zero if any stage failed.
#
#   bash scripts/test-all.sh                      # everything
#   VMSG_STAGES="gcc consumer" bash scripts/test-all.sh   # a subset
#
# Environment:
#   VMSG_STAGES     space-separated stage names (default: all, in order)
#   VMSG_JOBS       build and ctest parallelism (default: nproc)
#   VMSG_SKIP_DEPS  set to 1 to skip scripts/install-deps.sh
#
# Adding a stage: write a function stage_<name> (dashes become underscores)
# that takes its build dir as $1 and fails with a non-zero status (it runs
# with set -e in a subshell), and append <name> to ALL_STAGES.
set -uo pipefail

ALL_STAGES="gcc clang asan-ubsan tsan minimal one-role fuzz aarch64 s390x armhf freestanding firmware model consumer vm"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CI_DIR=$ROOT/build/ci
LOG_DIR=$CI_DIR/logs
JOBS=${VMSG_JOBS:-$(nproc 2>/dev/null || echo 2)}
# Per-test ctest timeouts: a hang must never burn the CI budget (ctest's
# default is 1500 s). qemu-user runs get more room.
NATIVE_TIMEOUT=300
CROSS_TIMEOUT=600
# Messages per ring stress run (tests/CMakeLists.txt VMSG_STRESS_MSGS). The
# plain native builds keep the default; TSan costs 20x to 70x, qemu-user about
# 10x to 30x (ci-toolchain.md), and the -O0 ASan build of the stress test took
# 74 s for the default 10^7 on 2 busy cores, so those stages move fewer.
REDUCED_STRESS_MSGS=1000000

# --------------------------------------------------------------------------
# Helpers for the stages

# cmake_build <build-dir> <cmake args...>: configure with Ninja and build.
cmake_build() {
	local dir=$1
	shift
	cmake -S "$ROOT" -B "$dir" -G Ninja "$@"
	cmake --build "$dir" -j "$JOBS"
}

# report_skips <build-dir>: a cmocka test that skips itself (a role or a
# feature compiled out, an exec that qemu-user cannot do) still lets its
# binary pass, so ctest shows it as passed. Name them, and count them for
# the summary (the line "cmocka tests skipped: N").
report_skips() {
	local log=$1/Testing/Temporary/LastTest.log names
	[ -f "$log" ] || return 0
	names=$(grep -o '^\[  SKIPPED \] test_[A-Za-z0-9_]*' "$log" | sed 's/^\[  SKIPPED \] //' | sort -u)
	echo "cmocka tests skipped: $(printf '%s' "$names" | grep -c . || true)"
	[ -z "$names" ] || printf '  %s\n' $names
}

# run_ctest <build-dir> <timeout>
run_ctest() {
	local rc=0
	ctest --test-dir "$1" --output-on-failure --timeout "$2" -j "$JOBS" </dev/null || rc=$?
	report_skips "$1"
	return "$rc"
}

# cross_stage <build-dir> <triplet>: cross build, tests under qemu-user
# through the toolchain file's CMAKE_CROSSCOMPILING_EMULATOR. UBSan is on:
# it is cheap and works under qemu-user on all three targets, and catches
# misaligned and out-of-range accesses that only show on 32-bit or
# big-endian hosts. ASan and TSan stay native (ci-toolchain.md, P10).
cross_stage() {
	cmake_build "$1" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/$2.cmake" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMSG_WERROR=ON -DVMSG_SANITIZE=undefined \
		-DVMSG_STRESS_MSGS="$REDUCED_STRESS_MSGS"
	UBSAN_OPTIONS=print_stacktrace=1 run_ctest "$1" "$CROSS_TIMEOUT"
}

# --------------------------------------------------------------------------
# Stages: one function each, $1 = the stage's fresh build dir.

stage_gcc() {
	cmake_build "$1" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
		-DCMAKE_BUILD_TYPE=Debug -DVMSG_WERROR=ON
	run_ctest "$1" "$NATIVE_TIMEOUT"
	# The benchmarks (bench/, their own CMake project) must keep building
	# with the library; they are never run here: timed figures are not
	# tests (scripts/bench.sh runs them).
	cmake -S "$ROOT/bench" -B "$1/bench" -G Ninja -DCMAKE_C_COMPILER=gcc \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-Werror"
	cmake --build "$1/bench" -j "$JOBS"
}

stage_clang() {
	cmake_build "$1" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMSG_WERROR=ON
	run_ctest "$1" "$NATIVE_TIMEOUT"
}

stage_asan_ubsan() {
	cmake_build "$1" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=Debug -DVMSG_WERROR=ON -DVMSG_SANITIZE=address,undefined \
		-DVMSG_STRESS_MSGS="$REDUCED_STRESS_MSGS"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run_ctest "$1" "$NATIVE_TIMEOUT"
}

# TSan: with pthreads only (C11 <threads.h> crashes under TSan, P2).
stage_tsan() {
	cmake_build "$1" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMSG_WERROR=ON -DVMSG_SANITIZE=thread \
		-DVMSG_STRESS_MSGS="$REDUCED_STRESS_MSGS"
	TSAN_OPTIONS=halt_on_error=1 run_ctest "$1" "$NATIVE_TIMEOUT"
}

# The smallest configuration (no 2025 profile, no formatter, no error
# strings): the same tests, built from the same sources (a config matrix).
# The posix-shm port takes its portable path here (shm_open, the socket as
# doorbell, poll(); VMSG_POSIX_SHM_PORTABLE), so the fallback for systems
# without memfd/eventfd/epoll runs somewhere.
stage_minimal() {
	cmake_build "$1" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
		-DCMAKE_BUILD_TYPE=Release -DVMSG_WERROR=ON \
		-DVMSG_STRESS_MSGS="$REDUCED_STRESS_MSGS" \
		-DCMAKE_C_FLAGS="-DVMSG_CONFIG_NO_PROFILE_2025=1 -DVMSG_CONFIG_NO_FORMAT=1 -DVMSG_CONFIG_NO_STRERROR=1 -DVMSG_POSIX_SHM_PORTABLE=1"
	run_ctest "$1" "$NATIVE_TIMEOUT"
}

# One role only (config.h): the codec and bus tests against a device-side
# build in the firmware's configuration (2026 profile, no formatter, no
# error strings) and a driver-side build with everything else in. Tests that
# need the compiled-out role check its refusal and are reported skipped.
# The ring and shm options (one memory mode, one index width, no cache
# hooks, owner-only v1 channels, the simple shm-bus wait) run the ring and
# shm tests: the driver build takes coherent memory and 16-bit indices (the
# bus tests' loopback uses both); "firmware" is exactly fw-device.elf's
# configuration (examples/firmware-m4), which test_bus cannot run (its
# loopback needs coherent memory and an attaching side); "v0" has 32-bit
# indices and device memory only. Tests that need what a build left out
# check that it is refused (VMSG_ENOTSUP) and are reported skipped.
stage_one_role() {
	local smallest="-DVMSG_CONFIG_NO_PROFILE_2025=1 -DVMSG_CONFIG_NO_FORMAT=1 -DVMSG_CONFIG_NO_STRERROR=1"
	local fw="-DVMSG_CONFIG_SPSC_MEM_ONLY_DEVICE=1 -DVMSG_CONFIG_SPSC_INDEX16_ONLY=1 -DVMSG_CONFIG_NO_CACHE_OPS=1 -DVMSG_CONFIG_SHM_V1_OWNER_ONLY=1 -DVMSG_CONFIG_SHM_BUS_SIMPLE_WAIT=1"
	local proto="test_proto_golden test_proto_reject test_proto_misc"
	local ring="test_spsc test_spsc_hostile test_shm_layout test_shm_lifecycle"
	local build flags tests
	for build in device driver firmware v0; do
		case $build in
		device) flags="$smallest -DVMSG_CONFIG_ROLE_DEVICE_ONLY=1"; tests="$proto test_bus" ;;
		driver) flags="-DVMSG_CONFIG_ROLE_DRIVER_ONLY=1 -DVMSG_CONFIG_SPSC_MEM_ONLY_COHERENT=1 -DVMSG_CONFIG_SPSC_INDEX16_ONLY=1 -DVMSG_CONFIG_NO_CACHE_OPS=1 -DVMSG_CONFIG_SHM_BUS_SIMPLE_WAIT=1"
			tests="$proto test_bus $ring" ;;
		firmware) flags="$smallest -DVMSG_CONFIG_ROLE_DEVICE_ONLY=1 $fw"; tests="$proto $ring" ;;
		v0) flags="-DVMSG_CONFIG_SPSC_INDEX32_ONLY=1 -DVMSG_CONFIG_SPSC_MEM_ONLY_DEVICE=1"; tests="$ring" ;;
		esac
		cmake -S "$ROOT" -B "$1/$build" -G Ninja -DCMAKE_C_COMPILER=gcc \
			-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DVMSG_WERROR=ON \
			-DCMAKE_C_FLAGS="$flags"
		# shellcheck disable=SC2086 # a list of targets
		cmake --build "$1/$build" -j "$JOBS" --target $tests
		ctest --test-dir "$1/$build" --output-on-failure --timeout "$NATIVE_TIMEOUT" \
			-j "$JOBS" -R "^(${tests// /|})\$" </dev/null
		report_skips "$1/$build"
	done
}

# libFuzzer (clang, ASan+UBSan) on every fuzz target for 15 s each, on a
# copy of its seed corpus (scripts/fuzz.sh, fuzz/README.md): 8 targets,
# about 2.5 minutes with the build. The seed corpora themselves run as ctest tests
# (fuzz_*_replay) in every other stage.
stage_fuzz() {
	VMSG_JOBS=$JOBS bash "$ROOT/scripts/fuzz.sh" --time 15 --build "$1"
}

stage_aarch64() {
	cross_stage "$1" aarch64-linux-gnu
}

# s390x: the big-endian target.
stage_s390x() {
	cross_stage "$1" s390x-linux-gnu
}

# armhf: the 32-bit target.
stage_armhf() {
	cross_stage "$1" arm-linux-gnueabihf
}

stage_freestanding() {
	bash "$ROOT/scripts/build-freestanding.sh" "$1"
}

# Both sides of a bus in one Cortex-M4 image under qemu-system-arm; prints
# the linked size per module.
stage_firmware() {
	bash "$ROOT/scripts/run-firmware.sh" "$1"
}

# spin model check of the ring and the lifecycle (model/): the protocol
# must verify, and every planted-bug variant must be caught.
stage_model() {
	mkdir -p "$1" && TMPDIR="$1" bash "$ROOT/scripts/check-model.sh"
}

stage_consumer() {
	bash "$ROOT/scripts/consumer-check.sh" "$1"
}

# Real VMs under qemu-system (TCG): Debian's kernels in x86_64 and arm64
# guests with ivshmem-doorbell devices bound to vfio-pci or uio_pci_generic
# (tests/vm/README.md). Kernels are cached in build/vm-cache.
stage_vm() {
	bash "$ROOT/tests/vm/run-all.sh" "$1"
}

# --------------------------------------------------------------------------
# Driver

stages=${VMSG_STAGES:-$ALL_STAGES}
for s in $stages; do
	if ! declare -F "stage_${s//-/_}" >/dev/null; then
		echo "test-all: unknown stage '$s' (known: $ALL_STAGES)" >&2
		exit 2
	fi
done

banner() {
	printf '\n==========================================================================\n'
	printf '== %s\n' "$*"
	printf '==========================================================================\n'
}

t_start=$SECONDS
deps_ok=1
if [ "${VMSG_SKIP_DEPS:-0}" != 1 ]; then
	banner "install-deps"
	if ! bash "$ROOT/scripts/install-deps.sh" </dev/null; then
		echo "test-all: install-deps.sh failed; running the stages anyway" >&2
		deps_ok=0
	fi
fi

mkdir -p "$LOG_DIR"
names=()
results=()
times=()
n_pass=0
n_fail=0
total=$(echo $stages | wc -w)
i=0
for s in $stages; do
	i=$((i + 1))
	dir=$CI_DIR/$s
	log=$LOG_DIR/$s.log
	banner "stage $s ($i/$total)  build dir: build/ci/$s"
	rm -rf "$dir"
	mkdir -p "$dir"
	t0=$SECONDS
	# A subshell with set -e, not in an if/||/&& context (which would turn
	# set -e off inside it): the first failing command ends the stage.
	(
		set -e
		"stage_${s//-/_}" "$dir"
	) </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	dt=$((SECONDS - t0))
	names+=("$s")
	times+=("$dt")
	if [ "$rc" -eq 0 ]; then
		results+=(PASS)
		n_pass=$((n_pass + 1))
		echo "== stage $s: PASS (${dt}s)"
	else
		results+=(FAIL)
		n_fail=$((n_fail + 1))
		echo "== stage $s: FAIL (exit $rc, ${dt}s; log: build/ci/logs/$s.log)"
	fi
done

# The tail of each failed stage's log again, so a CI reader finds the error
# without scrolling through the other stages.
for idx in "${!names[@]}"; do
	if [ "${results[$idx]}" = FAIL ]; then
		banner "last lines of failed stage ${names[$idx]}"
		tail -n 40 "$LOG_DIR/${names[$idx]}.log"
	fi
done

banner "summary ($((SECONDS - t_start))s)"
printf '%-16s %-6s %-8s %s\n' stage result seconds "cmocka tests skipped"
for idx in "${!names[@]}"; do
	skipped=$(sed -n 's/^cmocka tests skipped: //p' "$LOG_DIR/${names[$idx]}.log" |
		awk '{ n += $1 } END { print n + 0 }')
	printf '%-16s %-6s %-8s %s\n' "${names[$idx]}" "${results[$idx]}" "${times[$idx]}" "$skipped"
done
if [ "$deps_ok" -eq 0 ]; then
	echo "(install-deps.sh failed)"
fi
echo "$n_pass passed, $n_fail failed"

if [ "$n_fail" -ne 0 ] || [ "$deps_ok" -eq 0 ]; then
	exit 1
fi
exit 0
