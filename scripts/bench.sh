#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The ring benchmark (bench/README.md). Configures and builds bench/ (a
# standalone CMake project, not part of the main build) into build/bench with
# CMAKE_BUILD_TYPE=Release (-O2), runs it and prints the results; a copy of
# the output goes to build/bench/results-<date>.txt.
#
#   bash scripts/bench.sh                  library ring vs. baselines, the bus
#                                          PING, peer death detection (~30 s)
#   bash scripts/bench.sh --quick          3 short runs per figure (smoke test)
#   bash scripts/bench.sh --experiments    also every bench/experiments/ring_*.c
#                                          variant, and the shared-library build of
#                                          ring.c and of ring_pf.c
#   bash scripts/bench.sh --icount         also instructions per message
#                                          (valgrind, if installed)
#   bash scripts/bench.sh --all            --experiments and --icount
#   bash scripts/bench.sh -- -r 9 -t 200   options for bench_ring itself
#
# Figures are information: a missed target never fails this script. It exits
# non-zero only if the build fails or a benchmark does (bench_ring reports
# corrupted messages, bench_death a request not failed with VMSG_ECONNRESET).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build/bench
QUICK=0
EXPERIMENTS=0
ICOUNT=0
BENCH_ARGS=()

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--experiments) EXPERIMENTS=1 ;;
	--icount) ICOUNT=1 ;;
	--all) EXPERIMENTS=1; ICOUNT=1 ;;
	--) shift; BENCH_ARGS=("$@"); break ;;
	-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
	esac
	shift
done
if [ $QUICK = 1 ]; then
	BENCH_ARGS=(-q "${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}")
fi

GEN=()
if command -v ninja >/dev/null 2>&1; then
	GEN=(-G Ninja)
fi
# Reuse an existing build tree with whatever generator made it.
if [ -f "$BUILD/CMakeCache.txt" ]; then
	GEN=()
fi
# The experiment copies of ring.c are generated, never committed: their
# generator applies each documented edit to today's ring.c, or stops.
if [ $EXPERIMENTS = 1 ]; then
	python3 "$ROOT/bench/experiments/gen_variants.py"
fi
cmake -S "$ROOT/bench" -B "$BUILD" "${GEN[@]+"${GEN[@]}"}" -DCMAKE_BUILD_TYPE=Release \
	-DVMSG_BENCH_EXPERIMENTS=$EXPERIMENTS >/dev/null
# Build only what this run needs (all variants take a while on 2 cores).
if [ $EXPERIMENTS = 1 ] || [ $ICOUNT = 1 ]; then
	cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
else
	cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target bench_ring bench_bus bench_death >/dev/null
fi

OUT=$BUILD/results-$(date +%Y%m%d-%H%M%S).txt

run() {
	# run <binary> [args]: print its output, keep going after a failure
	# (marked "!! " for the exit status below).
	local rc=0
	"$@" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "!! $(basename "$1") exited with status $rc"
	fi
}

# Instructions per message: the difference of two valgrind totals divided
# by the difference of the message counts (start-up cost cancels out).
icount_table() {
	local modes="lib_b1 tb_b1 lib_b32 tb_b32 v1_b1 lib_empty tb_empty lib_kick"
	local bins=("$BUILD"/bench_icount "$BUILD"/bench_icount_exp_*)
	local b m a z
	echo
	echo "instructions per message (valgrind --tool=callgrind; push+pop, single thread)"
	printf "  %-10s" "mode"
	for b in "${bins[@]}"; do
		[ -x "$b" ] || continue
		printf " %14s" "$(basename "$b" | sed 's/^bench_icount_exp_/exp_/; s/^bench_icount$/ring.c/')"
	done
	echo
	for m in $modes; do
		printf "  %-10s" "$m"
		for b in "${bins[@]}"; do
			[ -x "$b" ] || continue
			a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" "$m" 3200 2>&1 |
				awk '/Collected/ {print $4}')
			z=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" "$m" 35200 2>&1 |
				awk '/Collected/ {print $4}')
			printf " %14s" "$(((z - a) / 32000))"
		done
		echo
	done
}

# Percent of all CPUs busy over one second (Linux /proc/stat), or "?".
cpu_busy() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat 2>/dev/null) || { echo "?"; return; }
	sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat 2>/dev/null) || { echo "?"; return; }
	echo "$a $b" | awk '{ busy = $3 - $1; idle = $4 - $2;
		if (busy + idle > 0) printf "%d", 100 * busy / (busy + idle); else print "?" }'
}

{
	busy=$(cpu_busy)
	echo "scripts/bench.sh: $(uname -srm); CPUs busy before the run: ${busy}%"
	if [ "$busy" != "?" ] && [ "$busy" -gt 20 ]; then
		echo "NOTE: other processes keep the CPUs busy: figures come from the median"
		echo "interval of each run, but expect wider ranges (see bench/README.md)."
	fi
	echo
	run "$BUILD/bench_ring" "${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}"
	echo
	echo "=============================================================="
	run "$BUILD/bench_bus"
	echo
	echo "=============================================================="
	# Peer death (issue 4): a few seconds; 5 runs per case with --quick.
	if [ $QUICK = 1 ]; then
		run "$BUILD/bench_death" 5
	else
		run "$BUILD/bench_death"
	fi
	if [ $EXPERIMENTS = 1 ]; then
		# Shorter runs for the variants unless told otherwise.
		EXP_ARGS=("${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}")
		if [ ${#EXP_ARGS[@]} -eq 0 ]; then
			EXP_ARGS=(-r 5 -t 60)
		fi
		for b in "$BUILD"/bench_ring_shared "$BUILD"/bench_ring_exp_* \
			"$BUILD"/bench_ring_shared_exp_pf; do
			[ -x "$b" ] || continue
			# nofence is unsafe on purpose: its sleeping-consumer
			# figures would wait out lost wake-ups. It is measured
			# with bench_bus_exp_nofence N stream (bench/README.md).
			case "$b" in *_exp_nofence) continue ;; esac
			echo
			echo "=============================================================="
			run "$b" "${EXP_ARGS[@]}"
		done
	fi
	if [ $ICOUNT = 1 ]; then
		if command -v valgrind >/dev/null 2>&1; then
			icount_table
		else
			echo "(valgrind not installed: no instruction counts)"
		fi
	fi
} 2>&1 | tee "$OUT"
echo
echo "results saved to ${OUT#"$ROOT"/}"
# The block above ran in a pipe: take its verdict from the log.
if grep -q '^!! ' "$OUT"; then
	exit 2
fi
exit 0
