#!/bin/sh
# Correlation end to end: `sigmat eval` vs rsigma 0.23 `engine eval` on the rules and events of
# `cargo bench --bench correlate` (50 base rules, 10 correlations of mixed types, 100,000 user
# groups), written to files by that bench (SIGMAT_BENCH_WRITE_DIR). Both CLIs load the rules,
# read and parse every event, match the base rules and correlate, on one thread (taskset -c 0).
# Prints wall and CPU time, events/s, peak RSS and the alerts per correlation of each.
#
#   benches/correlate_rsigma.sh                 # 1,000,000 events
#   SIGMAT_BENCH_EVENTS=200000 benches/correlate_rsigma.sh
#
# Environment: RSIGMA (binary; default `rsigma` on PATH, else target/rsigma/bin/rsigma, built
# there with `cargo install rsigma --version 0.23.0 --locked` when missing), RUNS (default 3,
# interleaved; the median wall time is reported).
#
# The alert counts differ by design: rsigma 0.23 correlates on whole-second timestamps in arrival
# order and re-fires on every qualifying event; sigmat orders by event time (millisecond
# precision here), fires once per window and consumes what fired (docs/correlation-semantics.md).
set -eu
cd "$(dirname "$0")/.."
N=${SIGMAT_BENCH_EVENTS:-1000000}
RUNS=${RUNS:-3}
DIR=target/correlate-rsigma/$N
mkdir -p "$DIR"

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
if [ ! -f "$DIR/events.ndjson" ] || [ "$(wc -l < "$DIR/events.ndjson")" -ne "$N" ]; then
    SIGMAT_BENCH_EVENTS=$N SIGMAT_BENCH_WRITE_DIR=$DIR cargo bench --bench correlate >&2
fi
MB=$(du -m "$DIR/events.ndjson" | cut -f1)
echo "events: $N ($MB MB); rules: $DIR/rules.yml (50 base rules, 10 correlations); median of $RUNS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$RSIGMA" --version

once() { # name command... -> appends "wall cpu kb" to $DIR/name.runs
    name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/$name.time" taskset -c 0 "$@" \
        > "$DIR/$name.out" 2> "$DIR/$name.err" || echo "$name exited with $? (see $DIR/$name.err)" >&2
    set -- $(tail -1 "$DIR/$name.time")
    echo "$1 $(echo "$2 + $3" | bc) $4" >> "$DIR/$name.runs"
}

median() { # file column -> the median of that column
    sort -n -k "$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

rm -f "$DIR"/*.runs
for _ in $(seq "$RUNS"); do
    once sigmat "$SIGMAT" eval -q -j 1 -r "$DIR/rules.yml" --format jsonl "$DIR/events.ndjson"
    RAYON_NUM_THREADS=1 once rsigma "$RSIGMA" engine eval -q --no-stats -r "$DIR/rules.yml" \
        -e "@$DIR/events.ndjson"
done

for name in sigmat rsigma; do
    wall=$(median "$DIR/$name.runs" 1)
    cpu=$(median "$DIR/$name.runs" 2)
    kb=$(sort -n -k 3 "$DIR/$name.runs" | tail -1 | cut -d' ' -f3)
    echo "$name: wall $wall s = $(echo "$N / $wall" | bc) events/s; cpu $cpu s; peak RSS $((kb / 1024)) MB"
    # Alerts per correlation: the lines naming a correlation rule c1..c10.
    printf '  alerts per correlation:'
    for c in c1 c2 c3 c4 c5 c6 c7 c8 c9 c10; do
        printf ' %s=%s' "$c" "$(grep -c "\"$c\"" "$DIR/$name.out" || true)"
    done
    echo
    eval "w_$name=$wall"
done
echo "ratio (wall, one thread each): sigmat / rsigma $(echo "scale=2; $w_rsigma / $w_sigmat" | bc)x"
