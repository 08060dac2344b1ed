#!/usr/bin/env bash
# Builds brisk into build/ and serves http://127.0.0.1:8080 with
# examples/brisk.toml. Installs missing Debian packages first.
# Extra arguments are passed to brisk (they override the file).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

bash scripts/deps.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target brisk hello
exec build/brisk --config examples/brisk.toml "$@"
