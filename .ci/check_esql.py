"""Parses every ES|QL query of a `sigmat convert -t esql -f jsonl` output with `esql-parser`
(ANTLR, generated from Elasticsearch's own ES|QL grammar; entry rule `singleStatement`).

Usage: check_esql.py FILE.jsonl [MIN_QUERIES]
A query parses when the lexer and the parser report no syntax error and the whole input is
consumed. Prints each failure and a summary; exit 1 on any failure or when fewer than
MIN_QUERIES queries were checked."""
import json
import sys

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorListener import ErrorListener
from esql_parser.EsqlBaseLexer import EsqlBaseLexer
from esql_parser.EsqlBaseParser import EsqlBaseParser


class Collect(ErrorListener):
    def __init__(self):
        super().__init__()
        self.errors = []

    def syntaxError(self, recognizer, offending, line, column, msg, e):  # noqa: N802 - ANTLR API
        self.errors.append(f"{line}:{column}: {msg}")


def errors(query):
    listener = Collect()
    lexer = EsqlBaseLexer(InputStream(query))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = EsqlBaseParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    # SLL first (fast); a query SLL rejects is parsed again with full LL, whose verdict counts.
    parser._interp.predictionMode = PredictionMode.SLL
    parser.singleStatement()
    if listener.errors:
        listener.errors = []
        lexer.reset()
        tokens = CommonTokenStream(lexer)
        parser = EsqlBaseParser(tokens)
        parser.removeErrorListeners()
        parser.addErrorListener(listener)
        parser._interp.predictionMode = PredictionMode.LL
        parser.singleStatement()
    if not listener.errors and tokens.LA(1) != Token.EOF:
        listener.errors.append("input left after the statement")
    return listener.errors


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
            errs = errors(q)
            if errs:
                bad += 1
                print(f"FAIL {obj['path']}: {errs[0]}\n    {q[:2000]}")
            else:
                ok += 1
    total = ok + bad
    pct = 100.0 * ok / total if total else 0.0
    print(f"esql parse: {ok}/{total} queries parse ({pct:.2f}%), {bad} fail; {refused} rules refused")
    return 1 if bad or ok < minimum else 0


if __name__ == "__main__":
    sys.exit(main())
