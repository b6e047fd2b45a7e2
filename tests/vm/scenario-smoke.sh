#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Smoke test of the VM harness itself, with vmsg_vm_probe (no library code):
# one ivshmem server, an x86_64 guest with its device bound to vfio-pci and
# an arm64 guest with its device bound to uio_pci_generic. Each guest maps
# BAR2, reads its IVPosition, publishes a 4 KiB block and must find the
# other's block with every word intact; the x86 (VFIO) guest must receive
# at least one MSI-X interrupt (the arm64 guest rings it after seeing its
# block). UIO gets no interrupt from stock ivshmem-doorbell, so the arm64
# side only polls (vm-testing.md §5).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vm_setup smoke
vm_server ivs 4194304 2 90
vm_start x86 amd64 --sock=ivs --bind=vfio --run=vmsg_vm_probe --args=--irq,--expect=1 --irqs
vm_start arm arm64 --sock=ivs --bind=uio --run=vmsg_vm_probe --args=--expect=1

vm_wait_exit x86 90 || vm_fail "x86 guest failed"
vm_wait_exit arm 90 || vm_fail "arm64 guest failed"

vm_expect x86 '^VMSG-BIND [0-9a-f:.]+ vfio-pci [0-9]+ -$' "bound to vfio-pci"
vm_expect arm '^VMSG-BIND [0-9a-f:.]+ uio_pci_generic [0-9-]+ /dev/uio[0-9]+$' "bound to uio_pci_generic"
# The ids come from the server, never hard-coded: each guest must have found
# the other's id (and an intact block).
id_x86=$(vm_grep x86 '^PROBE dev ' | awk '{ print $7 }')
id_arm=$(vm_grep arm '^PROBE dev ' | awk '{ print $7 }')
if [ -z "$id_x86" ] || [ -z "$id_arm" ] || [ "$id_x86" = "$id_arm" ]; then
	vm_fail "IVPositions '$id_x86' and '$id_arm' (must be two different ids)"
fi
vm_expect x86 "^PROBE peer $id_arm ok " "x86 saw the arm64 guest's block (id $id_arm)"
vm_expect arm "^PROBE peer $id_x86 ok " "arm64 saw the x86 guest's block (id $id_x86)"
vm_expect x86 '^PROBE irq [1-9]' "x86 received MSI-X"
vm_expect x86 '^PROBE interrupts .*vfio-msix' "x86 /proc/interrupts has the vfio-msix vector"
vm_pass
