//! # sigmat
//!
//! A Sigma rule transpiler and engine. One intermediate rule model (the IR, [`ir`]) with one
//! documented meaning; everything else is a stage that produces or consumes it.
//!
//! | stage | module | input → output |
//! |---|---|---|
//! | Sigma front end | [`sigma`] | Sigma YAML → [`ir::Document`] |
//! | pipelines | [`pipeline`] | IR → IR (field mapping, log source routing) |
//! | renderer | [`render`] | IR → query text, through backends = data + templates |
//! | evaluator | [`eval`] | IR → compiled matchers → verdicts on JSON events |
//! | analysis | [`analysis`] | two IR rules → their relation, witness events, differences |
//! | output formats | [`publish`] | IR + query text → Elastic detection-rules TOML, Kibana NDJSON |
//! | coverage | [`coverage`] | rules + tags → ATT&CK layers, indicators, overlapping pairs |
//! | batch API | [`session`] | paths → rules read once, pipelines applied once → converted items |
//! | output files | [`output`] | the atomic writer and per-rule file names |
//! | CLI | [`cli`] | the commands: argument parsing and printing, on top of [`session`] |
//!
//! Stages depend on [`ir`] and [`error`] only, never on each other; [`session`] wires them up
//! for a batch of rules and the CLI prints what it returns.
//! See `ARCHITECTURE.md` for the code map and invariants.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod attack;
pub mod cli;
pub mod coverage;
pub mod error;
pub mod eval;
pub mod ir;
pub mod output;
pub mod pipeline;
pub mod publish;
pub mod read;
pub mod render;
pub mod report;
pub mod session;
pub mod sigma;
