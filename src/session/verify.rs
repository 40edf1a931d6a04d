//! Translation validation (`sigmat convert --verify`): each query a backend wrote is read back
//! into the IR with sigmat's own reader of the backend's Elastic language (its `elastic:`
//! key: `eql` with [`crate::read::eql`], `kuery` with [`crate::read::kql`], under the meaning
//! those readers document) and decided against the rule as the pipelines left it
//! ([`crate::analysis::decide`], no explanations, one witness).
//!
//! - `equivalent`: nothing is said.
//! - decided and not equivalent: a warning naming the relation (A is the rule, B the query
//!   read back) and one witness event as JSON, verified natively on both;
//! - `unknown`: a warning saying the conversion is *not proven*, with the reason (a budget,
//!   a construct the decision procedure does not take);
//! - a query the reader cannot read: a warning saying so (our own output, unreadable by our
//!   own reader, is a finding).
//!
//! Under [`Verify::Strict`] each of these refuses the rule instead
//! ([`ErrorKind::Unsupported`]: the rule counts as unsupported, as when the backend cannot
//! express it): strict means *proven* equivalent, so `unknown` and unreadable queries are
//! refused too.
//!
//! An EQL query's event category (`process where`) is the backend's rendering of the rule's
//! log source, which the IR keeps beside the condition rather than in it: the rule is decided
//! with that category test (`event.category`, case-sensitive) added, so only the condition's
//! translation is judged. `X.caseless` fields are read as `X` compared case-insensitively on
//! both sides before the decision (the IR's meaning, "Caseless fields"). Correlations and sequences are not decided (the decision procedure
//! takes single-event rules): they get the *not proven* warning.

use crate::analysis::{self, Decision, Relation};
use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir;
use crate::read::{self, QueryOrigin};
use crate::render::{Backend, Conversion, ElasticLanguage};

/// How `--verify` reacts to a conversion that is not proven equivalent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// A warning on the rule (`--verify`, `--verify=warn`).
    Warn,
    /// The rule is refused (`--verify=strict`).
    Strict,
}

/// The reader a backend's queries are read back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Eql,
    Kql,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::Eql => "EQL",
            Reader::Kql => "KQL",
        }
    }
}

/// What verifies a session's conversions.
#[derive(Debug, Clone)]
pub struct Verifier {
    mode: Verify,
    reader: Reader,
    opts: analysis::Options,
}

