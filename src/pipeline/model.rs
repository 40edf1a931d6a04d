//! The pipeline model: pySigma processing-pipeline YAML read into typed structures.
//!
//! The reader follows pySigma's `ProcessingPipeline.from_dict`: unknown top-level keys are an
//! error, every transformation and condition `type` must be known, and a type that sigmat does
//! not implement is an error naming it (never silently skipped). Parameters are read with serde
//! (`deny_unknown_fields`), so a misspelt parameter is an error too.

use indexmap::IndexMap;
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

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

/// One processing item: a transformation and the conditions under which it applies.
#[derive(Debug, Clone)]
pub struct Item {
    /// `id`, the name `processing_item_applied` conditions refer to.
    pub id: Option<String>,
    /// Key path in the pipeline file, e.g. `transformations[3]`.
    pub path: String,
    /// What the item does.
    pub transformation: Transformation,
    /// `rule_conditions` with `rule_cond_op` / `rule_cond_not` / `rule_cond_expr`.
    pub rule_conditions: Conditions<RuleCondition>,
    /// `detection_item_conditions` with their op / not / expr.
    pub detection_item_conditions: Conditions<DetectionItemCondition>,
    /// `field_name_conditions` with their op / not / expr.
    pub field_name_conditions: Conditions<FieldNameCondition>,
}

impl Item {
    /// The id, or the key path when the item has none (for messages).
    #[must_use]
    pub fn label(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.path)
    }
}

/// A set of conditions and how they combine.
#[derive(Debug, Clone)]
pub struct Conditions<C> {
    /// The conditions with their names (list position, 1-based, or the mapping key).
    pub items: Vec<(String, C)>,
    /// How they combine.
    pub logic: Logic,
    /// `*_cond_not`: negate the combined result.
    pub negated: bool,
}

/// How conditions combine.
#[derive(Debug, Clone)]
pub enum Logic {
    /// `and` (the default): all hold.
    All,
    /// `or`: any holds.
    Any,
    /// `*_cond_expr`: a boolean expression over the condition names.
    Expr(CondExpr),
}

/// A parsed `*_cond_expr`.
#[derive(Debug, Clone)]
pub enum CondExpr {
    /// The condition at this index of [`Conditions::items`].
    Ref(usize),
    /// `not x`
    Not(Box<CondExpr>),
    /// `x and y ...`
    And(Vec<CondExpr>),
    /// `x or y ...`
    Or(Vec<CondExpr>),
}

/// A comparison operator of `processing_state` and `rule_attribute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gte`
    Gte,
    /// `gt`
    Gt,
    /// `lte`
    Lte,
    /// `lt`
    Lt,
    /// `in` (list membership; rule_attribute only)
    In,
    /// `not_in` (rule_attribute only)
    NotIn,
}

/// A condition on the whole rule.
#[derive(Debug, Clone)]
pub enum RuleCondition {
    /// `logsource`: every key given equals the rule's.
    Logsource {
        /// `category`
        category: Option<String>,
        /// `product`
        product: Option<String>,
        /// `service`
        service: Option<String>,
    },
    /// `contains_detection_item`: a predicate on `field` whose value equals `value`.
    ContainsDetectionItem {
        /// The field.
        field: Option<String>,
        /// The value (a Sigma string, number or boolean).
        value: Value,
    },
    /// `contains_field`: a predicate on `field`.
    ContainsField(Option<String>),
    /// `processing_item_applied`: the item with this id was applied to the rule.
    ProcessingItemApplied(String),
    /// `processing_state`: the pipeline state key compares with the value.
    ProcessingState(StateTest),
    /// `is_sigma_rule`
    IsSigmaRule,
    /// `is_sigma_correlation_rule`
    IsSigmaCorrelationRule,
    /// `rule_attribute`: a metadata attribute compares with the value.
    RuleAttribute {
        /// The attribute (`level`, `status`, `date`, `author`, a custom key...).
        attribute: String,
        /// The value.
        value: Value,
        /// The comparison.
        op: AttrOp,
    },
    /// `tag`: the rule has this tag.
    Tag(String),
}

/// A `processing_state` test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateTest {
    /// The state key.
    pub key: String,
    /// The value to compare with.
    pub val: Value,
    /// The comparison (`eq` by default).
    #[serde(default = "default_op")]
    pub op: AttrOp,
}

fn default_op() -> AttrOp {
    AttrOp::Eq
}

/// `any` or `all` values of a detection item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// Some value.
    Any,
    /// Every value.
    All,
}

/// A condition on a detection item (the predicates written under one key of a selection).
#[derive(Debug, Clone)]
pub enum DetectionItemCondition {
    /// `match_string`: string values match the regex (anchored at the start, like Python's
    /// `re.match`), or do not when `negate`.
    MatchString {
        /// `any` / `all`.
        cond: Quantifier,
        /// The compiled `\A(?:pattern)`.
        regex: Regex,
        /// `negate`.
        negate: bool,
    },
    /// `match_value`: a value equals this one.
    MatchValue {
        /// `any` / `all`.
        cond: Quantifier,
        /// The value.
        value: Value,
    },
    /// `contains_wildcard`: a string value holds `*` or `?`.
    ContainsWildcard(Quantifier),
    /// `is_null`: a value is `null`.
    IsNull(Quantifier),
    /// `processing_item_applied`: the item was applied to this detection item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateTest),
}

/// A condition on a field name.
#[derive(Debug, Clone)]
pub enum FieldNameCondition {
    /// `include_fields`: the name is listed (or matches a listed regex, `mode: re`).
    Include(FieldList),
    /// `exclude_fields`: the name is not listed.
    Exclude(FieldList),
    /// `processing_item_applied`: the field name was produced by that item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateTest),
}

