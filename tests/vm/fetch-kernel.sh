#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fetch-kernel.sh ARCH CACHE_DIR
#
# Fetch Debian's stock kernel for the VM guests (ARCH = amd64 | arm64) and
# keep only what the tests need, under CACHE_DIR/kernel-ARCH/:
#   vmlinuz         the kernel as Debian ships it (bzImage / arm64 Image.gz)
#   vmlinux         amd64 only: the ELF kernel taken out of the bzImage; QEMU
#                   boots it directly through PVH, which skips the xz
#                   decompressor (about 3 s of a 5 s boot under TCG)
#   modules/        a module tree (lib/modules/KVER/...) with the vfio, uio and
#                   irqbypass modules only, depmod'ed
#   kver, pkg       the kernel release and the package it came from
#
# Nothing is installed: the package is downloaded with "apt-get download"
# and unpacked with dpkg-deb. The ABI name (linux-image-6.1.0-NN-ARCH) comes
# from the meta-package, so a new Debian point release needs no change here.
# Idempotent: when the cache already holds the current package, it is reused.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 amd64|arm64 CACHE_DIR" >&2
	exit 2
fi
arch=$1
cache=$2
case $arch in
amd64) meta=linux-image-amd64 ;;
arm64) meta=linux-image-arm64:arm64 ;;
*)
	echo "fetch-kernel: unknown arch '$arch'" >&2
	exit 2
	;;
esac

# The meta-package depends on exactly one versioned image package. Take the
# first plain "Depends:" on linux-image-* (apt-cache reads the local lists:
# no network, and it matches what "apt-get download" will fetch).
# apt-cache prints linux-image-...:arm64 for the foreign arch already; make
# sure the download asks for the right architecture either way.
resolve() {
	local p
	p=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
	case $p in '' | *:*) ;; *) [ "$arch" = amd64 ] || p=$p:$arch ;; esac
	echo "$p"
}
pkg=$(resolve)
if [ -z "$pkg" ]; then
	echo "fetch-kernel: cannot resolve $meta (is arch $arch known to apt? run scripts/install-deps.sh)" >&2
	exit 1
fi

final=$cache/kernel-$arch
mkdir -p "$cache"
# Several runs (CI stages, worktrees) may share one cache: one fetch per
# arch at a time, and the result appears by a rename, complete or not at all.
exec 9>"$cache/.kernel-$arch.lock"
flock -w 900 9
if [ -f "$final/.done" ] && [ "$(cat "$final/pkg")" = "$pkg" ]; then
	echo "fetch-kernel: $arch: cached $pkg (kernel $(cat "$final/kver"))"
	exit 0
fi

t0=$(date +%s.%N)
out=$final.tmp.$$
tmpdir=$out # removed on any exit until it is renamed into place
rm -rf "$out"
trap 'rm -rf "${tmpdir:-}"' EXIT
mkdir -p "$out/dl" "$out/x"
# apt drops privileges to _apt for downloads; the directory must be
# writable by that user, or apt warns and downloads unsandboxed.
chmod 0777 "$out/dl"
(
	cd "$out/dl"
	for try in 1 2 3; do
		if apt-get download -o Acquire::Retries=3 "$pkg" >/dev/null; then exit 0; fi
		echo "fetch-kernel: apt-get download $pkg failed (try $try)" >&2
		sleep 3
	done
	exit 1
) || {
	# Stale package lists: after a kernel security update the mirror no
	# longer has the .deb the lists name. Refresh once (root only) and
	# resolve the ABI name again.
	[ "$(id -u)" = 0 ] || exit 1
	echo "fetch-kernel: refreshing the package lists and retrying" >&2
	apt-get update -o Acquire::Retries=3 >/dev/null 2>&1 || true
	pkg=$(resolve)
	(cd "$out/dl" && apt-get download -o Acquire::Retries=3 "$pkg" >/dev/null)
}
debs=("$out"/dl/*.deb)
deb=${debs[0]}
t1=$(date +%s.%N)

# Only the files the guest needs: extracting the whole package costs 400 MB.
# The wildcards match nothing that is absent (arm64 has irqbypass built in),
# so tar must not fail on a pattern that is not found.
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/x" --wildcards --no-wildcards-match-slash \
	--warning=no-unknown-keyword \
	'./boot/vmlinuz-*' \
	'./lib/modules/*/kernel/drivers/vfio/*' \
	'./lib/modules/*/kernel/drivers/vfio/*/*' \
	'./lib/modules/*/kernel/drivers/uio/*' \
	'./lib/modules/*/kernel/virt/lib/*' \
	'./lib/modules/*/modules.builtin' \
	'./lib/modules/*/modules.order' 2>/dev/null || true

vmlinuzs=("$out"/x/boot/vmlinuz-*)
vmlinuz=${vmlinuzs[0]}
if [ ! -f "$vmlinuz" ]; then
	echo "fetch-kernel: no boot/vmlinuz-* in $deb" >&2
	exit 1
fi
kver=${vmlinuz##*/vmlinuz-}
if ! ls "$out/x/lib/modules/$kver/kernel/drivers/vfio/pci/"vfio-pci.ko* >/dev/null 2>&1; then
	echo "fetch-kernel: $deb has no vfio-pci module" >&2
	exit 1
fi
mv "$vmlinuz" "$out/vmlinuz"
mkdir -p "$out/modules/lib"
mv "$out/x/lib/modules" "$out/modules/lib/modules"
# depmod warns that modules.builtin.modinfo is missing (we did not extract
# it); harmless, so keep its noise out of the CI log.
depmod -b "$out/modules" "$kver" 2>/dev/null
rm -rf "$out/x" "$out/dl"

if [ "$arch" = amd64 ]; then
	# The bzImage holds the ELF vmlinux as one xz stream after the real-mode
	# setup and the decompressor stub. Find its magic and decompress it; the
	# decompressor stops at the end of the stream and ignores what follows.
	python3 - "$out/vmlinuz" "$out/vmlinux" <<'EOF'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
off = data.find(b'\xfd7zXZ\x00')
if off < 0:
    sys.exit('fetch-kernel: no xz stream in the bzImage')
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[off:])
if elf[:4] != b'\x7fELF':
    sys.exit('fetch-kernel: the xz stream is not an ELF kernel')
open(sys.argv[2], 'wb').write(elf)
EOF
fi

echo "$kver" >"$out/kver"
echo "$pkg" >"$out/pkg"
touch "$out/.done"
rm -rf "$final"
mv "$out" "$final"
tmpdir=""
out=$final
t2=$(date +%s.%N)
awk -v a="$arch" -v p="$pkg" -v k="$kver" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
	-v sz="$(du -sh "$out" | cut -f1)" 'BEGIN {
	printf "fetch-kernel: %s: %s (kernel %s): download %.1f s, extract %.1f s, %s\n",
		a, p, k, t1 - t0, t2 - t1, sz }'
