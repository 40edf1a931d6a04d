"""Executes the correlation queries of an SQL backend on a real engine and compares the alerts
with the native engine's (`sigmat eval`) on the same events: every fixture of
rules/correlation/ with an event stream.

Usage: check_sql_correlation.py duckdb SIGMAT
       check_sql_correlation.py postgres SIGMAT PSQL_ARGS...   (e.g. -h localhost -p 54329 -U postgres)
       check_sql_correlation.py spark SIGMAT        (PySpark, local[2], spark.sql.caseSensitive=true)
       check_sql_correlation.py clickhouse SIGMAT   (chDB, ClickHouse in-process)
       check_sql_correlation.py sqlite SIGMAT       (Python's sqlite3; `cargo test` runs the same
                                                    fixtures with rusqlite, tests/correlation_sql.rs)
       check_sql_correlation.py ENGINE SIGMAT --random SEED N [PSQL_ARGS...]

With `--random SEED N`, the fixtures are N generated rule files instead (random_fixtures: 24
correlations each, every type, random conditions, timespans, rule sets and group-by, over a
random event stream with ties, missing group-by and value fields, text, integer and fractional
values, ISO-8601 and epoch times), written to a temporary folder; the same seed gives the same
files.

The events go into a table `logs` of text columns (Nullable(String) on ClickHouse, STRING on
Spark; on SQLite the JSON types kept: integers in 64 bits INTEGER, other numbers REAL, booleans
'true'/'false', arrays their JSON text, as tests/common's sql_value; record numbers in "_id", an integer, the tiebreak column); each correlation query must give exactly the native alerts: group-by values, count
(or value, to 1e-6), first and last (epoch nanoseconds). A correlation over correlations must
be refused. Exit status 1 on any difference."""
import datetime
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import yaml

IDENT = re.compile(r"'(?:[^']|'')*'|\"((?:[^\"]|\"\")+)\"")
# Spark: string literals with backslash escapes, identifiers in backquotes.
SPARK_IDENT = re.compile(r"'(?:[^'\\]|\\.)*'|`((?:[^`]|``)+)`")


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(f"{prefix}.{k}" if prefix else k, x, out)
    else:
        out[prefix] = v


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def quote_ident(c):
    return '"' + c.replace('"', '""') + '"'


def sql_literal(v):
    t = text(v)
    return "NULL" if t is None else "'" + t.replace("'", "''") + "'"


def nanos(ts):
    """RFC 3339 UTC text (as `sigmat eval` writes it) -> epoch nanoseconds."""
    m = re.fullmatch(r"(.{19})(?:\.(\d{1,9}))?Z", ts)
    base = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
    frac = int((m.group(2) or "").ljust(9, "0"))
    return int(base.timestamp()) * 1_000_000_000 + frac


def columns(query, events, engine="duckdb"):
    cols = set()
    if engine == "spark":
        for m in SPARK_IDENT.finditer(query):
            if m.group(1) is not None:
                cols.add(m.group(1).replace("``", "`"))
    else:
        for m in IDENT.finditer(query):
            if m.group(1) is not None:
                cols.add(m.group(1).replace('""', '"'))
    for e in events:
        cols.update(e.keys())
    cols.discard("_id")
    # The query's own names (CTEs, aliases) are no columns of the table.
    return sorted(c for c in cols if not c.startswith("sigmat_"))


def run_duckdb(query, cols, events):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        'CREATE TABLE logs ("_id" INTEGER, '
        + ", ".join(f"{quote_ident(c)} VARCHAR" for c in cols)
        + ")"
    )
    for i, e in enumerate(events, 1):
        con.execute(
            "INSERT INTO logs VALUES (" + ", ".join("?" for _ in range(len(cols) + 1)) + ")",
            [i] + [text(e.get(c)) for c in cols],
        )
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    return names, cur.fetchall()


SPARK = None


