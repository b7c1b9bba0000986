//! Prometheus's relabelling (`relabel_configs` on targets, `metric_relabel_configs` on scraped series), rule by
//! rule as Prometheus applies it: the source labels' values joined by `separator` are matched against `regex`
//! (anchored at both ends), then `action` decides: `replace` (the default) sets `target_label` to `replacement`
//! with the match's groups expanded (`$1`, `${name}`), an empty result removing the label; `keep`/`drop` keep or
//! drop the whole label set; `keepequal`/`dropequal` compare the joined value with `target_label`'s; `hashmod`
//! sets `target_label` to the MD5 of the value modulo `modulus`; `labelmap` copies each label whose name matches
//! to the name `replacement` makes of it; `labeldrop`/`labelkeep` remove the labels whose names match or do not;
//! `lowercase`/`uppercase` set `target_label` to the value in that case.

use md5::{Digest, Md5};
use regex::Regex;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Labels by name; a label set without a label and one with it empty are the same, as in Prometheus.
pub(super) type LabelSet = BTreeMap<String, String>;

/// One rule, as written in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelabelConfig {
    /// The labels whose values, joined by `separator`, the rule reads.
    pub source_labels: Vec<String>,
    /// What joins the source labels' values (`;`).
    pub separator: String,
    /// The label `replace`, `hashmod`, `lowercase` and `uppercase` set, and `keepequal`/`dropequal` compare with.
    pub target_label: String,
    /// A regular expression (RE2 syntax), anchored at both ends (`(.*)`).
    pub regex: String,
    /// What `hashmod` takes the hash modulo.
    pub modulus: u64,
    /// What `replace` sets and `labelmap` renames to, with the match's groups (`$1`).
    pub replacement: String,
    /// What the rule does (`replace`).
    #[serde(deserialize_with = "action")]
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: ";".to_owned(),
            target_label: String::new(),
            regex: "(.*)".to_owned(),
            modulus: 0,
            replacement: "$1".to_owned(),
            action: Action::Replace,
        }
    }
}

/// A rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Set `target_label` to `replacement`, the match's groups expanded.
    Replace,
    /// Keep the label set only if the value matches.
    Keep,
    /// Drop the label set if the value matches.
    Drop,
    /// Keep the label set only if the value equals `target_label`'s.
    KeepEqual,
    /// Drop the label set if the value equals `target_label`'s.
    DropEqual,
    /// Set `target_label` to the value's MD5 modulo `modulus`.
    HashMod,
    /// Copy each label whose name matches to the name `replacement` makes of it.
    LabelMap,
    /// Remove the labels whose names match.
    LabelDrop,
    /// Remove the labels whose names do not match.
    LabelKeep,
    /// Set `target_label` to the value in lower case.
    Lowercase,
    /// Set `target_label` to the value in upper case.
    Uppercase,
}

const ACTIONS: &[(&str, Action)] = &[
    ("replace", Action::Replace),
    ("keep", Action::Keep),
    ("drop", Action::Drop),
    ("keepequal", Action::KeepEqual),
    ("dropequal", Action::DropEqual),
    ("hashmod", Action::HashMod),
    ("labelmap", Action::LabelMap),
    ("labeldrop", Action::LabelDrop),
    ("labelkeep", Action::LabelKeep),
    ("lowercase", Action::Lowercase),
    ("uppercase", Action::Uppercase),
];

/// Prometheus reads an action in any case.
fn action<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Action, D::Error> {
    let name = String::deserialize(deserializer)?;
    ACTIONS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(&name))
        .map(|(_, action)| *action)
        .ok_or_else(|| {
            let known: Vec<&str> = ACTIONS.iter().map(|(name, _)| *name).collect();
            serde::de::Error::custom(format!(
                "unknown relabel action `{name}`; there are: {}",
                known.join(", ")
            ))
        })
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A rule, its regular expression compiled.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    config: RelabelConfig,
    regex: Regex,
}

