"""Checks the detection-rules TOML that `sigmat convert -f elastic-toml` writes, with the checks
of detection-rules (`python -m detection_rules test`, its marshmallow schema and its query
validators) that can run here. detection-rules itself is not on any registry this machine
reaches, so its schema rules and repository tests are re-stated from ../shared/docs/elastic.md
§2 (each check names the section); its query validators are run as they are: Elastic's `eql`
1.0.1 in Elasticsearch syntax (EQLValidator) and detection-rules' `kql` library from
../shared/oracles (KQLValidator). Not run: validation of field names against the stack's
ECS + beats + integration schemas (those schemas are not available offline).

Usage: check_elastic_toml.py ATTACK_LOOKUP_JSON MIN_FILES DIR...
Prints every problem (file: check: detail) and a summary; exit 1 on any problem or when fewer
than MIN_FILES files were checked."""
import json
import os
import re
import sys
import tomllib
from collections import Counter

import eql
import kql
from eql.parser import allow_runs, allow_sample, elasticsearch_syntax, ignore_missing_functions

DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NAME = re.compile(r"^[a-zA-Z0-9].+?[a-zA-Z0-9\[\]()]$")
INTERVAL = re.compile(r"^\d+[mshd]$")
TACTIC_URL = re.compile(r"^https://attack\.mitre\.org/tactics/TA[0-9]+/$")
TECHNIQUE_URL = re.compile(r"^https://attack\.mitre\.org/techniques/T[0-9]+/$")
SUBTECHNIQUE_URL = re.compile(r"^https://attack\.mitre\.org/techniques/T[0-9]+/[0-9]+/$")
MATURITY = {"development", "experimental", "beta", "production", "deprecated"}
SEVERITY_RISK = {"low": (0, 21), "medium": (22, 47), "high": (48, 73), "critical": (74, 100)}
TYPES = {"query", "saved_query", "machine_learning", "eql", "esql", "threshold", "threat_match", "new_terms"}
LANGUAGES = {"eql", "esql", "kuery", "lucene"}
# ATT&CK Enterprise tactics (v18): id -> (name, short name used by the technique data).
TACTICS = {
    "TA0043": ("Reconnaissance", "reconnaissance"),
    "TA0042": ("Resource Development", "resource-development"),
    "TA0001": ("Initial Access", "initial-access"),
    "TA0002": ("Execution", "execution"),
    "TA0003": ("Persistence", "persistence"),
    "TA0004": ("Privilege Escalation", "privilege-escalation"),
    "TA0005": ("Defense Evasion", "defense-evasion"),
    "TA0006": ("Credential Access", "credential-access"),
    "TA0007": ("Discovery", "discovery"),
    "TA0008": ("Lateral Movement", "lateral-movement"),
    "TA0009": ("Collection", "collection"),
    "TA0011": ("Command and Control", "command-and-control"),
    "TA0010": ("Exfiltration", "exfiltration"),
    "TA0040": ("Impact", "impact"),
}
# Index pattern -> the Data Source tag test_required_tags asks for (§2.5).
INDEX_TAGS = [
    ("logs-endpoint.events.", ["Domain: Endpoint", "Data Source: Elastic Defend"]),
    ("endgame-", ["Data Source: Elastic Endgame"]),
    ("logs-crowdstrike.fdr", ["Data Source: Crowdstrike"]),
    ("logs-sentinel_one_cloud_funnel.", ["Data Source: SentinelOne"]),
    ("logs-windows.sysmon_operational-", ["Data Source: Sysmon"]),
]
OS_TAGS = {"linux": "OS: Linux", "macos": "OS: macOS", "windows": "OS: Windows"}