/// The field list of `include_fields` / `exclude_fields`.
#[derive(Debug, Clone)]
pub enum FieldList {
    /// `mode: plain`: exact names.
    Plain(Vec<String>),
    /// `mode: re`: regexes matched at the start of the name (Python `re.match`).
    Re(Vec<Regex>),
}

/// Which placeholders a placeholder transformation handles.
#[derive(Debug, Clone, Default)]
pub struct PlaceholderFilter {
    /// `include`: only these.
    pub include: Option<Vec<String>>,
    /// `exclude`: all but these.
    pub exclude: Option<Vec<String>>,
}

impl PlaceholderFilter {
    /// Whether the placeholder `name` is handled.
    #[must_use]
    pub fn handles(&self, name: &str) -> bool {
        match (&self.include, &self.exclude) {
            (Some(inc), _) => inc.iter().any(|n| n == name),
            (None, Some(exc)) => !exc.iter().any(|n| n == name),
            (None, None) => true,
        }
    }
}

/// `regex` transformation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegexMethod {
    /// Escape the text, keep its case.
    Plain,
    /// Add the `i` flag.
    IgnoreCaseFlag,
    /// Write each letter as `[aA]`.
    IgnoreCaseBrackets,
}

/// `case` transformation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseMethod {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// `CamelCase` → `camel_case`.
    SnakeCase,
}

/// `convert_type` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// Numbers become strings.
    Str,
    /// Strings become numbers (an error when one is not a number).
    Num,
}

/// What a processing item does. Names are pySigma's YAML `type` names.
#[derive(Debug, Clone)]
pub enum Transformation {
    /// `field_name_mapping`: field → one field, or several (the predicate becomes an `or`).
    FieldNameMapping(IndexMap<String, Vec<String>>),
    /// `field_name_prefix_mapping`: first matching prefix → replacement prefix(es).
    FieldNamePrefixMapping(IndexMap<String, Vec<String>>),
    /// `field_name_prefix`.
    FieldNamePrefix(String),
    /// `field_name_suffix`.
    FieldNameSuffix(String),
    /// `drop_detection_item`.
    DropDetectionItem,
    /// `hashes_fields`: `Hashes: SHA256=...` → `<prefix>SHA256: ...`.
    HashesFields {
        /// `valid_hash_algos`.
        valid_hash_algos: Vec<String>,
        /// `field_prefix`.
        field_prefix: String,
        /// `drop_algo_prefix`.
        drop_algo_prefix: bool,
        /// `field_to_parse`.
        field_to_parse: Vec<String>,
    },
    /// `extract_fields`: named regex groups of a value become predicates of their own.
    ExtractFields {
        /// The regex (matched at the start of the value).
        regex: Regex,
        /// `field_prefix`.
        field_prefix: Option<String>,
        /// `preserve_unmatched`.
        preserve_unmatched: bool,
    },
    /// `wildcard_placeholders`: placeholders become `*`.
    WildcardPlaceholders(PlaceholderFilter),
    /// `value_placeholders`: placeholders become the values of `vars`.
    ValuePlaceholders(PlaceholderFilter),
    /// `query_expression_placeholders`: refused when it would act (see the module docs).
    QueryExpressionPlaceholders {
        /// Which placeholders.
        filter: PlaceholderFilter,
        /// `expression`.
        expression: String,
    },
    /// `add_condition`: AND a detection to every condition.
    AddCondition {
        /// `conditions`: field (with modifiers) → value or value list.
        conditions: IndexMap<String, Value>,
        /// `template`: substitute `$category`, `$product`, `$service`.
        template: bool,
        /// `negated`: AND `not (...)` instead.
        negated: bool,
    },
    /// `change_logsource`.
    ChangeLogsource {
        /// New category.
        category: Option<String>,
        /// New product.
        product: Option<String>,
        /// New service.
        service: Option<String>,
    },
    /// `add_field`: append to the rule's `fields`.
    AddField(Vec<String>),
    /// `remove_field`: remove from the rule's `fields`.
    RemoveField(Vec<String>),
    /// `set_field`: replace the rule's `fields`.
    SetField(Vec<String>),
    /// `replace_string`.
    ReplaceString {
        /// The regex.
        regex: Regex,
        /// The replacement in Rust syntax (`${1}`), converted from Python's (`\1`).
        replacement: String,
        /// `skip_special`: only edit the literal parts.
        skip_special: bool,
        /// `interpret_special`: with `skip_special`, read `*`/`?` in the result as wildcards.
        interpret_special: bool,
    },
    /// `map_string`: value → value(s).
    MapString(IndexMap<String, Vec<String>>),
    /// `set_state`.
    SetState {
        /// The key.
        key: String,
        /// The value.
        val: Value,
    },
    /// `regex`: string values become regexes.
    Regex(RegexMethod),
    /// `set_value`.
    SetValue(Value),
    /// `convert_type`.
    ConvertType(TargetType),
    /// `rule_failure`.
    RuleFailure(String),
    /// `detection_item_failure`.
    DetectionItemFailure(String),
    /// `strict_field_mapping_failure`: every field must have been mapped.
    StrictFieldMappingFailure,
    /// `set_custom_attribute`.
    SetCustomAttribute {
        /// The attribute.
        attribute: String,
        /// The value.
        value: Value,
    },
    /// `nest`: items applied as a group under this item's rule conditions.
    Nest(Vec<Item>),
    /// `case`.
    Case(CaseMethod),
}

