#!/bin/sh
# sigmat eval vs rsigma 0.23 on the same rules and the same generated events, end to end
# through both CLIs (load + compile + read + parse + evaluate + write matches), and the ratios
# issue 17 asks for: 2 threads / 1 thread (goal >= 1.7x), sigmat 1 thread / rsigma (goal
# >= 6x), loading + compiling the catalog alone (goal < 0.1 s on 2 cores), peak RSS (goal
# < 64 MB).
#
#   benches/compare_rsigma.sh                 # 1,000,000 events, 1 and 2 threads
#   SIGMAT_BENCH_EVENTS=100000 benches/compare_rsigma.sh
#
# Environment: SIGMAT_SHARED (default ../shared), RULES (default the SigmaHQ Windows catalog),
# EVENTS_FILE (reused when it exists with the requested number of lines), RSIGMA (binary;
# default `rsigma` on PATH, else target/rsigma/bin/rsigma, built there with
# `cargo install rsigma --version 0.23.0 --locked` when missing), RUNS (default 3: each lane
# is run that many times, interleaved, and its median wall time is reported).
# The single-thread lanes pin each process to one CPU with taskset.
set -eu
cd "$(dirname "$0")/.."
SHARED=${SIGMAT_SHARED:-../shared}
RULES=${RULES:-$SHARED/corpus/sigma/rules/windows}
N=${SIGMAT_BENCH_EVENTS:-1000000}
FILE=${EVENTS_FILE:-target/bench-eval-events-$N.ndjson}
RUNS=${RUNS:-3}
OUT=target/compare-rsigma
mkdir -p "$OUT"

if [ -z "${RSIGMA:-}" ]; then
    if command -v rsigma >/dev/null 2>&1; then
        RSIGMA=rsigma
    else
        RSIGMA=target/rsigma/bin/rsigma
        if [ ! -x "$RSIGMA" ]; then
            echo "building rsigma 0.23.0 into target/rsigma (once)" >&2
            cargo install rsigma --version 0.23.0 --locked --root target/rsigma >&2
        fi
    fi
fi

cargo build --release --bin sigmat >&2
SIGMAT=target/release/sigmat
if [ ! -f "$FILE" ] || [ "$(wc -l < "$FILE")" -ne "$N" ]; then
    SIGMAT_BENCH_EVENTS=$N SIGMAT_BENCH_WRITE=$FILE cargo bench --bench eval >&2
fi
MB=$(du -m "$FILE" | cut -f1)
echo "events: $N in $FILE ($MB MB); rules: $RULES; median of $RUNS interleaved runs"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$RSIGMA" --version
EMPTY="$OUT/empty.ndjson"
: > "$EMPTY"

once() { # name threads command... -> appends "wall cpu kb" to $OUT/name.runs
    name=$1; threads=$2; shift 2
    if [ "$threads" = 1 ]; then pin="taskset -c 0"; else pin=""; fi
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/$name.time" $pin "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || true
    set -- $(tail -1 "$OUT/$name.time")
    echo "$1 $(echo "$2 + $3" | bc) $4" >> "$OUT/$name.runs"
}

median() { # file column -> the median of that column
    sort -n -k "$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

report() { # name events -> prints the lane's line; sets WALL
    name=$1; n=$2
    WALL=$(median "$OUT/$name.runs" 1)
    cpu=$(median "$OUT/$name.runs" 2)
    kb=$(sort -n -k 3 "$OUT/$name.runs" | tail -1 | cut -d' ' -f3)
    matches=$(wc -l < "$OUT/$name.out")
    if [ "$n" -gt 0 ]; then
        rate=" = $(echo "$n / $WALL" | bc) events/s ($(echo "scale=1; $MB / $WALL" | bc) MB/s); cpu ${cpu} s = $(echo "$n / $cpu" | bc) events/cpu-s"
    else
        rate="; cpu ${cpu} s"
    fi
    echo "$name: wall ${WALL} s${rate}; peak RSS $((kb / 1024)) MB; $matches match lines"
}

rm -f "$OUT"/*.runs
for _ in $(seq "$RUNS"); do
    once sigmat-load 2 "$SIGMAT" eval -q -r "$RULES" --format jsonl "$EMPTY"
    for t in 1 2; do
        once "sigmat-${t}t" "$t" "$SIGMAT" eval -q -j "$t" -r "$RULES" --format jsonl "$FILE"
        RAYON_NUM_THREADS=$t once "rsigma-${t}t" "$t" "$RSIGMA" engine eval -q --no-stats -r "$RULES" -e "@$FILE"
    done
done

report sigmat-load 0
for t in 1 2; do
    report "sigmat-${t}t" "$N"; eval "s$t=$WALL"
    report "rsigma-${t}t" "$N"; eval "r$t=$WALL"
done
echo "ratios (wall): sigmat 2 threads / 1 thread $(echo "scale=2; $s1 / $s2" | bc)x (goal >= 1.7); sigmat 1 thread / rsigma $(echo "scale=2; $r1 / $s1" | bc)x (goal >= 6); sigmat 2 threads / rsigma $(echo "scale=2; $r2 / $s2" | bc)x"
