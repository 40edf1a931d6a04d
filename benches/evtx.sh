#!/usr/bin/env bash
# EVTX throughput of `sigmat eval`: every .evtx of SigmaHQ's regression data (202 files), each
# given REPEAT times (default 50) on one command line, against all 2,400-odd Windows rules of
# the catalog with the routing pipelines. Prints events/s from sigmat's own summary and the
# CPU time (user+sys) from /usr/bin/time. Usage: benches/evtx.sh [SHARED] [REPEAT]
# (build first: cargo build --release).
set -euo pipefail
shared=${1:-../shared}; repeat=${2:-50}
bin=target/release/sigmat
mapfile -t files < <(find "$shared/corpus/sigma/regression_data" -name '*.evtx' | sort)
args=()
for _ in $(seq "$repeat"); do args+=("${files[@]}"); done
echo "${#files[@]} files x $repeat"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" \
    "$bin" eval -r "$shared/corpus/sigma/rules/windows" -p sysmon -p windows_logsources \
    "${args[@]}" 2>&1 >/dev/null | tail -2
# The same events from the .json files beside them (SigmaHQ's rendering), for comparison.
jargs=()
for f in "${args[@]}"; do jargs+=("${f%.evtx}.json"); done
echo "same events from the .json files:"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" \
    "$bin" eval -r "$shared/corpus/sigma/rules/windows" -p sysmon -p windows_logsources \
    "${jargs[@]}" 2>&1 >/dev/null | tail -2
