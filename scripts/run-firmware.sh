#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the Cortex-M4 firmware images (examples/firmware-m4), print what each
# module of the library costs in each linked image, and run them in
# qemu-system-arm (mps2-an386, semihosting). Fails unless every image exits
# with 0.
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

# size_table <name>: what each module of the library costs in <name>.elf.
# Per module: bytes of .text/.rodata (flash) and .data/.bss each object kept
# after --gc-sections, from the linker map. An input section is listed as
# " .text.name  0xADDR  0xSIZE  object", its name alone on a line when long.
size_table() {
	local name=$1
	echo
	echo "Linked image $name.elf (-mcpu=cortex-m4 -mthumb -Os, --gc-sections):"
	arm-none-eabi-size "$out/$name.elf"
	echo
	echo "Per module in $name.elf (bytes):"
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
		if (obj !~ /\.(o|obj)\)?$/) return
		if (sec ~ /^\.(text|rodata)/) kind = "text"
		else if (sec ~ /^\.data/) kind = "data"
		else if (sec ~ /^\.bss/) kind = "bss"
		else return
		mod = obj
		sub(/.*\/src\//, "src/", mod); sub(/.*\/ports\//, "ports/", mod)
		sub(/.*CMakeFiles\/[^\/]*\.elf\.dir\//, "firmware/", mod)
		sub(/.*\/libgcc\.a\(/, "libgcc/", mod); sub(/\)$/, "", mod)
		sub(/\.c\.(o|obj)$/, ".c", mod)
		print mod, kind, hex(size)
	}
	/^Linker script and memory map/ { inmap = 1; next }
	!inmap { next }
	NF == 4 && $1 ~ /^\./ && $2 ~ /^0x/ && $3 ~ /^0x/ { add($1, $3, $4); next }
	NF == 1 && $1 ~ /^\.(text|rodata|data|bss)/ { pending = $1; next }
	pending != "" && NF == 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add(pending, $2, $3) }
	{ pending = "" }' "$out/$name.map" | sort | awk '
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
}

# run_image <name>: run <name>.elf in qemu-system-arm; fails unless it exits 0.
# run_image <name> [<dir>]: the same for <dir>/<name>.elf.
run_image() {
	local name=$1 dir=${2:-$out} rc
	echo
	echo "Running $dir/$name.elf in qemu-system-arm (mps2-an386):"
	set +e
	timeout 60 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
		-semihosting-config enable=on,target=native -kernel "$dir/$name.elf"
	rc=$?
	set -e
	echo "$name exit code: $rc"
	return "$rc"
}

# fw: both sides in one image (the default configuration). fw-device and
# fw-driver: one side each in the smallest useful configuration; with no
# peer in the image they check only that their side comes up and that the
# other role is refused.
status=0
for name in fw fw-device fw-driver; do
	size_table "$name"
done
for name in fw fw-device fw-driver; do
	run_image "$name" || status=1
done

# The same three images with link-time optimisation, as many firmware
# projects build: LTO merges the modules, so only whole-image totals (the
# firmware's own start-up, semihosting and libc_min included; compare with
# the whole-image line of each table above). They run too: whole-program
# inlining is where a missing barrier or an aliasing bug would show.
lto=$out-lto
rm -rf "$lto"
cmake -S "$root/examples/firmware-m4" -B "$lto" -G Ninja \
	-DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/arm-none-eabi.cmake" \
	-DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_FLAGS=-flto >/dev/null
cmake --build "$lto" -j "$jobs"
echo
echo "Linked images with -flto (whole images, -Os, --gc-sections):"
arm-none-eabi-size "$lto/fw.elf" "$lto/fw-device.elf" "$lto/fw-driver.elf"
for name in fw fw-device fw-driver; do
	run_image "$name" "$lto" || status=1
done
exit "$status"
