//! The pipeline model: a pySigma processing pipeline read into typed structures.
//!
//! [`Pipeline`] holds the processing items ([`Item`]: a [`Scope`] saying where it applies and
//! a [`Transformation`] saying what it does), the postprocessing items and the finalizers.
//! Reading is in `load.rs`, the transformations in `transformations/`, the conditions in
//! `conditions/`.
//!
//! [`Item`]: crate::pipeline::Item
//! [`Scope`]: crate::pipeline::Scope
//! [`Transformation`]: crate::pipeline::Transformation

use indexmap::IndexMap;
use serde_json::Value;

use crate::pipeline::query::{Finalizer, PostItem};
use crate::pipeline::transformations::Item;

/// A processing pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `name` (pySigma's descriptive name); the file stem when absent.
    pub name: String,
    /// `priority`: pipelines run from the lowest priority to the highest; equal priorities keep
    /// the order they were given in.
    pub priority: i64,
    /// Where the pipeline came from: `builtin:NAME` or the file path.
    pub origin: String,
    /// `vars`: value lists for `value_placeholders`.
    pub vars: IndexMap<String, Value>,
    /// `allowed_backends` (informational, as in pySigma).
    pub allowed_backends: Vec<String>,
    /// `transformations`, in order.
    pub items: Vec<Item>,
    /// `postprocessing`: transformations of the rendered query.
    pub postprocessing: Vec<PostItem>,
    /// `finalizers`: how the queries of a batch are joined.
    pub finalizers: Vec<Finalizer>,
}