impl Transformation {
    /// The pySigma YAML type name.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Transformation::FieldNameMapping(_) => "field_name_mapping",
            Transformation::FieldNamePrefixMapping(_) => "field_name_prefix_mapping",
            Transformation::FieldNamePrefix(_) => "field_name_prefix",
            Transformation::FieldNameSuffix(_) => "field_name_suffix",
            Transformation::DropDetectionItem => "drop_detection_item",
            Transformation::HashesFields { .. } => "hashes_fields",
            Transformation::ExtractFields { .. } => "extract_fields",
            Transformation::WildcardPlaceholders(_) => "wildcard_placeholders",
            Transformation::ValuePlaceholders(_) => "value_placeholders",
            Transformation::QueryExpressionPlaceholders { .. } => "query_expression_placeholders",
            Transformation::AddCondition { .. } => "add_condition",
            Transformation::ChangeLogsource { .. } => "change_logsource",
            Transformation::AddField(_) => "add_field",
            Transformation::RemoveField(_) => "remove_field",
            Transformation::SetField(_) => "set_field",
            Transformation::ReplaceString { .. } => "replace_string",
            Transformation::MapString(_) => "map_string",
            Transformation::SetState { .. } => "set_state",
            Transformation::Regex(_) => "regex",
            Transformation::SetValue(_) => "set_value",
            Transformation::ConvertType(_) => "convert_type",
            Transformation::RuleFailure(_) => "rule_failure",
            Transformation::DetectionItemFailure(_) => "detection_item_failure",
            Transformation::StrictFieldMappingFailure => "strict_field_mapping_failure",
            Transformation::SetCustomAttribute { .. } => "set_custom_attribute",
            Transformation::Nest(_) => "nest",
            Transformation::Case(_) => "case",
        }
    }
}

/// A query post-processing item (applied to the rendered query text).
#[derive(Debug, Clone)]
pub struct PostItem {
    /// `id`.
    pub id: Option<String>,
    /// What it does.
    pub transformation: PostTransformation,
    /// `rule_conditions`.
    pub rule_conditions: Conditions<RuleCondition>,
}

/// A query post-processing transformation.
#[derive(Debug, Clone)]
pub enum PostTransformation {
    /// `embed`: prefix + query + suffix.
    Embed {
        /// `prefix`.
        prefix: String,
        /// `suffix`.
        suffix: String,
    },
    /// `simple_template`: Python `str.format` with `{query}` and `{rule.ATTR}`.
    SimpleTemplate(String),
    /// `replace`: regex replacement in the query.
    Replace {
        /// The regex.
        regex: Regex,
        /// Rust-syntax replacement.
        replacement: String,
    },
    /// `nest`: nested post-processing items.
    Nest(Vec<PostItem>),
}

/// A finalizer (joins the queries of a batch).
#[derive(Debug, Clone)]
pub enum Finalizer {
    /// `concat`.
    Concat {
        /// `separator` (newline by default).
        separator: String,
        /// `prefix`.
        prefix: String,
        /// `suffix`.
        suffix: String,
    },
    /// `json`: a JSON list of the queries.
    Json {
        /// `indent`.
        indent: Option<usize>,
    },
}

// ---------------------------------------------------------------------------------------------
// Reading

pub(crate) struct Reader<'a> {
    pub origin: &'a str,
    pub name: String,
}

impl Reader<'_> {
    pub(crate) fn err(&self, path: &str, msg: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Pipeline(format!(
            "{msg} in pipeline `{}`",
            self.name
        )))
        .in_file(self.origin.to_string())
        .at(path.to_string())
    }
}

/// Reads a pipeline from its YAML text.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Pipeline> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| {
        let mut err = Error::new(ErrorKind::Yaml(e.to_string())).in_file(origin.to_string());
        if let Some(loc) = e.location() {
            err = err.at_line(loc.line(), Some(loc.column()));
        }
        err
    })?;
    let stem = std::path::Path::new(origin.trim_start_matches("builtin:"))
        .file_stem()
        .map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned());
    let Value::Object(map) = doc else {
        return Err(Error::new(ErrorKind::Pipeline(format!(
            "a pipeline must be a YAML mapping, found {}",
            kind_of(&doc)
        )))
        .in_file(origin.to_string()));
    };
    let name = match map.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => stem,
    };
    let r = Reader { origin, name };
    for k in map.keys() {
        if !matches!(
            k.as_str(),
            "name"
                | "priority"
                | "vars"
                | "transformations"
                | "postprocessing"
                | "finalizers"
                | "allowed_backends"
        ) {
            return Err(r.err(k, format!("unknown key `{k}`")).hint(
                "a pipeline has name, priority, vars, transformations, postprocessing, finalizers and allowed_backends",
            ));
        }
    }
    let priority = match map.get("priority") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        Some(v) => {
            return Err(r.err(
                "priority",
                format!("expected an integer, found {}", kind_of(v)),
            ))
        }
    };
    let vars: IndexMap<String, Value> = opt_field(&r, &map, "vars")?.unwrap_or_default();
    let allowed_backends: Vec<String> =
        opt_field(&r, &map, "allowed_backends")?.unwrap_or_default();
    let items = list_field(&r, &map, "transformations", parse_item)?;
    let postprocessing = list_field(&r, &map, "postprocessing", parse_post_item)?;
    let finalizers = list_field(&r, &map, "finalizers", parse_finalizer)?;
    Ok(Pipeline {
        name: r.name.clone(),
        priority,
        origin: origin.to_string(),
        vars,
        allowed_backends,
        items,
        postprocessing,
        finalizers,
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The list under `key` (empty when absent or null), each element read by `parse` with its
/// key path `key[i]`.
fn list_field<T>(
    r: &Reader,
    map: &Map<String, Value>,
    key: &str,
    parse: fn(&Reader, &Value, &str) -> Result<T>,
) -> Result<Vec<T>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(xs)) => xs
            .iter()
            .enumerate()
            .map(|(i, x)| parse(r, x, &format!("{key}[{i}]")))
            .collect(),
        Some(v) => Err(r.err(key, format!("expected a list, found {}", kind_of(v)))),
    }
}

