//! `sigmat report`: the site of `rules/` (every rule has a page, every link resolves, no asset
//! from the network, everything escaped), the seed rule's page, the folder never overwritten
//! silently, and a comparison's figures against `sigmat coverage -f json`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmat-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn sigmat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs sigmat")
}

fn report_of(args: &[&str], out: &Path) -> Value {
    let mut all: Vec<&str> = vec!["report"];
    all.extend(args);
    let o = out.to_str().unwrap();
    all.extend(["-o", o]);
    let run = sigmat(&all);
    let code = run.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "sigmat report failed ({code:?}): {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel);
            }
        }
    }
    out
}

/// HTML attribute text back to its characters (the entities minijinja's escaping writes).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The values of attribute `attr` (`href`, `src`) in `html`.
fn attrs(html: &str, attr: &str) -> Vec<String> {
    let pat = format!(" {attr}=\"");
    html.match_indices(&pat)
        .filter_map(|(at, _)| {
            let rest = &html[at + pat.len()..];
            rest.find('"').map(|end| unescape(&rest[..end]))
        })
        .collect()
}

fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yml" | "yaml" | "toml")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_site_of_rules_has_every_page_and_no_dangling_link() {
    let out = tmp("rules");
    let report = report_of(&["rules/"], &out);
    let site = files(&out);
    assert!(site.contains("index.html") && site.contains("report.json"));
    let pages = report["a"]["pages"].as_array().expect("pages");
    assert_eq!(pages.len() as u64, report["a"]["rules"].as_u64().unwrap());
    // Every rule file of rules/ has a page, or is named by an error of the run, or holds
    // only filters (which are not rules).
    let paged: BTreeSet<String> = pages
        .iter()
        .map(|p| p["file"].as_str().unwrap().to_string())
        .collect();
    let failed = report["a"]["failed"].to_string();
    for f in rule_files(&root().join("rules")) {
        let rel = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        let only_filters = text.contains("\nfilter:") && !text.contains("\ndetection:");
        assert!(
            paged.contains(&rel) || failed.contains(&rel) || only_filters,
            "{rel}: no page, no error"
        );
    }
    // Each page exists, holds its rule's title (escaped) in its heading.
    for p in pages {
        let path = p["page"].as_str().unwrap();
        assert!(site.contains(path), "{path} listed but not written");
        let html = std::fs::read_to_string(out.join(path)).unwrap();
        let title = p["title"].as_str().unwrap();
        let h1 = html
            .split("<h1 id=\"title\">")
            .nth(1)
            .unwrap()
            .split("</h1>")
            .next()
            .unwrap();
        assert_eq!(unescape(h1), title, "{path}");
    }
    // Links resolve; no asset is loaded from anywhere.
    for f in site.iter().filter(|f| f.ends_with(".html")) {
        let html = std::fs::read_to_string(out.join(f)).unwrap();
        let lower = html.to_ascii_lowercase();
        for bad in [
            "src=\"http",
            "url(http",
            "@import",
            "<link ",
            "<script src",
            "<img ",
            "<iframe",
        ] {
            assert!(!lower.contains(bad), "{f}: `{bad}`");
        }
        let base = out.join(f);
        let dir = base.parent().unwrap();
        for href in attrs(&html, "href") {
            assert!(!href.starts_with("http"), "{f}: external link {href}");
            let target = href.split('#').next().unwrap();
            if target.is_empty() {
                continue;
            }
            assert!(
                dir.join(target).is_file(),
                "{f}: link {href} resolves to nothing"
            );
        }
        assert!(attrs(&html, "src").is_empty(), "{f}: loads something");
    }
    // The index links every page once.
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let linked: BTreeSet<String> = attrs(&index, "href").into_iter().collect();
    for p in pages {
        assert!(linked.contains(p["page"].as_str().unwrap()));
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_seed_page_has_the_seed_shape() {
    let out = tmp("seed");
    let report = report_of(&["rules/"], &out);
    let pages = report["a"]["pages"].as_array().unwrap();
    let seed = pages
        .iter()
        .find(|p| p["file"] == "rules/seed/python_webserver_execution_linux.yml")
        .expect("seed page");
    let html = std::fs::read_to_string(out.join(seed["page"].as_str().unwrap())).unwrap();
    let section = |id: &str| -> String {
        let start = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("#{id}"));
        let end = html[start..]
            .find("</table>")
            .map_or(html.len(), |e| start + e);
        html[start..end].to_string()
    };
    let attack = section("attack");
    assert!(attack.contains("Exfiltration") && attack.contains("<b>T1048.003</b>"));
    assert!(attack.contains(
        "Exfiltration Over Alternative Protocol: Exfiltration Over Unencrypted Non-C2 Protocol"
    ));
    let events = section("events");
    assert!(events.contains("<td>Sysmon-for-Linux</td>") && events.contains("<td>Event ID 1</td>"));
    let stages = html[html.find("id=\"stages\"").unwrap()..].to_string();
    for stage in [
        "Stage 0: condition",
        "Stage 1: selection_img",
        "Stage 2: selection_module",
    ] {
        assert!(stages.contains(stage), "{stage}");
    }
    // The indicator rows are those `sigmat coverage -f indicators-json` computes.
    let run = sigmat(&[
        "coverage",
        "rules/",
        "-f",
        "indicators-json",
        "--rule",
        "rules/seed/python_webserver_execution_linux.yml",
        "-q",
    ]);
    let ind: Value = serde_json::from_slice(&run.stdout).expect("indicators json");
    let rows = ind["rules"][0]["rows"].as_array().unwrap();
    let kinds: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().into(),
                r["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("CommandLine", "match"),
            ("Image", "ends_with"),
            ("Image", "match")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let table = section("indicators");
    for r in rows {
        let row = format!(
            "<tr><td>{}</td><td>{}</td>",
            r["field"].as_str().unwrap(),
            r["kind"].as_str().unwrap()
        );
        let at = table.find(&row).unwrap_or_else(|| panic!("row {row}"));
        let tail = &table[at..];
        let tr = &tail[..tail.find("</tr>").unwrap()];
        assert!(
            tr.ends_with(&format!("<td class=\"num\">{}</td>", r["others"])),
            "{tr}"
        );
        for v in r["values"].as_array().unwrap() {
            assert!(tr.contains(&format!("({})", v["others"])), "{tr}");
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn windows_pages_show_the_sysmon_event_and_channel() {
    // Derived independently: the `sysmon` and `windows_logsources` pipelines add these
    // conditions (`sigmat inspect -p` shows them), and the page must say the same.
    let out = tmp("windows");
    let report = report_of(&["rules/modifiers"], &out);
    let mut checked = 0;
    for p in report["a"]["pages"].as_array().unwrap() {
        let file = p["file"].as_str().unwrap();
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        if !(text.contains("product: windows") && text.contains("category: process_creation")) {
            continue;
        }
        let html = std::fs::read_to_string(out.join(p["page"].as_str().unwrap())).unwrap();
        assert!(html.contains("<td>Event ID 1</td>"), "{file}");
        assert!(
            html.contains("Microsoft-Windows-Sysmon&#x2f;Operational"),
            "{file}"
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no Windows process_creation fixture in rules/modifiers"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn titles_are_escaped() {
    let dir = tmp("escape-in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("x.yml"),
        "title: '<script>alert(1)</script> & \"q\"'\ndescription: '<b>bold</b>'\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '<img src=x>'\n  condition: sel\n",
    )
    .unwrap();
    let out = tmp("escape-out");
    let report = report_of(&[dir.to_str().unwrap()], &out);
    let page = report["a"]["pages"][0]["page"].as_str().unwrap();
    let html = std::fs::read_to_string(out.join(page)).unwrap();
    assert!(!html.contains("<script>alert"), "title not escaped");
    assert!(!html.contains("<b>bold</b>") && !html.contains("<img src=x>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;q&quot;"));
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!index.contains("<script>alert"));
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_is_never_overwritten_silently() {
    let out = tmp("force");
    report_of(&["rules/seed"], &out);
    let before = files(&out);
    // Again without --force: refused, nothing touched.
    let o = out.to_str().unwrap();
    let again = sigmat(&["report", "rules/seed", "-o", o]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(files(&out), before);
    // With --force an earlier report is replaced.
    let forced = sigmat(&["report", "rules/modifiers", "-o", o, "--force"]);
    assert_eq!(
        forced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_ne!(files(&out), before);
    // A folder of something else is not replaced, even with --force.
    let other = tmp("force-other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let refused = sigmat(&[
        "report",
        "rules/seed",
        "-o",
        other.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(other.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(files(&other).len(), 1);
    // No temporary folder is left beside them.
    let parent = out.parent().unwrap();
    let stray = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.contains(&format!("sigmat-report-force-{}", std::process::id()))
                && n.contains(".tmp.")
        });
    assert!(!stray);
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

#[test]
fn a_comparison_shows_the_figures_of_coverage_json() {
    // Catalog A: the Sigma fixtures of the seed; B: Elastic's seed fixtures (rules/elastic).
    let out = tmp("compare");
    let args = [
        "rules/seed",
        "--against",
        "rules/elastic",
        "-p",
        "ecs_linux",
    ];
    let report = report_of(&args, &out);
    let mut cov_args = vec!["coverage"];
    cov_args.extend(args);
    cov_args.extend(["-f", "json", "-q"]);
    let cov: Value = serde_json::from_slice(&sigmat(&cov_args).stdout).expect("coverage json");
    assert_eq!(
        report["pairs"]["summary"],
        cov["summary"]
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.remove("techniques_a_only");
                m.remove("techniques_b_only");
                Value::Object(m)
            })
            .unwrap()
    );
    assert!(
        report["pairs"]["summary"]["a_rules_overlapping_b"]
            .as_u64()
            .unwrap()
            >= 1
    );
    for side in ["a", "b"] {
        assert_eq!(report[side]["rules"], cov[side]["rules"]);
        assert_eq!(report[side]["techniques"], cov[side]["techniques"]);
    }
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let fig = |id: &str| -> String {
        let at = index.find(&format!("<b id=\"{id}\">")).unwrap() + id.len() + 9;
        index[at..at + index[at..].find('<').unwrap()].to_string()
    };
    assert_eq!(
        fig("overlap-a"),
        cov["summary"]["a_rules_overlapping_b"].to_string()
    );
    assert_eq!(fig("a-rules"), cov["a"]["rules"].to_string());
    assert_eq!(fig("b-rules"), cov["b"]["rules"].to_string());
    let rows = index.matches("<tr data-relation=").count();
    assert_eq!(
        rows as u64,
        report["pairs"]["overlapping_pairs"].as_u64().unwrap()
    );
    // The seed's page links its Elastic counterpart's page.
    let seed = report["a"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["file"]
                .as_str()
                .unwrap()
                .ends_with("python_webserver_execution_linux.yml")
        })
        .unwrap();
    assert!(seed["peers"].as_u64().unwrap() >= 1);
    std::fs::remove_dir_all(&out).unwrap();
}

fn rule(yaml: &str) -> sigmat::ir::Rule {
    match sigmat::sigma::parse_str(yaml, None).remove(0) {
        Ok(sigmat::ir::Document::Rule(r)) => r,
        other => panic!("not a rule: {other:?}"),
    }
}

#[test]
fn event_rows_hold_only_what_every_matching_event_meets() {
    use sigmat::report::events::from_rule;
    let head = "title: t\nlogsource:\n  product: windows\ndetection:\n  ids:\n    EventID:\n      - 4688\n      - 1\n  ch:\n    Channel: Security\n  prov:\n    Provider_Name: X\n";
    // Conjuncts fix the event ids and the channel; a negated provider fixes nothing.
    let r = rule(&format!("{head}  condition: ids and ch and not prov\n"));
    let row = from_rule(&r, "via").expect("a row");
    assert_eq!(row.event, "Event ID 4688, Event ID 1");
    assert_eq!(row.channel, "Security");
    assert_eq!(row.provider, "");
    // An `or` across fields fixes nothing; neither does a value only one branch needs.
    assert!(from_rule(&rule(&format!("{head}  condition: ids or ch\n")), "via").is_none());
    let r = rule(&format!("{head}  condition: ids and (ch or prov)\n"));
    let row = from_rule(&r, "via").unwrap();
    assert_eq!(
        (row.event.as_str(), row.channel.as_str()),
        ("Event ID 4688, Event ID 1", "")
    );
    // A substring test is no fixed value.
    let r = rule("title: t\nlogsource:\n  product: windows\ndetection:\n  s:\n    Channel|contains: Sec\n  condition: s\n");
    assert!(from_rule(&r, "via").is_none());
}

#[test]
fn by_tag_only_compares_without_pairs() {
    let out = tmp("bytag");
    let report = report_of(
        &[
            "rules/seed",
            "--against",
            "rules/elastic/seeds",
            "--by-tag-only",
        ],
        &out,
    );
    assert!(report.get("pairs").is_none(), "pairs decided");
    assert!(report["b"]["rules"].as_u64().unwrap() >= 2);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("id=\"no-pairs\"") && !index.contains("<table id=\"pairs\">"));
    // The heat map still compares by tag: the Sigma seed tags T1048.003, Elastic's seeds
    // T1059.006 and T1505.003 (read from the fixtures' tags).
    let cells: Vec<Value> = report["heatmap"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["cells"].as_array().unwrap().clone())
        .collect();
    let side = |t: &str| -> Vec<String> {
        cells
            .iter()
            .filter(|c| c["technique"] == t)
            .map(|c| c["side"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(side("T1048"), ["a_only"]);
    assert_eq!(side("T1059"), ["b_only"]);
    assert!(side("T1505").iter().all(|s| s == "b_only") && !side("T1505").is_empty());
    assert!(side("T1003").iter().all(|s| s == "none"));
    std::fs::remove_dir_all(&out).unwrap();
}
