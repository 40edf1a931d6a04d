"""Verdicts of sigmat's Spark SQL and ClickHouse queries on their real engines against the IR's.

Usage: check_sql_engines.py ENGINE SIGMAT_BIN WORKDIR MIN_COMPARED RULES... [--regression DIR]
  ENGINE: spark (PySpark, local[2]) or clickhouse (chDB, ClickHouse in-process)

Events: every `sigmat_expect` event of the fixtures in rules/adversarial and rules/semantics
(the events the DuckDB/PostgreSQL checks use), plus, with --regression, the SigmaHQ regression
events (sigma/regression_data/**/*.json, EventData and EventID/Channel/Computer flattened to
columns). Each event is a row of one table `logs` (one nullable text column per field any query
names; a missing field is NULL); an event holding an array or an object is not a row and is left
out (counted). The rules (RULES: files or folders, e.g. the fixtures or the whole catalog) are
converted with `sigmat convert -t ENGINE -f jsonl`, the events evaluated natively with
`sigmat eval`, and every query runs on the engine (batched: one UNION ALL job per 100 queries).
For every converted rule and every row, the engine must select the row exactly when the IR
matches the event. A rule converted *with a warning* (a meaning change the backend names, e.g.
keywords searched in `_raw` only) is run but a disagreement on it is reported apart, per
warning; a refusal is counted per reason. Exit 1 on any other disagreement, on an engine error,
or when fewer than MIN_COMPARED (rule, event) pairs were compared."""
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

import yaml

BATCH = 100


def fixture_events(paths):
    out = []
    for root in paths:
        files = sorted(glob.glob(os.path.join(root, "**", "*.yml"), recursive=True)) \
            if os.path.isdir(root) else [root]
        for f in files:
            try:
                doc = yaml.safe_load(open(f, encoding="utf-8"))
            except yaml.YAMLError:
                continue
            expect = doc.get("sigmat_expect") if isinstance(doc, dict) else None
            for key in ("match", "nomatch"):
                for ev in (expect or {}).get(key) or []:
                    ev = dict(ev)
                    ev.pop("_skip", None)
                    out.append(ev)
    return out


def regression_events(root):
    """The regression .json files: pretty-printed objects one after another."""
    out = []
    dec = json.JSONDecoder()
    for f in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
        text = open(f, encoding="utf-8").read()
        i = 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                break
            obj, i = dec.raw_decode(text, i)
            ev = obj.get("Event", {})
            row = {}
            system = ev.get("System") or {}
            for k in ("EventID", "Channel", "Computer"):
                if isinstance(system.get(k), (str, int)):
                    row[k] = system[k]
            data = ev.get("EventData") or {}
            if isinstance(data, dict):
                for k, v in data.items():
                    if isinstance(v, (str, int, float, bool)) or v is None:
                        row[k] = v
            out.append(row)
    return out


def is_row(ev):
    return all(v is None or isinstance(v, (str, int, float, bool)) for v in ev.values())


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    return json.dumps(v)


# Identifiers each dialect quotes (string literals skipped; both use backslash escapes).
IDENTS = {
    "spark": re.compile(r"'(?:[^'\\]|\\.)*'|`((?:[^`]|``)+)`", re.S),
    "clickhouse": re.compile(r"'(?:[^'\\]|\\.)*'|\"((?:[^\"\\]|\\.)+)\"", re.S),
}


def idents(engine, query):
    for m in IDENTS[engine].finditer(query):
        if m.group(1) is not None:
            name = m.group(1)
            yield name.replace("``", "`") if engine == "spark" else re.sub(r"\\(.)", r"\1", name)


