//! The pipelines shipped with sigmat: YAML files in `backends/pipelines/`, embedded in the
//! binary. `backends/pipelines/README.md` documents their mapping tables.

use super::model::Pipeline;

/// (name, YAML source) of every built-in pipeline, sorted by name.
const BUILTINS: &[(&str, &str)] = &[
    (
        "ecs_linux",
        include_str!("../../backends/pipelines/ecs_linux.yml"),
    ),
    (
        "ecs_macos",
        include_str!("../../backends/pipelines/ecs_macos.yml"),
    ),
    (
        "ecs_to_sigma_linux",
        include_str!("../../backends/pipelines/ecs_to_sigma_linux.yml"),
    ),
    (
        "ecs_to_sigma_windows",
        include_str!("../../backends/pipelines/ecs_to_sigma_windows.yml"),
    ),
    (
        "ecs_windows",
        include_str!("../../backends/pipelines/ecs_windows.yml"),
    ),
    (
        "sysmon",
        include_str!("../../backends/pipelines/sysmon.yml"),
    ),
    (
        "windows_audit",
        include_str!("../../backends/pipelines/windows_audit.yml"),
    ),
    (
        "windows_logsources",
        include_str!("../../backends/pipelines/windows_logsources.yml"),
    ),
];

pub(crate) fn source(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Names of the built-in pipelines, sorted.
#[must_use]
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// (name, description) of every built-in pipeline, for `sigmat list pipelines`. The
/// description is the pipeline's `name` key.
#[must_use]
pub fn describe_builtins() -> Vec<(&'static str, String)> {
    BUILTINS
        .iter()
        .map(|(n, _)| (*n, Pipeline::builtin(n).map(|p| p.name).unwrap_or_default()))
        .collect()
}
