"""Parses every KQL query of a `sigmat convert -t kql -f jsonl` output with Elastic's KQL
library (detection-rules' `kql`, the parser `detection-rules validate-rule` uses; put its folder
on PYTHONPATH, see ../shared/oracles/README.md).

Usage: check_kql.py FILE.jsonl [MIN_QUERIES]
Besides parsing, each query must be read with the structure it was written with: as many
negations and as many field comparisons in the parsed tree as in the text (outside quoted
strings and escapes). This catches a value the parser reads differently without an error, e.g.
`a:notepad*`, which it reads as `not a:epad*`.

Prints each failure (rule path, parser message, query) and a summary; exit 1 on any failure or
when fewer than MIN_QUERIES queries were checked."""
import json
import re
import sys

import kql
from kql import ast

NOT_WORD = re.compile(r"(?:^|[\s(])not\s")
RANGE = re.compile(r"\s(?:<=|>=|<|>)\s")


def bare(query):
    """The query without its quoted strings and escape pairs (each replaced by `_`)."""
    out = []
    i = 0
    while i < len(query):
        c = query[i]
        if c == "\\":
            out.append("_")
            i += 2
        elif c == '"':
            i += 1
            while i < len(query) and query[i] != '"':
                i += 2 if query[i] == "\\" else 1
            out.append("_")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def written(query):
    """(negations, comparisons) as written: `not ` words, and `:` / range operators."""
    text = bare(query)
    return len(NOT_WORD.findall(text)), text.count(":") + len(RANGE.findall(text))


def parsed(node):
    """(negations, comparisons) in the unoptimised tree."""
    negations = comparisons = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.NotExpr, ast.NotValue)):
            negations += 1
        if isinstance(n, (ast.FieldComparison, ast.FieldRange)):
            comparisons += 1
        if isinstance(n, list):
            stack.extend(n)
        elif isinstance(n, ast.KqlNode):
            stack.extend(getattr(n, name) for name in n.__slots__)
    return negations, comparisons


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
                tree = kql.parse(q, optimize=False)
                want, got = written(q), parsed(tree)
                if want != got:
                    raise ValueError(f"read as {got[0]} negations and {got[1]} comparisons, "
                                     f"written with {want[0]} and {want[1]}")
                ok += 1
            except Exception as e:  # noqa: BLE001 - report every parser failure
                bad += 1
                msg = str(e).splitlines()[0] if str(e) else ""
                print(f"FAIL {obj['path']}: {type(e).__name__}: {msg}\n    {q[:2000]}")
    total = ok + bad
    pct = 100.0 * ok / total if total else 0.0
    print(f"kql parse: {ok}/{total} queries parse ({pct:.2f}%), {bad} fail; {refused} rules refused")
    if bad or ok < minimum:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
