#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Model-check the ring protocol (docs/ring-protocol.md) with spin.
#
# For each model in model/ it runs the real model, which must come out with
# "errors: 0", and a set of bug variants (spin -D...), each of which must
# make pan report an error of the expected kind, so the models can never
# pass by checking nothing. pan exits 0 even when it finds an error, so the
# verdict comes from its output, not its exit status. Prints one line per
# check and a summary; exits non-zero if any check went the wrong way.
#
#   bash scripts/check-model.sh
#
# Environment:
#   VMSG_MODEL_KEEP=1   keep the work directory (pan.c, trails, logs)
#   VMSG_MODEL_MEMLIM   pan memory limit in MB (default 1024)
#
# Needs spin and gcc. model/README.md describes the models and variants.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
models=$root/model
memlim=${VMSG_MODEL_MEMLIM:-1024}

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check-model: $tool not found (install: apt-get install spin gcc)" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vmsg-model.XXXXXX")
if [ "${VMSG_MODEL_KEEP:-0}" = 1 ]; then
	echo "check-model: work directory $work (kept)"
else
	trap 'rm -rf "$work"' EXIT
fi

# pan settings shared by every check: depth bound, 2^22-slot hash table,
# state-vector compression, a hard memory limit. ring.pml's searches are
# tiny, so its pan is built with -O0 (compiling is the larger cost there);
# lifecycle.pml's and plain_v1.pml's take millions of states and get -O2.
CC_FLAGS=(-w -DCOLLAPSE "-DMEMLIM=$memlim")
PAN_FLAGS=(-m100000 -w22)

passed=0
failed=0
n=0

now_ms() { date +%s%3N; }

