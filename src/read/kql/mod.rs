//! KQL (Kibana kuery) as Kibana turns it into Elasticsearch queries (elastic.md §4): a
//! scannerless lexer, a parser to a spanned syntax tree, lowering to the IR.

pub mod ast;
pub mod lexer;
pub mod lower;
pub mod parser;

pub use ast::Node;

use crate::error::Result;
use crate::read::source::QueryOrigin;

/// Parses a KQL query. Errors are [`crate::error::ErrorKind::QuerySyntax`] located at the
/// file position (through `origin`) and the line:column inside the query.
///
/// # Errors
/// The first syntax error.
pub fn parse(text: &str, origin: &QueryOrigin) -> Result<Node> {
    parser::parse(text).map_err(|e| origin.syntax_error("kql", text, e.span, &e.message, e.hint))
}
