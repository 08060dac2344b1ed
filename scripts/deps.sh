#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, run and test brisk.
# Only packages that are not installed yet are installed; `apt-get update`
# runs only when something has to be installed. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
    cmake ninja-build g++ pkg-config
    libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev catch2 libssl-dev openssl
    zlib1g-dev libbrotli-dev libzstd-dev liburing-dev
    curl python3 python3-websockets ca-certificates testssl.sh
    nginx-light slowhttptest libsystemd-dev haproxy
    clang-tidy clang-format cppcheck
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "deps: missing packages (${missing[*]}) and not root; run as root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
