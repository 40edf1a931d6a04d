#!/usr/bin/env python3
"""Browser test of `sigmat report` (called by .ci/check_report, which installs what it needs).

Builds the report of the fixtures (rules/), of the Sigma seed against Elastic's seeds (pairs
decided by event, beside `sigmat coverage -f json`) and, when ../shared is there, of the two
catalogs (SigmaHQ rules* against Elastic's, -p ecs_windows -p ecs_linux, --by-tag-only: deciding
every candidate pair of the whole catalogs takes longer than CI has), loads each index and rule pages
in headless Chromium (Debian's chromium + chromium-driver, through selenium) and fails on any
console error or missing element, or when a number shown differs from report.json or from
`sigmat coverage -f json`: rule counts, every heat-map cell's counts, pair counts, the search
box's filtered count. Saves a screenshot of the heat map to target/ci-artifacts/heatmap.png.

usage: check_report.py SIGMAT_BIN SHARED WORKDIR
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL {msg}", flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def run(cmd):
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    print(f"  $ {' '.join(cmd[:3])} ... ({time.time() - t:.1f} s, exit {p.returncode})", flush=True)
    if p.returncode not in (0, 1):
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-4000:]}")
    return p


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1900,1400", "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=opts, service=service)


def console_errors(drv, where):
    for entry in drv.get_log("browser"):
        if entry.get("level") in ("SEVERE", "ERROR"):
            fail(f"{where}: console error: {entry.get('message')}")


def load(drv, path):
    drv.get(path.resolve().as_uri())
    check(drv.execute_script("return document.readyState") == "complete", f"{path}: not loaded")
    console_errors(drv, path.name)


def one(drv, css, where):
    found = drv.find_elements(By.CSS_SELECTOR, css)
    check(len(found) >= 1, f"{where}: missing element {css}")
    return found[0] if found else None


def text_of(drv, css, where):
    e = one(drv, css, where)
    return e.text.strip() if e is not None else None


def check_index(drv, out, report, cov, name):
    index = out / "index.html"
    load(drv, index)
    where = f"{name} index"
    for css in ("#heatmap svg.matrix", "#search", "#shown", "#rules-a", "#a-rules", "#a-cells"):
        one(drv, css, where)
    check(text_of(drv, "#a-rules", where) == str(report["a"]["rules"]), f"{where}: #a-rules vs report.json")
    check(text_of(drv, "#a-cells", where) == str(report["a"]["technique_cells"]), f"{where}: #a-cells")
    if cov is not None:
        check(report["a"]["rules"] == cov["a"]["rules"], f"{where}: report.json rules vs coverage json")
    # Heat-map cells: every one drawn, its counts those of report.json and of coverage json.
    cells = drv.execute_script(
        "return Array.from(document.querySelectorAll('#heatmap g.cell')).map(function (g) {"
        " return [g.dataset.technique, g.dataset.tactic, +g.dataset.a, +g.dataset.b, g.dataset.side,"
        " g.querySelector('text.cnt').textContent]; });")
    expected = [(c["technique"], c["tactic"], c["a"], c["b"], c["side"], c["label"])
                for col in report["heatmap"]["columns"] for c in col["cells"]]
    check(len(cells) == len(expected) and len(cells) > 200,
          f"{where}: {len(cells)} heat-map cells drawn, report.json has {len(expected)}")
    check([tuple(c) for c in cells] == expected, f"{where}: heat-map cells differ from report.json")
    sides = [("a", report["a"])] + ([("b", report["b"])] if "b" in report else [])
    for k, side in sides:
        techniques = (cov or {}).get(k, {}).get("techniques", side["techniques"])
        bad = [c for c in cells if c[2 if k == "a" else 3] != techniques.get(c[0], 0)]
        check(not bad, f"{where}: {len(bad)} cells' {k} counts differ from coverage json, e.g. {bad[:3]}")
        covered = {t for t in techniques if "." not in t}
        drawn = {c[0] for c in cells if c[2 if k == "a" else 3] > 0}
        check(drawn == covered, f"{where}: techniques with {k} rules {sorted(covered ^ drawn)[:5]} not drawn as covered")
    # Search: the count shown and the visible items follow the titles.
    titles = [p["title"] for _, s in sides for p in s["pages"]]
    box = one(drv, "#search", where)
    total = len(titles)
    check(text_of(drv, "#shown", where) == str(total), f"{where}: #shown before search")
    box.send_keys("python")
    want = sum("python" in t.lower() for t in titles)
    check(text_of(drv, "#shown", where) == str(want), f"{where}: search 'python' shows {text_of(drv, '#shown', where)}, titles say {want}")
    visible = drv.execute_script("return Array.from(document.querySelectorAll('ul.rules li')).filter(function (li) { return !li.hidden; }).length;")
    check(visible == want, f"{where}: {visible} items visible after search, {want} expected")
    if "pairs" in report:
        pairs = report["pairs"]
        rows = len(drv.find_elements(By.CSS_SELECTOR, "#pairs tbody tr"))
        check(rows == pairs["overlapping_pairs"], f"{where}: {rows} pair rows, report.json {pairs['overlapping_pairs']}")
        for css, key in (("#overlap-a", "a_rules_overlapping_b"), ("#contained-a", "a_rules_with_equivalent_or_containing_b"),
                         ("#pairs-decided", "pairs_decided")):
            shown = text_of(drv, css, where)
            check(shown == str(pairs["summary"][key]), f"{where}: {css} {shown} vs report.json {pairs['summary'][key]}")
            if cov is not None:
                check(shown == str(cov["summary"][key]), f"{where}: {css} {shown} vs coverage json {cov['summary'][key]}")
    if "b" in report:
        check(text_of(drv, "#b-rules", where) == str(report["b"]["rules"]), f"{where}: #b-rules")
        if cov is not None:
            check(report["b"]["rules"] == cov["b"]["rules"], f"{where}: report.json B rules vs coverage json")
    console_errors(drv, where)


def check_rule_page(drv, out, page, name, peer_hint=None):
    path = out / page
    load(drv, path)
    where = f"{name} {page}"
    for css in ("#title", "#attack", "#events", "#body", "#stages", "#indicators"):
        one(drv, css, where)
    if peer_hint is not None:
        links = [a.get_attribute("href") for a in drv.find_elements(By.CSS_SELECTOR, "#peers a")]
        hit = [h for h in links if peer_hint in h]
        if check(hit, f"{where}: no overlapping rule page matching {peer_hint} (peers {links[:5]})"):
            drv.get(hit[0])
            console_errors(drv, f"{where} -> peer")
            check(drv.find_elements(By.CSS_SELECTOR, "#title"), f"{where}: peer page has no title")
    one(drv, "a[href$='index.html']", where)
    console_errors(drv, where)


def page_of(report, side, suffix):
    for p in report[side]["pages"]:
        if p["file"].endswith(suffix):
            return p["page"]
    fail(f"no page for {suffix}")
    return None


def main():
    binary, shared, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    artifacts = Path("target/ci-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    drv = browser()
    try:
        out = work / "rules-report"
        print("report of rules/", flush=True)
        run([binary, "report", "rules/", "-o", str(out), "-q"])
        report = json.loads((out / "report.json").read_text())
        check_index(drv, out, report, None, "rules/")
        seed = page_of(report, "a", "rules/seed/python_webserver_execution_linux.yml")
        if seed:
            check_rule_page(drv, out, seed, "rules/")
        out = work / "seed-report"
        print("report of the seed against Elastic's seeds", flush=True)
        pair = ["rules/seed", "--against", "rules/elastic/seeds", "-p", "ecs_linux"]
        run([binary, "report", *pair, "-o", str(out), "-q"])
        cov_file = work / "seed-coverage.json"
        run([binary, "coverage", *pair, "-f", "json", "-o", str(cov_file), "-q"])
        report = json.loads((out / "report.json").read_text())
        cov = json.loads(cov_file.read_text())
        check(report["pairs"]["overlapping_pairs"] >= 1, "seed: no overlapping pair")
        check_index(drv, out, report, cov, "seed")
        seed = page_of(report, "a", "rules/seed/python_webserver_execution_linux.yml")
        if seed:
            check_rule_page(drv, out, seed, "seed", peer_hint="execution_python_webserver_spawned")
        shot = "heatmap-rules.png"
        if (shared / "corpus/sigma/rules").is_dir():
            a = sorted(str(p) for p in (shared / "corpus/sigma").glob("rules*") if p.is_dir())
            b = str(shared / "corpus/elastic")
            common = a + ["--against", b, "-p", "ecs_windows", "-p", "ecs_linux"]
            out = work / "catalogs-report"
            print("report of the two catalogs", flush=True)
            run([binary, "report", *common, "--by-tag-only", "-o", str(out), "-q"])
            cov_file = work / "coverage.json"
            # Tags only: the layer's json without --against gives each side's counts.
            run([binary, "coverage", *a, "-p", "ecs_windows", "-p", "ecs_linux", "-f", "json", "-o", str(cov_file), "-q"])
            cov_b = work / "coverage-b.json"
            run([binary, "coverage", b, "-f", "json", "-o", str(cov_b), "-q"])
            report = json.loads((out / "report.json").read_text())
            cov = {"a": json.loads(cov_file.read_text())["a"], "b": json.loads(cov_b.read_text())["a"]}
            check("pairs" not in report, "catalogs: pairs in a --by-tag-only report")
            check_index(drv, out, report, cov, "catalogs")
            one(drv, "#no-pairs", "catalogs index")
            seed = page_of(report, "a", "linux/process_creation/proc_creation_lnx_python_http_server_execution.yml")
            if seed:
                check_rule_page(drv, out, seed, "catalogs")
            elastic = page_of(report, "b", "rules/linux/execution_python_webserver_spawned.toml")
            if elastic:
                check_rule_page(drv, out, elastic, "catalogs")
            load(drv, out / "index.html")
            shot = "heatmap.png"
        else:
            print(f"skipping the catalogs' report: {shared}/corpus/sigma not found", flush=True)
            load(drv, work / "rules-report" / "index.html")
        fig = one(drv, "figure#heatmap", "screenshot")
        if fig is not None:
            # The whole figure inside the viewport: an element screenshot is clipped to it.
            h = drv.execute_script("return Math.ceil(arguments[0].getBoundingClientRect().height);", fig)
            drv.set_window_size(1900, max(1400, h + 200))
            drv.execute_script("arguments[0].scrollIntoView();", fig)
            fig.screenshot(str(artifacts / shot))
            print(f"heat map screenshot: {artifacts / shot}", flush=True)
    finally:
        drv.quit()
    if FAILURES:
        print(f"{len(FAILURES)} failed", flush=True)
        sys.exit(1)
    print("report browser checks: 0 failed", flush=True)


if __name__ == "__main__":
    main()
