#!/usr/bin/env bash
# The README quick start's scan: installs and builds what the scanner needs,
# then runs a connect scan with live progress on stderr and the open ports
# on stdout.   scripts/scan.sh 127.0.0.1 [ports]   (ports default: all; e.g. top:1000)
# No privileges needed. Scan only hosts you are allowed to scan.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

if (($# < 1 || $# > 2)); then
  echo "usage: scripts/scan.sh <target> [ports]   e.g. scripts/scan.sh 127.0.0.1 or scripts/scan.sh 127.0.0.1 top:1000" >&2
  exit 2
fi

{
  if ! command -v pnpm >/dev/null || [[ "$(pnpm --version)" != 10.* ]]; then
    npm i -g pnpm@10
  fi
  pnpm install --frozen-lockfile
  # The scanner and what it depends on (core, progress, the native addon).
  pnpm build --filter=@portflow/scanner...
} >&2

exec node packages/scanner/dist/quickstart.js "$@"