# check MODEL MODE EXPECT [SPIN_DEFINE...]
#   MODE    safety: assertions, invalid end states (pan -DSAFETY, no claim)
#           live:   the model's ltl formula (pan -a); for a bug variant
#                   assertions are switched off (-A) so that the ltl formula
#                   itself has to catch the bug
#   EXPECT  "pass" (errors: 0), or an extended regex that pan's output must
#           match together with "errors: [1-9]"
check() {
	local model=$1 mode=$2 expect=$3
	shift 3
	local variant=${*:-}
	variant=${variant//-D/}
	local label="${model%.pml} ${mode}${variant:+ $variant}"
	n=$((n + 1))
	local dir=$work/$n
	mkdir -p "$dir"
	cp "$models/$model" "$dir/"

	local cc=("${CC_FLAGS[@]}") pan=("${PAN_FLAGS[@]}")
	# a bug variant of plain_v1.pml stops at its first error, after a few
	# thousand states: compiling is the larger cost there too
	if [ "$model" = ring.pml ] || { [ "$model" = plain_v1.pml ] && [ "$expect" != pass ]; }; then
		cc+=(-O0)
	else
		cc+=(-O2)
	fi
	if [ "$mode" = safety ]; then
		cc+=(-DSAFETY -DNOCLAIM)
	else
		pan+=(-a)
		[ "$expect" = pass ] || pan+=(-A)
	fi

	local t0 verdict detail out
	t0=$(now_ms)
	if ! (cd "$dir" && spin -a "$@" "$model") >"$dir/spin.log" 2>&1; then
		verdict=FAIL
		detail="spin -a failed: $(head -n 3 "$dir/spin.log" | tr '\n' ' ')"
	elif ! (cd "$dir" && gcc "${cc[@]}" -o pan pan.c) >"$dir/cc.log" 2>&1; then
		verdict=FAIL
		detail="gcc failed: $(head -n 3 "$dir/cc.log" | tr '\n' ' ')"
	else
		(cd "$dir" && ./pan "${pan[@]}") >"$dir/pan.log" 2>&1 || true
		out=$dir/pan.log
		local errs states first
		errs=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
		states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -n 1)
		first=$(grep -m 1 -E '^pan:[0-9]+: ' "$out" | sed 's/^pan:[0-9]*: //' || true)
		if [ -z "$errs" ]; then
			verdict=FAIL
			detail="pan did not finish: $(tail -n 2 "$out" | tr '\n' ' ')"
		elif [ "$expect" = pass ]; then
			if [ "$errs" = 0 ] && ! grep -qE 'max search depth too small|out of memory|memory limit' "$out"; then
				verdict=PASS
				detail="errors: 0, ${states:-?} states"
			else
				verdict=FAIL
				detail="errors: $errs: ${first:-$(grep -m 1 -E 'depth too small|memory' "$out")}"
			fi
		else
			if [ "$errs" -ge 1 ] && grep -qE "$expect" "$out"; then
				verdict=PASS
				detail="error found as expected: $first"
			elif [ "$errs" -ge 1 ]; then
				verdict=FAIL
				detail="unexpected kind of error: $first"
			else
				verdict=FAIL
				detail="bug variant not detected (errors: 0)"
			fi
		fi
	fi
	local dt=$(( $(now_ms) - t0 ))
	printf '%-4s  %-40s %4d.%01ds  %s\n' "$verdict" "$label" \
		$((dt / 1000)) $((dt % 1000 / 100)) "$detail"
	if [ "$verdict" = PASS ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		if [ "$expect" = pass ] && ls "$dir"/*.trail >/dev/null 2>&1; then
			echo "----- counterexample (spin -t, last 40 steps) -----"
			(cd "$dir" && spin -t -p -g -l "$@" "$model" 2>&1 | tail -n 40) || true
			echo "---------------------------------------------------"
		fi
	fi
}

t_all=$(now_ms)

# One ring with kick suppression (model/ring.pml).
check ring.pml safety pass
check ring.pml live   pass
check ring.pml safety 'assertion violated .*sleeping'  -DBUG_NO_RECHECK
check ring.pml live   'acceptance cycle'               -DBUG_NO_RECHECK
check ring.pml safety 'assertion violated .*sleeping'  -DBUG_NO_FENCE_CONSUMER
check ring.pml safety 'assertion violated .*sleeping'  -DBUG_NO_FENCE_PRODUCER
check ring.pml live   'acceptance cycle'               -DBUG_NO_FENCE_PRODUCER
check ring.pml safety 'assertion violated .*expect'    -DBUG_PUBLISH_BEFORE_WRITE
check ring.pml safety 'assertion violated|invalid end state' -DBUG_NO_EMPTY_SLOT
check ring.pml safety 'assertion violated .*sleeping'  -DBUG_SAME_TOKEN
check ring.pml live   'acceptance cycle'               -DBUG_SAME_TOKEN
check ring.pml safety 'assertion violated .*sleeping'  -DBUG_SUPPRESS_ANY_ARMED
# Deferred kick checks (vmsg_shm_bus_cork()): correct with the flushes,
# rejected without the one at the end or the one before waiting for room.
check ring.pml safety pass                             -DDEFER_KICK
check ring.pml live   pass                             -DDEFER_KICK
check ring.pml safety 'assertion violated .*sleeping'  -DDEFER_KICK -DBUG_DEFER_NO_FLUSH
check ring.pml live   'acceptance cycle'               -DDEFER_KICK -DBUG_DEFER_NO_FLUSH
check ring.pml safety 'assertion violated .*sleeping'  -DDEFER_KICK -DBUG_DEFER_NO_FLUSH_FULL
check ring.pml live   'acceptance cycle'               -DDEFER_KICK -DBUG_DEFER_NO_FLUSH_FULL

# Lifecycle with restarts, guard and both rings (model/lifecycle.pml).
check lifecycle.pml safety pass
check lifecycle.pml live   pass
check lifecycle.pml safety 'assertion violated \(m!=0\)'   -DDOC_STEP1_ZERO
check lifecycle.pml safety 'assertion violated'             -DDOC_STEP1_ORDER
check lifecycle.pml safety 'assertion violated|invalid end state' -DDOC_STEP3
check lifecycle.pml live   'acceptance cycle'               -DDOC_STEP3
check lifecycle.pml safety 'assertion violated'             -DBUG_NO_GUARD
check lifecycle.pml safety 'assertion violated'             -DBUG_RESET_BEFORE_STATE
check lifecycle.pml safety 'assertion violated'             -DBUG_NO_EPOCH
check lifecycle.pml safety 'assertion violated'             -DBUG_NO_DISCARD

# Our rules for a plain v1 peer (Linux, QEMU) that restarts
# (model/plain_v1.pml), exhaustive in three bounded configurations
# (model/README.md, "plain_v1.pml"): peer restarts only, our crashes only,
# both with one message per life/session.
P1U0=(-DMAXP=1 -DMAXU=0)
P0U1=(-DMAXP=0 -DMAXU=1)
P1U1=(-DMAXP=1 -DMAXU=1 -DKP=1 -DKU=1)
check plain_v1.pml safety pass "${P1U0[@]}"
check plain_v1.pml safety pass "${P0U1[@]}"
check plain_v1.pml safety pass "${P1U1[@]}"
check plain_v1.pml live   pass "${P0U1[@]}"
check plain_v1.pml live   pass -DMAXP=1 -DMAXU=0 -DKP=1 -DKU=1
check plain_v1.pml safety 'assertion violated' -DBUG_READY_RESET "${P0U1[@]}"
check plain_v1.pml safety 'assertion violated' -DBUG_READY_RESET "${P1U0[@]}"
check plain_v1.pml safety 'assertion violated' -DBUG_LOOK_BEFORE_INIT "${P1U0[@]}"
check plain_v1.pml safety 'assertion violated \(s<=2\)' -DBUG_PEER_DEAD "${P1U0[@]}"
check plain_v1.pml safety 'assertion violated'  -DBUG_WAIT_RUN "${P0U1[@]}"
check plain_v1.pml safety 'assertion violated'  -DBUG_LATCH "${P1U0[@]}"
check plain_v1.pml safety 'assertion violated'  -DBUG_NO_ZERO "${P0U1[@]}"
check plain_v1.pml safety 'assertion violated'  -DBUG_RESYNC_P_TO_C "${P0U1[@]}"
check plain_v1.pml safety 'assertion violated'  -DBUG_NO_SKIP "${P0U1[@]}"

dt=$(( $(now_ms) - t_all ))
echo "check-model: $passed passed, $failed failed ($((dt / 1000)).$((dt % 1000 / 100))s)"
[ "$failed" -eq 0 ]
