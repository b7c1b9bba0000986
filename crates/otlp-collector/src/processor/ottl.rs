//! What the `transform`, `filter`, `attributes` and `resource` processors share: their settings are otelcol's,
//! read and checked by `otlp_ottl`, which reports every problem of a section at once with its key path.

use crate::component::Invalid;
use otlp_ottl::validate::{ProcessorKind, validate};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

/// The settings of an OTTL-backed processor: its section as written and, when the section reads, the typed
/// configuration.
///
/// Reading never fails on the content: [`Component::validate`](crate::component::Component::validate) then
/// reports every problem (unknown keys, statements that do not compile, bad actions), each with its path, where
/// deserializing straight into the typed configuration would stop at the first.
#[derive(Debug, Clone)]
pub struct OttlSettings<C> {
    tree: serde_json::Value,
    config: Option<C>,
}

impl<C> OttlSettings<C> {
    /// The typed configuration; `None` when the section has problems (validation reports them).
    pub fn config(&self) -> Option<&C> {
        self.config.as_ref()
    }

    /// The section as written.
    pub fn tree(&self) -> &serde_json::Value {
        &self.tree
    }

    /// Every problem of the section, each at its key path under the component.
    pub(crate) fn check(&self, kind: ProcessorKind) -> Result<(), Invalid> {
        // Problems that depend on the pipeline's signal (the `attributes` processor's `include`/`exclude`
        // properties) are `check_for`'s.
        let problems = validate(kind, &self.tree, &[]);
        if problems.is_empty() && self.config.is_none() {
            return Err(Invalid::from("the settings cannot be read"));
        }
        Invalid::all(
            problems
                .into_iter()
                .map(|problem| Invalid::at(problem.path, problem.message)),
        )
    }

    /// The problems of the section that only a pipeline of `signal` has (those of every pipeline are
    /// [`check`](Self::check)'s).
    pub(crate) fn check_for(
        &self,
        kind: ProcessorKind,
        signal: crate::Signal,
    ) -> Result<(), Invalid> {
        let everywhere = validate(kind, &self.tree, &[]);
        let problems = validate(kind, &self.tree, &[ottl_signal(signal)]);
        Invalid::all(
            problems
                .into_iter()
                .filter(|problem| !everywhere.contains(problem))
                .map(|problem| Invalid::at(problem.path, problem.message)),
        )
    }

    /// The typed configuration, for `build` (which runs only on validated settings).
    pub(crate) fn require(&self) -> Result<&C, String> {
        self.config
            .as_ref()
            .ok_or_else(|| "the settings have problems; validate the config".to_string())
    }
}

impl<'de, C: DeserializeOwned> Deserialize<'de> for OttlSettings<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut tree = serde_json::Value::deserialize(deserializer)?;
        if tree.is_null() {
            tree = serde_json::Value::Object(serde_json::Map::new());
        }
        let config = serde_json::from_value(tree.clone()).ok();
        Ok(OttlSettings { tree, config })
    }
}

/// `otlp_ottl`'s name for a signal.
pub(crate) fn ottl_signal(signal: crate::Signal) -> otlp_ottl::Signal {
    match signal {
        crate::Signal::Traces => otlp_ottl::Signal::Traces,
        crate::Signal::Metrics => otlp_ottl::Signal::Metrics,
        crate::Signal::Logs => otlp_ottl::Signal::Logs,
    }
}

/// Every problem of an `otlp_ottl` error as one line each, for a build error.
pub(crate) fn describe(error: otlp_ottl::Error) -> String {
    error
        .into_problems("")
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
