#!/bin/sh
# Builds and runs the standalone job-core tests (no Node needed); extra
# arguments go to the test binary: --full adds the exhaustive 2^32 + 1
# bijection check (minutes), --bench prints mapping figures.
set -e
cd "$(dirname "$0")"
dir=$(mktemp -d "${TMPDIR:-/tmp}/portflow-job-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
g++ -std=c++20 -O2 -Wall -Wextra -Wshadow -Werror -o "$dir/job_test" job_test.cc ../../src/job/index_space.cc
"$dir/job_test" "$@"
