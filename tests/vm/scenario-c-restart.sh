#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Scenario c: restart. The host daemon (device side, layout owner) never
# restarts. Guest 1 (x86_64, ivshmem-vfio, driver side) is killed in the
# middle of a PING stream; the server tells the daemon its peer left. Guest
# 2 boots and joins with a NEW ivshmem id: the daemon must find it through
# the layout (no id is passed to anyone), re-handshake (new epoch), and
# serve it with no stale message: guest 2 sees no unmatched response and
# every echo exact, and the daemon counts the departure and the id change.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vm_setup c-restart
node=$VMSG_VM_DIR/$VM_HOST_ARCH/tests/vm/vmsg_vm_node
vm_server ivs 4194304 2 170
vm_host dev "$node" --port=host --socket="$(vm_sock ivs)" --side=device --owner \
	--devices=32 --lives=2 --seconds=160
vm_wait dev '^RESULT serving' 15

vm_start g1 amd64 --sock=ivs --bind=vfio --timeout=100 --run=vmsg_vm_node \
	--args=--port=vfio,--bdf=@BDF0@,--side=driver,--devices=32,--pings=1000000,--depth=8,--progress=500,--seconds=90
vm_wait g1 '^RESULT progress pings=2000$' 90
# Kill the guest mid-stream: timeout(1) passes SIGTERM on to QEMU, which
# exits at once; the guest gets no chance to shut its side down.
kill -TERM "${VM_PID[g1]}"
wait "${VM_PID[g1]}" 2>/dev/null || true
vm_log "guest g1 killed after $(vm_grep g1 '^RESULT progress' | tail -n 1)"
id1=$(vm_grep g1 '^RESULT own_id=' | head -n 1 | sed 's/.*=//')

vm_start g2 amd64 --sock=ivs --bind=vfio --timeout=100 --run=vmsg_vm_node \
	--args=--port=vfio,--bdf=@BDF0@,--side=driver,--devices=32,--pings=3000,--depth=8,--seconds=90
vm_wait_exit g2 105 || vm_fail "guest g2 failed"
vm_host_wait dev 30 || vm_fail "the host daemon failed"

id2=$(vm_grep g2 '^RESULT own_id=' | head -n 1 | sed 's/.*=//')
if [ -z "$id1" ] || [ -z "$id2" ] || [ "$id1" = "$id2" ]; then
	vm_fail "guest ids '$id1' then '$id2': the restarted guest must have a new id"
fi
vm_log "guest ids: $id1, then $id2 after the restart"
vm_expect g2 '^RESULT devices=32$' "the restarted guest discovered all 32 devices"
vm_expect g2 '^RESULT pings=3000 ok=3000 ' "every echo exact after the restart"
vm_expect g2 '^RESULT bus .* timeouts=0 .* drop_unmatched=0 ' "no stale or unmatched response"
vm_expect g2 '^PASS driver side' "guest g2 passed"
vm_expect dev '^RESULT bus .* resets=2 .* drop_unmatched=0 ' "daemon: two departures seen (kill, then close)"
vm_expect dev "^RESULT doorbells_sent=[1-9][0-9]* .* peer_changes=[1-9][0-9]* .* peer=$id2\$" "daemon followed the new id $id2"
vm_expect dev '^RESULT .* our_peer_left=[1-9]' "daemon: the server reported its peer's departure"
vm_expect dev '^PASS device side' "daemon passed without restarting"
vm_pass
