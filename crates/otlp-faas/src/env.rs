//! Where detectors read environment variables from.

use std::collections::HashMap;

/// A source of environment variables: the process environment, or a fixed map (tests, tools that
/// inspect another process's environment).
#[derive(Clone, Debug, Default)]
pub struct EnvSource {
    fixed: Option<HashMap<String, String>>,
}

impl EnvSource {
    /// Reads the process environment at detection time.
    pub fn process() -> Self {
        Self { fixed: None }
    }

    /// Reads only the given variables.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(key, value)| (key.into(), value.into()))
                    .collect(),
            ),
        }
    }

    /// The variable's value, if it is set, valid Unicode and not blank.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }?;
        let trimmed = value.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// Whether the variable is set to a non-blank value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}
