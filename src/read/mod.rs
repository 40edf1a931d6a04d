//! Readers of Elastic rules: stages beside the Sigma front end that turn detection-rules TOML
//! files and their EQL and KQL queries into the IR. They depend on [`crate::ir`] and
//! [`crate::error`] only.
//!
//! - [`toml`]: the detection-rules TOML file → [`ElasticRule`] (metadata kept whole, mapped to
//!   [`crate::ir::Meta`] by [`ElasticRule::to_meta`]).
//! - [`source`]: spans inside a query and their file positions.

pub mod eql;
pub mod kql;
pub mod source;
pub mod toml;

pub use self::toml::{read_str, ElasticRule, Language, RuleType};
pub use source::{QueryOrigin, Span};

use crate::error::{Error, ErrorKind, Result};

/// Reads a detection-rules TOML file.
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be read, else as [`read_str`].
pub fn read_file(path: &std::path::Path) -> Result<ElasticRule> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorKind::Io(e.to_string())).in_file(name.clone()))?;
    read_str(&text, Some(&name))
}
