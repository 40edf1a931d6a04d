"""Executes `sigmat convert -f jsonl` output for the adversarial fixtures on a real SQL engine
and compares the selected rows with each fixture's `sigmat_expect` lists.

Usage: check_sql.py duckdb FILE.jsonl
       check_sql.py postgres FILE.jsonl PSQL_ARGS...   (e.g. -h localhost -p 54329 -U postgres)

Every fixture must convert; every `match` event must be selected and no `nomatch` event may be.
Events are maps of column values (missing = NULL); `_skip: [backend...]` leaves one out.
Exit status 1 on any difference."""
import json
import re
import subprocess
import sys

import yaml

IDENT = re.compile(r"'(?:[^']|'')*'|\"((?:[^\"]|\"\")+)\"")


def events(fixture, backend):
    expect = fixture["sigmat_expect"]
    out = []
    for key, want in (("match", True), ("nomatch", False)):
        for ev in expect.get(key) or []:
            ev = dict(ev)
            skip = ev.pop("_skip", []) or []
            if backend not in skip:
                out.append((want, ev))
    return out


def columns(queries, evs):
    cols = {"_raw"}
    for q in queries:
        for m in IDENT.finditer(q):
            if m.group(1) is not None:
                cols.add(m.group(1).replace('""', '"'))
    for _, ev in evs:
        cols.update(ev.keys())
    cols.discard("logs")
    cols.discard("_id")
    return sorted(cols)


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def quote_ident(c):
    return '"' + c.replace('"', '""') + '"'


def run_duckdb(queries, cols, evs):
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE logs (\"_id\" INTEGER, "
        + ", ".join(f"{quote_ident(c)} VARCHAR" for c in cols)
        + ")"
    )
    for i, (_, ev) in enumerate(evs):
        con.execute(
            "INSERT INTO logs VALUES (" + ", ".join("?" for _ in range(len(cols) + 1)) + ")",
            [i] + [text(ev.get(c)) for c in cols],
        )
    hits = set()
    for q in queries:
        for (i,) in con.execute(f'SELECT "_id" FROM ({q}) AS q').fetchall():
            hits.add(i)
    return hits


def sql_literal(v):
    if v is None:
        return "NULL"
    return "'" + text(v).replace("'", "''") + "'"


def run_postgres(queries, cols, evs, psql_args):
    script = ["DROP TABLE IF EXISTS logs;"]
    script.append(
        "CREATE TABLE logs (\"_id\" INTEGER, "
        + ", ".join(f"{quote_ident(c)} TEXT" for c in cols)
        + ");"
    )
    for i, (_, ev) in enumerate(evs):
        script.append(
            "INSERT INTO logs VALUES ("
            + ", ".join([str(i)] + [sql_literal(ev.get(c)) for c in cols])
            + ");"
        )
    for q in queries:
        script.append(f'SELECT "_id" FROM ({q}) AS q;')
    res = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", *psql_args],
        input="\n".join(script),
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip())
    return {int(x) for x in res.stdout.split() if x.strip()}


def main():
    engine, path, *rest = sys.argv[1:]
    failures = 0
    checked = 0
    rules = 0
    for line in open(path, encoding="utf-8"):
        obj = json.loads(line)
        rules += 1
        if "error" in obj:
            print(f"FAIL {obj['path']}: not converted: {obj['error']['message']}")
            failures += 1
            continue
        fixture = yaml.safe_load(open(obj["path"], encoding="utf-8"))
        evs = events(fixture, engine)
        queries = obj["queries"]
        cols = columns(queries, evs)
        try:
            if engine == "duckdb":
                hits = run_duckdb(queries, cols, evs)
            else:
                hits = run_postgres(queries, cols, evs, rest)
        except Exception as e:  # noqa: BLE001 - any engine error is a failure
            print(f"FAIL {obj['path']}: {type(e).__name__}: {e}\n    " + "\n    ".join(queries))
            failures += 1
            continue
        for i, (want, ev) in enumerate(evs):
            checked += 1
            if (i in hits) != want:
                failures += 1
                print(
                    f"FAIL {obj['path']}: event {ev!r} should {'' if want else 'not '}match\n    "
                    + "\n    ".join(queries)
                )
    print(f"{engine}: {rules} fixtures, {checked} events checked, {failures} failures")
    if failures or checked == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
