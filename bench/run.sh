#!/bin/sh
# Runs every benchmark of a build and prints their "system=zflow workload=..." lines.
# usage: bench/run.sh [BUILD_DIR]   (default: build)
set -eu
bin="${1:-build}/bin"
status=0
for bench in bench_core bench_proto bench_dispatch bench_e2e bench_archiver bench_gateway \
    bench_failover; do
    if [ -x "$bin/$bench" ]; then
        echo "# $bench"
        "$bin/$bench" || { echo "# $bench failed" >&2; status=1; }
    fi
done
exit $status
