#!/usr/bin/env python3
"""Summarises `sigmat convert --verify -f jsonl` output (stdin): rules converted, proven
equivalent, not equivalent (by relation), not proven (by reason), unreadable, refused.

    sigmat convert -t eql -p ecs_windows --verify -s -f jsonl ../shared/corpus/sigma/rules*/windows \\
        | scripts/verify_catalog.py
"""
import collections
import json
import re
import sys


def reason(text):
    # Group "not proven" reasons: numbers and quoted names blanked.
    text = re.sub(r"`[^`]*`", "`…`", text)
    text = re.sub(r"\{.*\}", "{…}", text)
    return re.sub(r"\d+", "N", text)[:140]


def main():
    converted = equivalent = 0
    relations = collections.Counter()
    unknown = collections.Counter()
    unreadable = collections.Counter()
    refused = 0
    for line in sys.stdin:
        item = json.loads(line)
        if "error" in item:
            if "--verify=strict" in (item["error"].get("message") or ""):
                refused += 1
            continue
        converted += 1
        verify = [w["message"] for w in item.get("warnings", []) if w["message"].startswith("verify: ")]
        if not verify:
            equivalent += 1
            continue
        m = verify[0]
        r = re.match(r"verify: the query is not equivalent to the rule: (\w+)", m)
        if r:
            relations[r.group(1)] += 1
        elif m.startswith("verify: the query written cannot be read back"):
            unreadable[reason(m)] += 1
        else:
            unknown[reason(m.removeprefix("verify: not proven equivalent: "))] += 1
    print(f"converted {converted}, proven equivalent {equivalent}, "
          f"not equivalent {sum(relations.values())} {dict(relations)}, "
          f"not proven {sum(unknown.values())}, unreadable {sum(unreadable.values())}, "
          f"refused (strict) {refused}")
    for what, counter in (("not proven", unknown), ("unreadable", unreadable)):
        for why, n in counter.most_common():
            print(f"  {what}: {n:>5}  {why}")


if __name__ == "__main__":
    main()
