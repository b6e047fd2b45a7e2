#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Scenario e: scenario a with an arm64 guest (virt, GICv3 ITS, SMMUv3, the
# Debian arm64 kernel, vmsg_vm_node cross-built for aarch64): the library
# runs on aarch64 for real, ring and doorbells in device memory over VFIO.
set -euo pipefail
export VMSG_SCENARIO_ARCH=arm64
exec bash "$(dirname "${BASH_SOURCE[0]}")/scenario-a-host-vfio.sh"
