#!/bin/bash
# Install the Debian packages Ringmaster builds and tests with, if missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config liburing-dev libmimalloc-dev libssl-dev openssl check
      redis-server redis-sentinel redis-tools python3-redis python3-pytest libhiredis-dev
      clang libclang-rt-14-dev fuse3 python3-fusepy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
