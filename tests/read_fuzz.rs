//! Fuzz-style robustness of the Elastic readers: random token soups, random bytes and
//! mutations of real queries never panic or hang in the EQL and KQL parsers, their lowering,
//! the Lucene regexp translation (whose output must always compile) and the TOML reader; deep
//! nesting is a located error.

mod common;

use std::time::{Duration, Instant};

use sigmat::read::{self, eql, kql, lucene_regex, QueryOrigin};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const EQL_TOKENS: &[&str] = &[
    "process",
    "any",
    "where",
    "sequence",
    "sample",
    "by",
    "with",
    "maxspan",
    "=",
    "5m",
    "runs",
    "until",
    "[",
    "]",
    "![",
    "(",
    ")",
    ",",
    "and",
    "or",
    "not",
    "in",
    "in~",
    "like",
    "like~",
    "regex",
    "regex~",
    ":",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "|",
    "head",
    "tail",
    "1",
    "3.5",
    "true",
    "false",
    "null",
    "?",
    "process.name",
    "`a b`",
    "\"x*\"",
    "\"\"\"r\\\"\"\"",
    "\"\\u{41}\"",
    "startsWith~",
    "cidrMatch",
    "length",
    "\"10.0.0.0/8\"",
    "\"[a-z]+\"",
    "\"a&b\"",
    ".",
    "\n",
    " ",
    "//c\n",
    "/* c */",
    "'",
    "\"",
    "`",
    "\\",
    "é",
];

const KQL_TOKENS: &[&str] = &[
    "a",
    "process.name",
    ":",
    " ",
    "(",
    ")",
    "{",
    "}",
    "\"q\"",
    "\"",
    "*",
    "or",
    "and",
    "not",
    "OR",
    "\\",
    "\\:",
    "\\*",
    "\\u0041",
    "\\or",
    "<",
    "<=",
    ">",
    ">=",
    "5",
    "null",
    "true",
    "\t",
    "\n",
    "x y",
    "message",
    "source.ip",
    "10.0.0.0/8",
    "*:*",
    "é",
    "\u{a0}",
];

fn soup(rng: &mut Rng, vocab: &[&str]) -> String {
    let n = rng.below(40);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(rng.pick(vocab));
        if rng.below(3) == 0 {
            s.push(' ');
        }
    }
    s
}

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut b: Vec<char> = s.chars().collect();
    for _ in 0..=rng.below(4) {
        let len = b.len().max(1);
        let i = rng.below(len).min(b.len());
        match rng.below(5) {
            0 if !b.is_empty() => {
                let j = (i + rng.below(8)).min(b.len());
                b.drain(i..j);
            }
            1 => {
                let c = [
                    '(', ')', '"', '[', ']', '{', '}', '\\', '*', ':', '~', ' ', '`', '?',
                ];
                b.insert(i, c[rng.below(c.len())]);
            }
            2 if i < b.len() => b[i] = char::from_u32(32 + (rng.next() % 95) as u32).unwrap_or('x'),
            3 => {
                let j = (i + rng.below(16)).min(b.len());
                let dup: Vec<char> = b[i..j].to_vec();
                for (k, c) in dup.into_iter().enumerate() {
                    b.insert(i + k, c);
                }
            }
            _ => {}
        }
    }
    b.into_iter().collect()
}

/// Parses and lowers `q` both ways, under a time bound.
fn exercise(q: &str) {
    let o = QueryOrigin::default();
    let t = Instant::now();
    if let Ok(ast) = eql::parse(q, &o) {
        let _ = eql::lower::lower(&ast, q, &o, eql::lower::Options::default());
    }
    if let Ok(ast) = kql::parse(q, &o) {
        let _ = kql::lower::lower(&ast, q, &o, kql::lower::Options::default());
    }
    assert!(t.elapsed() < Duration::from_secs(2), "slow input: {q:?}");
}

