#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# PING round trips over the ivshmem ports in real VMs (TCG), one request in
# flight, no spinning (--spin-us=0): every wait sleeps on what the port has,
# so the figures show what an interrupt-driven receive costs next to a polled
# one. Information only (never in CI); see ports/uio/README.md.
#
#   bash bench/vm/latency.sh [PINGS]      (default 2000 per pair)
#
# Pairs (driver side first; the driver's receive path, then the device's):
#   host  <-> vfio guest   eventfd        / MSI-X
#   host  <-> uio guest    eventfd        / polled (stock ivshmem has no INTx)
#   vfio  <-> uio guests   MSI-X          / polled
#   uio   <-> vfio guests  polled         / MSI-X
# Each pair runs once; the host is shared and noisy, so repeat the script
# and compare medians rather than trusting one run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pings=${1:-2000}
build=$root/build/vm-bench

# Build the programs, kernels and initramfs: run-all.sh with a scenario
# name that matches nothing (it then says so and exits non-zero).
mkdir -p "$build"
VMSG_VM_SCENARIOS=none bash "$root/tests/vm/run-all.sh" "$build" >"$build.log" 2>&1 || true
[ -s "$build/initrd-amd64.gz" ] && [ -s "$build/initrd-arm64.gz" ] ||
	{ tail -n 30 "$build.log"; exit 1; }
export VMSG_VM_DIR=$build VMSG_VM_CACHE=${VMSG_VM_CACHE:-$root/build/vm-cache}
# shellcheck source=../../tests/vm/lib.sh
source "$root/tests/vm/lib.sh"
node=$VMSG_VM_DIR/$VM_HOST_ARCH/tests/vm/vmsg_vm_node
common="--devices=4,--pings=$pings,--depth=1,--spin-us=0,--seconds=200"
results=()

host_pair() { # host_pair NAME BIND
	vm_setup "bench-$1"
	vm_server ivs 4194304 2 230
	vm_host dev "$node" --port=host --socket="$(vm_sock ivs)" --side=device --owner \
		--devices=4 --lives=1 --spin-us=0 --seconds=220
	vm_wait dev '^RESULT serving' 15
	vm_start guest amd64 --sock=ivs --bind="$2" --timeout=220 --run=vmsg_vm_node \
		--args="--port=$2,--bdf=@BDF0@,--side=driver,$common"
	vm_wait_exit guest 225 || vm_fail "guest failed"
	vm_host_wait dev 30 || vm_fail "host failed"
	results+=("$1: $(vm_grep guest '^RESULT pings=' | sed 's/.*us_per_ping=//') us")
}

guest_pair() { # guest_pair NAME DEV_BIND DRV_BIND
	vm_setup "bench-$1"
	vm_server ivs 4194304 2 230
	vm_start dev amd64 --sock=ivs --bind="$2" --timeout=220 --run=vmsg_vm_node \
		--args="--port=$2,--bdf=@BDF0@,--side=device,--owner,--devices=4,--lives=1,--spin-us=0,--seconds=200"
	vm_start drv arm64 --sock=ivs --bind="$3" --timeout=220 --run=vmsg_vm_node \
		--args="--port=$3,--bdf=@BDF0@,--side=driver,$common"
	vm_wait_exit drv 225 || vm_fail "driver guest failed"
	vm_wait_exit dev 60 || vm_fail "device guest failed"
	results+=("$1: $(vm_grep drv '^RESULT pings=' | sed 's/.*us_per_ping=//') us")
}

# Each pair in a subshell: vm_setup installs an exit trap per scenario.
for p in "host_pair host-vfio vfio" "host_pair host-uio uio" \
	"guest_pair arm-uio-drv_x86-vfio-dev vfio uio" "guest_pair arm-vfio-drv_x86-uio-dev uio vfio"; do
	# shellcheck disable=SC2086
	r=$( (set -e; $p >&2; printf '%s\n' "${results[-1]}") ) || r="${p#* }: FAILED"
	echo "round trip, 1 in flight, $r"
done
