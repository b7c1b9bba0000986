//! otelcol's `filterset` as the scrapers' `include`/`exclude` settings take it: names matched exactly (`strict`)
//! or by regular expression (`regexp`, found anywhere in the name as Go's `MatchString` does).

use regex::Regex;
use serde::Deserialize;

pub use otlp_ottl::actions::MatchType;

/// Names and how they match, ready to test.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    Strict(Vec<String>),
    Regexp(Vec<Regex>),
}

impl Matcher {
    /// A matcher of `names`; a regular expression that does not compile is the error, with its reason.
    pub(super) fn new(names: &[String], match_type: MatchType) -> Result<Self, String> {
        match match_type {
            MatchType::Strict => Ok(Matcher::Strict(names.to_vec())),
            MatchType::Regexp => names
                .iter()
                .map(|name| {
                    Regex::new(name)
                        .map_err(|e| format!("`{name}` is not a regular expression: {e}"))
                })
                .collect::<Result<_, _>>()
                .map(Matcher::Regexp),
        }
    }

    pub(super) fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Strict(names) => names.iter().any(|n| n == name),
            Matcher::Regexp(patterns) => patterns.iter().any(|p| p.is_match(name)),
        }
    }
}

/// An `include` and an `exclude`: a name passes when `include` (if any) matches it and `exclude` (if any) does not.
#[derive(Debug, Clone, Default)]
pub(super) struct Select {
    include: Option<Matcher>,
    exclude: Option<Matcher>,
}

impl Select {
    pub(super) fn new(include: Option<Matcher>, exclude: Option<Matcher>) -> Self {
        Select { include, exclude }
    }

    pub(super) fn passes(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|m| m.matches(name))
            && !self.exclude.as_ref().is_some_and(|m| m.matches(name))
    }
}

/// Declares an otelcol filter settings type whose list of names has the key `$key`.
macro_rules! filter_settings {
    ($(#[$doc:meta])* $name:ident, $key:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The names.
            #[serde(default)]
            pub $key: Vec<String>,
            /// `strict` (the default) or `regexp`.
            #[serde(default)]
            pub match_type: MatchType,
        }

        impl $name {
            pub(super) fn matcher(&self) -> Result<Matcher, String> {
                Matcher::new(&self.$key, self.match_type)
            }
        }
    };
}

filter_settings!(
    /// `{ interfaces: [...], match_type }` (network).
    Interfaces,
    interfaces
);
filter_settings!(
    /// `{ devices: [...], match_type }` (disk, filesystem).
    Devices,
    devices
);
filter_settings!(
    /// `{ fs_types: [...], match_type }` (filesystem).
    FsTypes,
    fs_types
);
filter_settings!(
    /// `{ mount_points: [...], match_type }` (filesystem).
    MountPoints,
    mount_points
);
filter_settings!(
    /// `{ names: [...], match_type }` (process: executable names).
    ProcessNames,
    names
);

#[cfg(test)]
mod tests;
