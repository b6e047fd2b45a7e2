#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the libFuzzer targets (fuzz/, clang with ASan+UBSan) and run each
# for a while on a COPY of its seed corpus (libFuzzer adds what it finds to
# the corpus directory; fuzz/corpus/ stays as committed). Exits non-zero
# if any target crashed, leaked, hit a sanitizer report, a failed check or
# a timeout, and prints the reproducer file for each.
#
#   bash scripts/fuzz.sh                      # every target, 20 s each
#   bash scripts/fuzz.sh --time 60 fuzz_bus   # one target, 60 s
#
# Options:
#   --time N      seconds per target (default 20)
#   --build DIR   build directory (default build/fuzz); reproducers, logs
#                 and the corpus copies go to DIR/fuzz-out
#   --no-build    use the binaries already in DIR
# Environment: VMSG_JOBS build parallelism (default nproc).
# A reproducer replays with:  DIR/fuzz/<target> <file>   (or the plain
# DIR/fuzz/<target>_replay of any build); see fuzz/README.md for turning it
# into a regression seed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=20
BUILD=$ROOT/build/fuzz
DO_BUILD=1
TARGETS=()
ALL="fuzz_proto_decode fuzz_shm_layout fuzz_spsc_ring fuzz_shm_bus fuzz_bus fuzz_pshm_hello fuzz_ivsh_client fuzz_ivshmem_peer"

while [ $# -gt 0 ]; do
	case $1 in
	--time) TIME=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--no-build) DO_BUILD=0; shift ;;
	-h|--help) sed -n '3,22p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) TARGETS+=("$1"); shift ;;
	esac
done
[ ${#TARGETS[@]} -eq 0 ] && read -r -a TARGETS <<<"$ALL"
case $TIME in ''|*[!0-9]*) echo "fuzz.sh: --time needs whole seconds" >&2; exit 2 ;; esac

if [ "$DO_BUILD" = 1 ]; then
	cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMSG_FUZZ=ON -DVMSG_BUILD_TESTS=OFF \
		-DVMSG_BUILD_EXAMPLES=OFF -DVMSG_INSTALL=OFF -DVMSG_WERROR=ON || exit 1
	cmake --build "$BUILD" -j "${VMSG_JOBS:-$(nproc 2>/dev/null || echo 2)}" \
		--target "${TARGETS[@]}" || exit 1
fi

OUT=$BUILD/fuzz-out
mkdir -p "$OUT"
failed=0
summary=()
for t in "${TARGETS[@]}"; do
	bin=$BUILD/fuzz/$t
	seeds=$ROOT/fuzz/corpus/$t
	work=$OUT/$t
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz.sh: no binary $bin or corpus $seeds" >&2
		failed=1
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$seeds"/* "$work/corpus/"
	echo "== $t: ${TIME}s on a copy of fuzz/corpus/$t ($(ls "$seeds" | wc -l) seeds)"
	# -timeout: one input taking longer is a hang; -rss_limit_mb: a leak
	# or runaway allocation; leaks are reported by ASan at exit of each run.
	"$bin" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 </dev/null
	rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$work/log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "== $t: FAILED (exit $rc); log: $work/log"
		grep -E 'ERROR|fuzz check failed|runtime error|SUMMARY' "$work/log" | head -n 5
		for f in "$work"/artifacts/*; do
			[ -e "$f" ] && echo "   reproducer: $f"
		done
		summary+=("$(printf '%-20s FAIL  (exit %s)' "$t" "$rc")")
	else
		echo "== $t: ok  $stats"
		summary+=("$(printf '%-20s ok    %s exec/s  %s' "$t" "${eps:-?}" \
			"$(echo "$stats" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+')")")
	fi
done

echo
echo "fuzz summary (${TIME}s each):"
printf '  %s\n' "${summary[@]}"
exit $failed
