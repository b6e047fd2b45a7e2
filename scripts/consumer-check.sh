#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Packaging check: install the library into a temporary prefix, then build
# and run tests/consumer/consumer.c against the *installed* files only, the
# ways a user would:
#   a) cc $(pkg-config --cflags --libs virtio-msg)   (shared library)
#   b) pkg-config --static, linking libvirtio_msg.a  (static library)
#   c) the CMake project tests/consumer: find_package(VirtioMsg 0.1)
#   d) the same source compiled as C++ (g++ -x c++), against the shared library
# It also checks what the shared library exports (only vmsg_* symbols, under
# the VIRTIO_MSG_* version node) and its SONAME.
#
# Usage: scripts/consumer-check.sh [work-dir]   (default: build/consumer-check)
# CC and CXX select the compilers of steps a, b and d (default cc, g++).
set -euo pipefail
# Note: never "cmd | grep -q" under pipefail: grep -q exits at the first
# match, cmd then dies of SIGPIPE and the pipeline fails on large output.
# "grep ... >/dev/null" reads all of it.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$root/build/consumer-check}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cc=${CC:-cc}
cxx=${CXX:-g++}
jobs=${VMSG_JOBS:-$(nproc 2>/dev/null || echo 2)}
src=$root/tests/consumer/consumer.c
# -Werror here: a warning in a consumer's build means a header problem.
warn=(-Wall -Wextra -Werror)

step() { printf '\n--- consumer-check: %s\n' "$*"; }

# Fresh every run: a stale prefix could hide a file that is no longer installed.
rm -rf "$work/lib" "$work/prefix" "$work/bin" "$work/cmake-consumer"
mkdir -p "$work/bin"
prefix=$work/prefix

step "configure, build and install the library into $prefix"
cmake -S "$root" -B "$work/lib" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX="$prefix" -DVMSG_WERROR=ON \
	-DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_EXAMPLES=OFF -DVMSG_INSTALL=ON
cmake --build "$work/lib" -j "$jobs"
cmake --install "$work/lib"

# GNUInstallDirs picks lib, lib64 or lib/<multiarch> depending on the
# system and the prefix: find where the .pc file landed instead of guessing.
pc=$(find "$prefix" -name virtio-msg.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
	echo "consumer-check: virtio-msg.pc was not installed" >&2
	exit 1
fi
libdir=$(dirname "$(dirname "$pc")")
echo "libdir: $libdir"
for f in "$libdir/libvirtio_msg.a" "$libdir/libvirtio_msg.so" \
	"$libdir/cmake/VirtioMsg/VirtioMsgConfig.cmake" \
	"$prefix/include/virtio_msg/virtio_msg.h" "$prefix/include/virtio_msg/version.h"; do
	[ -e "$f" ] || { echo "consumer-check: missing $f" >&2; exit 1; }
done

step "shared library: SONAME and exported symbols"
so=$(readlink -f "$libdir/libvirtio_msg.so")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "SONAME: $soname"
case $soname in
libvirtio_msg.so.[0-9]*) ;;
*) echo "consumer-check: unexpected SONAME '$soname'" >&2; exit 1 ;;
esac
# The version script exports vmsg_* only; everything else (static helpers,
# internal vmsg_ functions with hidden visibility) must stay local.
exports=$(nm -D --defined-only "$so" | awk '{print $3}')
bad=$(printf '%s\n' "$exports" | grep -v -e '^vmsg_' -e '^VIRTIO_MSG_' || true)
if [ -n "$bad" ]; then
	echo "consumer-check: unexpected exported symbols:" >&2
	printf '  %s\n' $bad >&2
	exit 1
fi
echo "exports: $(printf '%s\n' "$exports" | grep -c '^vmsg_') vmsg_* symbols"
if ! objdump -T "$so" | grep 'VIRTIO_MSG_' >/dev/null; then
	echo "consumer-check: exports carry no VIRTIO_MSG_* version" >&2
	exit 1
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
step "pkg-config: $(pkg-config --modversion virtio-msg)"
pkg-config --exists --print-errors 'virtio-msg >= 0.1'
read -r -a pc_cflags <<<"$(pkg-config --cflags virtio-msg)"
read -r -a pc_libs <<<"$(pkg-config --libs virtio-msg)"
# --static adds Libs.private (port dependencies). Link the archive by its
# file name (-l:libvirtio_msg.a): a plain -lvirtio_msg picks the .so.
read -r -a pc_static <<<"$(pkg-config --static --libs virtio-msg |
	sed 's/-lvirtio_msg\b/-l:libvirtio_msg.a/')"

step "a) $cc, pkg-config, shared"
"$cc" -std=c11 -pedantic "${warn[@]}" "${pc_cflags[@]}" "$src" "${pc_libs[@]}" \
	-o "$work/bin/consumer-pc"
readelf -d "$work/bin/consumer-pc" | grep 'NEEDED.*libvirtio_msg\.so' >/dev/null ||
	{ echo "consumer-check: consumer-pc does not use the shared library" >&2; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/bin/consumer-pc"

step "b) $cc, pkg-config --static, libvirtio_msg.a"
"$cc" -std=c11 -pedantic "${warn[@]}" "${pc_cflags[@]}" "$src" "${pc_static[@]}" \
	-o "$work/bin/consumer-static"
if readelf -d "$work/bin/consumer-static" | grep 'NEEDED.*libvirtio_msg' >/dev/null; then
	echo "consumer-check: consumer-static still needs the shared library" >&2
	exit 1
fi
# No LD_LIBRARY_PATH: the static build must not need the install prefix.
"$work/bin/consumer-static"

step "c) CMake project tests/consumer, find_package(VirtioMsg 0.1)"
cmake -S "$root/tests/consumer" -B "$work/cmake-consumer" -G Ninja \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_FLAGS="${warn[*]}"
cmake --build "$work/cmake-consumer" -j "$jobs"
# CMake's build-tree RPATH points at the imported library: no LD_LIBRARY_PATH.
"$work/cmake-consumer/consumer"
"$work/cmake-consumer/consumer_static"

step "d) $cxx -x c++ -std=c++11, pkg-config, shared"
"$cxx" -x c++ -std=c++11 "${warn[@]}" "${pc_cflags[@]}" "$src" -x none "${pc_libs[@]}" \
	-o "$work/bin/consumer-cxx"
LD_LIBRARY_PATH=$libdir "$work/bin/consumer-cxx"

step "all consumer checks passed"
