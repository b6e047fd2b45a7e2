#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install everything the build, the tests and CI need, from Debian packages
# only. Safe to run again: it installs only what is missing, so a second run
# costs a few seconds. Needs root (or sudo) when something is missing.
set -u

# One list per purpose, so a reader sees why each package is here.
# libclang-rt-14-dev holds the sanitizer and libFuzzer runtimes; it is only a
# Recommends of clang, so it is named (ci-toolchain.md, P9).
native_pkgs="gcc g++ make libc6-dev cmake ninja-build pkg-config clang-14 clang libclang-rt-14-dev libcmocka-dev"
cross_pkgs="gcc-aarch64-linux-gnu gcc-s390x-linux-gnu gcc-arm-linux-gnueabihf \
libc6-dev-arm64-cross libc6-dev-s390x-cross libc6-dev-armhf-cross \
libcmocka-dev:arm64 libcmocka-dev:s390x libcmocka-dev:armhf qemu-user"
embedded_pkgs="gcc-arm-none-eabi binutils-arm-none-eabi qemu-system-arm"
check_pkgs="spin"
# The real-VM tests (tests/vm): QEMU for both guest arches, busybox and
# cpio/gzip for the initramfs, kmod for depmod, python3 to take the vmlinux
# out of the bzImage, binutils for readelf. The guest kernels and the arm64
# busybox are downloaded at test time (apt-get download), never installed.
vm_pkgs="qemu-system-x86 qemu-system-arm busybox-static cpio gzip kmod python3 binutils"

want="$native_pkgs $cross_pkgs $embedded_pkgs $check_pkgs $vm_pkgs"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Foreign architectures for the multiarch cmocka packages.
for arch in arm64 s390x armhf; do
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		as_root dpkg --add-architecture "$arch"
		need_update=1
	fi
done

# installed <pkg>[:<arch>]: whether that package is completely installed for
# that architecture (default: the native one). A plain "dpkg-query -W pkg"
# is not enough: for a Multi-Arch: same package such as libcmocka-dev it
# prints one status per installed architecture, so the answer would never
# match (and apt ran on every call), or would match an arm64-only install.
native_arch=$(dpkg --print-architecture)
installed() {
	local name=${1%%:*} arch=$native_arch
	case $1 in *:*) arch=${1#*:} ;; esac
	dpkg-query -W -f='${Architecture} ${Status}\n' "$name" 2>/dev/null |
		grep -qx -e "$arch install ok installed" -e "all install ok installed"
}

missing=""
for p in $want; do
	installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing:$missing"

export DEBIAN_FRONTEND=noninteractive
# Mirrors are sometimes mid-sync and an index of an architecture we do not
# need may fail to download; apt then exits 100 although the indexes we need
# are fine. Retry a few times and carry on: the install below is the real test.
for try in 1 2 3; do
	if as_root apt-get update -o Acquire::Retries=3; then break; fi
	echo "install-deps: apt-get update failed (try $try), continuing" >&2
	sleep 2
done

for try in 1 2 3; do
	# shellcheck disable=SC2086
	if as_root apt-get install -y --no-install-recommends \
		-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 $missing; then
		echo "install-deps: done"
		exit 0
	fi
	echo "install-deps: apt-get install failed (try $try)" >&2
	sleep 5
	as_root apt-get update -o Acquire::Retries=3 || true
done
echo "install-deps: could not install:$missing" >&2
exit 1
