#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# build-initramfs.sh ARCH CACHE_DIR OUT.gz PROGRAM...
#
# Pack a guest initramfs for ARCH (amd64 | arm64): busybox (Debian's
# busybox-static), the vfio/uio module tree that fetch-kernel.sh left in
# CACHE_DIR/kernel-ARCH, tests/vm/init as /init, and each PROGRAM (static
# executables for ARCH) as /bin/<basename>. Takes well under a second.
set -euo pipefail

if [ $# -lt 3 ]; then
	echo "usage: $0 amd64|arm64 CACHE_DIR OUT.gz [PROGRAM...]" >&2
	exit 2
fi
arch=$1
cache=$2
out=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kdir=$cache/kernel-$arch
if [ ! -f "$kdir/.done" ]; then
	echo "build-initramfs: no kernel in $kdir (run fetch-kernel.sh $arch $cache)" >&2
	exit 1
fi

# busybox: the installed busybox-static when ARCH is the host's; otherwise
# the package for ARCH, downloaded (not installed) and cached.
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	busybox=/bin/busybox
	if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
		echo "build-initramfs: busybox-static is not installed (scripts/install-deps.sh)" >&2
		exit 1
	fi
else
	bdir=$cache/busybox-$arch
	busybox=$bdir/busybox
	if [ ! -x "$busybox" ]; then
		# The cache may be shared by concurrent runs: lock, and download
		# into a directory of our own.
		mkdir -p "$bdir"
		exec 9>"$bdir/.lock"
		flock -w 300 9
		if [ ! -x "$busybox" ]; then
			dl=$bdir/dl.$$
			rm -rf "$dl"
			mkdir -p "$dl"
			chmod 0777 "$dl" # apt downloads as the _apt user
			(cd "$dl" && apt-get download -o Acquire::Retries=3 "busybox-static:$arch" >/dev/null)
			debs=("$dl"/*.deb)
			dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -O ./bin/busybox >"$busybox.tmp"
			chmod 0755 "$busybox.tmp"
			mv "$busybox.tmp" "$busybox"
			rm -rf "$dl"
		fi
		exec 9>&-
	fi
fi

# A dynamically linked program would fail in the guest with a confusing
# "not found" (there is no libc in the image): refuse it here.
for p in "$@"; do
	if [ ! -x "$p" ]; then
		echo "build-initramfs: $p is not an executable" >&2
		exit 1
	fi
	if readelf -l "$p" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		echo "build-initramfs: $p is dynamically linked (build it with -static)" >&2
		exit 1
	fi
done

stage=$out.d
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp -a "$kdir/modules/lib" "$stage/lib"
install -m 0755 "$here/init" "$stage/init"
for p in "$@"; do
	install -m 0755 "$p" "$stage/bin/${p##*/}"
done
# newc is the format the kernel unpacks; owner root so the modules and
# /init are not owned by whoever built the image.
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -n -6 >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
echo "build-initramfs: $out ($arch, $(du -h "$out" | cut -f1), programs: ${*##*/})"
