#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The README's demo command: install what is missing, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DVMSG_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo
echo
./build/demo/examples/proto_roundtrip
echo
./build/demo/examples/bus_demo
