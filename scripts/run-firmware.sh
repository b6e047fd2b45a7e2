#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the Cortex-M4 firmware (examples/firmware-m4), print what each module
# of the library costs in the linked image, and run it in qemu-system-arm
# (mps2-an386, semihosting). Fails unless the firmware exits with 0.
#
# Usage: scripts/run-firmware.sh [build-dir]  (default: build/firmware)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/build/firmware}
jobs=${VMSG_JOBS:-$(nproc 2>/dev/null || echo 2)}

rm -rf "$out"
cmake -S "$root/examples/firmware-m4" -B "$out" -G Ninja \
	-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/arm-none-eabi.cmake" \
	-DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
cmake --build "$out" -j "$jobs"

echo
echo "Linked firmware image (-mcpu=cortex-m4 -mthumb -Os, --gc-sections):"
arm-none-eabi-size "$out/fw.elf"

# Per module: bytes of .text/.rodata (flash) and .data/.bss each object kept
# after --gc-sections, from the linker map. An input section is listed as
# " .text.name  0xADDR  0xSIZE  object", its name alone on a line when long.
echo
echo "Per module in the image (bytes):"
awk '
	function hex(s,   i, c, v) {
		v = 0; s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1)) - 1
			v = v * 16 + c
		}
		return v
	}
	function add(sec, size, obj,   kind, mod) {
		if (obj !~ /\.(o|obj)$/) return
		if (sec ~ /^\.(text|rodata)/) kind = "text"
		else if (sec ~ /^\.data/) kind = "data"
		else if (sec ~ /^\.bss/) kind = "bss"
		else return
		mod = obj
		sub(/.*\/src\//, "src/", mod); sub(/.*\/ports\//, "ports/", mod)
		sub(/.*CMakeFiles\/fw\.elf\.dir\//, "firmware/", mod)
		sub(/\.c\.(o|obj)$/, ".c", mod)
		print mod, kind, hex(size)
	}
	/^Linker script and memory map/ { inmap = 1; next }
	!inmap { next }
	NF == 4 && $1 ~ /^\./ && $2 ~ /^0x/ && $3 ~ /^0x/ { add($1, $3, $4); next }
	NF == 1 && $1 ~ /^\.(text|rodata|data|bss)/ { pending = $1; next }
	pending != "" && NF == 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add(pending, $2, $3) }
	{ pending = "" }' "$out/fw.map" | sort | awk '
	{ sz[$1 " " $2] += $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
	END {
		printf "%-36s %7s %6s %6s\n", "module", "text", "data", "bss"
		for (i = 1; i <= n; i++) {
			m = order[i]
			printf "%-36s %7d %6d %6d\n", m, sz[m " text"], sz[m " data"], sz[m " bss"]
			if (m ~ /^src\/(proto|spsc|shm|bus)\//) core += sz[m " text"]
			if (m ~ /^src\//) lib += sz[m " text"]
		}
		printf "%-36s %7d\n", "proto+ring+layout+bus (text)", core
		printf "%-36s %7d\n", "library incl. common (text)", lib
	}'

echo
echo "Running in qemu-system-arm (mps2-an386):"
set +e
timeout 60 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
	-semihosting-config enable=on,target=native -kernel "$out/fw.elf"
rc=$?
set -e
echo "firmware exit code: $rc"
exit "$rc"
