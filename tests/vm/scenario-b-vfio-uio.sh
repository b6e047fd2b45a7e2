#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Scenario b: two guests, ivshmem-vfio <-> uio, the traffic of scenario a.
#   x86_64 guest: ivshmem-vfio port, device side, layout owner; MSI-X
#   arm64 guest:  uio port (uio_pci_generic), driver side. Stock
#                 ivshmem-doorbell has no INTx pin, so this side's receive
#                 path polls the ring (spin, then 50 us sleeps); its
#                 doorbell writes to the vfio side are real interrupts.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vm_setup b-vfio-uio
vm_server ivs 4194304 2 150
vm_start dev amd64 --sock=ivs --bind=vfio --irqs --timeout=140 --run=vmsg_vm_node \
	--args=--port=vfio,--bdf=@BDF0@,--side=device,--owner,--devices=32,--lives=1,--seconds=120
vm_start drv arm64 --sock=ivs --bind=uio --timeout=140 --run=vmsg_vm_node \
	--args=--port=uio,--bdf=@BDF0@,--side=driver,--devices=32,--pings=10000,--depth=8,--seconds=120

vm_wait_exit drv 145 || vm_fail "the uio (driver) guest failed"
vm_wait_exit dev 60 || vm_fail "the vfio (device) guest failed"

vm_expect drv '^RESULT uio_irq=none \(receive path polled\)' "uio side: no INTx on stock ivshmem-doorbell, receive polled"
vm_expect drv '^RESULT devices=32$' "GET_DEVICES found all 32 devices"
vm_expect drv '^RESULT pings=10000 ok=10000 ' "10^4 PINGs, every echo exact"
vm_expect drv '^RESULT bus .* timeouts=0 ' "no request timed out"
vm_expect drv '^RESULT doorbells_sent=[1-9]' "uio side rang the vfio side (BAR0 doorbell writes)"
vm_expect dev '^RESULT vfio_irq=msix' "vfio side took MSI-X"
vm_expect dev '^RESULT interrupts=[1-9][0-9]* irq_wakeups=[1-9]' "vfio side woke on interrupts from the uio side"
vm_expect drv '^PASS driver side' "uio guest passed"
vm_expect dev '^PASS device side' "vfio guest passed"
vm_pass
