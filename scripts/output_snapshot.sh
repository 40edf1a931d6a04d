#!/usr/bin/env bash
# Writes every conversion output of one sigmat binary into OUTDIR, so that two builds can be
# compared byte for byte (`diff -r`): the fixtures and the SigmaHQ catalog on every backend,
# with and without the Elastic pipelines, as jsonl (queries, warnings, errors), plus the
# Elastic formats. Usage: scripts/output_snapshot.sh BIN OUTDIR [SHARED]
set -uo pipefail
bin=$1; out=$2; shared=${3:-../shared}
mkdir -p "$out"
cat=()
for d in rules rules-emerging-threats rules-threat-hunting; do
    [ -d "$shared/corpus/sigma/$d" ] && cat+=("$shared/corpus/sigma/$d")
done
fixtures=(rules)
for b in eql kql lucene esql sqlite postgres duckdb; do
    for p in none ecs_windows ecs_linux; do
        args=(); [ "$p" != none ] && args=(-p "$p")
        "$bin" convert -t "$b" "${args[@]}" -s -f jsonl "${fixtures[@]}" "${cat[@]}" \
            >"$out/$b-$p.jsonl" 2>"$out/$b-$p.stderr"
        echo "exit $?" >>"$out/$b-$p.stderr"
        "$bin" convert -t "$b" "${args[@]}" "${fixtures[@]}" \
            >"$out/$b-$p.default" 2>"$out/$b-$p.default.stderr"
        echo "exit $?" >>"$out/$b-$p.default.stderr"
    done
done
for b in eql kql lucene esql; do
    for p in ecs_windows ecs_linux; do
        "$bin" convert -t "$b" -p "$p" -s -f kibana-ndjson "${cat[@]}" \
            >"$out/$b-$p.kibana.ndjson" 2>"$out/$b-$p.kibana.stderr"
        echo "exit $?" >>"$out/$b-$p.kibana.stderr"
    done
done
"$bin" convert -t eql -p ecs_windows -p ecs_linux -s -f elastic-toml -o "$out/toml/" "${cat[@]}" \
    >"$out/toml.stdout" 2>"$out/toml.stderr"
echo "exit $?" >>"$out/toml.stderr"
for f in rules/*/; do
    "$bin" check "$f" >>"$out/check.txt" 2>&1; echo "exit $?" >>"$out/check.txt"
    "$bin" check --format json "$f" >>"$out/check.json" 2>&1
done
