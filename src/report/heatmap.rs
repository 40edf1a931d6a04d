//! The ATT&CK matrix as a heat map: the 14 enterprise tactics as columns, one cell per
//! (parent) technique of the tactic, every active technique shown whether covered or not.
//!
//! A cell counts what the technique's Navigator cell counts ([`Coverage::rules_of`]: the rules
//! naming the technique or one of its sub-techniques, each once). One catalog: the cell's
//! colour is its rule count's bucket ([`BUCKETS`]). Two catalogs: the colour says which covers
//! it, A only / B only / both ([`COMPARE_COLORS`]), the cell shows both counts. Within a column
//! the cells are sorted by count (A's, then B's), then by id. The layout (positions, colours,
//! labels) is computed here; the template only draws it.

use serde::Serialize;

use crate::attack::{self, TACTICS};
use crate::coverage::layer::COMPARE_COLORS;
use crate::coverage::Coverage;

/// Width of a cell, in SVG units.
pub const CELL_W: u32 = 128;
/// Height of a cell.
pub const CELL_H: u32 = 22;
const GAP: u32 = 3;
const HEAD: u32 = 44;

/// Colour buckets of a one-catalog heat map: (lowest count, colour, text colour); a count takes
/// the last bucket whose lowest count it reaches.
pub const BUCKETS: [(usize, &str, &str); 6] = [
    (0, "#f3f3f3", "#555555"),
    (1, "#deebf7", "#1a1a1a"),
    (2, "#9ecae1", "#1a1a1a"),
    (5, "#6baed6", "#1a1a1a"),
    (10, "#3182bd", "#ffffff"),
    (25, "#08519c", "#ffffff"),
];

const NONE_COLOR: &str = "#f3f3f3";

/// One technique cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Technique id.
    pub technique: &'static str,
    /// Technique name.
    pub name: &'static str,
    /// Tactic short name of the column.
    pub tactic: &'static str,
    /// Rules of A.
    pub a: usize,
    /// Rules of B (0 when not comparing).
    pub b: usize,
    /// `a_only`, `b_only`, `both`, `none`; `count` when not comparing.
    pub side: &'static str,
    /// Position and colours.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Fill colour.
    pub fill: &'static str,
    /// Text colour.
    pub ink: &'static str,
    /// The count text drawn at the cell's right (empty when no rule covers it).
    pub label: String,
}

/// One tactic column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Tactic name.
    pub name: &'static str,
    /// Short name.
    pub short: &'static str,
    /// Left.
    pub x: u32,
    /// Header lines (the name wrapped in two at most).
    pub head: Vec<String>,
    /// Techniques of the tactic covered by at least one rule (either side).
    pub covered: usize,
    /// Cells, top to bottom.
    pub cells: Vec<Cell>,
}

/// A legend entry.
#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    /// Label.
    pub label: String,
    /// Colour.
    pub color: &'static str,
}

/// The heat map.
#[derive(Debug, Clone, Serialize)]
pub struct HeatMap {
    /// SVG width and height.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Cell size.
    pub cell_w: u32,
    /// Cell height.
    pub cell_h: u32,
    /// Header height.
    pub head: u32,
    /// The columns.
    pub columns: Vec<Column>,
    /// The legend.
    pub legend: Vec<Legend>,
    /// Whether two catalogs are compared.
    pub comparing: bool,
}

fn bucket(n: usize) -> (&'static str, &'static str) {
    let mut out = (BUCKETS[0].1, BUCKETS[0].2);
    for (lo, fill, ink) in BUCKETS {
        if n >= lo {
            out = (fill, ink);
        }
    }
    out
}

fn wrap(name: &str) -> Vec<String> {
    if name.len() <= 18 {
        return vec![name.to_string()];
    }
    let words: Vec<&str> = name.split(' ').collect();
    let mut best = (usize::MAX, 1);
    for cut in 1..words.len() {
        let (l, r) = (words[..cut].join(" ").len(), words[cut..].join(" ").len());
        if l.max(r) < best.0 {
            best = (l.max(r), cut);
        }
    }
    vec![words[..best.1].join(" "), words[best.1..].join(" ")]
}