#[test]
fn random_and_mutated_queries_never_panic_or_hang() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        exercise(&soup(&mut rng, EQL_TOKENS));
        exercise(&soup(&mut rng, KQL_TOKENS));
        let bytes: Vec<u8> = (0..rng.below(64))
            .map(|_| (rng.next() & 0xff) as u8)
            .collect();
        exercise(&String::from_utf8_lossy(&bytes));
    }
    let seeds = [
        r#"process where host.os.type == "linux" and process.name regex~ """php?[0-9]?\.?[0-9]{0,2}""" and not process.parent.name in ("a", "b")"#,
        "sequence by host.id with maxspan=1m [process where true] by process.pid [file where file.path : \"/tmp/*\"] until [process where event.type == \"end\"]",
        "event.category:process and process.name:(bash or sh) and not user.name:root and process.args_count >= 3",
        "a:{ b:\"x\" and c:* } or \"free text\"",
    ];
    for s in seeds {
        for _ in 0..1500 {
            exercise(&mutate(&mut rng, s));
        }
    }
}

#[test]
fn corpus_queries_mutated_never_panic_or_hang() {
    let Some(shared) = common::shared_or_skip("corpus_queries_mutated_never_panic_or_hang") else {
        return;
    };
    let mut rng = Rng(42);
    let mut n = 0;
    for e in walkdir::WalkDir::new(shared.join("corpus/elastic")).sort_by_file_name() {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        // Every 10th file: the TOML itself mutated.
        if n % 10 == 0 {
            let m = mutate(&mut rng, &text);
            if let Ok(r) = read::read_str(&m, None) {
                let _ = read::lower_rule(r);
            }
        }
        n += 1;
        let r = read::read_str(&text, None).unwrap();
        if let Some(q) = &r.query {
            for _ in 0..3 {
                exercise(&mutate(&mut rng, &q.text));
            }
        }
    }
}

#[test]
fn lucene_regexp_translation_always_compiles() {
    let vocab = [
        "a", "Z", "é", ".", "*", "+", "?", "{2}", "{1,3}", "{2,}", "|", "(", ")", "[", "]", "^",
        "-", "\\", "\\d", "\\W", "\\s", "\"", "\"x.y\"", "$", "~", "&", "@", "#", "<1-3>", "}",
        "{", "0-9", "[^a-c]", "[\\-x]", "\n",
    ];
    let mut rng = Rng(7);
    let mut ok = 0;
    for _ in 0..20_000 {
        let n = rng.below(12);
        let p: String = (0..n).map(|_| rng.pick(&vocab)).collect();
        for ci in [false, true] {
            if let Ok(r) = lucene_regex::to_ir_regex(&p, ci) {
                ok += 1;
                regex::Regex::new(&r).unwrap_or_else(|e| panic!("{p:?} -> {r:?}: {e}"));
            }
        }
    }
    assert!(ok > 1000, "{ok}");
}

#[test]
fn deep_nesting_is_located() {
    let o = QueryOrigin::default();
    let cases = [
        format!("any where {}a == 1", "(".repeat(100_000)),
        format!("any where {}a == 1", "not ".repeat(100_000)),
        format!("any where a == {}1", "-".repeat(100_000)),
        format!("any where f({}", "g(".repeat(100_000)),
        format!("any where a in ({}", "(".repeat(100_000)),
    ];
    for q in &cases {
        let e = eql::parse(q, &o).unwrap_err();
        assert!(
            e.location.line.is_some() && e.location.column.is_some(),
            "{e:?}"
        );
        assert!(e.to_string().contains("nested more than"), "{e}");
    }
    let cases = [
        format!("{}a:1", "(".repeat(100_000)),
        format!("a:{}1", "(".repeat(100_000)),
        "a:{".repeat(100_000),
        format!("{}a:1", "not (".repeat(100_000)),
    ];
    for q in &cases {
        let e = kql::parse(q, &o).unwrap_err();
        assert!(e.location.column.is_some(), "{e:?}");
        assert!(e.to_string().contains("nested more than"), "{e}");
    }
    let e = lucene_regex::to_ir_regex(&"(".repeat(100_000), false).unwrap_err();
    assert!(e.contains("nested"), "{e}");
}
