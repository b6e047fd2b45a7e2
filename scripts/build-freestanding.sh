#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Freestanding check: build the portable core for a bare-metal Cortex-M4 with
# arm-none-eabi-gcc (no libc, no newlib), print the code size per object, and
# fail if the objects need anything a freestanding toolchain does not give.
# Six configurations: the default one; the smallest one (2025 profile,
# formatter and error strings compiled out); the smallest one for one role,
# device side or driver side (VMSG_CONFIG_ROLE_DEVICE_ONLY or _DRIVER_ONLY);
# and those two with the firmware's ring and shm options (one memory mode,
# one index width, no cache hooks, owner-only layout, simple wait), whose
# linked figures the firmware stage prints (scripts/run-firmware.sh;
# bench/firmware-size.md). The firmware ones must not divide 64-bit values.
#
# Allowed undefined symbols: memcpy, memset, memmove and memcmp (gcc may emit
# calls to them even with -ffreestanding, and every embedded toolchain has
# them) and libgcc's helpers (__aeabi_*, __udivdi3 and friends), which come
# with the compiler. Symbols defined by another object of the core are fine.
#
# Usage: scripts/build-freestanding.sh [build-dir]   (default: build/freestanding)
set -euo pipefail
# Note: never "cmd | grep -q" under pipefail: grep -q exits at the first
# match, cmd then dies of SIGPIPE and the pipeline fails on large output.
# "grep ... >/dev/null" reads all of it.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/build/freestanding}
jobs=${VMSG_JOBS:-$(nproc 2>/dev/null || echo 2)}
toolchain=$root/cmake/toolchains/arm-none-eabi.cmake
prefix=arm-none-eabi-
status=0
mkdir -p "$out"

# memcpy & co, then libgcc: __aeabi_* (ARM EABI runtime helpers such as
# __aeabi_uldivmod), __gnu_* (Thumb switch-table helpers) and the generic
# mode-suffixed helpers such as __udivmoddi4, __clzsi2, __popcountsi2,
# __ashldi3, __bswapdi2, __adddf3. Not __stack_chk_fail & co: those need a
# runtime that bare metal does not have.
allowed='^(memcpy|memset|memmove|memcmp|__aeabi_[a-z0-9_]+|__gnu_[a-z0-9_]+|__[a-z]+(qi|hi|si|di|ti|sf|df)[0-9]?)$'

# Only the compiler's own headers (stdint.h, stddef.h, stdbool.h, ...): with
# -nostdinc a stray #include <string.h> fails even where newlib is installed.
gcc_inc=$("${prefix}gcc" -print-file-name=include)
base_cflags="-nostdinc -isystem $gcc_inc"

