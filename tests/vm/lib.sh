# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Functions for the VM scenario scripts (tests/vm/scenario-*.sh). Source it
# from a scenario; tests/vm/run-all.sh sets the environment:
#
#   VMSG_VM_DIR     the VM stage's build dir: initrd-amd64.gz, initrd-arm64.gz,
#                   the static program trees amd64/ and arm64/, run/<scenario>/
#   VMSG_VM_CACHE   the kernel cache (tests/vm/fetch-kernel.sh)
#   VMSG_VM_SERVER  the ivshmem server command (default: the project's
#                   vmsg-ivshmem-server from the amd64 tree); may hold
#                   arguments, it is word-split
#   VMSG_VM_ACCEL   tcg | kvm: force the accelerator; unset = decide once per
#                   run (vm_pick_accel) and cache the answer in VMSG_VM_DIR
#
# Every function fails the scenario (exit 1, with the logs' tails) on a
# timeout or a dead process, so scenarios read as straight-line code. The
# functions are documented in tests/vm/README.md. Everything a scenario
# starts is killed when it exits (trap), and every QEMU runs under
# "timeout": a test never hangs.

: "${VMSG_VM_DIR:?run through tests/vm/run-all.sh, or set VMSG_VM_DIR}"
# The same default as run-all.sh: <repo>/build/vm-cache.
: "${VMSG_VM_CACHE:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vm-cache}"

VM_NAME=""            # the scenario's name (vm_setup)
VM_WORK=""            # its work dir: sockets and logs
VM_T0=""              # its start time
VM_ACCEL_SUMMARY=""   # "accel=tcg" etc., once known (vm_log)
declare -A VM_PID     # name -> pid of each background process we started
declare -A VM_KIND    # name -> server | guest | host
declare -A VM_LOG     # name -> its log file
declare -A VM_ARCH    # guest name -> amd64 | arm64
declare -A VM_ACC     # guest name -> tcg | kvm
declare -A VM_START   # name -> start time
VM_ORDER=()           # names in start order (cleanup and failure report)
VM_HOST_ARCH=$(dpkg --print-architecture)

# --------------------------------------------------------------------------
# Logging and failing

_vm_now() { echo "${EPOCHREALTIME/,/.}"; }
_vm_since() { awk -v a="$1" -v b="$(_vm_now)" 'BEGIN { printf "%.2f", b - a }'; }

# vm_log MSG...: a line on stdout, prefixed with the scenario, the
# accelerator(s) in use and the time since vm_setup.
vm_log() {
	[ -n "${VM_ACCEL_SUMMARY:-}" ] || VM_ACCEL_SUMMARY=$(vm_accel_summary)
	printf '[vm %s %s +%ss] %s\n' "$VM_NAME" "$VM_ACCEL_SUMMARY" "$(_vm_since "$VM_T0")" "$*"
}

# vm_fail MSG...: report, show the tail of every log, exit 1 (the trap
# then kills whatever still runs).
vm_fail() {
	vm_log "FAIL: $*"
	local n
	for n in "${VM_ORDER[@]}"; do
		echo "----- last lines of $n (${VM_LOG[$n]})"
		tail -n 25 "${VM_LOG[$n]}" 2>/dev/null | tr -d '\r' || true
	done
	exit 1
}

