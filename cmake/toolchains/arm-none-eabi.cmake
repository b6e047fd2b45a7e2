# SPDX-License-Identifier: BSD-3-Clause
#
# Bare-metal Cortex-M4 (Debian's gcc-arm-none-eabi, no newlib needed). Proves
# that the core builds with a freestanding toolchain: only stdint.h, stddef.h
# and stdbool.h, which come with gcc itself.
#
#   cmake -S . -B build-m4 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-none-eabi.cmake \
#         -DVMSG_BUILD_SHARED=OFF -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_EXAMPLES=OFF \
#         -DVMSG_INSTALL=OFF
#
# scripts/build-freestanding.sh does exactly that and checks the objects.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# There is no libc to link a test executable against: let CMake's compiler
# checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# The target flags. -ffreestanding everywhere: without it gcc may turn loops
# into memset/memcpy calls that a -nostdlib firmware cannot link
# (ci-toolchain.md §3). -ffunction/-fdata-sections let a firmware drop unused
# API with --gc-sections. -Os because size is what matters on an MCU (a
# CMAKE_BUILD_TYPE such as Release appends its own -O level after it).
set(VMSG_M4_FLAGS "-mcpu=cortex-m4 -mthumb -Os -ffreestanding -ffunction-sections -fdata-sections")
foreach(lang C CXX ASM)
  set(CMAKE_${lang}_FLAGS_INIT "${VMSG_M4_FLAGS}")
  # A -DCMAKE_C_FLAGS=... given on the command line replaces the _INIT value
  # entirely, which would silently build for gcc's default ARM CPU (not even
  # Thumb-2). Put the target flags back in front of the user's, once: the
  # test on -mcpu keeps this idempotent, as this file is read many times.
  if(DEFINED CACHE{CMAKE_${lang}_FLAGS} AND NOT "${CMAKE_${lang}_FLAGS}" MATCHES "-mcpu=")
    set(CMAKE_${lang}_FLAGS "${VMSG_M4_FLAGS} ${CMAKE_${lang}_FLAGS}"
        CACHE STRING "Flags used by the ${lang} compiler for all build types." FORCE)
  endif()
endforeach()
# Never pick up host headers or libraries.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