# build_config <name> <extra C flags>. It runs in an "||" list, where set -e
# does not apply, so every step says "|| return 1" itself.
build_config() {
	local name=$1 cflags=$2 dir=$out/$1
	printf '\n--- freestanding: %s config (%s)\n' "$name" "${cflags:-defaults}"
	rm -rf "$dir" "$dir.configure.log"
	cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_BUILD_TYPE=MinSizeRel -DVMSG_WERROR=ON \
		-DVMSG_BUILD_SHARED=OFF -DVMSG_BUILD_TESTS=OFF \
		-DVMSG_BUILD_EXAMPLES=OFF -DVMSG_INSTALL=OFF \
		-DCMAKE_C_FLAGS="$base_cflags $cflags" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j "$jobs" || return 1

	local objs
	mapfile -t objs < <(find "$dir/CMakeFiles/vmsg_objects.dir" -name '*.o*' -type f | sort)
	if [ "${#objs[@]}" -eq 0 ]; then
		echo "freestanding: no objects built" >&2
		return 1
	fi
	# Make sure these are really Thumb objects for an M4 (the toolchain file
	# forces the flags even when CMAKE_C_FLAGS is given).
	if ! "${prefix}readelf" -A "${objs[0]}" | grep 'Tag_CPU_arch: v7E-M' >/dev/null ||
		! "${prefix}readelf" -A "${objs[0]}" | grep 'Tag_THUMB_ISA_use: Thumb-2' >/dev/null; then
		echo "freestanding: objects were not built for a Cortex-M4" >&2
		return 1
	fi

	printf '\nSize (%s config, bytes; arm-none-eabi-size, -mcpu=cortex-m4 -mthumb -Os):\n' "$name"
	# Print object names relative to the build dir, e.g. src/proto/codec.c.obj.
	(cd "$dir/CMakeFiles/vmsg_objects.dir" &&
		"${prefix}size" -t "${objs[@]#"$dir/CMakeFiles/vmsg_objects.dir/"}") || return 1
	# The issue's figure: proto+ring+layout+bus, every function of them
	# (a linked firmware keeps only what it calls: see the firmware stage).
	(cd "$dir/CMakeFiles/vmsg_objects.dir" &&
		"${prefix}size" "${objs[@]#"$dir/CMakeFiles/vmsg_objects.dir/"}") |
		awk '$6 ~ /^src\/(proto|spsc|shm|bus)\// { t += $1 }
		     END { printf "proto+ring+layout+bus (text): %d\n", t }' || return 1

	# What the core needs from outside: undefined in some object and defined
	# in none.
	local undef defined missing
	undef=$("${prefix}nm" -u "${objs[@]}" | awk 'NF == 2 && $1 == "U" {print $2}' | sort -u) ||
		return 1
	defined=$("${prefix}nm" --defined-only "${objs[@]}" | awk 'NF == 3 {print $3}' | sort -u) ||
		return 1
	missing=$(comm -23 <(printf '%s\n' "$undef" | sed '/^$/d') <(printf '%s\n' "$defined"))
	local bad
	bad=$(printf '%s\n' "$missing" | sed '/^$/d' | grep -Ev "$allowed" || true)
	echo "external symbols: $(printf '%s' "$missing" | tr '\n' ' ')"
	if [ -n "$bad" ]; then
		echo "freestanding: FAIL: the core needs symbols a freestanding toolchain lacks:" >&2
		local s
		for s in $bad; do
			printf '  %s (in:' "$s" >&2
			for o in "${objs[@]}"; do
				if "${prefix}nm" -u "$o" | awk '{print $2}' | grep -x "$s" >/dev/null; then
					printf ' %s' "$(basename "$o")" >&2
				fi
			done
			echo ')' >&2
		done
		return 1
	fi
}

# no_div64 <name>: the firmware configurations divide no 64-bit value (a
# 32-bit core would link libgcc's __aeabi_uldivmod, about 750 bytes).
no_div64() {
	local objs
	mapfile -t objs < <(find "$out/$1/CMakeFiles/vmsg_objects.dir" -name '*.o*' -type f | sort)
	if "${prefix}nm" -u "${objs[@]}" | grep -E ' (__aeabi_[ul]*ldivmod|__u?divmoddi4|__u?(div|mod)di3)$' >/dev/null; then
		echo "freestanding: FAIL: 64-bit division in the $1 configuration:" >&2
		"${prefix}nm" -A -u "${objs[@]}" | grep -E ' (__aeabi_[ul]*ldivmod|__u?divmoddi4|__u?(div|mod)di3)$' >&2
		return 1
	fi
}

build_config default "" || status=1
smallest="-DVMSG_CONFIG_NO_PROFILE_2025=1 -DVMSG_CONFIG_NO_FORMAT=1 -DVMSG_CONFIG_NO_STRERROR=1"
build_config smallest "$smallest" || status=1
build_config device-only "$smallest -DVMSG_CONFIG_ROLE_DEVICE_ONLY=1" || status=1
build_config driver-only "$smallest -DVMSG_CONFIG_ROLE_DRIVER_ONLY=1" || status=1
# The ring and shm options of a firmware (config.h): one memory mode (shared
# SRAM: device), 16-bit indices (vmamp v1), no cache hooks, owner-only v1
# channels, the simple shm-bus wait. With the device role this is
# fw-device.elf's configuration (examples/firmware-m4).
firmware="-DVMSG_CONFIG_SPSC_MEM_ONLY_DEVICE=1 -DVMSG_CONFIG_SPSC_INDEX16_ONLY=1 -DVMSG_CONFIG_NO_CACHE_OPS=1 -DVMSG_CONFIG_SHM_V1_OWNER_ONLY=1 -DVMSG_CONFIG_SHM_BUS_SIMPLE_WAIT=1"
build_config firmware-device "$smallest -DVMSG_CONFIG_ROLE_DEVICE_ONLY=1 $firmware" || status=1
build_config firmware-driver "$smallest -DVMSG_CONFIG_ROLE_DRIVER_ONLY=1 $firmware" || status=1
no_div64 firmware-device || status=1
no_div64 firmware-driver || status=1

if [ "$status" -eq 0 ]; then
	printf '\nfreestanding: OK\n'
fi
exit "$status"