impl Verifier {
    /// A verifier for `backend`'s queries; `budget` is the decision budget per region
    /// ([`analysis::Options::budget`]; the analysis default when `None`).
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] when sigmat has no reader for the backend's queries (verify
    /// applies to backends whose `elastic.language` is `eql` or `kuery`).
    pub fn new(mode: Verify, backend: &Backend, budget: Option<usize>) -> Result<Self> {
        let reader = match backend.file().elastic.as_ref().map(|e| e.language) {
            Some(ElasticLanguage::Eql) => Reader::Eql,
            Some(ElasticLanguage::Kuery) => Reader::Kql,
            Some(ElasticLanguage::Lucene | ElasticLanguage::Esql) | None => {
                return Err(Error::new(ErrorKind::Usage(format!(
                    "--verify applies to eql and kql: sigmat has no reader for the `{}` backend's queries",
                    backend.name()
                ))))
            }
        };
        let mut opts = analysis::Options {
            witnesses: 1,
            explain: false,
            ..analysis::Options::default()
        };
        if let Some(b) = budget {
            opts.budget = b;
        }
        Ok(Verifier { mode, reader, opts })
    }

    /// Verifies the conversion `c` of `rule`: `c` with a warning added, or (strict) the
    /// refusal.
    ///
    /// # Errors
    /// Under [`Verify::Strict`], [`ErrorKind::Unsupported`] for a conversion not proven
    /// equivalent.
    pub fn rule(&self, rule: &ir::Rule, target: &str, c: Conversion) -> Result<Conversion> {
        match self.finding(rule, &c.queries) {
            None => Ok(c),
            Some(message) => self.settle(message, target, c, true),
        }
    }

    /// `message` as a warning on `c`, or (strict) as the refusal, with the hint when `hint`.
    fn settle(
        &self,
        message: String,
        target: &str,
        mut c: Conversion,
        hint: bool,
    ) -> Result<Conversion> {
        match self.mode {
            Verify::Warn => {
                c.warnings.push(Warning { message, at: None });
                Ok(c)
            }
            Verify::Strict => {
                let e = Error::new(ErrorKind::Unsupported {
                    target: target.to_string(),
                    what: format!("this rule under --verify=strict ({message})"),
                });
                Err(if hint {
                    e.hint("without `strict`, --verify converts it with this warning")
                } else {
                    e
                })
            }
        }
    }

    /// A correlation or sequence: not decided.
    ///
    /// # Errors
    /// Under [`Verify::Strict`], the refusal.
    pub fn not_decided(&self, what: &str, target: &str, c: Conversion) -> Result<Conversion> {
        let message = format!(
            "verify: not proven equivalent: {what} is not decided (the decision procedure takes single-event rules)"
        );
        self.settle(message, target, c, false)
    }

    /// Why the queries are not proven to mean the rule, or `None` when they are.
    fn finding(&self, rule: &ir::Rule, queries: &[String]) -> Option<String> {
        let mut source = rule.clone();
        let mut back = rule.clone();
        back.conditions.clear();
        for (i, q) in queries.iter().enumerate() {
            let (cond, category) = match self.read_back(q) {
                Ok(x) => x,
                Err(e) => {
                    let why = e.render();
                    let why = why.lines().next().unwrap_or_default();
                    return Some(format!(
                        "verify: the query written cannot be read back by sigmat's {} reader: {why}",
                        self.reader.name()
                    ));
                }
            };
            back.conditions.push(cond);
            if let (Some(cat), Some(c)) = (category, source.conditions.get_mut(i)) {
                *c = ir::Expr::And(vec![cat, c.clone()]);
            }
        }
        // Both sides as the IR reads them (the readers already read `X.caseless` as `X`,
        // case-insensitively; so does the rule, here, before the decision).
        for c in source
            .conditions
            .iter_mut()
            .chain(back.conditions.iter_mut())
        {
            c.for_each_pred_mut(&mut |p| {
                if let Some(q) = ir::caseless(p) {
                    *p = q;
                }
            });
        }
        let decision = analysis::decide(&source, &back, &self.opts);
        describe(decision)
    }

    /// The query as the reader reads it, and (EQL) its event category as a condition.
    fn read_back(&self, text: &str) -> Result<(ir::Expr, Option<ir::Expr>)> {
        let origin = QueryOrigin::default();
        match self.reader {
            Reader::Eql => {
                let q = read::eql::parse(text, &origin)?;
                let opts = read::eql::lower::Options::default();
                let cond = read::eql::lower::lower(&q, text, &origin, opts)?;
                let category = match &q.body {
                    read::eql::ast::Body::Event(e) => match &e.category {
                        read::eql::ast::Category::Name(n) => Some(ir::Expr::Pred(ir::Predicate {
                            field: Some(opts.category_field.to_string()),
                            test: ir::Test::Str {
                                pattern: ir::Pattern::literal(n),
                                cased: true,
                            },
                            at: String::new(),
                        })),
                        read::eql::ast::Category::Any => None,
                    },
                    read::eql::ast::Body::Sequence(_) | read::eql::ast::Body::Sample(_) => None,
                };
                Ok((cond, category))
            }
            Reader::Kql => {
                let q = read::kql::parse(text, &origin)?;
                let cond = read::kql::lower::lower(
                    &q,
                    text,
                    &origin,
                    read::kql::lower::Options::default(),
                )?;
                Ok((cond, None))
            }
        }
    }
}

/// The warning text of a decision, `None` for `equivalent`.
fn describe(decision: Result<Decision>) -> Option<String> {
    let d = match decision {
        Ok(d) => d,
        Err(e) => {
            let why = e.render();
            return Some(format!(
                "verify: not proven equivalent: {}",
                why.lines().next().unwrap_or_default()
            ));
        }
    };
    let relation = d.relation.name();
    match &d.relation {
        Relation::Equivalent => return None,
        Relation::Unknown(why) => return Some(format!("verify: not proven equivalent: {why}")),
        Relation::AInB | Relation::BInA | Relation::Overlap | Relation::Disjoint => {}
    }
    // The rule's own region first: what the query misses.
    let (region, witness) = if d.a_only.witnesses.is_empty() {
        ("the query matches, the rule does not", &d.b_only)
    } else {
        ("the rule matches, the query does not", &d.a_only)
    };
    let event = witness
        .witnesses
        .first()
        .map_or_else(|| "(no witness)".to_string(), ToString::to_string);
    Some(format!(
        "verify: the query is not equivalent to the rule: {relation} (a: the rule, b: the query read back); {region}: {event}"
    ))
}