def run_spark(query, cols, events):
    global SPARK
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    if SPARK is None:
        from pyspark.sql import SparkSession

        SPARK = (SparkSession.builder.master("local[2]").appName("sigmat-correlation")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.shuffle.partitions", "2")
                 # Sigma field names are case-sensitive (the README's setting).
                 .config("spark.sql.caseSensitive", "true")
                 .getOrCreate())
        SPARK.sparkContext.setLogLevel("ERROR")
    schema = StructType([StructField("_id", IntegerType(), False)]
                        + [StructField(c, StringType(), True) for c in cols])
    rows = [[i] + [text(e.get(c)) for c in cols] for i, e in enumerate(events, 1)]
    SPARK.createDataFrame(rows, schema).createOrReplaceTempView("logs")
    df = SPARK.sql(query)
    return df.columns, [tuple(r) for r in df.collect()]


def run_sqlite(query, cols, events):
    import sqlite3

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return v if -(2**63) <= v < 2**63 else float(v)
        if isinstance(v, (dict, list)):
            return json.dumps(v, separators=(",", ":"))
        return v

    con = sqlite3.connect(":memory:")
    # REGEXP is the caller's function: Python's re here (cargo test registers Rust's regex).
    con.create_function("REGEXP", 2, lambda p, s: s is not None and re.search(p, str(s)) is not None,
                        deterministic=True)
    con.execute('CREATE TABLE logs ("_id" INTEGER, ' + ", ".join(quote_ident(c) for c in cols) + ")")
    con.executemany(
        "INSERT INTO logs VALUES (" + ", ".join("?" for _ in range(len(cols) + 1)) + ")",
        [[i] + [value(e.get(c)) for c in cols] for i, e in enumerate(events, 1)],
    )
    cur = con.execute(query)
    return [d[0] for d in cur.description], cur.fetchall()


CHDB = None


def run_clickhouse(query, cols, events):
    global CHDB
    if CHDB is None:
        from chdb import session

        CHDB = session.Session()

    def lit(v):
        t = text(v)
        return "NULL" if t is None else "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def ident(c):
        return "`" + c.replace("\\", "\\\\").replace("`", "\\`") + "`"

    CHDB.query("DROP TABLE IF EXISTS logs")
    CHDB.query("CREATE TABLE logs (`_id` Int32" + "".join(
        f", {ident(c)} Nullable(String)" for c in cols) + ") ENGINE = Memory")
    if events:
        CHDB.query("INSERT INTO logs VALUES " + ", ".join(
            "(" + ", ".join([str(i)] + [lit(e.get(c)) for c in cols]) + ")"
            for i, e in enumerate(events, 1)))
    out = CHDB.query(query, "JSONCompactEachRowWithNames").bytes().decode()
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    return lines[0], [tuple(r) for r in lines[1:]]


def run_postgres(query, cols, events, psql_args):
    script = ["SET TIME ZONE 'UTC';", "DROP TABLE IF EXISTS logs;"]
    script.append(
        'CREATE TABLE logs ("_id" INTEGER, '
        + ", ".join(f"{quote_ident(c)} TEXT" for c in cols)
        + ");"
    )
    for i, e in enumerate(events, 1):
        script.append(
            "INSERT INTO logs VALUES ("
            + ", ".join([str(i)] + [sql_literal(e.get(c)) for c in cols])
            + ");"
        )
    script.append(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true);")
    res = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *psql_args],
        input="\n".join(script),
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip())
    import csv
    import io

    rows = list(csv.reader(io.StringIO(res.stdout)))
    names, data = rows[0], rows[1:]
    return names, [tuple(None if x == "" else x for x in r) for r in data]


def alerts_of(names, rows, group_by):
    agg = names.index("count") if "count" in names else names.index("value")
    out = []
    for r in rows:
        out.append(
            (
                tuple(str(r[names.index(g)]) for g in group_by),
                float(r[agg]),
                int(r[names.index("first")]),
                int(r[names.index("last")]),
            )
        )
    return sorted(out)


