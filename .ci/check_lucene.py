"""Parses every Lucene query of a `sigmat convert -t lucene -f jsonl` output with `luqum`
(a parser of the Lucene / Elasticsearch `query_string` syntax).

Usage: check_lucene.py FILE.jsonl [MIN_QUERIES]
Prints each failure and a summary; exit 1 on any failure or when fewer than MIN_QUERIES
queries were checked."""
import json
import sys

from luqum.parser import parser


def main() -> int:
    path = sys.argv[1]
    minimum = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    ok = bad = refused = 0
    for line in open(path, encoding="utf-8"):
        obj = json.loads(line)
        if "error" in obj:
            refused += 1
            continue
        for q in obj["queries"]:
            try:
                parser.parse(q)
                ok += 1
            except Exception as e:  # noqa: BLE001 - report every parser failure
                bad += 1
                msg = str(e).splitlines()[0] if str(e) else ""
                print(f"FAIL {obj['path']}: {type(e).__name__}: {msg}\n    {q[:2000]}")
    total = ok + bad
    pct = 100.0 * ok / total if total else 0.0
    print(f"lucene parse: {ok}/{total} queries parse ({pct:.2f}%), {bad} fail; {refused} rules refused")
    return 1 if bad or ok < minimum else 0


if __name__ == "__main__":
    sys.exit(main())
