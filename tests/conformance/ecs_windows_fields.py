#!/usr/bin/env python3
"""Field sets of pySigma's EQL queries for the Windows rules of the SigmaHQ catalog.

Converts every rule with `logsource.product: windows` under SIGMA_DIR/{rules,
rules-emerging-threats, rules-threat-hunting} with pySigma-backend-elasticsearch's EqlBackend
and its `ecs_windows` pipeline, and collects the field names of each EQL query. The names are
read from the processed rule's condition tree (exactly what the backend rendered), not parsed
back out of the EQL text: pySigma 2.1.1 writes some regex strings with broken escapes, which
would make a text scan see words inside values as fields. Writes JSON:

    {"pysigma": VERSION, "backend": VERSION,
     "rules": {"rules/windows/...yml": {"fields": [sorted names], "error": "Class: message"}}}

`error` is present when the backend refused the rule; `fields` is then read from the rule as the
pipeline left it.

Usage: ecs_windows_fields.py SIGMA_DIR OUT.json
The Rust test tests/pipeline_conformance.rs compares sigmat's field sets with this file.
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

import yaml
from sigma.backends.elasticsearch import EqlBackend
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionItem
from sigma.types import SigmaFieldReference
from sigma.collection import SigmaCollection
from sigma.pipelines.elasticsearch import ecs_windows

def fields_of(node, out: set) -> None:
    """Field names under a parsed condition: item fields and field-reference targets."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        out.add(node.field)
        if isinstance(node.value, SigmaFieldReference):
            out.add(node.value.field)
    elif isinstance(node, ConditionItem):
        for a in node.args:
            fields_of(a, out)


def main() -> None:
    root, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    backend = EqlBackend(ecs_windows())
    result = {}
    for sub in ("rules", "rules-emerging-threats", "rules-threat-hunting"):
        for path in sorted((root / sub).rglob("*.yml")):
            rel = str(path.relative_to(root))
            text = path.read_text(encoding="utf-8")
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if not isinstance(doc, dict) or (doc.get("logsource") or {}).get("product") != "windows":
                continue
            collection = SigmaCollection.from_yaml(text)
            entry = {}
            try:
                backend.convert(collection)  # applies ecs_windows to the rules in place
            except Exception as e:  # one bad rule never stops the batch
                entry["error"] = f"{type(e).__name__}: {e}"
            # The pipeline ran before the backend failed (field references, placeholders), so
            # the processed rule still tells which fields the query would use.
            try:
                fields: set = set()
                for rule in collection.rules:
                    for cond in rule.detection.parsed_condition:
                        fields_of(cond.parse(), fields)
                entry["fields"] = sorted(fields)
            except Exception as e:
                entry.setdefault("error", f"{type(e).__name__}: {e}")
            result[rel] = entry
    doc = {"pysigma": version("pysigma"), "backend": version("pysigma-backend-elasticsearch"),
           "rules": result}
    out_path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    failed = sum(1 for r in result.values() if "error" in r)
    print(f"{len(result)} windows rules, {len(result) - failed} converted, {failed} refused by the backend -> {out_path}")


if __name__ == "__main__":
    main()
