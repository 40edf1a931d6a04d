//! EQL as Elasticsearch runs it (elastic.md §3): lexer, parser to a spanned syntax tree,
//! lowering to the IR.

pub mod ast;
pub mod lexer;
pub mod lower;
pub mod parser;

pub use ast::Query;

use crate::error::Result;
use crate::read::source::QueryOrigin;

/// Parses an EQL query. Errors are [`crate::error::ErrorKind::QuerySyntax`] located at the
/// file position (through `origin`) and the line:column inside the query.
///
/// # Errors
/// The first lexical or syntax error.
pub fn parse(text: &str, origin: &QueryOrigin) -> Result<Query> {
    parser::parse(text).map_err(|e| origin.syntax_error("eql", text, e.span, &e.message, e.hint))
}
