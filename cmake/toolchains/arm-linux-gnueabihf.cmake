# SPDX-License-Identifier: BSD-3-Clause
#
# Cross toolchain for arm-linux-gnueabihf:
# Debian's gcc-arm-linux-gnueabihf and libc6-dev-armhf-cross,
# with cmocka from libcmocka-dev:armhf (scripts/install-deps.sh).
# Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR, so no binfmt
# registration is needed (PID 1 is not systemd on the CI machines).
#
#   cmake -S . -B build-arm -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
#   cmake --build build-arm && ctest --test-dir build-arm --timeout 600
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)

# C++ is used only by the public header check (tests/headers). Name the cross
# g++ only when it is installed (g++-arm-linux-gnueabihf is not in the CI package
# list): otherwise CMake would fall back to the host's c++, and tests/headers
# skips C++ on cross builds whose toolchain file names no C++ compiler.
find_program(VMSG_CROSS_CXX arm-linux-gnueabihf-g++)
if(VMSG_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${VMSG_CROSS_CXX})
endif()

# Multiarch: find_package(cmocka CONFIG) then finds
# /usr/lib/arm-linux-gnueabihf/cmake/cmocka, the package of the target architecture.
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Not the textbook "qemu-arm -L /usr/arm-linux-gnueabihf": once libc6:armhf is installed
# (libcmocka0:armhf pulls it in), qemu loads ld.so from /usr/arm-linux-gnueabihf/lib
# while ld.so.cache sends libc.so.6 to /lib/arm-linux-gnueabihf, a different glibc
# build, which gives stack smashing, SEGVs or a livelock. Pinning
# LD_LIBRARY_PATH keeps both from the cross libc, and also finds the cross
# sanitizer runtimes (ci-toolchain.md, pitfall P5).
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-arm;-L;/usr/arm-linux-gnueabihf;-E;LD_LIBRARY_PATH=/usr/arm-linux-gnueabihf/lib)
