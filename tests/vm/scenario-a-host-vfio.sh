#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Scenario a: a host daemon serves 32 devices to an x86_64 guest.
#   host:  vmsg_vm_node on the ivshmem-host port, device side, layout owner
#   guest: vmsg_vm_node on the ivshmem-vfio port (vfio-pci behind an
#          intel-iommu), driver side: GET_DEVICES for 32 devices, 10^4 PINGs
#          with 8 in flight, and it must have been interrupt-driven: it never
#          spins (--spin-us=0), every wait sleeps on the MSI-X eventfd, and
#          the wake-ups are counted.
# Neither side is told the other's ivshmem id: each publishes its own in the
# layout.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCH=${VMSG_SCENARIO_ARCH:-amd64}
vm_setup "a-host-vfio-$ARCH"
node=$VMSG_VM_DIR/$VM_HOST_ARCH/tests/vm/vmsg_vm_node
vm_server ivs 4194304 2 150
vm_host dev "$node" --port=host --socket="$(vm_sock ivs)" --side=device --owner \
	--devices=32 --lives=1 --seconds=140
vm_wait dev '^RESULT serving' 15
vm_start guest "$ARCH" --sock=ivs --bind=vfio --irqs --timeout=140 --run=vmsg_vm_node \
	--args=--port=vfio,--bdf=@BDF0@,--side=driver,--devices=32,--pings=10000,--depth=8,--expect-irq,--spin-us=0,--seconds=120

vm_wait_exit guest 145 || vm_fail "the guest failed"
vm_host_wait dev 30 || vm_fail "the host daemon failed"

vm_expect guest '^RESULT vfio_irq=msix' "the guest took MSI-X through VFIO"
vm_expect guest '^RESULT devices=32$' "GET_DEVICES found all 32 devices"
vm_expect guest '^RESULT pings=10000 ok=10000 ' "10^4 PINGs, every echo exact"
vm_expect guest '^RESULT bus .* timeouts=0 ' "no request timed out"
vm_expect guest '^RESULT interrupts=[1-9][0-9]* irq_wakeups=[1-9]' "interrupt-driven (MSI-X wake-ups counted)"
# The program's own count is exact; /proc/interrupts is sampled every 0.1 s
# by /init and may miss a short run, so it is shown, not required.
vm_log "guest /proc/interrupts: $(vm_grep guest '^VMSG-IRQ ' | head -n 1)"
vm_expect guest '^PASS driver side' "guest passed"
vm_expect dev '^PASS device side' "host daemon passed"
vm_pass
