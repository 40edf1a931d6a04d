#!/bin/sh
# sigmat eval vs rsigma (0.23: `cargo install rsigma --version 0.23.0 --locked`) on the same
# rules and the same generated events, end to end through both CLIs (load + compile + read +
# parse + evaluate + write matches).
#
#   benches/compare_rsigma.sh                 # 1,000,000 events, 1 and 2 threads
#   SIGMAT_BENCH_EVENTS=100000 benches/compare_rsigma.sh
#
# Environment: SIGMAT_SHARED (default ../shared), RULES (default the SigmaHQ Windows catalog),
# EVENTS_FILE (reused when it exists with the requested number of lines), RSIGMA (binary).
# The single-thread lanes pin each process to one CPU with taskset.
set -eu
cd "$(dirname "$0")/.."
SHARED=${SIGMAT_SHARED:-../shared}
RULES=${RULES:-$SHARED/corpus/sigma/rules/windows}
N=${SIGMAT_BENCH_EVENTS:-1000000}
FILE=${EVENTS_FILE:-target/bench-eval-events-$N.ndjson}
RSIGMA=${RSIGMA:-rsigma}
OUT=target/compare-rsigma
mkdir -p "$OUT"

cargo build --release --bin sigmat >&2
SIGMAT=target/release/sigmat
if [ ! -f "$FILE" ] || [ "$(wc -l < "$FILE")" -ne "$N" ]; then
    SIGMAT_BENCH_EVENTS=$N SIGMAT_BENCH_WRITE=$FILE cargo bench --bench eval >&2
fi
MB=$(du -m "$FILE" | cut -f1)
echo "events: $N in $FILE ($MB MB); rules: $RULES"
"$RSIGMA" --version

run() { # name threads command...
    name=$1; threads=$2; shift 2
    if [ "$threads" = 1 ]; then pin="taskset -c 0"; else pin=""; fi
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/$name.time" $pin "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || true
    set -- $(tail -1 "$OUT/$name.time")
    secs=$1; cpu=$(echo "$2 + $3" | bc); kb=$4
    matches=$(wc -l < "$OUT/$name.out")
    echo "$name: wall ${secs} s = $(echo "$N / $secs" | bc) events/s ($(echo "scale=1; $MB / $secs" | bc) MB/s); cpu ${cpu} s = $(echo "$N / $cpu" | bc) events/cpu-s; peak RSS $((kb / 1024)) MB; $matches match lines"
}

for t in 1 2; do
    run "sigmat-${t}t" "$t" "$SIGMAT" eval -q -j "$t" -r "$RULES" --format jsonl "$FILE"
    RAYON_NUM_THREADS=$t run "rsigma-${t}t" "$t" "$RSIGMA" engine eval -q --no-stats -r "$RULES" -e "@$FILE"
done
