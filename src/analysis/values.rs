//! Value helpers of the field theory: candidate texts for patterns, numbers and networks.

use crate::ir::{CmpOp, Pattern, Piece};

/// The text of a string pattern with its wildcards filled (`?` as `x`, `*` as nothing).
pub(super) fn literal_text(pattern: &Pattern) -> String {
    pattern
        .pieces()
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.as_str(),
            Piece::AnyOne => "x",
            Piece::AnyMany | Piece::Placeholder(_) => "",
        })
        .collect()
}

pub(super) fn push(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

pub(super) fn cmp(op: CmpOp, x: f64, c: f64) -> bool {
    x.partial_cmp(&c).is_some_and(|o| op.holds(o))
}

/// Points that meet every interval the constants bound: each constant, a point between each two,
/// and one beyond each end.
pub(super) fn sample_points(consts: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut cs: Vec<f64> = consts.into_iter().filter(|c| c.is_finite()).collect();
    cs.sort_by(f64::total_cmp);
    cs.dedup();
    let mut out = Vec::new();
    for (i, &c) in cs.iter().enumerate() {
        if i == 0 {
            out.push(c - 1.0);
        }
        out.push(c);
        match cs.get(i + 1) {
            Some(&d) => out.push(c + (d - c) / 2.0),
            None => out.push(c + 1.0),
        }
    }
    if out.is_empty() {
        out.push(0.0);
    }
    out
}

pub(super) fn number_texts(x: f64) -> Vec<String> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = x as i64;
        vec![i.to_string(), format!("{i}.0"), format!("0{i}")]
    } else {
        vec![x.to_string()]
    }
}

pub(super) fn net_candidates(net: &str) -> Vec<String> {
    let Ok(n) = crate::eval::matcher::parse_net(net) else {
        return Vec::new();
    };
    let mut out = vec![n.network().to_string(), n.broadcast().to_string()];
    if let Some(h) = n.hosts().next() {
        out.push(h.to_string());
    }
    out
}
