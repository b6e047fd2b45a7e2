# SPDX-License-Identifier: BSD-3-Clause
#
# Plain source lists for builds that do not use our CMake targets (firmware,
# RTOS build systems). Include this file and add the sources to your own
# target together with include/ and a generated version.h:
#
#   include(path/to/virtio-msg/cmake/VirtioMsgSources.cmake)
#   vmsg_generate_version_header(${CMAKE_BINARY_DIR}/vmsg-include)
#   target_sources(fw PRIVATE ${VMSG_CORE_SOURCES})
#   target_include_directories(fw PRIVATE ${VMSG_INCLUDE_DIR} ${CMAKE_BINARY_DIR}/vmsg-include)
#
# The core needs only a C11 compiler and freestanding headers.

get_filename_component(VMSG_SOURCE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

set(VMSG_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/include")

# Protocol codec: no OS headers, no allocation.
set(VMSG_PROTO_SOURCES
    "${VMSG_SOURCE_ROOT}/src/proto/codec.c"
    "${VMSG_SOURCE_ROOT}/src/proto/layouts.c"
    "${VMSG_SOURCE_ROOT}/src/proto/format.c"
    "${VMSG_SOURCE_ROOT}/src/proto/capacity.c")

# The SPSC ring: C11 atomics only.
set(VMSG_SPSC_SOURCES
    "${VMSG_SOURCE_ROOT}/src/spsc/ring.c")

# Shared-memory layouts (vmamp v1, SPSC-v0) and the peer lifecycle.
set(VMSG_SHM_SOURCES
    "${VMSG_SOURCE_ROOT}/src/shm/access.c"
    "${VMSG_SOURCE_ROOT}/src/shm/layout_v0.c"
    "${VMSG_SOURCE_ROOT}/src/shm/layout_v1.c"
    "${VMSG_SOURCE_ROOT}/src/shm/channel.c")

# The bus core and the bus over a shared-memory channel.
set(VMSG_BUS_SOURCES
    "${VMSG_SOURCE_ROOT}/src/bus/bus.c"
    "${VMSG_SOURCE_ROOT}/src/bus/requests.c"
    "${VMSG_SOURCE_ROOT}/src/bus/devices.c"
    "${VMSG_SOURCE_ROOT}/src/bus/shm_bus.c")

set(VMSG_COMMON_SOURCES
    "${VMSG_SOURCE_ROOT}/src/common/errors.c"
    "${VMSG_SOURCE_ROOT}/src/common/version.c")

set(VMSG_CORE_SOURCES ${VMSG_COMMON_SOURCES} ${VMSG_PROTO_SOURCES} ${VMSG_SPSC_SOURCES} ${VMSG_SHM_SOURCES} ${VMSG_BUS_SOURCES})

# Ports (each needs its platform; not part of VMSG_CORE_SOURCES).
set(VMSG_PORT_POSIX_SHM_SOURCES "${VMSG_SOURCE_ROOT}/ports/posix-shm/posix_shm.c")
set(VMSG_PORT_POSIX_SHM_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/posix-shm/include")

set(VMSG_PORT_BAREMETAL_SOURCES "${VMSG_SOURCE_ROOT}/ports/baremetal/baremetal.c")
set(VMSG_PORT_BAREMETAL_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/baremetal/include")

# The ivshmem device logic shared by the three ivshmem ports (doorbell
# encoding, peer discovery, layout choice); pulled in by any of them.
set(VMSG_PORT_IVSHMEM_SOURCES "${VMSG_SOURCE_ROOT}/ports/ivshmem/ivshmem.c")
set(VMSG_PORT_IVSHMEM_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/ivshmem/include")

# A host process joining an ivshmem server, and our own server.
set(VMSG_PORT_IVSHMEM_HOST_SOURCES
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-host/ivsh_client.c"
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-host/ivsh_server.c"
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-host/ivshmem_host.c")
set(VMSG_PORT_IVSHMEM_HOST_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/ivshmem-host/include")

# VFIO user-space device access, ivshmem over it, and the AMP-PCI profile.
set(VMSG_PORT_IVSHMEM_VFIO_SOURCES
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-vfio/vfio_dev.c"
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-vfio/ivshmem_vfio.c"
    "${VMSG_SOURCE_ROOT}/ports/ivshmem-vfio/amp_pci.c")
set(VMSG_PORT_IVSHMEM_VFIO_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/ivshmem-vfio/include")

# UIO (uio_pci_generic or a UIO driver with named maps).
set(VMSG_PORT_UIO_SOURCES "${VMSG_SOURCE_ROOT}/ports/uio/uio.c")
set(VMSG_PORT_UIO_INCLUDE_DIR "${VMSG_SOURCE_ROOT}/ports/uio/include")

# The project version, kept here so firmware builds that only include this
# file can generate version.h too. The top-level project() reads it.
set(VMSG_VERSION "0.1.0")

# Writes <dir>/virtio_msg/version.h from the template.
function(vmsg_generate_version_header dir)
  string(REPLACE "." ";" _v "${VMSG_VERSION}")
  list(GET _v 0 PROJECT_VERSION_MAJOR)
  list(GET _v 1 PROJECT_VERSION_MINOR)
  list(GET _v 2 PROJECT_VERSION_PATCH)
  configure_file("${VMSG_SOURCE_ROOT}/include/virtio_msg/version.h.in"
                 "${dir}/virtio_msg/version.h" @ONLY)
endfunction()
