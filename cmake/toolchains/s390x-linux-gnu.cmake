# SPDX-License-Identifier: BSD-3-Clause
#
# Cross toolchain for s390x-linux-gnu:
# Debian's gcc-s390x-linux-gnu and libc6-dev-s390x-cross,
# with cmocka from libcmocka-dev:s390x (scripts/install-deps.sh).
# Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR, so no binfmt
# registration is needed (PID 1 is not systemd on the CI machines).
#
#   cmake -S . -B build-s390x -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/s390x-linux-gnu.cmake
#   cmake --build build-s390x && ctest --test-dir build-s390x --timeout 600
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)

# C++ is used only by the public header check (tests/headers). Name the cross
# g++ only when it is installed (g++-s390x-linux-gnu is not in the CI package
# list): otherwise CMake would fall back to the host's c++, and tests/headers
# skips C++ on cross builds whose toolchain file names no C++ compiler.
find_program(VMSG_CROSS_CXX s390x-linux-gnu-g++)
if(VMSG_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${VMSG_CROSS_CXX})
endif()

# Multiarch: find_package(cmocka CONFIG) then finds
# /usr/lib/s390x-linux-gnu/cmake/cmocka, the package of the target architecture.
set(CMAKE_LIBRARY_ARCHITECTURE s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Not the textbook "qemu-s390x -L /usr/s390x-linux-gnu": once libc6:s390x is installed
# (libcmocka0:s390x pulls it in), qemu loads ld.so from /usr/s390x-linux-gnu/lib
# while ld.so.cache sends libc.so.6 to /lib/s390x-linux-gnu, a different glibc
# build, which gives stack smashing, SEGVs or a livelock. Pinning
# LD_LIBRARY_PATH keeps both from the cross libc, and also finds the cross
# sanitizer runtimes (ci-toolchain.md, pitfall P5).
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-s390x;-L;/usr/s390x-linux-gnu;-E;LD_LIBRARY_PATH=/usr/s390x-linux-gnu/lib)
