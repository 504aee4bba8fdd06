#!/usr/bin/env bash
# Install what the whole test suite needs on a fresh machine, then run it.
# This is the README's test command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

if ! command -v pnpm >/dev/null || [[ "$(pnpm --version)" != 10.* ]]; then
  npm i -g pnpm@10
fi

# Debian packages used by the native build, the namespace labs and the
# peer comparisons (nmap as second opinion). Lab tests need root anyway.
DEBS=(iproute2 nftables nmap masscan tcpdump libpcap-dev clang libclang-rt-14-dev jq procps)
if [[ $(id -u) -eq 0 ]]; then
  missing=()
  for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  echo "not root: skipping Debian packages (${DEBS[*]}); lab tests will skip with a reason"
fi

pnpm install --frozen-lockfile
pnpm test
