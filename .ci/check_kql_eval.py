"""Verdicts of sigmat's KQL against its IR, on the fixtures' events.

Usage: check_kql_eval.py SIGMAT_BIN WORKDIR FIXTURE_DIR...
(rules/adversarial, rules/semantics, tests/conformance/kql)

Every fixture with a `sigmat_expect` key (rules/adversarial, rules/semantics) is taken as it is
and as a case-sensitive variant (`|cased` added to every plain string test), because KQL
compares keyword values case-sensitively: a rule that converts to KQL *without warnings* means
the same in KQL as in the IR. For each such rule and every event of every fixture (events of
other fixtures included), the verdict of Elastic's KQL evaluator (detection-rules' `kql`, on
PYTHONPATH) on the emitted query must equal sigmat's native verdict (`sigmat eval`, the IR's
meaning). Events are nested at dots for KQL (its evaluator walks objects). An event the KQL
evaluator cannot compare (a number under a wildcard) is counted apart. Exit 1 on any
disagreement or when nothing was compared."""
import json
import os
import subprocess
import sys
import uuid

import kql
import yaml

NOT_CASED = {"re", "cased", "cidr", "exists", "fieldref", "lt", "lte", "gt", "gte", "minute",
             "hour", "day", "week", "month", "year", "expand"}


def cased_selection(sel):
    if isinstance(sel, list):
        return [cased_selection(s) for s in sel]
    if not isinstance(sel, dict):
        return sel
    out = {}
    for key, value in sel.items():
        parts = str(key).split("|")
        values = value if isinstance(value, list) else [value]
        strings = all(isinstance(v, str) for v in values) and values
        if parts[0] and strings and not NOT_CASED & set(parts[1:]):
            key = key + "|cased"
        out[key] = value
    return out


def nested(event):
    out = {}
    for key, value in event.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                return None
        if parts[-1] in node:
            return None
        node[parts[-1]] = value
    return out


def main() -> int:
    binary, work, *dirs = sys.argv[1:]
    rules_dir = os.path.join(work, "rules")
    os.makedirs(rules_dir, exist_ok=True)
    events = []
    own = {}  # (variant file name, record) -> expected verdict of the fixture's own events
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if not name.endswith(".yml"):
                continue
            doc = yaml.safe_load(open(os.path.join(d, name), encoding="utf-8"))
            expect = doc.pop("sigmat_expect", None)
            if not expect:
                continue
            stem = name[:-4]
            for key in ("match", "nomatch"):
                for ev in expect.get(key) or []:
                    ev = dict(ev)
                    if "kql" not in (ev.pop("_skip", None) or []):
                        events.append(ev)
                        own[(stem + ".yml", len(events))] = key == "match"
            variants = {stem: doc}
            cased = dict(doc)
            cased["detection"] = {
                k: (v if k == "condition" else cased_selection(v))
                for k, v in doc["detection"].items()
            }
            cased["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sigmat-cased/{stem}"))
            variants[stem + ".cased"] = cased
            for vname, vdoc in variants.items():
                with open(os.path.join(rules_dir, vname + ".yml"), "w", encoding="utf-8") as f:
                    yaml.safe_dump(vdoc, f, allow_unicode=True, sort_keys=False)
    events_path = os.path.join(work, "events.ndjson")
    with open(events_path, "w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev, ensure_ascii=False) + "\n")

    conv = subprocess.run([binary, "convert", "-t", "kql", "-f", "jsonl", rules_dir],
                          capture_output=True, text=True)
    ir_run = subprocess.run([binary, "eval", "-q", "--format", "jsonl", "-r", rules_dir,
                             events_path], capture_output=True, text=True)
    if ir_run.returncode != 0:
        print(f"sigmat eval failed:\n{ir_run.stderr}")
        return 1
    ir_hits = set()
    for line in ir_run.stdout.splitlines():
        m = json.loads(line)
        ir_hits.add((os.path.realpath(m["rule_path"]), m["record"]))

    # The fixtures' own expectations hold for the IR (sigmat eval), as a sanity check of both.
    for (name, record), want in own.items():
        got = (os.path.realpath(os.path.join(rules_dir, name)), record) in ir_hits
        if got != want:
            print(f"FAIL {name}: sigmat eval says {got} for its own event {events[record - 1]!r}")
            return 1

    docs = [nested(ev) for ev in events]
    rules = compared = skipped_rules = uncomparable = bad = 0
    for line in conv.stdout.splitlines():
        obj = json.loads(line)
        path = os.path.realpath(obj["path"])
        name = os.path.basename(path)
        if "error" in obj:
            print(f"  {name}: not converted ({obj['error']['message']})")
            skipped_rules += 1
            continue
        if obj["warnings"]:
            skipped_rules += 1
            continue
        rules += 1
        evaluators = [kql.get_evaluator(kql.parse(q)) for q in obj["queries"]]
        for i, doc in enumerate(docs):
            if doc is None:
                uncomparable += 1
                continue
            try:
                got = any(e(doc) for e in evaluators)
            except Exception:  # noqa: BLE001 - evaluator type errors: not comparable
                uncomparable += 1
                continue
            want = (path, i + 1) in ir_hits
            compared += 1
            if got != want:
                bad += 1
                print(f"FAIL {name}: event {events[i]!r}: KQL says {got}, the IR {want}\n"
                      + "\n".join(f"    {q}" for q in obj["queries"]))
    print(f"kql verdicts: {rules} rules with the IR's meaning x {len(events)} events: "
          f"{compared - bad}/{compared} agree, {bad} differ; {uncomparable} not comparable; "
          f"{skipped_rules} rule variants skipped (refused, or converted with a warning)")
    return 1 if bad or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
