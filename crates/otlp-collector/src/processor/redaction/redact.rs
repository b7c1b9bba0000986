//! Redacting one attribute map or log body: keys not allowed removed, values matching a blocked pattern masked
//! (or hashed), and what was done summarized in `redaction.*` attributes, as otelcol-contrib's `redaction`
//! processor does.

use super::{HashFunction, RedactionConfig, Summary};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;
use sha1::Digest as _;
use std::collections::HashSet;

const MASK: &str = "****";
const SEPARATOR: char = ',';

/// The summary attributes of one kind of change: keys (debug only) and count.
struct SummaryKeys {
    keys: Option<&'static str>,
    count: &'static str,
}

const REDACTED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.redacted.keys"),
    count: "redaction.redacted.count",
};
const MASKED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.masked.keys"),
    count: "redaction.masked.count",
};
const ALLOWED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.allowed.keys"),
    count: "redaction.allowed.count",
};
const IGNORED: SummaryKeys = SummaryKeys {
    keys: None,
    count: "redaction.ignored.count",
};
const BODY_REDACTED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.body.redacted.keys"),
    count: "redaction.body.redacted.count",
};
const BODY_MASKED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.body.masked.keys"),
    count: "redaction.body.masked.count",
};
const BODY_ALLOWED: SummaryKeys = SummaryKeys {
    keys: Some("redaction.body.allowed.keys"),
    count: "redaction.body.allowed.count",
};
const BODY_IGNORED: SummaryKeys = SummaryKeys {
    keys: None,
    count: "redaction.body.ignored.count",
};

/// What happened to the keys of one map (or one log body).
#[derive(Default)]
struct Changes {
    redacted: Vec<String>,
    masked: Vec<String>,
    allowed: Vec<String>,
    ignored: Vec<String>,
}

/// The compiled settings.
#[derive(Debug)]
pub(super) struct Redactor {
    allow_all_keys: bool,
    /// `allowed_keys` and the summary's own keys, which a second redaction processor must not remove.
    allowed_keys: HashSet<String>,
    ignored_keys: HashSet<String>,
    ignored_key_patterns: Vec<Regex>,
    blocked_values: Vec<Regex>,
    blocked_key_patterns: Vec<Regex>,
    allowed_values: Vec<Regex>,
    hash: Option<HashFunction>,
    redact_all_types: bool,
    summary: Summary,
}