def same(a, b):
    return (
        len(a) == len(b)
        and all(
            x[0] == y[0] and abs(x[1] - y[1]) <= 1e-6 * max(1.0, abs(y[1])) and x[2:] == y[2:]
            for x, y in zip(a, b)
        )
    )


RANDOM_RULES = """title: Rule A
name: rule_a
status: test
logsource: {product: test}
detection:
    sel: {r: [a, m]}
    condition: sel
---
title: Rule B
name: rule_b
status: test
logsource: {product: test}
detection:
    sel: {r: [b, m]}
    condition: sel
---
title: Rule C
name: rule_c
status: test
logsource: {product: test}
detection:
    sel: {r: [c, m]}
    condition: sel
"""
TYPES = ["event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg",
         "value_percentile", "value_median"]


def random_fixtures(seed, n, folder):
    """N rule files (3 base rules, 3 correlations of each type) with their event streams in
    `folder`, from a random.Random(seed): the same seed, the same files."""
    rnd = random.Random(seed)
    conds_grow = [{"gte": 2}, {"gte": 3}, {"gt": 3}, {"gte": 5}]
    conds_win = [{"lt": 3}, {"eq": 2}, {"gte": 2, "lte": 4}, {"neq": 3}, {"gt": 1, "lt": 5}]
    out = []
    for f in range(n):
        docs = [RANDOM_RULES]
        for i, typ in enumerate(t for t in TYPES for _ in range(3)):
            numeric = typ.startswith("value_") and typ != "value_count"
            if typ in ("temporal", "temporal_ordered"):
                rules = ["rule_a", "rule_b", "rule_c"][: rnd.choice([2, 3])]
            else:
                rules = rnd.choice([["rule_a"], ["rule_a", "rule_b"], ["rule_a", "rule_b", "rule_c"]])
            if numeric:
                cond = rnd.choice([{"gt": 10}, {"gte": 30}, {"lt": 20}, {"gte": 5, "lte": 40}, {"neq": 7}])
            elif typ in ("temporal", "temporal_ordered") and rnd.random() < 0.3:
                cond = {"gte": len(rules)}
            else:
                cond = rnd.choice(conds_grow + conds_win)
            c = {"type": typ, "rules": rules, "timespan": rnd.choice(["5s", "10s", "30s", "1m"]),
                 "condition": dict(cond)}
            if typ.startswith("value_"):
                c["condition"]["field"] = "v"
            if typ == "value_percentile":
                c["condition"]["percentile"] = rnd.choice([0, 25, 50, 90, 100])
            if rnd.random() < 0.8:
                c["group-by"] = ["g"]
            docs.append(json.dumps({"title": f"c{i}", "name": f"c{i}", "status": "test", "correlation": c}))
        yml = os.path.join(folder, f"random{f}.yml")
        with open(yml, "w", encoding="utf-8") as w:
            w.write("\n---\n".join(docs) + "\n")
        base, t = 1714557600, 0
        with open(yml[: -len(".yml")] + ".events.jsonl", "w", encoding="utf-8") as w:
            for _ in range(rnd.choice([40, 120, 300])):
                t += rnd.choice([0, 0, 1, 2, 3, 5, 8, 13])
                e = {"r": rnd.choice("abcmz"), "g": rnd.choice(["x", "y", "z"])}
                if rnd.random() < 0.9:
                    e["v"] = rnd.choice([rnd.randint(0, 50), round(rnd.uniform(0, 50), 2), str(rnd.randint(0, 9))])
                if rnd.random() < 0.05:
                    del e["g"]
                frac = rnd.choice([0, 0, 0.25])
                if rnd.random() < 0.5:
                    e["@timestamp"] = datetime.datetime.fromtimestamp(base + t + frac, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
                else:
                    e["@timestamp"] = base + t + frac if frac else base + t
                w.write(json.dumps(e) + "\n")
        out.append(yml)
    return out


def main():
    engine, sigmat, *rest = sys.argv[1:]
    minimum = 15
    if rest[:1] == ["--random"]:
        seed, n = int(rest[1]), int(rest[2])
        rest = rest[3:]
        tmp = tempfile.TemporaryDirectory(prefix="sigmat-random-correlation.")
        fixtures = random_fixtures(seed, n, tmp.name)
        minimum = n * len(TYPES) * 3
        what = f"random correlations (seed {seed}, {n} files)"
    else:
        fixtures = sorted(glob.glob("rules/correlation/*.yml"))
        what = "correlations"
    failures = compared = alerts = refused = 0
    for yml in fixtures:
        evfile = yml[: -len(".yml")] + ".events.jsonl"
        if not os.path.exists(evfile):
            continue
        raw = [json.loads(l) for l in open(evfile, encoding="utf-8") if l.strip()]
        events = []
        for e in raw:
            flat = {}
            flatten("", e, flat)
            events.append(flat)
        docs = [d for d in yaml.safe_load_all(open(yml, encoding="utf-8")) if d]
        corr_handles = {h for d in docs if "correlation" in d for h in (d.get("name"), d.get("id")) if h}
        referenced = {r for d in docs if "correlation" in d for r in d["correlation"]["rules"]}
        conv = subprocess.run(
            [sigmat, "convert", "-t", engine, "-O", "tiebreak_column=_id", "-f", "jsonl", yml],
            capture_output=True,
            text=True,
        )
        converted = [json.loads(l) for l in conv.stdout.splitlines() if l.strip()]
        native = subprocess.run(
            [sigmat, "eval", "-r", yml, "--format", "jsonl", "--max-lateness", "36500d", evfile],
            capture_output=True,
            text=True,
        )
        native_alerts = {}
        for l in native.stdout.splitlines():
            a = json.loads(l)
            if "correlation" in a:
                v = a["count"] if "count" in a else a["value"]
                native_alerts.setdefault(a["correlation"], []).append(
                    (tuple(a["group"].values()), float(v), nanos(a["first"]), nanos(a["last"]))
                )
        for d in docs:
            if "correlation" not in d:
                continue
            label = d.get("name") or d.get("id") or d.get("title")
            group_by = d["correlation"].get("group-by") or []
            if isinstance(group_by, str):
                group_by = [group_by]
            chained = any(r in corr_handles for r in d["correlation"]["rules"])
            mine = [c for c in converted if c.get("id") == d.get("id") and c.get("title") == d.get("title")]
            if chained:
                if mine and "queries" in mine[0]:
                    print(f"FAIL {yml}: `{label}`: a correlation over correlations converted")
                    failures += 1
                else:
                    refused += 1
                continue
            if not mine or "queries" not in mine[0]:
                print(f"FAIL {yml}: `{label}` not converted: {mine}")
                failures += 1
                continue
            # An inner correlation's alerts are printed only with `generate`.
            if {d.get("name"), d.get("id")} & referenced and label not in native_alerts:
                continue
            query = mine[0]["queries"][0]
            try:
                cols = columns(query, events, engine)
                if engine == "duckdb":
                    names, rows = run_duckdb(query, cols, events)
                elif engine == "spark":
                    names, rows = run_spark(query, cols, events)
                elif engine == "clickhouse":
                    names, rows = run_clickhouse(query, cols, events)
                elif engine == "sqlite":
                    names, rows = run_sqlite(query, cols, events)
                else:
                    names, rows = run_postgres(query, cols, events, rest)
            except Exception as e:  # noqa: BLE001 - any engine error is a failure
                print(f"FAIL {yml}: `{label}`: {engine} error: {e}")
                failures += 1
                continue
            got = alerts_of(names, rows, group_by)
            want = sorted(native_alerts.get(label, []))
            if not same(got, want):
                print(f"FAIL {yml}: `{label}`: {engine} {got} != native {want}")
                failures += 1
            compared += 1
            alerts += len(got)
    print(f"{engine}: {compared} {what}, {alerts} alerts equal to the native engine's; {refused} chained refused; {failures} failures")
    if compared < minimum or failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