impl Rule {
    /// The rule, or why Prometheus would refuse it.
    pub(super) fn new(config: &RelabelConfig) -> Result<Rule, String> {
        // Prometheus 2's anchoring; RE2 and the regex crate read the same syntax but for backreferences and
        // look-around, which neither has.
        // Checked alone first, so that an error points into what the operator wrote.
        Regex::new(&config.regex).map_err(|e| format!("regex `{}`: {e}", config.regex))?;
        let regex = Regex::new(&format!("^(?:{})$", config.regex))
            .map_err(|e| format!("regex `{}`: {e}", config.regex))?;
        let action = ACTIONS
            .iter()
            .find(|(_, a)| *a == config.action)
            .map_or("", |(name, _)| *name);
        let defaults = RelabelConfig::default();
        match config.action {
            Action::HashMod if config.modulus == 0 => {
                return Err("hashmod needs a `modulus` above 0".to_owned());
            }
            Action::Replace
            | Action::HashMod
            | Action::Lowercase
            | Action::Uppercase
            | Action::KeepEqual
            | Action::DropEqual
                if config.target_label.is_empty() =>
            {
                return Err(format!("{action} needs a `target_label`"));
            }
            Action::Replace
                if !config.target_label.contains('$') && !is_label_name(&config.target_label) =>
            {
                return Err(format!(
                    "`{}` is not a label name for {action}'s `target_label`",
                    config.target_label
                ));
            }
            Action::HashMod
            | Action::Lowercase
            | Action::Uppercase
            | Action::KeepEqual
            | Action::DropEqual
                if !is_label_name(&config.target_label) =>
            {
                return Err(format!(
                    "`{}` is not a label name for {action}'s `target_label`",
                    config.target_label
                ));
            }
            Action::LabelDrop | Action::LabelKeep
                if !config.source_labels.is_empty()
                    || !config.target_label.is_empty()
                    || config.modulus != 0
                    || config.separator != defaults.separator
                    || config.replacement != defaults.replacement =>
            {
                return Err(format!("{action} takes only `regex`"));
            }
            Action::KeepEqual | Action::DropEqual
                if config.regex != defaults.regex
                    || config.modulus != 0
                    || config.separator != defaults.separator
                    || config.replacement != defaults.replacement =>
            {
                return Err(format!(
                    "{action} takes only `source_labels` and `target_label`"
                ));
            }
            _ => {}
        }
        if let Some(bad) = config
            .source_labels
            .iter()
            .find(|name| !is_label_name(name))
        {
            return Err(format!("`{bad}` in `source_labels` is not a label name"));
        }
        Ok(Rule {
            config: config.clone(),
            regex,
        })
    }

    /// Applies the rule to `labels`; false when it drops them.
    fn apply(&self, labels: &mut LabelSet) -> bool {
        let config = &self.config;
        let value = config
            .source_labels
            .iter()
            .map(|name| labels.get(name).map_or("", String::as_str))
            .collect::<Vec<_>>()
            .join(&config.separator);
        let target = || labels.get(&config.target_label).map_or("", String::as_str);
        match config.action {
            Action::Drop => return !self.regex.is_match(&value),
            Action::Keep => return self.regex.is_match(&value),
            Action::DropEqual => return target() != value,
            Action::KeepEqual => return target() == value,
            Action::Replace => {
                let Some(captures) = self.regex.captures(&value) else {
                    return true;
                };
                let mut name = String::new();
                captures.expand(&config.target_label, &mut name);
                if !is_label_name(&name) {
                    return true;
                }
                let mut replaced = String::new();
                captures.expand(&config.replacement, &mut replaced);
                set(labels, name, replaced);
            }
            Action::Lowercase => set(labels, config.target_label.clone(), value.to_lowercase()),
            Action::Uppercase => set(labels, config.target_label.clone(), value.to_uppercase()),
            Action::HashMod => {
                let hash = Md5::digest(value.as_bytes());
                let mut low = [0u8; 8];
                low.copy_from_slice(&hash[8..]);
                let bucket = u64::from_be_bytes(low) % config.modulus;
                set(labels, config.target_label.clone(), bucket.to_string());
            }
            Action::LabelMap => {
                let mapped: Vec<(String, String)> = labels
                    .iter()
                    .filter(|(name, _)| self.regex.is_match(name))
                    .map(|(name, value)| {
                        (
                            self.regex
                                .replace_all(name, config.replacement.as_str())
                                .into_owned(),
                            value.clone(),
                        )
                    })
                    .collect();
                for (name, value) in mapped {
                    set(labels, name, value);
                }
            }
            Action::LabelDrop => labels.retain(|name, _| !self.regex.is_match(name)),
            Action::LabelKeep => labels.retain(|name, _| self.regex.is_match(name)),
        }
        true
    }
}

/// Sets a label; an empty value removes it.
fn set(labels: &mut LabelSet, name: String, value: String) {
    if value.is_empty() {
        labels.remove(&name);
    } else {
        labels.insert(name, value);
    }
}

/// The rules of a `relabel_configs` or `metric_relabel_configs`, or the first one Prometheus would refuse, with
/// its index.
pub(super) fn compile(configs: &[RelabelConfig]) -> Result<Vec<Rule>, (usize, String)> {
    configs
        .iter()
        .enumerate()
        .map(|(i, config)| Rule::new(config).map_err(|problem| (i, problem)))
        .collect()
}

/// `labels` after every rule, or `None` when one drops them.
pub(super) fn process(rules: &[Rule], mut labels: LabelSet) -> Option<LabelSet> {
    for rule in rules {
        if !rule.apply(&mut labels) {
            return None;
        }
    }
    Some(labels)
}

#[cfg(test)]
mod tests;
