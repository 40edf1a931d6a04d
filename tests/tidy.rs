//! The architecture's invariants, checked on the source text (in the manner of rust-analyzer's
//! `tidy` tests). Each check reads `src/` and fails with every offending place:
//! - stages import only what ARCHITECTURE.md's `allowed-imports` block lets them;
//! - no `_ =>` arm in a `match` over an IR enum (a new IR kind must break every consumer);
//! - no backend name matched or compared in Rust (what differs between backends is data);
//! - no circle of imports between files;
//! - size: no source file over 700 lines, median under 250, no function over 150 lines
//!   outside tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`, sorted, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("src is readable") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("source is UTF-8");
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root().join("src"))
        .unwrap_or(p)
        .display()
        .to_string()
}

/// The source with comments, string and char literals blanked out (same length and line
/// breaks), so that checks see code only.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut [u8], from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = text[start..]
                    .find(&close)
                    .map_or(b.len(), |n| start + n + close.len());
                // Keep the quotes so that string literals stay recognisable.
                blank(&mut out, start, end - close.len());
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
                let rest = &text[i + 1..];
                let len = if rest.starts_with('\\') {
                    rest.find('\'').map(|n| n + 1)
                } else {
                    rest.chars()
                        .next()
                        .filter(|_| {
                            rest[rest.chars().next().map_or(0, char::len_utf8)..].starts_with('\'')
                        })
                        .map(|c| c.len_utf8() + 1)
                };
                match len {
                    Some(n) => {
                        blank(&mut out, i + 1, i + n);
                        i += n + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8 boundaries")
}

/// The code of a file without its `#[cfg(test)]` modules.
fn without_tests(code: &str) -> String {
    let mut out = code.to_string();
    let mut from = 0;
    while let Some(n) = out[from..].find("#[cfg(test)]") {
        let at = from + n;
        let Some(open) = out[at..].find('{').map(|k| at + k) else {
            break;
        };
        let close = matching(&out, open).unwrap_or(out.len() - 1);
        let blanked: String = out[at..=close]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(at..=close, &blanked);
        from = at + 1;
    }
    out
}

/// The index of the brace closing the one at `open`.
fn matching(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// The stage a file belongs to: its first folder under `src/`, or its file stem.
fn stage_of(file: &Path) -> String {
    let r = rel(file);
    let first = r.split('/').next().unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// ARCHITECTURE.md's `allowed-imports` block: `stage -> dep, dep` per line; `*` allows all.
fn allowed_imports() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = doc
        .find("```text allowed-imports")
        .expect("ARCHITECTURE.md has an allowed-imports block");
    let body = &doc[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let body = &body[..body.find("```").expect("block is closed")];
    let mut out = BTreeMap::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (from, to) = line.split_once("->").expect("`stage -> deps`");
        let deps = to
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty() && d != "-")
            .collect();
        out.insert(from.trim().to_string(), deps);
    }
    out
}

/// Every `crate::<module>` a file's code names (imports and paths alike), with its line.
fn crate_refs(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(n) = code[from..].find("crate::") {
        let at = from + n;
        from = at + 7;
        if at > 0 {
            let prev = code.as_bytes()[at - 1];
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'$' {
                continue;
            }
        }
        let name: String = code[at + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push((name, line_of(code, at)));
        }
    }
    // `use crate::{a, b::c}` groups.
    let mut from = 0;
    while let Some(n) = code[from..].find("crate::{") {
        let at = from + n;
        let open = at + 7;
        let close = matching(code, open).unwrap_or(code.len() - 1);
        let mut depth = 0;
        let mut word = String::new();
        let mut expect = true;
        for c in code[open + 1..close].chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    if !word.is_empty() {
                        out.push((std::mem::take(&mut word), line_of(code, at)));
                    }
                    expect = true;
                }
                c if c.is_ascii_alphanumeric() || c == '_' => {
                    if expect {
                        word.push(c);
                    }
                }
                _ => {
                    if !word.is_empty() {
                        out.push((std::mem::take(&mut word), line_of(code, at)));
                        expect = false;
                    }
                }
            }
        }
        if !word.is_empty() {
            out.push((word, line_of(code, at)));
        }
        from = close;
    }
    out
}

