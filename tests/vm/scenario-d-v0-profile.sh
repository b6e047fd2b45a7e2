#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Scenario d: the SPSC-v0 profile at the seeds' offsets (driver->device at
# BAR2+0x0, device->driver at BAR2+0x1000, 62 slots of 64 bytes), host
# daemon (device side) <-> x86_64 guest (ivshmem-vfio, driver side). v0 has
# no header and no lifecycle; each side publishes its id in the padding of
# the queue line it writes (+0x48), and the daemon learns the guest has gone
# from the server.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vm_setup d-v0-profile
node=$VMSG_VM_DIR/$VM_HOST_ARCH/tests/vm/vmsg_vm_node
vm_server ivs 4194304 2 150
vm_host dev "$node" --port=host --socket="$(vm_sock ivs)" --side=device --layout=v0 \
	--devices=32 --lives=1 --seconds=140
vm_wait dev '^RESULT serving' 15
vm_start guest amd64 --sock=ivs --bind=vfio --irqs --timeout=140 --run=vmsg_vm_node \
	--args=--port=vfio,--bdf=@BDF0@,--side=driver,--layout=v0,--devices=32,--pings=10000,--depth=8,--expect-irq,--spin-us=0,--seconds=120

vm_wait_exit guest 145 || vm_fail "the guest failed"
vm_host_wait dev 30 || vm_fail "the host daemon failed"

vm_expect guest '^RESULT devices=32$' "GET_DEVICES over SPSC-v0 found all 32 devices"
vm_expect guest '^RESULT pings=10000 ok=10000 ' "10^4 PINGs over SPSC-v0, every echo exact"
vm_expect guest '^RESULT bus .* timeouts=0 ' "no request timed out"
vm_expect guest '^RESULT interrupts=[1-9]' "interrupt-driven"
vm_expect guest '^PASS driver side' "guest passed"
vm_expect dev '^RESULT .* our_peer_left=1' "daemon: the server reported the guest's departure"
vm_expect dev '^PASS device side' "host daemon passed"
vm_pass
