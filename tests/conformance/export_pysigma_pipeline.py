#!/usr/bin/env python3
"""Dump a pySigma pipeline object (e.g. pySigma-backend-elasticsearch's `ecs_windows()`) as
pySigma processing-pipeline YAML, the format sigmat reads.

    python export_pysigma_pipeline.py ecs_windows > ecs_windows.yml

Used once to write `backends/pipelines/ecs_windows.yml` (then the Elastic routing items were
appended by hand); kept so the export can be repeated for a newer pySigma release.
"""
import dataclasses
import sys

import yaml
from sigma.pipelines.elasticsearch import pipelines
from sigma.processing.conditions import (
    detection_item_conditions,
    field_name_conditions,
    rule_conditions,
)
from sigma.processing.transformations import transformations

SKIP = {"processing_item", "_pipeline", "patterns", "logsource", "match_tag", "sigma_value", "re",
        "value_types", "match_func"}


def type_name(obj, table):
    for name, cls in table.items():
        if type(obj) is cls:
            return name
    raise SystemExit(f"no YAML type name for {type(obj).__name__}")


def params(obj):
    out = {}
    for f in dataclasses.fields(obj):
        if f.name in SKIP or f.name.startswith("_") or not f.init:
            continue
        v = getattr(obj, f.name)
        if v is None or v == [] or v == {}:
            continue
        out[f.name] = v
    return out


def conds(item, kind, table):
    cs = getattr(item, f"{kind}_conditions")
    if not cs:
        return {}
    out = {f"{kind}_conditions": [{"type": type_name(c, table), **params(c)} for c in cs]}
    if getattr(item, f"{kind}_condition_linking") is any:
        out[f"{kind}_cond_op"] = "or"
    if getattr(item, f"{kind}_condition_negation"):
        out[f"{kind}_cond_not"] = True
    return out


def main():
    p = pipelines[sys.argv[1]]()
    items = []
    for it in p.items:
        t = it.transformation
        d = {"id": it.identifier, "type": type_name(t, transformations)}
        if type(t).__name__ == "SetValueTransformation":
            d["value"] = t.sigma_value.to_plain() if hasattr(t.sigma_value, "to_plain") else t.sigma_value
            d["value"] = getattr(t.sigma_value, "boolean", d["value"])
        elif type(t).__name__ == "AddConditionTransformation":
            d["conditions"] = t.conditions
        else:
            d.update(params(t))
        d.update(conds(it, "rule", rule_conditions))
        d.update(conds(it, "detection_item", detection_item_conditions))
        d.update(conds(it, "field_name", field_name_conditions))
        items.append(d)
    doc = {"name": p.name, "priority": p.priority, "allowed_backends": sorted(p.allowed_backends),
           "transformations": items}
    yaml.safe_dump(doc, sys.stdout, sort_keys=False, allow_unicode=True, width=200)


if __name__ == "__main__":
    main()