fn opt_field<T: DeserializeOwned>(
    r: &Reader,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| r.err(key, format!("invalid `{key}`: {e}"))),
    }
}

fn params<T: DeserializeOwned>(
    r: &Reader,
    map: Map<String, Value>,
    ty: &str,
    path: &str,
) -> Result<T> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| r.err(path, format!("invalid parameters of `{ty}`: {e}")))
}

/// A string or a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

fn str_map(m: IndexMap<String, OneOrMany>) -> IndexMap<String, Vec<String>> {
    m.into_iter().map(|(k, v)| (k, v.into_vec())).collect()
}

/// Converts a Python `re.sub` replacement (`\1`, `\g<name>`, `\g<1>`) into Rust syntax.
pub(crate) fn python_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                        if n.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn compile(r: &Reader, path: &str, pattern: &str, anchored: bool) -> Result<Regex> {
    let src = if anchored {
        format!(r"\A(?:{pattern})")
    } else {
        pattern.to_string()
    };
    Regex::new(&src).map_err(|e| {
        r.err(path, format!("invalid regular expression `{pattern}`: {e}"))
            .hint("sigmat uses Rust regex syntax (no look-around, no back-references)")
    })
}

const ITEM_KEYS: &[&str] = &[
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "rule_cond_expr",
    "detection_item_conditions",
    "detection_item_cond_op",
    "detection_item_cond_not",
    "detection_item_cond_expr",
    "field_name_conditions",
    "field_name_cond_op",
    "field_name_cond_not",
    "field_name_cond_expr",
];

fn item_id(r: &Reader, map: &Map<String, Value>, path: &str) -> Result<Option<String>> {
    match map.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(r.err(
            &format!("{path}.id"),
            format!("expected a string, found {}", kind_of(v)),
        )),
    }
}

fn type_of<'m>(r: &Reader, map: &'m Map<String, Value>, path: &str, what: &str) -> Result<&'m str> {
    match map.get("type") {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(r.err(
            &format!("{path}.type"),
            format!("expected a string, found {}", kind_of(v)),
        )),
        None => Err(r.err(path, format!("{what} without `type`"))),
    }
}

fn parse_item(r: &Reader, v: &Value, path: &str) -> Result<Item> {
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let id = item_id(r, map, path)?;
    let ty = type_of(r, map, path, "transformation")?;
    let label = id.clone().unwrap_or_else(|| path.to_string());
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !ITEM_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let transformation = parse_transformation(r, ty, rest, path, &label)?;
    Ok(Item {
        id,
        path: path.to_string(),
        transformation,
        rule_conditions: parse_conditions(r, map, path, "rule", parse_rule_condition)?,
        detection_item_conditions: parse_conditions(
            r,
            map,
            path,
            "detection_item",
            parse_detection_item_condition,
        )?,
        field_name_conditions: parse_conditions(
            r,
            map,
            path,
            "field_name",
            parse_field_name_condition,
        )?,
    })
}

