//! The `journald` receiver's settings, with otelcol-contrib's keys (its `journald` input and stanza's).

use crate::component::Invalid;
use crate::receiver::filelog::{OperatorConfig, RetryOnFailure, StartAt};
use crate::receiver::stanza::operator::Operators;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `journald` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournaldConfig {
    /// A journal directory (`/var/log/journal`, a container's mounted host journal); the system's without it.
    pub directory: Option<String>,
    /// Journal files, read instead of a directory.
    pub files: Vec<String>,
    /// `end`: only entries written from now on; `beginning`: the whole journal first. A saved cursor wins.
    pub start_at: StartAt,
    /// Only these systemd units' entries.
    pub units: Vec<String>,
    /// Only entries of these syslog identifiers.
    pub identifiers: Vec<String>,
    /// The least important priority read: `emerg` … `debug`, `0` … `7`, or a range (`err..warning`).
    pub priority: String,
    /// Field matches: the fields of one map must all match, any map may (journalctl's `+`).
    pub matches: Vec<BTreeMap<String, String>>,
    /// Only entries whose `MESSAGE` matches this PCRE2 pattern.
    pub grep: String,
    /// Only kernel messages.
    pub dmesg: bool,
    /// Fields in full, unprintable ones too.
    pub all: bool,
    /// A journal namespace (`journalctl --namespace`).
    pub namespace: String,
    /// Entries of every journal of the directory interleaved, remote ones too.
    pub merge: bool,
    /// A `MESSAGE` journalctl writes as bytes (not valid UTF-8) becomes text.
    pub convert_message_bytes: bool,
    /// The `journalctl` to run.
    pub journalctl_path: String,
    /// A storage extension (`file_storage`) keeping the cursor of the last entry handed over, so that a restart
    /// resumes after it.
    pub storage: Option<String>,
    /// Attributes added to every record.
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes added to every record.
    pub resource: BTreeMap<String, String>,
    /// stanza operators applied to each record in order.
    pub operators: Vec<OperatorConfig>,
    /// otelcol's consumer retry; accepted: a full pipeline is always waited out (journalctl waits meanwhile).
    pub retry_on_failure: RetryOnFailure,
}

impl Default for JournaldConfig {
    fn default() -> Self {
        JournaldConfig {
            directory: None,
            files: Vec::new(),
            start_at: StartAt::End,
            units: Vec::new(),
            identifiers: Vec::new(),
            priority: "info".to_owned(),
            matches: Vec::new(),
            grep: String::new(),
            dmesg: false,
            all: false,
            namespace: String::new(),
            merge: false,
            convert_message_bytes: false,
            journalctl_path: "journalctl".to_owned(),
            storage: None,
            attributes: BTreeMap::new(),
            resource: BTreeMap::new(),
            operators: Vec::new(),
            retry_on_failure: RetryOnFailure::default(),
        }
    }
}

/// A journal field name: upper-case letters, digits and underscores, not starting with a digit.
fn is_field_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_uppercase() || first == b'_')
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

const PRIORITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

fn is_priority(text: &str) -> bool {
    let one = |p: &str| PRIORITIES.contains(&p) || p.parse::<u8>().is_ok_and(|n| n <= 7);
    match text.split_once("..") {
        Some((from, to)) => one(from) && one(to),
        None => one(text),
    }
}

impl JournaldConfig {
    /// journalctl's arguments, as otelcol builds them, but the cursor.
    pub(super) fn arguments(&self) -> Vec<String> {
        let mut args: Vec<String> = ["--utc", "--output=json", "--follow", "--no-pager"]
            .map(str::to_owned)
            .to_vec();
        if self.start_at == StartAt::Beginning {
            args.push("--no-tail".to_owned());
        } else {
            // With `--follow` alone journalctl first prints the last ten entries; `end` means none of them.
            args.push("--lines=0".to_owned());
        }
        for unit in &self.units {
            args.extend(["--unit".to_owned(), unit.clone()]);
        }
        for identifier in &self.identifiers {
            args.extend(["--identifier".to_owned(), identifier.clone()]);
        }
        args.extend(["--priority".to_owned(), self.priority.clone()]);
        if !self.grep.is_empty() {
            args.extend(["--grep".to_owned(), self.grep.clone()]);
        }
        if self.dmesg {
            args.push("--dmesg".to_owned());
        }
        if !self.namespace.is_empty() {
            args.extend(["--namespace".to_owned(), self.namespace.clone()]);
        }
        if let Some(directory) = &self.directory {
            args.extend(["--directory".to_owned(), directory.clone()]);
        } else {
            for file in &self.files {
                args.extend(["--file".to_owned(), file.clone()]);
            }
        }
        for (i, group) in self.matches.iter().enumerate() {
            if i > 0 {
                args.push("+".to_owned());
            }
            args.extend(
                group
                    .iter()
                    .map(|(field, value)| format!("{field}={value}")),
            );
        }
        if self.all {
            args.push("--all".to_owned());
        }
        if self.merge {
            args.push("--merge".to_owned());
        }
        args
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if !is_priority(&self.priority) {
            problems.push(Invalid::at(
                "priority",
                format!(
                    "`{}` is not a priority: {} or 0 to 7, or a range of them (`err..warning`)",
                    self.priority,
                    PRIORITIES.join(", ")
                ),
            ));
        }
        for (i, group) in self.matches.iter().enumerate() {
            for field in group.keys().filter(|field| !is_field_name(field)) {
                problems.push(Invalid::at(
                    format!("matches[{i}]"),
                    format!("`{field}` is not a journal field name (upper case, digits and `_`)"),
                ));
            }
        }
        if self.journalctl_path.is_empty() {
            problems.push(Invalid::at("journalctl_path", "name the journalctl to run"));
        }
        if let Err(e) = Operators::build(&self.operators) {
            problems.push(e);
        }
        Invalid::all(problems)
    }

    /// What otelcol takes but settles without saying.
    pub(super) fn warnings(&self) -> Vec<(String, String)> {
        if self.directory.is_some() && !self.files.is_empty() {
            return vec![(
                "files".to_owned(),
                "ignored: `directory` is set too and wins, as in otelcol".to_owned(),
            )];
        }
        Vec::new()
    }
}