class Spark:
    def __init__(self):
        from pyspark.sql import SparkSession

        self.spark = (SparkSession.builder.master("local[2]").appName("sigmat-conformance")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.sql.shuffle.partitions", "2")
                      # Sigma field names are case-sensitive; Spark resolves columns
                      # case-insensitively unless told otherwise.
                      .config("spark.sql.caseSensitive", "true")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        self.name = f"spark {self.spark.version}"

    def load(self, cols, rows, work):
        from pyspark.sql.types import IntegerType, StringType, StructField, StructType

        schema = StructType([StructField("_id", IntegerType(), False)]
                            + [StructField(c, StringType(), True) for c in cols])
        # Read by the JVM from NDJSON (Python rows through py4j are slow for wide tables).
        path = os.path.join(work, "rows.ndjson")
        with open(path, "w", encoding="utf-8") as f:
            for i, ev in enumerate(rows):
                row = {"_id": i}
                row.update((k, text(v)) for k, v in ev.items())
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        df = self.spark.read.schema(schema).json(path).coalesce(1).cache()
        df.count()
        df.createOrReplaceTempView("logs")

    def run(self, tagged):
        # One scan per batch: each query's WHERE condition becomes a column of one projection
        # (a UNION ALL of 100 subqueries is 100 scans and stages). A query not of the form
        # the backend writes runs as written.
        conds, whole = [], []
        for k, q in tagged:
            if q.startswith(SPARK_PREFIX):
                conds.append(f"IF({q[len(SPARK_PREFIX):]}, '{k}', NULL)")
            else:
                whole.append(f"SELECT {k} AS q, `_id` FROM ({q}) AS t{k}")
        out = []
        if conds:
            sql = f"SELECT `_id`, concat_ws(',', {', '.join(conds)}) AS hits FROM `logs`"
            for r in self.spark.sql(sql).collect():
                out += [(int(k), r[0]) for k in r[1].split(",") if k]
        if whole:
            out += [(r[0], r[1]) for r in self.spark.sql(" UNION ALL ".join(whole)).collect()]
        return out


SPARK_PREFIX = "SELECT * FROM `logs` WHERE "


class ClickHouse:
    def __init__(self):
        import chdb
        from chdb import session

        self.s = session.Session()
        # The default max_query_size (256 KiB) is below the longest SigmaHQ queries (hash
        # lists of vulnerable drivers); the README tells users the same.
        self.s.query("SET max_query_size = 16777216")
        self.name = f"clickhouse (chdb {chdb.__version__}, engine {self.q('SELECT version()')[0][0]})"

    def q(self, sql):
        out = self.s.query(sql, "JSONCompactEachRow").bytes().decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    @staticmethod
    def lit(v):
        if v is None:
            return "NULL"
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def load(self, cols, rows, _work):
        ident = lambda c: "`" + c.replace("\\", "\\\\").replace("`", "\\`") + "`"  # noqa: E731
        self.s.query("DROP TABLE IF EXISTS logs")
        self.s.query("CREATE TABLE logs (`_id` Int32, " + ", ".join(
            f"{ident(c)} Nullable(String)" for c in cols) + ") ENGINE = Memory")
        for start in range(0, len(rows), 200):
            values = ", ".join(
                "(" + ", ".join([str(i)] + [self.lit(text(ev.get(c))) for c in cols]) + ")"
                for i, ev in enumerate(rows[start:start + 200], start))
            self.s.query(f"INSERT INTO logs VALUES {values}")

    def run(self, tagged):
        sql = " UNION ALL ".join(f"SELECT {k} AS q, `_id` FROM ({q}) AS t{k}" for k, q in tagged)
        return [(r[0], r[1]) for r in self.q(sql)]


def main() -> int:
    args = sys.argv[1:]
    regression = None
    if "--regression" in args:
        i = args.index("--regression")
        regression = args[i + 1]
        del args[i:i + 2]
    engine, binary, work, minimum, *rule_paths = args
    minimum = int(minimum)
    os.makedirs(work, exist_ok=True)
    start = time.monotonic()

    events = fixture_events(["rules/adversarial", "rules/semantics"])
    if regression:
        events += regression_events(regression)
    rows = [ev for ev in events if is_row(ev)]
    not_rows = len(events) - len(rows)
    events_path = os.path.join(work, "events.ndjson")
    with open(events_path, "w", encoding="utf-8") as f:
        for ev in rows:
            # The IR sees what the table holds: every value as its text.
            f.write(json.dumps({k: text(v) for k, v in ev.items()}, ensure_ascii=False) + "\n")

    conv = subprocess.run([binary, "convert", "-t", engine, "-s", "-f", "jsonl", *rule_paths],
                          capture_output=True, text=True)
    ir = subprocess.run([binary, "eval", "-q", "--format", "jsonl",
                         *sum((["-r", p] for p in rule_paths), []), events_path],
                        capture_output=True, text=True)
    # Exit 1: some rules could not be loaded (they are refused by convert too); 2: usage.
    if ir.returncode not in (0, 1):
        print(f"sigmat eval failed:\n{ir.stderr[-3000:]}")
        return 1
    ir_hits = collections.defaultdict(set)
    for line in ir.stdout.splitlines():
        m = json.loads(line)
        ir_hits[(os.path.realpath(m["rule_path"]), m.get("rule_id"), m.get("title"))].add(
            m["record"] - 1)
    ir_by_path = collections.defaultdict(list)
    for (path, rid, title), hits in ir_hits.items():
        ir_by_path[path].append((rid, title, hits))

    rules = []  # (path, title, queries, warnings)
    refused = collections.Counter()
    for line in conv.stdout.splitlines():
        obj = json.loads(line)
        if "error" in obj:
            refused[obj["error"]["message"].split(": ", 1)[-1][:120]] += 1
            continue
        rules.append(obj)

    cols = {"_raw"}
    for ev in rows:
        cols.update(ev.keys())
    for obj in rules:
        for q in obj["queries"]:
            cols.update(idents(engine, q))
    cols.discard("logs")
    cols.discard("_id")
    cols = sorted(cols)

    runner = Spark() if engine == "spark" else ClickHouse()
    runner.load(cols, rows, work)
    loaded = time.monotonic()

    tagged = []  # (k, query) ; k indexes `owners`
    owners = []
    for r, obj in enumerate(rules):
        for q in obj["queries"]:
            owners.append(r)
            tagged.append((len(tagged), q))
    selected = collections.defaultdict(set)  # rule index -> rows
    errors = 0
    for b in range(0, len(tagged), BATCH):
        batch = tagged[b:b + BATCH]
        try:
            results = runner.run(batch)
        except Exception:  # noqa: BLE001 - find the failing queries one by one
            results = []
            for k, q in batch:
                try:
                    results += runner.run([(k, q)])
                except Exception as e:  # noqa: BLE001 - any engine error is a failure
                    errors += 1
                    msg = (str(e).strip().splitlines() or [""])[0][:300]
                    print(f"FAIL {rules[owners[k]]['path']}: {type(e).__name__}: {msg}\n    {q[:800]}")
        for k, i in results:
            selected[owners[k]].add(i)

    compared = bad = 0
    warned_diff = collections.Counter()
    for r, obj in enumerate(rules):
        path = os.path.realpath(obj["path"])
        cands = ir_by_path.get(path, [])
        # A file may hold several rules: the one whose id/title this output line names.
        want = set()
        for rid, title, hits in cands:
            if (obj.get("id") and rid == obj.get("id")) or title == obj.get("title") or len(cands) == 1:
                want = hits
                break
        got = selected[r]
        diff = want ^ got
        compared += len(rows)
        if not diff:
            continue
        if obj.get("warnings"):
            for w in obj["warnings"]:
                warned_diff[w["message"] if isinstance(w, dict) else str(w)] += len(diff)
            continue
        bad += len(diff)
        for i in sorted(diff)[:3]:
            print(f"FAIL {obj['path']} ({obj.get('title')}): event {rows[i]!r}: "
                  f"{engine} says {i in got}, the IR {i in want}\n    "
                  + "\n    ".join(q[:1500] for q in obj["queries"]))
    n_queries = len(tagged)
    print(f"{runner.name}: {len(rules)} rules ({n_queries} queries) x {len(rows)} events "
          f"({not_rows} events with arrays/objects left out): {compared - bad}/{compared} "
          f"verdicts agree with the IR, {bad} differ, {errors} queries fail; "
          f"{sum(refused.values())} rules refused; load {loaded - start:.1f} s, "
          f"run {time.monotonic() - loaded:.1f} s")
    for why, n in refused.most_common():
        print(f"    refused {n:>4}  {why}")
    for why, n in warned_diff.most_common():
        print(f"    {n:>4} verdicts differ on rules converted with the warning: {why}")
    return 1 if bad or errors or compared < minimum else 0


if __name__ == "__main__":
    sys.exit(main())