#[test]
fn stages_import_only_what_architecture_md_allows() {
    let allowed = allowed_imports();
    let mut bad = Vec::new();
    for (file, text) in sources() {
        let stage = stage_of(&file);
        if stage == "lib" || stage == "main" {
            continue;
        }
        let Some(deps) = allowed.get(&stage) else {
            bad.push(format!(
                "{}: stage `{stage}` is missing from ARCHITECTURE.md's allowed-imports block",
                rel(&file)
            ));
            continue;
        };
        if deps.contains("*") {
            continue;
        }
        for (m, line) in crate_refs(&code_only(&text)) {
            if m != stage && !deps.contains(&m) {
                bad.push(format!(
                    "{}:{line}: `{stage}` imports `crate::{m}`",
                    rel(&file)
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports across stages not allowed by ARCHITECTURE.md:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_import_check_catches_a_forbidden_arrow() {
    // The check itself must be able to fail: `render` may not import `eval`.
    let allowed = allowed_imports();
    let refs = crate_refs(&code_only(
        "use crate::eval::RuleSet;\nuse crate::{ir, eval::x};\n// crate::sigma\n",
    ));
    let mut names: Vec<&str> = refs.iter().map(|(m, _)| m.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["eval", "eval", "ir"]);
    assert!(!allowed["render"].contains("eval"));
    assert!(
        !allowed["sigma"].contains("pipeline"),
        "never sigma -> pipeline"
    );
}

/// The IR's enums: every `pub enum` under `src/ir/`.
fn ir_enums() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (file, text) in sources() {
        if stage_of(&file) != "ir" {
            continue;
        }
        let code = code_only(&text);
        for (i, _) in code.match_indices("pub enum ") {
            let name: String = code[i + 9..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// The arms at the top level of the `match` body `{ ... }` starting at `open`: the text of
/// each arm's pattern.
fn arm_patterns(code: &str, open: usize, close: usize) -> Vec<(String, usize)> {
    let body = &code[open + 1..close];
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let mut in_pattern = true;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth -= 1;
                // A block arm ends with its closing brace.
                if depth == 0 && c == b'}' && !in_pattern {
                    in_pattern = true;
                    start = i + 1;
                }
            }
            b'=' if depth == 0 && in_pattern && bytes.get(i + 1) == Some(&b'>') => {
                let pat = &body[start..i];
                let lead = pat.len() - pat.trim_start().len();
                out.push((pat.trim().to_string(), open + 1 + start + lead));
                in_pattern = false;
                i += 1;
            }
            b',' if depth == 0 && !in_pattern => {
                in_pattern = true;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `_ =>` arms of matches whose other arms name an IR enum, in `code`, as `line: arm`.
fn wildcard_arms_over_ir(code: &str, enums: &BTreeSet<String>) -> Vec<usize> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("match ") {
        if at > 0 {
            let prev = code.as_bytes()[at - 1];
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'!' {
                continue;
            }
        }
        let Some(open) = code[at..].find('{').map(|n| at + n) else {
            continue;
        };
        let Some(close) = matching(code, open) else {
            continue;
        };
        let arms = arm_patterns(code, open, close);
        let names_ir = arms.iter().any(|(p, _)| {
            enums.iter().any(|e| {
                p.match_indices(&format!("{e}::"))
                    .any(|(k, _)| k == 0 || !p.as_bytes()[k - 1].is_ascii_alphanumeric())
            })
        });
        if names_ir {
            for (p, pos) in &arms {
                if p == "_" || p.starts_with("_ if") {
                    out.push(line_of(code, *pos));
                }
            }
        }
    }
    out
}

/// The IR enums a file's code refers to by their bare name: all of them inside `src/ir/`,
/// elsewhere those its `use crate::ir...` declarations import (a module may have an enum of
/// its own with the same name, e.g. a reader's `Piece`); `ir::Name::` paths count too.
fn ir_enums_in_scope(file: &Path, code: &str, enums: &BTreeSet<String>) -> BTreeSet<String> {
    if stage_of(file) == "ir" {
        return enums.clone();
    }
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("use crate::ir") {
        let end = code[at..].find(';').map_or(code.len(), |n| at + n);
        let decl: String = code[at + 4..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for path in expand_use(&decl) {
            let last = path.rsplit("::").next().unwrap_or_default();
            if enums.contains(last) {
                names.insert(last.to_string());
            }
        }
    }
    names.extend(enums.iter().map(|e| format!("ir::{e}")));
    names
}

#[test]
fn no_wildcard_arm_in_a_match_over_an_ir_enum() {
    let enums = ir_enums();
    assert!(
        enums.contains("Test") && enums.contains("Expr"),
        "{enums:?}"
    );
    let mut bad = Vec::new();
    for (file, text) in sources() {
        let code = code_only(&text);
        let in_scope = ir_enums_in_scope(&file, &code, &enums);
        for line in wildcard_arms_over_ir(&code, &in_scope) {
            bad.push(format!("{}:{line}", rel(&file)));
        }
    }
    assert!(
        bad.is_empty(),
        "`_ =>` in a match over an IR enum (name every variant):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_wildcard_check_catches_a_wildcard() {
    let enums: BTreeSet<String> = ["Test".to_string()].into();
    let code = "fn f(t: &Test) -> u8 {\n    match t {\n        Test::Str(_) => { 1 }\n        _ => 2,\n    }\n}\n";
    assert_eq!(wildcard_arms_over_ir(code, &enums), [4]);
    let fine = "match t { Test::Str(_) => 1, Test::Null => 2 }";
    assert!(wildcard_arms_over_ir(fine, &enums).is_empty());
    let other = "match n { 1 => a, _ => b }";
    assert!(wildcard_arms_over_ir(other, &enums).is_empty());
}

/// The built-in backends' names: the files in `backends/`.
fn backend_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("backends"))
        .expect("backends/")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "yml").then_some(stem)
        })
        .collect();
    v.sort();
    v
}

/// Places in `text` where a backend name literal is matched or compared.
fn backend_name_matches(text: &str, names: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    // Literals survive in the original text; test modules are skipped via the code mask.
    let code = without_tests(&code_only(text));
    for name in names {
        let lit = format!("\"{name}\"");
        for (at, _) in text.match_indices(&lit) {
            // Only literals in code outside tests (the mask keeps the quotes).
            if code.as_bytes().get(at) != Some(&b'"') {
                continue;
            }
            let before = text[..at].trim_end();
            let after = text[at + lit.len()..].trim_start();
            let compared = before.ends_with("==")
                || before.ends_with("!=")
                || after.starts_with("==")
                || after.starts_with("!=")
                || after.starts_with("=>")
                || (after.starts_with('|') && !after.starts_with("||"))
                || (before.ends_with('|') && !before.ends_with("||"));
            if compared {
                out.push(line_of(text, at));
            }
        }
    }
    out
}

#[test]
fn no_backend_name_is_matched_in_rust() {
    let names = backend_names();
    assert!(names.contains(&"eql".to_string()), "{names:?}");
    let mut bad = Vec::new();
    for (file, text) in sources() {
        // The Elastic readers match Elastic's own vocabulary (`language = "eql"` in a
        // detection-rules file), which shares words with our backends' names.
        if stage_of(&file) == "read" {
            continue;
        }
        for line in backend_name_matches(&text, &names) {
            bad.push(format!("{}:{line}", rel(&file)));
        }
    }
    assert!(
        bad.is_empty(),
        "backend names matched in Rust (make it a key of the backend file):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_backend_name_check_catches_a_match() {
    let names = vec!["eql".to_string(), "kql".to_string()];
    let src = "fn f(n: &str) -> u8 {\n    match n {\n        \"eql\" | \"kql\" => 1,\n        _ => 0,\n    }\n}\nfn g(n: &str) -> bool { n == \"kql\" }\nconst B: &[&str] = &[\"eql\"];\n";
    assert_eq!(backend_name_matches(src, &names), [3, 3, 7]);
}

/// The file a `crate::a::b::c` path names: the longest prefix that is a file.
fn resolve(segments: &[String]) -> Option<PathBuf> {
    let src = root().join("src");
    for n in (1..=segments.len()).rev() {
        let base = segments[..n].iter().fold(src.clone(), |p, s| p.join(s));
        let file = base.with_extension("rs");
        if file.is_file() {
            return Some(file);
        }
        let m = base.join("mod.rs");
        if m.is_file() {
            return Some(m);
        }
    }
    None
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `["a", "b"]`.
fn module_path(file: &Path) -> Vec<String> {
    let r = rel(file);
    let mut parts: Vec<String> = r
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// The files a file's `use` declarations name (`crate::`, `super::`, `self::` paths),
/// excluding its own ancestors' module files (a module's namespace, not an import).
fn file_imports(file: &Path, code: &str) -> BTreeSet<PathBuf> {
    let me = module_path(file);
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("use ") {
        if at > 0
            && (code.as_bytes()[at - 1].is_ascii_alphanumeric() || code.as_bytes()[at - 1] == b'_')
        {
            continue;
        }
        let end = code[at..].find(';').map_or(code.len(), |n| at + n);
        let decl: String = code[at + 4..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for path in expand_use(&decl) {
            let segs: Vec<&str> = path.split("::").collect();
            let mut base: Vec<String> = match segs.first().copied() {
                Some("crate") => Vec::new(),
                Some("super") => {
                    // The parent of this file's module (for `a/mod.rs` and `a/b.rs` alike).
                    let mut b = me.clone();
                    b.pop();
                    b
                }
                Some("self") => me.clone(),
                _ => continue,
            };
            let mut rest = &segs[1..];
            while rest.first() == Some(&"super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().map(|s| (*s).to_string()));
            if let Some(target) = resolve(&base) {
                let tmod = module_path(&target);
                let is_ancestor = tmod.len() < me.len() && me.starts_with(&tmod);
                if target != file && !is_ancestor {
                    out.insert(target);
                }
            }
        }
    }
    out
}

/// `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn expand_use(decl: &str) -> Vec<String> {
    match decl.find('{') {
        None => vec![decl.split(" as ").next().unwrap_or(decl).to_string()],
        Some(open) => {
            let prefix = &decl[..open];
            let inner = &decl[open + 1..decl.rfind('}').unwrap_or(decl.len())];
            let mut parts = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .flat_map(|p| {
                    if p == "self" {
                        vec![prefix.trim_end_matches("::").to_string()]
                    } else {
                        expand_use(&format!("{prefix}{p}"))
                    }
                })
                .collect()
        }
    }
}

#[test]
fn no_circle_of_imports_between_files() {
    let files = sources();
    let graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = files
        .iter()
        .map(|(f, t)| (f.clone(), file_imports(f, &code_only(t))))
        .collect();
    // Depth-first search for a back edge.
    let mut cycles = Vec::new();
    let mut state: BTreeMap<&PathBuf, u8> = BTreeMap::new();
    fn visit<'g>(
        n: &'g PathBuf,
        g: &'g BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<&'g PathBuf, u8>,
        stack: &mut Vec<&'g PathBuf>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        for m in g.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                0 => visit(m, g, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|x| *x == m).unwrap_or(0);
                    let ring: Vec<String> = stack[from..].iter().map(|p| rel(p)).collect();
                    cycles.push(format!("{} -> {}", ring.join(" -> "), rel(m)));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    for n in graph.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            visit(n, &graph, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(
        cycles.is_empty(),
        "files importing each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn use_declarations_resolve_to_files() {
    let me = root().join("src/cli/convert.rs");
    let got = file_imports(&me, "use crate::session::{Item, Outcome};\nuse super::elastic_out::Target;\nuse crate::cli::Cli;\n");
    let got: Vec<String> = got.iter().map(|p| rel(p)).collect();
    assert_eq!(got, ["cli/elastic_out.rs", "session.rs"]);
}

/// Functions longer than `max` lines in `code` (test modules excluded): `(line, name, len)`.
fn long_functions(code: &str, max: usize) -> Vec<(usize, String, usize)> {
    let code = without_tests(code);
    let mut out = Vec::new();
    for (at, _) in code.match_indices("fn ") {
        if at > 0
            && (code.as_bytes()[at - 1].is_ascii_alphanumeric() || code.as_bytes()[at - 1] == b'_')
        {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` before any `;` (a declaration without body has none).
        let rest = &code[at..];
        let (Some(open), semi) = (rest.find('{'), rest.find(';')) else {
            continue;
        };
        if semi.is_some_and(|s| s < open) {
            continue;
        }
        let open = at + open;
        let Some(close) = matching(&code, open) else {
            continue;
        };
        let len = line_of(&code, close) - line_of(&code, at) + 1;
        if len > max {
            out.push((line_of(&code, at), name, len));
        }
    }
    out
}

#[test]
fn files_and_functions_stay_small() {
    let files = sources();
    let mut lines: Vec<usize> = files.iter().map(|(_, t)| t.lines().count()).collect();
    lines.sort_unstable();
    let median = lines[lines.len() / 2];
    let mut bad = Vec::new();
    for (file, text) in &files {
        let n = text.lines().count();
        if n > 700 {
            bad.push(format!("{}: {n} lines (at most 700)", rel(file)));
        }
        for (line, name, len) in long_functions(&code_only(text), 150) {
            bad.push(format!(
                "{}:{line}: fn {name} has {len} lines (at most 150)",
                rel(file)
            ));
        }
    }
    assert!(
        median < 250,
        "median source file {median} lines (under 250 wanted)"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_size_check_measures_functions() {
    let body = "    x();\n".repeat(160);
    let code = format!("fn short() {{ 1 }}\nfn long() {{\n{body}}}\n#[cfg(test)]\nmod tests {{ fn t() {{\n{body}}} }}\n");
    let got = long_functions(&code, 150);
    assert_eq!(got, [(2, "long".to_string(), 162)]);
}