def load_techniques(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {t["external_id"]: t for t in data["attack_patterns"]}


def check_threat(rule, techniques, problem):
    threat = rule.get("threat", [])
    seen = set()
    for block in threat:
        if block.get("framework") != "MITRE ATT&CK":
            problem("threat framework (§2.4)", repr(block.get("framework")))
        tactic = block.get("tactic", {})
        tid = tactic.get("id")
        if tid not in TACTICS:
            problem("threat tactic id (§2.4)", repr(tid))
            continue
        if tid in seen:
            problem("one [[rule.threat]] per tactic (§2.4)", tid)
        seen.add(tid)
        if tactic.get("name") != TACTICS[tid][0]:
            problem("tactic name (§2.4)", f"{tid} {tactic.get('name')!r}")
        if not TACTIC_URL.match(tactic.get("reference", "")):
            problem("TACTIC_URL (§2.4)", tactic.get("reference"))
        for tech in block.get("technique", []):
            t = techniques.get(tech.get("id"))
            if t is None:
                problem("technique id not in ATT&CK v18.1 (§2.4)", tech.get("id"))
                continue
            if t["revoked"] or t["deprecated"]:
                problem("revoked or deprecated technique (§2.4)", tech["id"])
            if TACTICS[tid][1] not in t["tactics"]:
                problem("technique belongs to the tactic (§2.4)", f"{tech['id']} not in {tid}")
            if tech.get("name") != t["name"]:
                problem("technique name (§2.4)", f"{tech['id']} {tech.get('name')!r}")
            if not TECHNIQUE_URL.match(tech.get("reference", "")):
                problem("TECHNIQUE_URL (§2.4)", tech.get("reference"))
            for sub in tech.get("subtechnique", []):
                s = techniques.get(sub.get("id"))
                if s is None or not sub["id"].startswith(tech["id"] + "."):
                    problem("sub-technique id (§2.4)", f"{sub.get('id')} under {tech['id']}")
                    continue
                if s["revoked"] or s["deprecated"]:
                    problem("revoked or deprecated sub-technique (§2.4)", sub["id"])
                if sub.get("name") != s["name"]:
                    problem("sub-technique name (§2.4)", f"{sub['id']} {sub.get('name')!r}")
                if not SUBTECHNIQUE_URL.match(sub.get("reference", "")):
                    problem("SUBTECHNIQUE_URL (§2.4)", sub.get("reference"))
    return [b.get("tactic", {}).get("name") for b in threat]


def check_tags(rule, tactic_names, os_folder, problem):
    tags = rule.get("tags", [])
    if len(set(tags)) != len(tags):
        problem("duplicate tags", ", ".join(t for t, n in Counter(tags).items() if n > 1))
    if tactic_names and f"Tactic: {tactic_names[0]}" not in tags:
        problem("test_primary_tactic_as_tag (§2.5)", tactic_names[0])
    for t in tags:
        if t.startswith("Tactic: ") and t[len("Tactic: "):] not in tactic_names:
            problem("test_primary_tactic_as_tag: Tactic tag without threat (§2.5)", t)
    for index in rule.get("index", []):
        for prefix, needed in INDEX_TAGS:
            if index.startswith(prefix):
                for n in needed:
                    if n not in tags:
                        problem("test_required_tags (§2.5)", f"{index} needs {n!r}")
    if os_folder in OS_TAGS and OS_TAGS[os_folder] not in tags:
        problem("test_os_tags (§2.5)", f"rules in {os_folder}/ need {OS_TAGS[os_folder]!r}")
    if "note" in rule and "Resources: Investigation Guide" not in tags:
        problem("test_investigation_guide_tag (§2.5)", "note without the tag")


def check_query(rule, problem):
    query = rule.get("query")
    if query is None:
        problem("query required (§2.3)", "missing")
        return None
    language = rule.get("language")
    try:
        if language == "eql":
            with elasticsearch_syntax, ignore_missing_functions, allow_runs, allow_sample:
                eql.parse_query(query)
        elif language == "kuery":
            kql.parse(query)
    except Exception as e:  # noqa: BLE001 - every parser error is a finding
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        problem(f"{language} query parses (§2.7)", first[:200])
    return language


def check_file(path, text, techniques, problem):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problem("TOML", str(e))
        return None
    meta, rule = doc.get("metadata", {}), doc.get("rule", {})
    for key in ("creation_date", "updated_date"):
        if not DATE.match(str(meta.get(key, ""))):
            problem(f"metadata.{key} YYYY/MM/DD (§2.2)", repr(meta.get(key)))
    if str(meta.get("updated_date", "")) < str(meta.get("creation_date", "")):
        problem("updated_date >= creation_date (§2.2)", f"{meta.get('updated_date')}")
    if meta.get("maturity") not in MATURITY:
        problem("metadata.maturity (§2.2)", repr(meta.get("maturity")))
    for key in ("name", "author", "description", "risk_score", "rule_id", "severity", "type"):
        if key not in rule:
            problem(f"rule.{key} required (§2.3)", "missing")
    if "name" in rule and not NAME.match(rule["name"]):
        problem("rule.name pattern (§2.3)", repr(rule["name"]))
    author = rule.get("author")
    if not (isinstance(author, list) and author and all(isinstance(a, str) for a in author)):
        problem("rule.author list[str] (§2.3)", repr(author))
    if not UUID.match(str(rule.get("rule_id", ""))):
        problem("rule.rule_id lower-case UUID (§2.3)", repr(rule.get("rule_id")))
    risk, severity = rule.get("risk_score"), rule.get("severity")
    if not (isinstance(risk, int) and 0 <= risk <= 100):
        problem("rule.risk_score int 0..100 (§2.3)", repr(risk))
    elif severity not in SEVERITY_RISK:
        problem("rule.severity (§2.3)", repr(severity))
    else:
        lo, hi = SEVERITY_RISK[severity]
        if not lo <= risk <= hi:
            problem("test_rule_risk_score_severity_mismatch (§2.6)", f"{severity} {risk}")
    if rule.get("type") not in TYPES:
        problem("rule.type (§2.3)", repr(rule.get("type")))
    if rule.get("language") not in LANGUAGES:
        problem("rule.language (§2.3)", repr(rule.get("language")))
    if rule.get("type") == "eql" and rule.get("language") != "eql":
        problem("EQLRuleData: language eql (§2.3)", repr(rule.get("language")))
    if ("index" in rule) == ("data_view_id" in rule):
        problem("index xor data_view_id (§2.3)", "both or neither")
    if "interval" in rule and not INTERVAL.match(rule["interval"]):
        problem("rule.interval pattern (§2.3)", repr(rule["interval"]))
    for key in ("version", "revision"):
        if key in rule:
            problem(f"rule.{key} must not be set (§2.3)", repr(rule[key]))
    for f in rule.get("required_fields", []):
        if set(f) != {"name", "type", "ecs"} or not isinstance(f.get("ecs"), bool):
            problem("required_fields {name, type, ecs} (§2.3)", repr(f))
    for i in rule.get("related_integrations", []):
        if not {"package", "version"} <= set(i):
            problem("related_integrations {package, version[, integration]} (§2.3)", repr(i))
    tactic_names = check_threat(rule, techniques, problem)
    parts = path.replace(os.sep, "/").split("/")
    os_folder = parts[-2] if len(parts) >= 2 else ""
    check_tags(rule, tactic_names, os_folder, problem)
    return check_query(rule, problem)


def main():
    techniques = load_techniques(sys.argv[1])
    minimum = int(sys.argv[2])
    files, problems, by_check, languages = 0, 0, Counter(), Counter()
    for top in sys.argv[3:]:
        for root, _, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith(".toml"):
                    continue
                path = os.path.join(root, name)
                files += 1
                found = []

                def problem(check, detail, found=found):
                    found.append((check, detail))

                with open(path, encoding="utf-8") as f:
                    languages[check_file(path, f.read(), techniques, problem)] += 1
                for check, detail in found:
                    problems += 1
                    by_check[check] += 1
                    print(f"{path}: {check}: {detail}")
    langs = ", ".join(f"{n} {lang}" for lang, n in sorted(languages.items(), key=str))
    print(f"elastic TOML: {files} files ({langs}), {problems} problems")
    for check, n in by_check.most_common():
        print(f"  {n:6d}  {check}")
    if problems or files < minimum:
        if files < minimum:
            print(f"only {files} files checked, expected at least {minimum}")
        sys.exit(1)


if __name__ == "__main__":
    main()
