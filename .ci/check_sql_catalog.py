"""Executes every query of a `sigmat convert -f jsonl` output (e.g. the whole SigmaHQ catalog)
on a real SQL engine: each query runs against a one-row table holding every column it names,
so the engine parses, binds, plans and evaluates it. Verdicts are not compared here (the
fixtures' expectations are, by check_sql.py); this checks that every emitted query is one the
engine accepts and can run.

Usage: check_sql_catalog.py sqlite FILE.jsonl [MIN_QUERIES]
       check_sql_catalog.py duckdb FILE.jsonl [MIN_QUERIES]
       check_sql_catalog.py postgres FILE.jsonl MIN_QUERIES CONNINFO  (e.g. "host=localhost port=54329 user=postgres")

SQLite's REGEXP is registered with Python's `re` (the `sqlite` backend leaves it to the caller).
Prints each failure and a summary; exit 1 on any failure or fewer than MIN_QUERIES queries."""
import json
import re
import sys
import time

IDENT = re.compile(r"'(?:[^']|'')*'|\"((?:[^\"]|\"\")+)\"")
TABLE = re.compile(r'\bFROM\s+"((?:[^"]|"")+)"')


def columns(query):
    table = TABLE.search(query)
    table = table.group(1) if table else "logs"
    cols = {"_raw"}
    for m in IDENT.finditer(query):
        if m.group(1) is not None:
            cols.add(m.group(1).replace('""', '"'))
    cols.discard(table)
    return table, sorted(cols)


def quote_ident(c):
    return '"' + c.replace('"', '""') + '"'


def statements(query, temp=False):
    table, cols = columns(query)
    t = quote_ident(table)
    create = f"CREATE {'TEMP ' if temp else ''}TABLE {t} (" + ", ".join(f"{quote_ident(c)} TEXT" for c in cols) + ")"
    insert = f"INSERT INTO {t} VALUES (" + ", ".join("'x'" for _ in cols) + ")"
    return t, create, insert


def sqlite_runner():
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, v) is not None,
                        deterministic=True)

    def run(query):
        t, create, insert = statements(query)
        con.execute(create)
        try:
            con.execute(insert)
            con.execute(query).fetchall()
        finally:
            con.execute(f"DROP TABLE {t}")

    return f"sqlite {sqlite3.sqlite_version}", run


def duckdb_runner():
    import duckdb

    con = duckdb.connect()

    def run(query):
        t, create, insert = statements(query)
        con.execute(create)
        try:
            con.execute(insert)
            con.execute(query).fetchall()
        finally:
            con.execute(f"DROP TABLE {t}")

    return f"duckdb {duckdb.__version__}", run


def postgres_runner(conninfo):
    import psycopg

    con = psycopg.connect(conninfo, autocommit=False)
    version = con.execute("SHOW server_version").fetchone()[0]
    con.rollback()

    def run(query):
        # A temporary table: it shadows any table of that name (check_sql.py leaves `logs`).
        _, create, insert = statements(query, temp=True)
        try:
            with con.cursor() as cur:
                cur.execute(create)
                cur.execute(insert)
                cur.execute(query)
                cur.fetchall()
        finally:
            con.rollback()

    return f"postgres {version}", run


def main() -> int:
    engine, path = sys.argv[1], sys.argv[2]
    minimum = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if engine == "sqlite":
        name, run = sqlite_runner()
    elif engine == "duckdb":
        name, run = duckdb_runner()
    elif engine == "postgres":
        name, run = postgres_runner(sys.argv[4])
    else:
        print(f"unknown engine {engine}")
        return 2
    ok = bad = refused = 0
    start = time.monotonic()
    for line in open(path, encoding="utf-8"):
        obj = json.loads(line)
        if "error" in obj:
            refused += 1
            continue
        for q in obj["queries"]:
            try:
                run(q)
                ok += 1
            except Exception as e:  # noqa: BLE001 - any engine error is a failure
                bad += 1
                msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                print(f"FAIL {obj['path']}: {type(e).__name__}: {msg}\n    {q[:600]}")
    total = ok + bad
    print(f"{name}: {ok}/{total} queries execute, {bad} fail; {refused} rules refused "
          f"({time.monotonic() - start:.1f} s)")
    return 1 if bad or ok < minimum else 0


if __name__ == "__main__":
    sys.exit(main())