fn count(c: &Coverage, id: &str) -> usize {
    c.rules_of(id).map_or(0, std::collections::BTreeSet::len)
}

/// Lays out the heat map of catalog `a`, compared with `b` when given; `names` label the
/// legend.
#[must_use]
pub fn layout(a: &Coverage, b: Option<&Coverage>, names: (&str, &str)) -> HeatMap {
    let mut columns = Vec::new();
    let mut height = HEAD;
    for (k, tactic) in TACTICS.iter().enumerate() {
        let mut techs: Vec<(&'static attack::Technique, usize, usize)> = attack::techniques()
            .iter()
            .filter(|t| !t.is_subtechnique() && t.is_active())
            .filter(|t| t.tactics.iter().any(|x| x.id == tactic.id))
            .map(|t| (t, count(a, t.id), b.map_or(0, |b| count(b, t.id))))
            .collect();
        techs.sort_by(|x, y| (y.1, y.2).cmp(&(x.1, x.2)).then(x.0.id.cmp(y.0.id)));
        let x = u32::try_from(k).unwrap_or(0) * (CELL_W + GAP);
        let mut cells = Vec::new();
        for (row, (t, na, nb)) in techs.into_iter().enumerate() {
            let y = HEAD + u32::try_from(row).unwrap_or(0) * (CELL_H + GAP);
            let (side, fill, ink, label) = match b {
                None => {
                    let (fill, ink) = bucket(na);
                    let label = if na == 0 {
                        String::new()
                    } else {
                        na.to_string()
                    };
                    ("count", fill, ink, label)
                }
                Some(_) => {
                    let (side, fill) = match (na > 0, nb > 0) {
                        (true, false) => ("a_only", COMPARE_COLORS[0]),
                        (false, true) => ("b_only", COMPARE_COLORS[1]),
                        (true, true) => ("both", COMPARE_COLORS[2]),
                        (false, false) => ("none", NONE_COLOR),
                    };
                    let label = if na + nb == 0 {
                        String::new()
                    } else {
                        format!("{na}|{nb}")
                    };
                    (side, fill, "#1a1a1a", label)
                }
            };
            cells.push(Cell {
                technique: t.id,
                name: t.name,
                tactic: tactic.short,
                a: na,
                b: nb,
                side,
                x,
                y,
                fill,
                ink,
                label,
            });
            height = height.max(y + CELL_H);
        }
        columns.push(Column {
            name: tactic.name,
            short: tactic.short,
            x,
            head: wrap(tactic.name),
            covered: cells.iter().filter(|c| c.a + c.b > 0).count(),
            cells,
        });
    }
    let legend = match b {
        None => BUCKETS
            .iter()
            .enumerate()
            .map(|(i, (lo, color, _))| {
                let label = match BUCKETS.get(i + 1) {
                    Some((next, _, _)) if next - 1 == *lo => format!("{lo} rules"),
                    Some((next, _, _)) => format!("{lo}-{} rules", next - 1),
                    None => format!("{lo}+ rules"),
                };
                Legend {
                    label: if label == "1 rules" {
                        "1 rule".into()
                    } else {
                        label
                    },
                    color,
                }
            })
            .collect(),
        Some(_) => vec![
            Legend {
                label: format!("{} only", names.0),
                color: COMPARE_COLORS[0],
            },
            Legend {
                label: format!("{} only", names.1),
                color: COMPARE_COLORS[1],
            },
            Legend {
                label: "both".into(),
                color: COMPARE_COLORS[2],
            },
            Legend {
                label: "neither".into(),
                color: NONE_COLOR,
            },
        ],
    };
    HeatMap {
        width: u32::try_from(TACTICS.len()).unwrap_or(14) * (CELL_W + GAP),
        height: height + GAP,
        cell_w: CELL_W,
        cell_h: CELL_H,
        head: HEAD,
        columns,
        legend,
        comparing: b.is_some(),
    }
}