/// The regexes of `patterns`, or the problem with each that does not compile, at `key[i]`.
pub(super) fn compile(key: &str, patterns: &[String]) -> Result<Vec<Regex>, Vec<(String, String)>> {
    let mut regexes = Vec::new();
    let mut problems = Vec::new();
    for (i, pattern) in patterns.iter().enumerate() {
        match Regex::new(pattern) {
            Ok(regex) => regexes.push(regex),
            Err(error) => problems.push((
                format!("{key}[{i}]"),
                format!("invalid regex \"{pattern}\": {error}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(regexes)
    } else {
        Err(problems)
    }
}

impl Redactor {
    pub(super) fn new(config: &RedactionConfig) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut regexes = |key: &str, patterns: &[String]| {
            compile(key, patterns).unwrap_or_else(|found| {
                problems.extend(found);
                Vec::new()
            })
        };
        let ignored_key_patterns = regexes("ignored_key_patterns", &config.ignored_key_patterns);
        let blocked_values = regexes("blocked_values", &config.blocked_values);
        let blocked_key_patterns = regexes("blocked_key_patterns", &config.blocked_key_patterns);
        let allowed_values = regexes("allowed_values", &config.allowed_values);
        if !problems.is_empty() {
            return Err(problems);
        }
        let summary_keys = [REDACTED, MASKED, ALLOWED, IGNORED]
            .into_iter()
            .flat_map(|kind| kind.keys.into_iter().chain([kind.count]))
            .map(str::to_owned);
        Ok(Redactor {
            allow_all_keys: config.allow_all_keys,
            allowed_keys: config
                .allowed_keys
                .iter()
                .cloned()
                .chain(summary_keys)
                .collect(),
            ignored_keys: config.ignored_keys.iter().cloned().collect(),
            ignored_key_patterns,
            blocked_values,
            blocked_key_patterns,
            allowed_values,
            hash: config.hash_function,
            redact_all_types: config.redact_all_types,
            summary: config.summary,
        })
    }

    fn ignores(&self, key: &str) -> bool {
        self.ignored_keys.contains(key) || self.ignored_key_patterns.iter().any(|r| r.is_match(key))
    }

    fn removes(&self, key: &str) -> bool {
        !self.allow_all_keys && !self.allowed_keys.contains(key)
    }

    fn masks_key(&self, key: &str) -> bool {
        self.blocked_key_patterns.iter().any(|r| r.is_match(key))
    }

    fn allows_value(&self, text: &str) -> bool {
        self.allowed_values.iter().any(|r| r.is_match(text))
    }

    /// `text` hashed with the configured function, or the fixed mask.
    fn mask(&self, text: &str) -> String {
        match self.hash {
            None => MASK.to_owned(),
            Some(HashFunction::Md5) => hex(&md5::Md5::digest(text.as_bytes())),
            Some(HashFunction::Sha1) => hex(&sha1::Sha1::digest(text.as_bytes())),
            Some(HashFunction::Sha3) => hex(&sha3::Sha3_256::digest(text.as_bytes())),
        }
    }

    /// `text` with every match of a blocked pattern masked; `None` when nothing matched.
    fn mask_blocked(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for regex in &self.blocked_values {
            let current = out.as_deref().unwrap_or(text);
            if regex.is_match(current) {
                out = Some(
                    regex
                        .replace_all(current, |found: &regex::Captures<'_>| self.mask(&found[0]))
                        .into_owned(),
                );
            }
        }
        out.filter(|masked| masked != text)
    }

    /// The text a value's checks read: strings always, other scalars with `redact_all_types`.
    fn text_of(&self, value: &AnyValue) -> Option<String> {
        match value.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ if !self.redact_all_types => None,
            // As OTTL (and otelcol) write scalars: a double in Go's shortest form.
            any_value::Value::BoolValue(_)
            | any_value::Value::IntValue(_)
            | any_value::Value::DoubleValue(_) => Some(
                otlp_ottl::Value::from_opt_any(Some(value))
                    .as_string()
                    .into_owned(),
            ),
            _ => None,
        }
    }

    /// Redacts an attribute map and adds the summary to it.
    pub(super) fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        let mut changes = Changes::default();
        let mut keep = Vec::with_capacity(attributes.len());
        for mut kv in std::mem::take(attributes) {
            if self.ignores(&kv.key) {
                changes.ignored.push(kv.key.clone());
            } else if self.removes(&kv.key) {
                changes.redacted.push(kv.key);
                continue;
            } else {
                let value = kv.value.get_or_insert_with(AnyValue::default);
                self.check_value(&kv.key, value, &mut changes);
            }
            keep.push(kv);
        }
        *attributes = keep;
        self.summarize(
            attributes,
            changes,
            [&REDACTED, &MASKED, &ALLOWED, &IGNORED],
        );
    }

    /// The value checks of a kept key: allowed values, blocked keys, blocked values.
    fn check_value(&self, path: &str, value: &mut AnyValue, changes: &mut Changes) {
        let text = self.text_of(value);
        if let Some(text) = &text
            && self.allows_value(text)
        {
            changes.allowed.push(path.to_owned());
            return;
        }
        if self.masks_key(path) {
            changes.masked.push(path.to_owned());
            *value = otlp_ottl::string_value(self.mask(text.as_deref().unwrap_or_default()));
            return;
        }
        if let Some(text) = text
            && let Some(masked) = self.mask_blocked(&text)
        {
            changes.masked.push(path.to_owned());
            *value = otlp_ottl::string_value(masked);
        }
    }

    /// Redacts a log record's body: a map's keys as attributes are (nested maps and lists walked, paths joined
    /// with `.`), a scalar as the value `body`; the summary goes on the record's attributes.
    pub(super) fn body(&self, body: &mut Option<AnyValue>, attributes: &mut Vec<KeyValue>) {
        let Some(body) = body.as_mut() else {
            return;
        };
        let mut changes = Changes::default();
        match body.value.as_mut() {
            Some(any_value::Value::KvlistValue(map)) => {
                self.map(None, &mut map.values, &mut changes)
            }
            Some(any_value::Value::ArrayValue(list)) => {
                for (i, item) in list.values.iter_mut().enumerate() {
                    self.nested(&format!("[{i}]"), item, &mut changes);
                }
            }
            _ => {
                if let Some(text) = self.text_of(body) {
                    if self.allows_value(&text) {
                        changes.allowed.push("body".to_owned());
                    } else if let Some(masked) = self.mask_blocked(&text) {
                        changes.masked.push("body".to_owned());
                        *body = otlp_ottl::string_value(masked);
                    }
                }
            }
        }
        self.summarize(
            attributes,
            changes,
            [&BODY_REDACTED, &BODY_MASKED, &BODY_ALLOWED, &BODY_IGNORED],
        );
    }

    /// The entries of a map in a body at `prefix` (none at the top).
    fn map(&self, prefix: Option<&str>, entries: &mut Vec<KeyValue>, changes: &mut Changes) {
        let path = |key: &str| prefix.map_or_else(|| key.to_owned(), |p| format!("{p}.{key}"));
        let mut keep = Vec::with_capacity(entries.len());
        for mut kv in std::mem::take(entries) {
            if self.ignores(&kv.key) {
                changes.ignored.push(path(&kv.key));
            } else if self.removes(&kv.key) {
                changes.redacted.push(path(&kv.key));
                continue;
            } else if self.masks_key(&kv.key) {
                changes.masked.push(path(&kv.key));
                let text = kv
                    .value
                    .as_ref()
                    .and_then(|v| self.text_of(v))
                    .unwrap_or_default();
                kv.value = Some(otlp_ottl::string_value(self.mask(&text)));
            } else {
                let value = kv.value.get_or_insert_with(AnyValue::default);
                self.nested(&path(&kv.key), value, changes);
            }
            keep.push(kv);
        }
        *entries = keep;
    }

    /// A value inside a body, at `path`.
    fn nested(&self, path: &str, value: &mut AnyValue, changes: &mut Changes) {
        match value.value.as_mut() {
            Some(any_value::Value::KvlistValue(map)) => {
                self.map(Some(path), &mut map.values, changes)
            }
            Some(any_value::Value::ArrayValue(list)) => {
                for (i, item) in list.values.iter_mut().enumerate() {
                    self.nested(&format!("{path}.[{i}]"), item, changes);
                }
            }
            _ => {
                let Some(text) = self.text_of(value) else {
                    return;
                };
                if self.allows_value(&text) {
                    changes.allowed.push(path.to_owned());
                } else if let Some(masked) = self.mask_blocked(&text) {
                    changes.masked.push(path.to_owned());
                    *value = otlp_ottl::string_value(masked);
                }
            }
        }
    }

    /// Adds the summary attributes of `changes`: counts with `info` and `debug`, the keys too with `debug`, both
    /// added to what an earlier redaction processor wrote.
    fn summarize(
        &self,
        attributes: &mut Vec<KeyValue>,
        changes: Changes,
        kinds: [&SummaryKeys; 4],
    ) {
        if self.summary == Summary::Silent {
            return;
        }
        let lists = [
            changes.redacted,
            changes.masked,
            changes.allowed,
            changes.ignored,
        ];
        for (mut keys, kind) in lists.into_iter().zip(kinds) {
            if keys.is_empty() {
                continue;
            }
            let mut count = keys.len() as i64;
            if let Some(index) = attributes.iter().position(|kv| kv.key == kind.count)
                && let Some(any_value::Value::IntValue(earlier)) = attributes[index]
                    .value
                    .as_ref()
                    .and_then(|v| v.value.as_ref())
            {
                count += earlier;
            }
            set(
                attributes,
                kind.count,
                AnyValue {
                    value: Some(any_value::Value::IntValue(count)),
                },
            );
            if self.summary == Summary::Debug
                && let Some(keys_key) = kind.keys
            {
                if let Some(Some(any_value::Value::StringValue(earlier))) = attributes
                    .iter()
                    .find(|kv| kv.key == keys_key)
                    .map(|kv| kv.value.as_ref().and_then(|v| v.value.as_ref()))
                    && !earlier.is_empty()
                {
                    keys.extend(earlier.split(SEPARATOR).map(str::to_owned));
                }
                keys.sort();
                set(
                    attributes,
                    keys_key,
                    otlp_ottl::string_value(keys.join(&SEPARATOR.to_string())),
                );
            }
        }
    }
}

fn set(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attributes.push(otlp_ottl::key_value(key, value)),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests;