#[allow(clippy::too_many_lines)]
fn parse_transformation(
    r: &Reader,
    ty: &str,
    rest: Map<String, Value>,
    path: &str,
    label: &str,
) -> Result<Transformation> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Mapping {
        mapping: IndexMap<String, OneOrMany>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Prefix {
        prefix: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Suffix {
        suffix: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Hashes {
        valid_hash_algos: Vec<String>,
        #[serde(default)]
        field_prefix: String,
        #[serde(default)]
        drop_algo_prefix: bool,
        #[serde(default = "hash_fields")]
        field_to_parse: Vec<String>,
    }
    fn hash_fields() -> Vec<String> {
        vec!["Hashes".into(), "Hash".into()]
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Extract {
        regex: String,
        #[serde(default)]
        field_prefix: Option<String>,
        #[serde(default)]
        preserve_unmatched: bool,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Placeholders {
        #[serde(default)]
        include: Option<Vec<String>>,
        #[serde(default)]
        exclude: Option<Vec<String>>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct QueryExpr {
        #[serde(default)]
        include: Option<Vec<String>>,
        #[serde(default)]
        exclude: Option<Vec<String>>,
        #[serde(default)]
        expression: String,
        #[serde(default)]
        #[allow(dead_code)]
        mapping: IndexMap<String, String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AddCondition {
        conditions: IndexMap<String, Value>,
        #[serde(default)]
        #[allow(dead_code)]
        name: Option<String>,
        #[serde(default)]
        template: bool,
        #[serde(default)]
        negated: bool,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Logsource {
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        product: Option<String>,
        #[serde(default)]
        service: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Field {
        field: OneOrMany,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        fields: Vec<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Replace {
        regex: String,
        replacement: String,
        #[serde(default)]
        skip_special: bool,
        #[serde(default)]
        interpret_special: bool,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct State {
        key: String,
        val: Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RegexT {
        #[serde(default = "default_regex_method")]
        method: RegexMethod,
    }
    fn default_regex_method() -> RegexMethod {
        RegexMethod::IgnoreCaseBrackets
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SetValue {
        value: Value,
        #[serde(default)]
        force_type: Option<TargetType>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Convert {
        target_type: TargetType,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Message {
        message: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Custom {
        attribute: String,
        value: Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nest {
        items: Vec<Value>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Case {
        #[serde(default = "default_case")]
        method: CaseMethod,
    }
    fn default_case() -> CaseMethod {
        CaseMethod::Lower
    }

    let p = |what: &str| format!("{path}.{what}");
    Ok(match ty {
        "field_name_mapping" => {
            Transformation::FieldNameMapping(str_map(params::<Mapping>(r, rest, ty, path)?.mapping))
        }
        "field_name_prefix_mapping" => Transformation::FieldNamePrefixMapping(str_map(
            params::<Mapping>(r, rest, ty, path)?.mapping,
        )),
        "field_name_prefix" => {
            Transformation::FieldNamePrefix(params::<Prefix>(r, rest, ty, path)?.prefix)
        }
        "field_name_suffix" => {
            Transformation::FieldNameSuffix(params::<Suffix>(r, rest, ty, path)?.suffix)
        }
        "drop_detection_item" => {
            params::<Empty>(r, rest, ty, path)?;
            Transformation::DropDetectionItem
        }
        "hashes_fields" => {
            let h: Hashes = params(r, rest, ty, path)?;
            Transformation::HashesFields {
                valid_hash_algos: h.valid_hash_algos,
                field_prefix: h.field_prefix,
                drop_algo_prefix: h.drop_algo_prefix,
                field_to_parse: h.field_to_parse,
            }
        }
        "extract_fields" => {
            let e: Extract = params(r, rest, ty, path)?;
            let regex = compile(r, &p("regex"), &e.regex, true)?;
            if regex.capture_names().flatten().next().is_none() {
                return Err(r.err(
                    &p("regex"),
                    "the regex of `extract_fields` has no named group",
                ));
            }
            Transformation::ExtractFields {
                regex,
                field_prefix: e.field_prefix,
                preserve_unmatched: e.preserve_unmatched,
            }
        }
        "wildcard_placeholders" | "value_placeholders" => {
            let ph: Placeholders = params(r, rest, ty, path)?;
            if ph.include.is_some() && ph.exclude.is_some() {
                return Err(r.err(path, "`include` and `exclude` cannot be used together"));
            }
            let f = PlaceholderFilter {
                include: ph.include,
                exclude: ph.exclude,
            };
            if ty == "wildcard_placeholders" {
                Transformation::WildcardPlaceholders(f)
            } else {
                Transformation::ValuePlaceholders(f)
            }
        }
        "query_expression_placeholders" => {
            let q: QueryExpr = params(r, rest, ty, path)?;
            if q.include.is_some() && q.exclude.is_some() {
                return Err(r.err(path, "`include` and `exclude` cannot be used together"));
            }
            Transformation::QueryExpressionPlaceholders {
                filter: PlaceholderFilter {
                    include: q.include,
                    exclude: q.exclude,
                },
                expression: q.expression,
            }
        }
        "add_condition" => {
            let a: AddCondition = params(r, rest, ty, path)?;
            // Validate the detection once now, so a bad modifier fails at load time.
            super::transformations::detection_from_map(&a.conditions, None, "")
                .map_err(|m| r.err(&p("conditions"), m))?;
            Transformation::AddCondition {
                conditions: a.conditions,
                template: a.template,
                negated: a.negated,
            }
        }
        "change_logsource" => {
            let l: Logsource = params(r, rest, ty, path)?;
            Transformation::ChangeLogsource {
                category: l.category,
                product: l.product,
                service: l.service,
            }
        }
        "add_field" => {
            Transformation::AddField(params::<Field>(r, rest, ty, path)?.field.into_vec())
        }
        "remove_field" => {
            Transformation::RemoveField(params::<Field>(r, rest, ty, path)?.field.into_vec())
        }
        "set_field" => Transformation::SetField(params::<Fields>(r, rest, ty, path)?.fields),
        "replace_string" => {
            let x: Replace = params(r, rest, ty, path)?;
            Transformation::ReplaceString {
                regex: compile(r, &p("regex"), &x.regex, false)?,
                replacement: python_replacement(&x.replacement),
                skip_special: x.skip_special,
                interpret_special: x.interpret_special,
            }
        }
        "map_string" => {
            Transformation::MapString(str_map(params::<Mapping>(r, rest, ty, path)?.mapping))
        }
        "set_state" => {
            let s: State = params(r, rest, ty, path)?;
            Transformation::SetState {
                key: s.key,
                val: s.val,
            }
        }
        "regex" => Transformation::Regex(params::<RegexT>(r, rest, ty, path)?.method),
        "set_value" => {
            let s: SetValue = params(r, rest, ty, path)?;
            let value = match (s.force_type, s.value) {
                (
                    None,
                    v @ (Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null),
                ) => v,
                (Some(TargetType::Str), v @ (Value::String(_) | Value::Number(_))) => {
                    Value::String(match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                }
                (Some(TargetType::Num), Value::Number(n)) => Value::Number(n),
                (Some(TargetType::Num), Value::String(s)) => {
                    match serde_json::from_str::<serde_json::Number>(s.trim()) {
                        Ok(n) => Value::Number(n),
                        Err(_) => {
                            return Err(r.err(
                                &p("value"),
                                format!("`{s}` is not a number (force_type: num)"),
                            ))
                        }
                    }
                }
                (_, v) => {
                    return Err(r.err(
                        &p("value"),
                        format!("unsupported value type: {}", kind_of(&v)),
                    ))
                }
            };
            Transformation::SetValue(value)
        }
        "convert_type" => {
            Transformation::ConvertType(params::<Convert>(r, rest, ty, path)?.target_type)
        }
        "rule_failure" => {
            Transformation::RuleFailure(params::<Message>(r, rest, ty, path)?.message)
        }
        "detection_item_failure" => {
            Transformation::DetectionItemFailure(params::<Message>(r, rest, ty, path)?.message)
        }
        "strict_field_mapping_failure" => {
            params::<Empty>(r, rest, ty, path)?;
            Transformation::StrictFieldMappingFailure
        }
        "set_custom_attribute" => {
            let c: Custom = params(r, rest, ty, path)?;
            Transformation::SetCustomAttribute {
                attribute: c.attribute,
                value: c.value,
            }
        }
        "nest" => {
            let n: Nest = params(r, rest, ty, path)?;
            Transformation::Nest(
                n.items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| parse_item(r, x, &format!("{path}.items[{i}]")))
                    .collect::<Result<_>>()?,
            )
        }
        "case" => Transformation::Case(params::<Case>(r, rest, ty, path)?.method),
        "field_name_transform"
        | "file_placeholders"
        | "http_placeholders"
        | "command_placeholders" => {
            let why = match ty {
                "field_name_transform" => "it needs a Python function, which YAML cannot carry",
                _ => {
                    "sigmat does not read external sources (files, HTTP, commands) while converting"
                }
            };
            return Err(r
                .err(
                    path,
                    format!("unsupported transformation type `{ty}` (item `{label}`)"),
                )
                .hint(format!(
                    "{why}; use field_name_mapping or value_placeholders with `vars`"
                )));
        }
        other => {
            return Err(r
                .err(
                    path,
                    format!("unsupported transformation type `{other}` (item `{label}`)"),
                )
                .hint(format!("known types: {}", KNOWN_TRANSFORMATIONS.join(", "))));
        }
    })
}

const KNOWN_TRANSFORMATIONS: &[&str] = &[
    "field_name_mapping",
    "field_name_prefix_mapping",
    "field_name_prefix",
    "field_name_suffix",
    "drop_detection_item",
    "hashes_fields",
    "extract_fields",
    "wildcard_placeholders",
    "value_placeholders",
    "query_expression_placeholders",
    "add_condition",
    "change_logsource",
    "add_field",
    "remove_field",
    "set_field",
    "replace_string",
    "map_string",
    "set_state",
    "regex",
    "set_value",
    "convert_type",
    "rule_failure",
    "detection_item_failure",
    "strict_field_mapping_failure",
    "set_custom_attribute",
    "nest",
    "case",
];

fn parse_conditions<C>(
    r: &Reader,
    map: &Map<String, Value>,
    path: &str,
    kind: &str,
    one: fn(&Reader, &Map<String, Value>, &str) -> Result<C>,
) -> Result<Conditions<C>> {
    let key = format!("{kind}_conditions");
    let kpath = format!("{path}.{key}");
    let mut items = Vec::new();
    let mut from_map = false;
    match map.get(&key) {
        None | Some(Value::Null) => {}
        Some(Value::Array(xs)) => {
            for (i, x) in xs.iter().enumerate() {
                let cpath = format!("{kpath}[{i}]");
                let Value::Object(m) = x else {
                    return Err(r.err(&cpath, format!("expected a mapping, found {}", kind_of(x))));
                };
                items.push(((i + 1).to_string(), one(r, m, &cpath)?));
            }
        }
        Some(Value::Object(xs)) => {
            from_map = true;
            for (name, x) in xs {
                let cpath = format!("{kpath}.{name}");
                let Value::Object(m) = x else {
                    return Err(r.err(&cpath, format!("expected a mapping, found {}", kind_of(x))));
                };
                items.push((name.clone(), one(r, m, &cpath)?));
            }
        }
        Some(v) => {
            return Err(r.err(
                &kpath,
                format!("expected a list or mapping, found {}", kind_of(v)),
            ))
        }
    }
    let op = match map.get(&format!("{kind}_cond_op")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "and" => Some(Logic::All),
        Some(Value::String(s)) if s == "or" => Some(Logic::Any),
        Some(v) => {
            return Err(r.err(
                &format!("{path}.{kind}_cond_op"),
                format!("expected `and` or `or`, found {v}"),
            ))
        }
    };
    let negated = match map.get(&format!("{kind}_cond_not")) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(r.err(
                &format!("{path}.{kind}_cond_not"),
                format!("expected a boolean, found {}", kind_of(v)),
            ))
        }
    };
    let expr_path = format!("{path}.{kind}_cond_expr");
    let logic = match map.get(&format!("{kind}_cond_expr")) {
        None | Some(Value::Null) => op.unwrap_or(Logic::All),
        Some(Value::String(s)) => {
            if op.is_some() {
                return Err(r.err(
                    &expr_path,
                    format!("`{kind}_cond_expr` and `{kind}_cond_op` exclude each other"),
                ));
            }
            if !from_map {
                return Err(r.err(&expr_path, format!("`{kind}_cond_expr` needs `{kind}_conditions` as a mapping from names to conditions")));
            }
            let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
            let (expr, used) = parse_cond_expr(s, &names).map_err(|m| r.err(&expr_path, m))?;
            if let Some(unused) = names.iter().enumerate().find(|(i, _)| !used.contains(i)) {
                return Err(r.err(
                    &expr_path,
                    format!("condition `{}` is not used by the expression", unused.1),
                ));
            }
            Logic::Expr(expr)
        }
        Some(v) => {
            return Err(r.err(
                &expr_path,
                format!("expected a string, found {}", kind_of(v)),
            ))
        }
    };
    Ok(Conditions {
        items,
        logic,
        negated,
    })
}

/// Parses `a and not (b or c)`: `not` binds tighter than `and`, `and` tighter than `or`.
fn parse_cond_expr(s: &str, names: &[&str]) -> std::result::Result<(CondExpr, Vec<usize>), String> {
    #[derive(Debug, PartialEq)]
    enum Tok {
        Open,
        Close,
        Word(String),
    }
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            toks.push(Tok::Open);
            chars.next();
        } else if c == ')' {
            toks.push(Tok::Close);
            chars.next();
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
            let mut w = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                w.push(c);
                chars.next();
            }
            toks.push(Tok::Word(w));
        } else {
            return Err(format!("unexpected `{c}` in condition expression `{s}`"));
        }
    }
    struct P<'a> {
        toks: Vec<Tok>,
        pos: usize,
        names: &'a [&'a str],
        used: Vec<usize>,
        src: &'a str,
    }
    impl P<'_> {
        fn word(&self, w: &str) -> bool {
            matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x == w)
        }
        fn or(&mut self) -> std::result::Result<CondExpr, String> {
            let mut xs = vec![self.and()?];
            while self.word("or") {
                self.pos += 1;
                xs.push(self.and()?);
            }
            Ok(if xs.len() == 1 {
                xs.remove(0)
            } else {
                CondExpr::Or(xs)
            })
        }
        fn and(&mut self) -> std::result::Result<CondExpr, String> {
            let mut xs = vec![self.not()?];
            while self.word("and") {
                self.pos += 1;
                xs.push(self.not()?);
            }
            Ok(if xs.len() == 1 {
                xs.remove(0)
            } else {
                CondExpr::And(xs)
            })
        }
        fn not(&mut self) -> std::result::Result<CondExpr, String> {
            if self.word("not") {
                self.pos += 1;
                return Ok(CondExpr::Not(Box::new(self.not()?)));
            }
            match self.toks.get(self.pos) {
                Some(Tok::Open) => {
                    self.pos += 1;
                    let e = self.or()?;
                    if self.toks.get(self.pos) != Some(&Tok::Close) {
                        return Err(format!(
                            "missing `)` in condition expression `{}`",
                            self.src
                        ));
                    }
                    self.pos += 1;
                    Ok(e)
                }
                Some(Tok::Word(w)) => {
                    let Some(i) = self.names.iter().position(|n| n == w) else {
                        return Err(format!(
                            "condition expression `{}` names `{w}`, which is not defined",
                            self.src
                        ));
                    };
                    self.pos += 1;
                    self.used.push(i);
                    Ok(CondExpr::Ref(i))
                }
                _ => Err(format!("incomplete condition expression `{}`", self.src)),
            }
        }
    }
    let mut p = P {
        toks,
        pos: 0,
        names,
        used: Vec::new(),
        src: s,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token in condition expression `{s}`"));
    }
    Ok((e, p.used))
}

fn cond_params<T: DeserializeOwned>(
    r: &Reader,
    m: &Map<String, Value>,
    ty: &str,
    path: &str,
) -> Result<T> {
    let rest: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| *k != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(rest))
        .map_err(|e| r.err(path, format!("invalid parameters of condition `{ty}`: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemApplied {
    processing_item_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

fn parse_rule_condition(r: &Reader, m: &Map<String, Value>, path: &str) -> Result<RuleCondition> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Logsource {
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        product: Option<String>,
        #[serde(default)]
        service: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DetItem {
        field: Option<String>,
        value: Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ContainsField {
        field: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Attr {
        attribute: String,
        value: Value,
        #[serde(default = "default_op")]
        op: AttrOp,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tag {
        tag: String,
    }
    let ty = type_of(r, m, path, "condition")?;
    Ok(match ty {
        "logsource" => {
            let l: Logsource = cond_params(r, m, ty, path)?;
            RuleCondition::Logsource {
                category: l.category,
                product: l.product,
                service: l.service,
            }
        }
        "contains_detection_item" => {
            let d: DetItem = cond_params(r, m, ty, path)?;
            RuleCondition::ContainsDetectionItem {
                field: d.field,
                value: d.value,
            }
        }
        "contains_field" => RuleCondition::ContainsField(cond_params::<ContainsField>(r, m, ty, path)?.field),
        "processing_item_applied" => {
            RuleCondition::ProcessingItemApplied(cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id)
        }
        "processing_state" => RuleCondition::ProcessingState(cond_params(r, m, ty, path)?),
        "is_sigma_rule" => {
            cond_params::<Empty>(r, m, ty, path)?;
            RuleCondition::IsSigmaRule
        }
        "is_sigma_correlation_rule" => {
            cond_params::<Empty>(r, m, ty, path)?;
            RuleCondition::IsSigmaCorrelationRule
        }
        "rule_attribute" => {
            let a: Attr = cond_params(r, m, ty, path)?;
            RuleCondition::RuleAttribute {
                attribute: a.attribute,
                value: a.value,
                op: a.op,
            }
        }
        "tag" => RuleCondition::Tag(cond_params::<Tag>(r, m, ty, path)?.tag),
        other => {
            return Err(r
                .err(path, format!("unsupported rule condition type `{other}`"))
                .hint("rule conditions: logsource, contains_detection_item, contains_field, processing_item_applied, processing_state, is_sigma_rule, is_sigma_correlation_rule, rule_attribute, tag"))
        }
    })
}

fn parse_detection_item_condition(
    r: &Reader,
    m: &Map<String, Value>,
    path: &str,
) -> Result<DetectionItemCondition> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MatchString {
        cond: Quantifier,
        pattern: String,
        #[serde(default)]
        negate: bool,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MatchValue {
        cond: Quantifier,
        value: Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cond {
        cond: Quantifier,
    }
    let ty = type_of(r, m, path, "condition")?;
    Ok(match ty {
        "match_string" => {
            let s: MatchString = cond_params(r, m, ty, path)?;
            DetectionItemCondition::MatchString {
                cond: s.cond,
                regex: compile(r, &format!("{path}.pattern"), &s.pattern, true)?,
                negate: s.negate,
            }
        }
        "match_value" => {
            let v: MatchValue = cond_params(r, m, ty, path)?;
            DetectionItemCondition::MatchValue {
                cond: v.cond,
                value: v.value,
            }
        }
        "contains_wildcard" => DetectionItemCondition::ContainsWildcard(cond_params::<Cond>(r, m, ty, path)?.cond),
        "is_null" => DetectionItemCondition::IsNull(cond_params::<Cond>(r, m, ty, path)?.cond),
        "processing_item_applied" => DetectionItemCondition::ProcessingItemApplied(
            cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id,
        ),
        "processing_state" => DetectionItemCondition::ProcessingState(cond_params(r, m, ty, path)?),
        other => {
            return Err(r
                .err(path, format!("unsupported detection item condition type `{other}`"))
                .hint("detection item conditions: match_string, match_value, contains_wildcard, is_null, processing_item_applied, processing_state"))
        }
    })
}

fn parse_field_name_condition(
    r: &Reader,
    m: &Map<String, Value>,
    path: &str,
) -> Result<FieldNameCondition> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        fields: OneOrMany,
        #[serde(default)]
        mode: Option<String>,
    }
    let ty = type_of(r, m, path, "condition")?;
    let list = |f: Fields| -> Result<FieldList> {
        let fields = f.fields.into_vec();
        match f.mode.as_deref() {
            None | Some("plain") => Ok(FieldList::Plain(fields)),
            Some("re") => Ok(FieldList::Re(
                fields
                    .iter()
                    .map(|p| compile(r, &format!("{path}.fields"), p, true))
                    .collect::<Result<_>>()?,
            )),
            Some(other) => Err(r.err(
                &format!("{path}.mode"),
                format!("unknown mode `{other}` (plain or re)"),
            )),
        }
    };
    Ok(match ty {
        "include_fields" => FieldNameCondition::Include(list(cond_params(r, m, ty, path)?)?),
        "exclude_fields" => FieldNameCondition::Exclude(list(cond_params(r, m, ty, path)?)?),
        "processing_item_applied" => FieldNameCondition::ProcessingItemApplied(
            cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id,
        ),
        "processing_state" => FieldNameCondition::ProcessingState(cond_params(r, m, ty, path)?),
        other => {
            return Err(r
                .err(path, format!("unsupported field name condition type `{other}`"))
                .hint("field name conditions: include_fields, exclude_fields, processing_item_applied, processing_state"))
        }
    })
}

fn parse_post_item(r: &Reader, v: &Value, path: &str) -> Result<PostItem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Embed {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Template {
        template: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Replace {
        pattern: String,
        replacement: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nest {
        items: Vec<Value>,
    }
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let id = item_id(r, map, path)?;
    let ty = type_of(r, map, path, "postprocessing item")?;
    for k in map.keys() {
        if k.starts_with("detection_item_") || k.starts_with("field_name_") {
            return Err(r.err(
                &format!("{path}.{k}"),
                "postprocessing items take rule conditions only",
            ));
        }
    }
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !ITEM_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let transformation = match ty {
        "embed" => {
            let e: Embed = params(r, rest, ty, path)?;
            PostTransformation::Embed {
                prefix: e.prefix,
                suffix: e.suffix,
            }
        }
        "simple_template" => PostTransformation::SimpleTemplate(params::<Template>(r, rest, ty, path)?.template),
        "replace" => {
            let x: Replace = params(r, rest, ty, path)?;
            PostTransformation::Replace {
                regex: compile(r, &format!("{path}.pattern"), &x.pattern, false)?,
                replacement: python_replacement(&x.replacement),
            }
        }
        "nest" => {
            let n: Nest = params(r, rest, ty, path)?;
            PostTransformation::Nest(
                n.items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| parse_post_item(r, x, &format!("{path}.items[{i}]")))
                    .collect::<Result<_>>()?,
            )
        }
        other => {
            return Err(r
                .err(path, format!("unsupported postprocessing type `{other}`"))
                .hint("postprocessing types: embed, simple_template, replace, nest (Jinja `template` and `json` are not supported)"))
        }
    };
    Ok(PostItem {
        id,
        transformation,
        rule_conditions: parse_conditions(r, map, path, "rule", parse_rule_condition)?,
    })
}

fn parse_finalizer(r: &Reader, v: &Value, path: &str) -> Result<Finalizer> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Concat {
        #[serde(default = "newline")]
        separator: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    }
    fn newline() -> String {
        "\n".into()
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Json {
        #[serde(default)]
        indent: Option<usize>,
    }
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let ty = type_of(r, map, path, "finalizer")?;
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| *k != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(match ty {
        "concat" => {
            let c: Concat = params(r, rest, ty, path)?;
            Finalizer::Concat {
                separator: c.separator,
                prefix: c.prefix,
                suffix: c.suffix,
            }
        }
        "json" => Finalizer::Json {
            indent: params::<Json>(r, rest, ty, path)?.indent,
        },
        other => {
            return Err(r
                .err(path, format!("unsupported finalizer type `{other}`"))
                .hint("finalizers: concat, json (yaml, template and nested are not supported)"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements() {
        assert_eq!(python_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
        assert_eq!(python_replacement(r"a\\b"), r"a\b");
    }

    #[test]
    fn cond_expr_precedence() {
        let (e, used) = parse_cond_expr("a or not b and (c)", &["a", "b", "c"]).unwrap();
        assert_eq!(used, vec![0, 1, 2]);
        let s = format!("{e:?}");
        assert_eq!(s, "Or([Ref(0), And([Not(Ref(1)), Ref(2)])])");
        assert!(parse_cond_expr("a and d", &["a"]).is_err());
        assert!(parse_cond_expr("(a", &["a"]).is_err());
    }
}
