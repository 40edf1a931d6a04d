#!/usr/bin/env python3
"""Field sets of pySigma's EQL queries for the Windows rules of the SigmaHQ catalog.

Converts every rule with `logsource.product: windows` under SIGMA_DIR/{rules,
rules-emerging-threats, rules-threat-hunting} with pySigma-backend-elasticsearch's EqlBackend
and its `ecs_windows` pipeline, and collects the field names of each EQL query. The names are
read from the processed rule's condition tree (exactly what the backend rendered), not parsed
back out of the EQL text: pySigma 2.1.1 writes some regex strings with broken escapes, which
would make a text scan see words inside values as fields. Writes JSON:

    {"pysigma": VERSION, "backend": VERSION,
     "rules": {"rules/windows/...yml": {"fields": [sorted names], "values": ["field\tvalue"...],
                                   "error": "Class: message", "stage": "backend"}}}

`error` is present when pySigma refused the rule, `stage` says where (`pipeline` or `backend`);
`fields` is then read from the rule as the pipeline left it.

Usage: ecs_windows_fields.py SIGMA_DIR OUT.json[.gz] [PIPELINE.yml]
With PIPELINE.yml, that pySigma pipeline file is used instead of `ecs_windows` (to check
sigmat's pipeline engine on other pipelines: SIGMAT_PIPELINE=PIPELINE.yml for the Rust test).
The Rust test tests/pipeline_conformance.rs compares sigmat's field sets with this file.
"""
import gzip
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import yaml
from sigma.backends.elasticsearch import EqlBackend
from sigma.conditions import (
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)
from sigma.collection import SigmaCollection
from sigma.pipelines.elasticsearch import ecs_windows
from sigma.processing.pipeline import ProcessingPipeline

STARS = re.compile(r"(?<!\\)\*{2,}")


def canon(v) -> list[str]:
    """Canonical text of a value, as tests/pipeline_conformance.rs writes sigmat's."""
    if isinstance(v, SigmaExpansion):
        return [c for x in v.values for c in canon(x)]
    if isinstance(v, SigmaCasedString):
        return ["cs:" + STARS.sub("*", v.to_plain())]
    if isinstance(v, SigmaString):
        # sigmat's patterns collapse runs of `*` (same meaning).
        return ["s:" + STARS.sub("*", v.to_plain())]
    if isinstance(v, SigmaBool):
        return ["b:" + str(v.boolean).lower()]
    if isinstance(v, SigmaNumber):
        return ["n:" + str(v.number)]
    if isinstance(v, SigmaNull):
        return ["null"]
    if isinstance(v, SigmaRegularExpression):
        flags = "".join(sorted(v.sigma_to_re_flag[f] for f in v.flags))
        return [f"re:{flags}:{v.regexp.to_plain() if hasattr(v.regexp, 'to_plain') else v.regexp}"]
    if isinstance(v, SigmaCIDRExpression):
        return ["cidr:" + v.cidr]
    if isinstance(v, SigmaCompareExpression):
        return [f"cmp:{v.op.name.lower()}:{v.number.number}"]
    if isinstance(v, SigmaFieldReference):
        how = "contains" if v.starts_with and v.ends_with else "ends_with" if v.starts_with else "starts_with" if v.ends_with else "eq"
        return [f"ref:{how}:{v.field}"]
    if isinstance(v, SigmaExists):
        return [f"exists:{str(v.exists).lower()}"]
    return [f"other:{type(v).__name__}"]


def fields_of(node, out: set, values: set) -> None:
    """Field names under a parsed condition (item fields and field-reference targets), and
    (field, value) pairs."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        out.add(node.field)
        if isinstance(node.value, SigmaFieldReference):
            out.add(node.value.field)
        values.update(f"{node.field}\t{c}" for c in canon(node.value))
    elif isinstance(node, ConditionValueExpression):
        # Keywords: sigmat's IR writes a plain keyword as a `contains` pattern (`*value*`).
        for c in canon(node.value):
            if c.startswith("s:"):
                text = c[2:]
                text = text if text.startswith("*") else "*" + text
                text = text if text.endswith("*") and not text.endswith("\\*") else text + "*"
                c = "s:" + text
            values.add(f"\t{c}")
    elif isinstance(node, ConditionItem):
        for a in node.args:
            fields_of(a, out, values)


def main() -> None:
    root, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    if len(sys.argv) > 3:
        pipeline = ProcessingPipeline.from_yaml(Path(sys.argv[3]).read_text(encoding="utf-8"))
    else:
        pipeline = ecs_windows()
    backend = EqlBackend(pipeline)

    # Record whether a failure happened in the pipeline or later in the backend.
    stage = {"now": "backend"}
    original_apply = ProcessingPipeline.apply

    def tracking_apply(self, rule):
        stage["now"] = "pipeline"
        result = original_apply(self, rule)
        stage["now"] = "backend"
        return result

    ProcessingPipeline.apply = tracking_apply
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
                stage["now"] = "backend"
                backend.convert(collection)  # applies the pipeline to the rules in place
            except Exception as e:  # one bad rule never stops the batch
                entry["error"] = f"{type(e).__name__}: {e}"
                entry["stage"] = stage["now"]
            # The pipeline ran before the backend failed (field references, placeholders), so
            # the processed rule still tells which fields the query would use.
            try:
                fields: set = set()
                values: set = set()
                for rule in collection.rules:
                    for cond in rule.detection.parsed_condition:
                        fields_of(cond.parse(), fields, values)
                entry["fields"] = sorted(fields)
                entry["values"] = sorted(values)
            except Exception as e:
                entry.setdefault("error", f"{type(e).__name__}: {e}")
            result[rel] = entry
    doc = {"pysigma": version("pysigma"), "backend": version("pysigma-backend-elasticsearch"),
           "rules": result}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if out_path.suffix == ".gz":
        # mtime=0: the same content always gives the same bytes.
        with gzip.GzipFile(out_path, "wb", mtime=0) as f:
            f.write(text.encode("utf-8"))
    else:
        out_path.write_text(text, encoding="utf-8")
    failed = sum(1 for r in result.values() if "error" in r)
    print(f"{len(result)} windows rules, {len(result) - failed} converted, {failed} refused by the backend -> {out_path}")


if __name__ == "__main__":
    main()
