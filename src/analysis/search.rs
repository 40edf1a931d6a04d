//! The search over atom assignments (DPLL-style, field checks as the theory) and witness events.

use serde_json::{Map, Value};

use crate::eval::CompiledRule;

use super::atoms::{last_segment, Table, ECS_NAME, F};
use super::field::{Outcome, Theory};
use super::{Options, Region};

/// Decisions per region before the answer is `unknown` ([`Options::budget`]).
pub const DEFAULT_BUDGET: usize = 200_000;

/// A witness: the event and the atom assignment that produced it.
#[derive(Debug, Clone)]
pub struct Model {
    /// The event.
    pub event: Value,
    /// The assigned atoms.
    pub cube: Vec<(usize, bool)>,
}

enum Stop {
    Budget,
}

/// Search state shared by the regions of one pair.
pub struct Ctx<'t> {
    /// The atoms.
    pub table: &'t Table,
    theory: Theory<'t>,
    opts: &'t Options,
    va: &'t CompiledRule,
    vb: &'t CompiledRule,
    steps: usize,
    unknown: Option<String>,
}

impl<'t> Ctx<'t> {
    /// A search over `table`'s atoms; `va` / `vb` verify witnesses natively.
    pub fn new(
        table: &'t Table,
        opts: &'t Options,
        va: &'t CompiledRule,
        vb: &'t CompiledRule,
    ) -> Ctx<'t> {
        Ctx {
            table,
            theory: Theory::new(table, opts.max_states),
            opts,
            va,
            vb,
            steps: 0,
            unknown: None,
        }
    }

    /// Decides a region: `f` is its formula, `expect` what A and B say on its events.
    pub fn region(&mut self, f: &F, expect: (bool, bool)) -> Region {
        let want = self.opts.witnesses.max(1);
        let mut witnesses = Vec::new();
        let mut f = f.clone();
        let mut unknown = None;
        while witnesses.len() < want {
            match self.find(&f, expect) {
                Ok(Some(m)) => {
                    let cube = F::And(m.cube.iter().map(|&(a, v)| lit(a, v)).collect());
                    f = F::And(vec![f, F::Not(Box::new(cube))]);
                    witnesses.push(m.event);
                }
                Ok(None) => break,
                Err(why) => {
                    unknown = Some(why);
                    break;
                }
            }
        }
        if witnesses.is_empty() {
            Region {
                empty: unknown.is_none(),
                witnesses,
                unknown,
            }
        } else {
            Region {
                empty: false,
                witnesses,
                unknown: None,
            }
        }
    }

    /// One model of `f` whose event A and B judge as `expect`; `Ok(None)` when there is none,
    /// `Err` with the reason when that could not be decided.
    ///
    /// # Errors
    /// The budget, an undecided field, a witness the evaluator disagrees with.
    pub fn find(&mut self, f: &F, expect: (bool, bool)) -> Result<Option<Model>, String> {
        self.find_single(f, expect, None)
    }

    /// As [`Ctx::find`], with field `single` (if any) limited to one value.
    ///
    /// # Errors
    /// As [`Ctx::find`].
    pub fn find_single(
        &mut self,
        f: &F,
        expect: (bool, bool),
        single: Option<usize>,
    ) -> Result<Option<Model>, String> {
        self.theory.force_single = single;
        let r = self.find_inner(f, expect);
        self.theory.force_single = None;
        r
    }

    fn find_inner(&mut self, f: &F, expect: (bool, bool)) -> Result<Option<Model>, String> {
        self.steps = 0;
        self.unknown = None;
        let mut assign = vec![None; self.table.atoms.len()];
        match self.dpll(f, &mut assign) {
            Err(Stop::Budget) => Err(format!(
                "the search reached its budget of {} decisions (--budget)",
                self.opts.budget
            )),
            Ok(Some(m)) => {
                let got = (self.va.is_match(&m.event), self.vb.is_match(&m.event));
                if got == expect {
                    Ok(Some(m))
                } else {
                    Err(format!(
                        "witness {} failed native verification (A {}, B {}): an analysis bug",
                        m.event, got.0, got.1
                    ))
                }
            }
            Ok(None) => match self.unknown.take() {
                Some(why) => Err(why),
                None => Ok(None),
            },
        }
    }

    fn dpll(&mut self, f: &F, assign: &mut Vec<Option<bool>>) -> Result<Option<Model>, Stop> {
        self.steps += 1;
        if self.steps > self.opts.budget {
            return Err(Stop::Budget);
        }
        match f.eval3(assign) {
            Some(false) => return Ok(None),
            Some(true) => return Ok(self.model(assign)),
            None => {}
        }
        let Some(a) = f.pick(assign) else {
            return Ok(None);
        };
        for v in [true, false] {
            assign[a] = Some(v);
            match self.field_of(self.table.atoms[a].field, assign) {
                Outcome::Sat(_) => {
                    if let Some(m) = self.dpll(f, assign)? {
                        assign[a] = None;
                        return Ok(Some(m));
                    }
                }
                Outcome::Unsat => {}
                Outcome::Unknown(why) => {
                    self.unknown.get_or_insert(why);
                }
            }
        }
        assign[a] = None;
        Ok(None)
    }

    fn field_of(&mut self, field: usize, assign: &[Option<bool>]) -> Outcome {
        let lits: Vec<(usize, bool)> = self
            .table
            .atoms
            .iter()
            .enumerate()
            .filter(|(_, at)| at.field == field)
            .filter_map(|(i, _)| assign[i].map(|v| (i, v)))
            .collect();
        self.theory.check(field, &lits)
    }

    fn model(&mut self, assign: &[Option<bool>]) -> Option<Model> {
        let mut event = Map::new();
        for (fi, field) in self.table.fields.iter().enumerate() {
            let values = match self.field_of(fi, assign) {
                Outcome::Sat(v) => v,
                Outcome::Unsat => return None,
                Outcome::Unknown(why) => {
                    self.unknown.get_or_insert(why);
                    return None;
                }
            };
            if values.is_empty() {
                continue;
            }
            if field.derive_name {
                let names: Vec<String> =
                    values.iter().map(|v| last_segment(v).to_string()).collect();
                event.insert(ECS_NAME.to_string(), json_values(&names));
            }
            event.insert(field.name.clone(), json_values(&values));
        }
        let cube = assign
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        Some(Model {
            event: Value::Object(event),
            cube,
        })
    }
}

/// An atom literal as a formula.
pub fn lit(a: usize, v: bool) -> F {
    if v {
        F::Atom(a)
    } else {
        F::Not(Box::new(F::Atom(a)))
    }
}

fn json_values(values: &[String]) -> Value {
    let one = |s: &String| match s.parse::<i64>() {
        Ok(i) if i.to_string() == *s => Value::from(i),
        _ => Value::String(s.clone()),
    };
    match values {
        [v] => one(v),
        vs => Value::Array(vs.iter().map(one).collect()),
    }
}