_vm_cleanup() {
	local rc=$? n pid alive=()
	for n in "${VM_ORDER[@]}"; do
		pid=${VM_PID[$n]:-}
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			alive+=("$pid")
		fi
	done
	if [ ${#alive[@]} -gt 0 ]; then
		sleep 1
		for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	wait 2>/dev/null || true
	exit "$rc"
}

# --------------------------------------------------------------------------
# Accelerator

# vm_pick_accel: tcg or kvm for guests of the host's architecture, decided
# once per VMSG_VM_DIR. KVM is used only if a probe guest reaches /init
# within 20 s: /dev/kvm existing does not mean KVM works (on the CI machine
# kind it is kvm_pvm, where the Debian kernel hangs; vm-testing.md §2). The
# probe is skipped (tcg) when the CPU has neither vmx nor svm.
vm_pick_accel() {
	local f=$VMSG_VM_DIR/accel why
	if [ -n "${VMSG_VM_ACCEL:-}" ]; then
		echo "$VMSG_VM_ACCEL"
		return
	fi
	if [ -s "$f" ]; then
		cat "$f"
		return
	fi
	local acc=tcg
	if [ "$VM_HOST_ARCH" != amd64 ]; then
		why="host is not amd64 (no KVM probe written for it)"
	elif [ ! -w /dev/kvm ]; then
		why="no writable /dev/kvm"
	elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		why="no vmx/svm flag in /proc/cpuinfo"
	else
		local log=$VMSG_VM_DIR/kvm-probe.log deadline
		rm -f "$log"
		timeout -k 2 25 qemu-system-x86_64 -accel kvm -M q35 -m 128 -smp 1 \
			-nographic -nodefaults -no-reboot -serial "file:$log" \
			-kernel "$VMSG_VM_CACHE/kernel-amd64/vmlinux" -initrd "$VMSG_VM_DIR/initrd-amd64.gz" \
			-append "console=ttyS0 panic=-1 quiet" </dev/null >/dev/null 2>&1 &
		local pid=$!
		deadline=$((SECONDS + 20))
		while [ $SECONDS -lt $deadline ] && kill -0 "$pid" 2>/dev/null &&
			! grep -q VMSG-INIT "$log" 2>/dev/null; do
			sleep 0.2
		done
		if grep -q VMSG-INIT "$log" 2>/dev/null; then
			acc=kvm
			why="a KVM probe guest reached /init"
		else
			why="a KVM probe guest did not reach /init in 20 s"
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	echo "$acc" >"$f"
	echo "vm: accelerator $acc for $VM_HOST_ARCH guests: $why; other guests: tcg" >&2
	echo "$acc"
}

# vm_accel_for ARCH: the accelerator a guest of ARCH gets.
vm_accel_for() {
	if [ "$1" = "$VM_HOST_ARCH" ]; then vm_pick_accel; else echo tcg; fi
}

# vm_accel_summary: "accel=tcg" or e.g. "accel=amd64:kvm,arm64:tcg".
vm_accel_summary() {
	local a b
	a=$(vm_accel_for amd64 2>/dev/null)
	b=$(vm_accel_for arm64 2>/dev/null)
	if [ "$a" = "$b" ]; then echo "accel=$a"; else echo "accel=amd64:$a,arm64:$b"; fi
}

# --------------------------------------------------------------------------
# Setup

# vm_setup NAME: start a scenario: a fresh work dir VMSG_VM_DIR/run/NAME
# (VM_WORK), the cleanup trap, and the accelerator decision.
vm_setup() {
	VM_NAME=$1
	VM_WORK=$VMSG_VM_DIR/run/$VM_NAME
	VM_T0=$(_vm_now)
	rm -rf "$VM_WORK"
	mkdir -p "$VM_WORK"
	trap _vm_cleanup EXIT
	trap 'exit 130' INT TERM
	vm_pick_accel >/dev/null
	vm_log "work dir $VM_WORK"
}

_vm_track() { # name kind log pid
	VM_ORDER+=("$1")
	VM_KIND[$1]=$2
	VM_LOG[$1]=$3
	VM_PID[$1]=$4
	VM_START[$1]=$(_vm_now)
}

# vm_sock NAME: the socket path of server NAME.
vm_sock() { echo "$VM_WORK/$1.sock"; }

# vm_server NAME [SIZE [VECTORS [LIFETIME_S]]]: start an ivshmem server
# (defaults: 4194304 bytes, 2 vectors, 120 s) on socket $(vm_sock NAME) and
# return once it prints "listening on" (10 s at most). SIZE must be a power
# of two (QEMU aborts otherwise). The lifetime bounds a leaked server.
vm_server() {
	local name=$1 size=${2:-4194304} vectors=${3:-2} life=${4:-120}
	local sock log=$VM_WORK/$1.log cmd
	sock=$(vm_sock "$name")
	read -r -a cmd <<<"${VMSG_VM_SERVER:-$VMSG_VM_DIR/amd64/tools/vmsg-ivshmem-server}"
	"${cmd[@]}" -S "$sock" -l "$size" -n "$vectors" -t "$life" -v </dev/null >"$log" 2>&1 &
	_vm_track "$name" server "$log" $!
	vm_wait "$name" 'listening on' 10
	vm_log "server $name: $sock, $size bytes, $vectors vectors"
}

# vm_start NAME ARCH [options]: boot guest NAME (ARCH amd64 | arm64) in the
# background; its serial console goes to $VM_WORK/NAME.log. Options:
#   --sock=S        one ivshmem-doorbell device on server S (a vm_server name
#                   or a socket path); repeat for more devices, which get PCI
#                   slots 1, 2, ... in this order
#   --bind=LIST     vmsg.bind (vfio | uio | none, comma list, one per device)
#   --run=PROG      vmsg.run (a program in the initramfs /bin)
#   --args=A,B      vmsg.args (commas become spaces in the guest)
#   --irqs          vmsg.irqs=1
#   --vectors=N     MSI-X vectors per device (default 2; match the server)
#   --mem=MB        guest memory (default 128)
#   --timeout=S     QEMU is killed after S s (default 120)
#   --append=TEXT   more kernel command line
# The x86 guest boots the PVH vmlinux; it gets an intel-iommu with
# interrupt remapping when a device is bound to vfio. The arm64 guest is
# virt with GICv3 (ITS) and an SMMUv3, on a cortex-a57 (-cpu max is 5x
# slower to boot under TCG). More than one device adds
# pci=resource_alignment so each BAR0 gets its own page (vm-testing.md §6).
vm_start() {
	local name=$1 arch=$2
	shift 2
	local socks=() bind="" run="" args="" irqs=0 vectors=2 mem=128 tmo=120 extra=""
	local o
	for o in "$@"; do
		case $o in
		--sock=*) socks+=("${o#--sock=}") ;;
		--bind=*) bind=${o#--bind=} ;;
		--run=*) run=${o#--run=} ;;
		--args=*) args=${o#--args=} ;;
		--irqs) irqs=1 ;;
		--vectors=*) vectors=${o#--vectors=} ;;
		--mem=*) mem=${o#--mem=} ;;
		--timeout=*) tmo=${o#--timeout=} ;;
		--append=*) extra=${o#--append=} ;;
		*) vm_fail "vm_start $name: unknown option $o" ;;
		esac
	done
	local acc log=$VM_WORK/$name.log
	acc=$(vm_accel_for "$arch")
	# no_timer_check: under TCG on a loaded host the kernel's check that the
	# timer interrupt works through the (interrupt-remapped) IO-APIC can
	# time out and panic ("timer doesn't work through Interrupt-remapped
	# IO-APIC", seen in CI); the check proves nothing about our code.
	local append="panic=-1 quiet no_timer_check"
	[ -n "$bind" ] && append="$append vmsg.bind=$bind"
	[ -n "$run" ] && append="$append vmsg.run=$run"
	[ -n "$args" ] && append="$append vmsg.args=$args"
	[ "$irqs" = 1 ] && append="$append vmsg.irqs=1"
	[ ${#socks[@]} -gt 1 ] && append="$append pci=resource_alignment=pci:1af4:1110"
	[ -n "$extra" ] && append="$append $extra"

	local q=() i s
	case $arch in
	amd64)
		local machine=q35
		[ "$acc" = kvm ] && machine=q35,kernel-irqchip=split
		q=(qemu-system-x86_64 -accel "$acc" -M "$machine")
		case ",$bind," in *,vfio,*)
			q+=(-device "intel-iommu,intremap=on")
			append="$append intel_iommu=on"
			;;
		esac
		q+=(-kernel "$VMSG_VM_CACHE/kernel-amd64/vmlinux"
			-initrd "$VMSG_VM_DIR/initrd-amd64.gz"
			-append "console=ttyS0 $append")
		;;
	arm64)
		local cpu=cortex-a57
		[ "$acc" = kvm ] && cpu=host
		q=(qemu-system-aarch64 -accel "$acc" -M "virt,gic-version=3,iommu=smmuv3" -cpu "$cpu"
			-kernel "$VMSG_VM_CACHE/kernel-arm64/vmlinuz"
			-initrd "$VMSG_VM_DIR/initrd-arm64.gz"
			-append "console=ttyAMA0 $append")
		;;
	*) vm_fail "vm_start $name: unknown arch $arch" ;;
	esac
	q+=(-m "$mem" -smp 1 -nographic -nodefaults -no-reboot -serial "file:$log")
	i=0
	for s in "${socks[@]}"; do
		case $s in /*) ;; *) s=$(vm_sock "$s") ;; esac
		[ -S "$s" ] || vm_fail "vm_start $name: no server socket $s (start the server first: QEMU 7.2 does not reconnect)"
		q+=(-chardev "socket,id=ivsh$i,path=$s"
			-device "ivshmem-doorbell,chardev=ivsh$i,vectors=$vectors,addr=$(printf '%x' $((i + 1)))")
		i=$((i + 1))
	done
	: >"$log"
	# QEMU's own messages (not the guest's) go to NAME.qemu.log.
	timeout -k 5 "$tmo" "${q[@]}" </dev/null >"$VM_WORK/$name.qemu.log" 2>&1 &
	_vm_track "$name" guest "$log" $!
	VM_ARCH[$name]=$arch
	VM_ACC[$name]=$acc
	echo "${q[*]}" >"$VM_WORK/$name.cmdline"
	vm_log "guest $name: $arch, accel=$acc, ${#socks[@]} ivshmem device(s), bind=${bind:--} run=${run:--} args=${args:--}"
}

# vm_wait NAME REGEX [TIMEOUT_S]: wait until NAME's log has a line matching
# the extended REGEX (default 60 s). Fails if NAME exits first or on timeout.
vm_wait() {
	local name=$1 re=$2 tmo=${3:-60} log=${VM_LOG[$1]:-}
	[ -n "$log" ] || vm_fail "vm_wait: unknown name $name"
	local deadline=$((SECONDS + tmo))
	while ! tr -d '\r' <"$log" 2>/dev/null | grep -qE "$re"; do
		if ! kill -0 "${VM_PID[$name]}" 2>/dev/null; then
			tr -d '\r' <"$log" 2>/dev/null | grep -qE "$re" && return 0
			vm_fail "$name exited before printing /$re/"
		fi
		[ $SECONDS -lt $deadline ] || vm_fail "$name: no /$re/ within $tmo s"
		sleep 0.05
	done
}

# vm_wait_exit NAME [TIMEOUT_S]: wait for guest NAME to power off (default
# 120 s) and log its times. Returns its VMSG-EXIT code: 0 only if the
# guest's program exited 0; 124 if QEMU timed out; 125 if it ended without
# a VMSG-EXIT line (QEMU error or kernel panic). Use it as
#   vm_wait_exit x86 || vm_fail "x86 guest failed"
vm_wait_exit() {
	local name=$1 tmo=${2:-120} pid=${VM_PID[$1]:-} qrc=0 code
	[ "${VM_KIND[$name]:-}" = guest ] || vm_fail "vm_wait_exit: $name is not a guest"
	local deadline=$((SECONDS + tmo))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || vm_fail "guest $name still running after $tmo s"
		sleep 0.05
	done
	wait "$pid" || qrc=$?
	local wall uptime
	wall=$(_vm_since "${VM_START[$name]}")
	uptime=$(vm_grep "$name" '^VMSG-INIT ' | awk '{ print $3; exit }')
	code=$(vm_grep "$name" '^VMSG-EXIT ' | awk '{ print $2; exit }')
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		code=124
	elif [ -z "$code" ]; then
		code=125
	fi
	vm_log "guest $name (${VM_ARCH[$name]}, accel=${VM_ACC[$name]}): VMSG-EXIT ${code}, qemu rc $qrc, wall ${wall} s, guest uptime at /init ${uptime:-?} s"
	if [ "$code" != 0 ]; then
		[ -s "$VM_WORK/$name.qemu.log" ] && sed 's/^/  qemu: /' "$VM_WORK/$name.qemu.log"
	fi
	return "$code"
}

# vm_host NAME CMD [ARGS...]: run a host program in the background (its
# stdout and stderr in $VM_WORK/NAME.log), killed at the end like the rest.
vm_host() {
	local name=$1
	shift
	"$@" </dev/null >"$VM_WORK/$name.log" 2>&1 &
	_vm_track "$name" host "$VM_WORK/$name.log" $!
	vm_log "host $name: $*"
}

# vm_host_wait NAME [TIMEOUT_S]: wait for host program NAME (default 120 s);
# returns its exit status.
vm_host_wait() {
	local name=$1 tmo=${2:-120} pid=${VM_PID[$1]:-} rc=0
	local deadline=$((SECONDS + tmo))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || vm_fail "host $name still running after $tmo s"
		sleep 0.05
	done
	wait "$pid" || rc=$?
	vm_log "host $name: exit $rc after $(_vm_since "${VM_START[$name]}") s"
	return "$rc"
}

# vm_grep NAME REGEX: print NAME's log lines matching the extended REGEX
# (carriage returns removed); status 1 if none.
vm_grep() {
	tr -d '\r' <"${VM_LOG[$1]}" | grep -E "$2"
}

# vm_expect NAME REGEX [WHAT]: fail the scenario unless NAME's log has a
# line matching REGEX; logs the first such line.
vm_expect() {
	local line
	line=$(vm_grep "$1" "$2" | head -n 1) || true
	[ -n "$line" ] || vm_fail "$1: ${3:-expected /$2/} (not in ${VM_LOG[$1]})"
	vm_log "$1: ${3:-ok}: $line"
}

# vm_pass: the scenario's last line.
vm_pass() {
	vm_log "PASS in $(_vm_since "$VM_T0") s"
}
