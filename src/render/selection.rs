//! Named selections (a backend's `selections:`, e.g. Sigma's `detection`): instead of writing
//! a leaf into the condition, the walk keeps its text as a selection body and writes a marker;
//! consecutive leaves of one `and` on distinct fields merge into one selection (a Sigma map is
//! an `and` of its keys), and at the end the markers become names, in the order the
//! conditions use them.

use minijinja::context;
use minijinja::value::Value;

use super::spec::Selections;
use super::walk::{Prec, Walker};

/// Opens and closes a marker `\u{2}N\u{3}` standing for selection `N` in a condition.
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';

/// A selection body and the field it tests (`None`: keywords, or several fields merged).
#[derive(Debug, Clone)]
pub(super) struct Leaf {
    body: String,
    fields: Vec<String>,
    keywords: bool,
}

/// The selection a marker stands for, when `s` is exactly one marker.
fn marker(s: &str) -> Option<usize> {
    s.strip_prefix(OPEN)?.strip_suffix(CLOSE)?.parse().ok()
}

impl Walker<'_> {
    /// In selection mode, keeps `body` (a rendered leaf on `field`) as a selection and
    /// returns its marker; otherwise returns `body`.
    pub(super) fn leaf(&mut self, body: String, field: Option<&str>) -> String {
        if self.b.file().selections.is_none() {
            return body;
        }
        self.leaves.push(Leaf {
            body,
            fields: field.map(String::from).into_iter().collect(),
            keywords: field.is_none(),
        });
        format!("{OPEN}{}{CLOSE}", self.leaves.len() - 1)
    }

    /// In selection mode, merges runs of consecutive leaf parts of an `and` whose fields are
    /// distinct into one selection each; otherwise returns `parts` unchanged.
    pub(super) fn merge_and(&mut self, parts: Vec<(String, Prec)>) -> Vec<(String, Prec)> {
        let Some(sel) = self.b.file().selections.clone() else {
            return parts;
        };
        let mut out: Vec<(String, Prec)> = Vec::with_capacity(parts.len());
        // The selection that the current run merges into, if the last part was a leaf.
        let mut run: Option<usize> = None;
        for (s, p) in parts {
            let Some(i) = marker(&s) else {
                run = None;
                out.push((s, p));
                continue;
            };
            match run {
                Some(r) if self.mergeable(r, i) => {
                    let leaf = self.leaves[i].clone();
                    let into = &mut self.leaves[r];
                    into.body.push_str(&sel.join);
                    into.body.push_str(&leaf.body);
                    into.fields.extend(leaf.fields);
                    // The merged leaf's own body stays unused: drop it from the numbering.
                    self.leaves[i].body.clear();
                }
                Some(_) | None => {
                    run = Some(i);
                    out.push((s, p));
                }
            }
        }
        out
    }

    /// Whether leaf `i` can join selection `r`: neither is a keyword search and `i`'s field is
    /// not among `r`'s (a map cannot hold one key twice).
    fn mergeable(&self, r: usize, i: usize) -> bool {
        let (a, b) = (&self.leaves[r], &self.leaves[i]);
        !a.keywords && !b.keywords && b.fields.iter().all(|f| !a.fields.contains(f))
    }

    /// Replaces the markers of `conditions` with selection names (numbered in the order they
    /// appear; the only one is `sel.name` itself) and returns the conditions and the
    /// selections (`{name, lines}`) for the query template.
    pub(super) fn name_selections(
        &mut self,
        conditions: Vec<String>,
        sel: &Selections,
    ) -> (Vec<String>, Vec<Value>) {
        let mut order: Vec<usize> = Vec::new();
        for c in &conditions {
            let mut rest = c.as_str();
            while let Some(start) = rest.find(OPEN) {
                let tail = &rest[start + OPEN.len_utf8()..];
                let Some(end) = tail.find(CLOSE) else { break };
                if let Ok(i) = tail[..end].parse() {
                    order.push(i);
                }
                rest = &tail[end + CLOSE.len_utf8()..];
            }
        }
        let name = |k: usize| {
            if order.len() == 1 {
                sel.name.clone()
            } else {
                format!("{}{}", sel.name, k + 1)
            }
        };
        let mut conds = conditions;
        let mut selections = Vec::with_capacity(order.len());
        for (k, &i) in order.iter().enumerate() {
            let n = name(k);
            let m = format!("{OPEN}{i}{CLOSE}");
            for c in &mut conds {
                if c.contains(&m) {
                    *c = c.replacen(&m, &n, 1);
                    break;
                }
            }
            let lines: Vec<Value> = self.leaves[i]
                .body
                .lines()
                .map(|l| Value::from_safe_string(l.to_string()))
                .collect();
            selections.push(context! { name => Value::from_safe_string(n), lines => lines });
        }
        (conds, selections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        assert_eq!(marker(&format!("{OPEN}12{CLOSE}")), Some(12));
        assert_eq!(marker(&format!("not {OPEN}1{CLOSE}")), None);
        assert_eq!(marker("sel"), None);
    }
}
