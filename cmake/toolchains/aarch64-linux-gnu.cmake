# SPDX-License-Identifier: BSD-3-Clause
#
# Cross toolchain for aarch64-linux-gnu:
# Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross,
# with cmocka from libcmocka-dev:arm64 (scripts/install-deps.sh).
# Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR, so no binfmt
# registration is needed (PID 1 is not systemd on the CI machines).
#
#   cmake -S . -B build-aarch64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 && ctest --test-dir build-aarch64 --timeout 600
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# C++ is used only by the public header check (tests/headers). Name the cross
# g++ only when it is installed (g++-aarch64-linux-gnu is not in the CI package
# list): otherwise CMake would fall back to the host's c++, and tests/headers
# skips C++ on cross builds whose toolchain file names no C++ compiler.
find_program(VMSG_CROSS_CXX aarch64-linux-gnu-g++)
if(VMSG_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${VMSG_CROSS_CXX})
endif()

# Multiarch: find_package(cmocka CONFIG) then finds
# /usr/lib/aarch64-linux-gnu/cmake/cmocka, the package of the target architecture.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Not the textbook "qemu-aarch64 -L /usr/aarch64-linux-gnu": once libc6:arm64 is installed
# (libcmocka0:arm64 pulls it in), qemu loads ld.so from /usr/aarch64-linux-gnu/lib
# while ld.so.cache sends libc.so.6 to /lib/aarch64-linux-gnu, a different glibc
# build, which gives stack smashing, SEGVs or a livelock. Pinning
# LD_LIBRARY_PATH keeps both from the cross libc, and also finds the cross
# sanitizer runtimes (ci-toolchain.md, pitfall P5).
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64;-L;/usr/aarch64-linux-gnu;-E;LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
