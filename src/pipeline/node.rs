//! A rule while pipelines run: its conditions as [`Node`]s (the IR expression with, on each
//! predicate, the ids of the processing items applied to it: pySigma tracks this per detection
//! item, and `processing_item_applied` detection item / field name conditions read it), and the
//! state shared by all pipelines while they process one rule ([`Ctx`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::ir::{Expr, Predicate};

/// A predicate and the processing items applied to it (their ids, shared with the items).
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub pred: Predicate,
    pub applied: Vec<Arc<str>>,
}

/// A rule condition while pipelines run.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Leaf),
}

impl Node {
    /// The node of an IR expression (nothing applied yet).
    pub(crate) fn from_expr(e: &Expr) -> Node {
        match e {
            Expr::And(xs) => Node::And(xs.iter().map(Node::from_expr).collect()),
            Expr::Or(xs) => Node::Or(xs.iter().map(Node::from_expr).collect()),
            Expr::Not(x) => Node::Not(Box::new(Node::from_expr(x))),
            Expr::Pred(pred) => Node::Leaf(Leaf {
                pred: pred.clone(),
                applied: Vec::new(),
            }),
        }
    }

    /// The node of an IR expression, taking it (nothing applied yet).
    pub(crate) fn from_owned(e: Expr) -> Node {
        match e {
            Expr::And(xs) => Node::And(xs.into_iter().map(Node::from_owned).collect()),
            Expr::Or(xs) => Node::Or(xs.into_iter().map(Node::from_owned).collect()),
            Expr::Not(x) => Node::Not(Box::new(Node::from_owned(*x))),
            Expr::Pred(pred) => Node::Leaf(Leaf {
                pred,
                applied: Vec::new(),
            }),
        }
    }

    /// Back to the IR (one-element `and`/`or` collapse).
    pub(crate) fn into_expr(self) -> Expr {
        match self {
            Node::And(xs) => Expr::and(xs.into_iter().map(Node::into_expr).collect()),
            Node::Or(xs) => Expr::or(xs.into_iter().map(Node::into_expr).collect()),
            Node::Not(x) => Expr::Not(Box::new(x.into_expr())),
            Node::Leaf(l) => Expr::Pred(l.pred),
        }
    }

    /// The leaves, depth first, left to right.
    pub(crate) fn leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Node::And(xs) | Node::Or(xs) => xs.iter().for_each(|x| x.leaves(out)),
            Node::Not(x) => x.leaves(out),
            Node::Leaf(l) => out.push(l),
        }
    }

    /// Whether `f` holds for some leaf.
    pub(crate) fn any_leaf(&self, f: &mut impl FnMut(&Leaf) -> bool) -> bool {
        match self {
            Node::And(xs) | Node::Or(xs) => xs.iter().any(|x| x.any_leaf(f)),
            Node::Not(x) => x.any_leaf(f),
            Node::Leaf(l) => f(l),
        }
    }

    /// Records on every leaf that the item `id` was applied.
    pub(crate) fn mark(&mut self, id: &Arc<str>) {
        match self {
            Node::And(xs) | Node::Or(xs) => xs.iter_mut().for_each(|x| x.mark(id)),
            Node::Not(x) => x.mark(id),
            Node::Leaf(l) => l.mark(id),
        }
    }

    /// `or` of `xs`, or the single node itself.
    pub(crate) fn or(mut xs: Vec<Node>) -> Node {
        if xs.len() == 1 {
            xs.remove(0)
        } else {
            Node::Or(xs)
        }
    }
}

impl Leaf {
    /// Records that the item `id` was applied to this predicate.
    pub(crate) fn mark(&mut self, id: &Arc<str>) {
        if !self.applied.iter().any(|a| Arc::ptr_eq(a, id) || a == id) {
            self.applied.push(Arc::clone(id));
        }
    }

    /// Whether the item `id` was applied to this predicate.
    pub(crate) fn was_applied(&self, id: &str) -> bool {
        self.applied.iter().any(|a| &**a == id)
    }
}

/// State shared by all pipelines while they process one rule (pySigma keeps it on the merged
/// pipeline and resets it per rule).
#[derive(Debug, Default)]
pub(crate) struct Ctx<'p> {
    /// The `vars` of the pipelines, in the order they run (a later pipeline's value wins).
    pub vars: Vec<&'p IndexMap<String, Value>>,
    /// `set_state` values.
    pub state: IndexMap<String, Value>,
    /// Ids of the items applied to the rule.
    pub applied: Vec<String>,
    /// Field name → ids of the items that produced it (pySigma `field_name_applied_ids`).
    pub field_applied: HashMap<String, BTreeSet<String>>,
    /// Field names that were mapped, and the names they were mapped to; kept only when a
    /// `strict_field_mapping_failure` item may ask.
    pub mapped: Option<(HashSet<String>, HashSet<String>)>,
}

impl Ctx<'_> {
    /// The value of a placeholder variable.
    pub(crate) fn var(&self, name: &str) -> Option<&Value> {
        self.vars.iter().rev().find_map(|v| v.get(name))
    }

    /// Records that the item `id` was applied to the rule.
    pub(crate) fn mark_rule(&mut self, id: Option<&str>) {
        if let Some(id) = id {
            if !self.applied.iter().any(|a| a == id) {
                self.applied.push(id.to_string());
            }
        }
    }

    /// pySigma `track_field_processing_items`.
    pub(crate) fn track(&mut self, src: &str, dest: &[String], id: Option<&str>) {
        if dest.len() == 1 && dest[0] == src {
            return;
        }
        let mut set = self.field_applied.remove(src).unwrap_or_default();
        if let Some(id) = id {
            set.insert(id.to_string());
        }
        for d in dest {
            self.field_applied.insert(d.clone(), set.clone());
        }
    }

    /// Records a field mapping for `strict_field_mapping_failure`.
    pub(crate) fn record_mapping(&mut self, src: &str, dest: &[String]) {
        if let Some((from, to)) = &mut self.mapped {
            from.insert(src.to_string());
            to.extend(dest.iter().cloned());
        }
    }
}
