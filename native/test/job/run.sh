#!/bin/sh
# Builds and runs the standalone job-core tests; extra arguments (--full,
# --bench) go to the test binary.
set -e
cd "$(dirname "$0")"
out="${TMPDIR:-/tmp}/portflow-job-test"
g++ -std=c++20 -O2 -Wall -Wextra -o "$out" job_test.cc ../../src/job/index_space.cc
exec "$out" "$@"
