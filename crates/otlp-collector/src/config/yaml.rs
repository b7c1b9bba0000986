//! Reading a config's YAML. For a key written twice in one mapping (merging two configs by hand makes it a common
//! mistake) serde_norway names the mapping's path and first line, and at the top level nothing at all; the lines
//! of both keys are found here, as otelcol reports them.

use serde_norway::Value;

use crate::error::Error;

/// Parses `text` as YAML.
///
/// # Errors
///
/// [`Error::Yaml`] with what the parser said (with line and column); for a key written twice in one mapping,
/// where the mapping is and both lines of the key:
///
/// ```
/// let error = otlp_collector::config::parse_yaml("exporters:\n  debug:\nexporters:\n  nop:\n").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "config is not valid YAML: key `exporters` is written twice, at lines 1 and 3"
/// );
/// ```
pub fn parse_yaml(text: &str) -> Result<Value, Error> {
    serde_norway::from_str(text).map_err(|error| {
        let message = error.to_string();
        Error::Yaml(locate_duplicate(text, &message).unwrap_or(message))
    })
}

/// serde_norway's `[PATH: ]duplicate entry with key "KEY"[ at line L column C]`, with the lines of both keys.
fn locate_duplicate(text: &str, message: &str) -> Option<String> {
    let (path, rest) = match message.split_once(": duplicate entry with key ") {
        Some((path, rest)) => (Some(path), rest),
        None => (None, message.strip_prefix("duplicate entry with key ")?),
    };
    let (quoted, mapping_at) = match rest.rsplit_once(" at line ") {
        Some((quoted, position)) => {
            let (line, column) = position.split_once(" column ")?;
            (quoted, Some((line.parse().ok()?, column.parse().ok()?)))
        }
        None => (rest, None),
    };
    let key = quoted.strip_prefix('"')?.strip_suffix('"')?;
    // The key is printed escaped; one with escapes is rare enough to go without its lines.
    if key.contains('\\') {
        return None;
    }
    let (first, again) = key_lines(text, key, mapping_at)?;
    Some(match path {
        Some(path) => {
            format!("at `{path}`: key `{key}` is written twice, at lines {first} and {again}")
        }
        None => format!("key `{key}` is written twice, at lines {first} and {again}"),
    })
}

/// The 1-based lines of the first two entries `key` of the block mapping that starts at `mapping_at` (1-based
/// line and column, as serde_norway gives them), or of the document's top-level mapping. A flow mapping
/// (`{ a: 1, a: 2 }`) has no such lines: the parser's message, which points into it, is kept.
fn key_lines(text: &str, key: &str, mapping_at: Option<(usize, usize)>) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let first_line = mapping_at.map_or(0, |(line, _)| line.saturating_sub(1));
    let column = match mapping_at {
        Some((_, column)) => column.checked_sub(1)?,
        None => lines.iter().find_map(|line| {
            significant(line).map(|(indent, content)| after_dashes(indent, content).0)
        })?,
    };
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate().skip(first_line) {
        let Some((indent, content)) = significant(line) else {
            continue;
        };
        // The mapping ends where a line starts left of its keys: an outer key, or the next sequence item's dash.
        // Its values' own lines (nested keys, block scalars, continued scalars) are all indented further.
        if index > first_line && indent < column {
            break;
        }
        let (entry_column, entry) = after_dashes(indent, content);
        if entry_column == column && entry_key(entry) == Some(key) {
            found.push(index + 1);
            if let [first, again] = found[..] {
                return Some((first, again));
            }
        }
    }
    None
}

/// A line's indentation and content, unless it is blank or a comment.
fn significant(line: &str) -> Option<(usize, &str)> {
    let content = line.trim_start();
    (!content.is_empty() && !content.starts_with('#'))
        .then_some((line.len() - content.len(), content))
}

/// The column where a line's entry starts after any sequence dashes (`- key: value`, `- - key: value`), and the
/// entry.
fn after_dashes(indent: usize, content: &str) -> (usize, &str) {
    let mut column = indent;
    let mut rest = content;
    while let Some(after) = rest.strip_prefix('-')
        && after.starts_with([' ', '\t'])
    {
        let entry = after.trim_start();
        column += rest.len() - entry.len();
        rest = entry;
    }
    (column, rest)
}

/// The key of a block mapping entry: plain, `"double"` or `'single'` quoted.
fn entry_key(entry: &str) -> Option<&str> {
    let (key, rest) = match entry.chars().next()? {
        quote @ ('"' | '\'') => {
            let body = &entry[1..];
            let end = body.find(quote)?;
            (&body[..end], body[end + 1..].trim_start())
        }
        _ => {
            let end = entry.match_indices(':').map(|(at, _)| at).find(|at| {
                let after = &entry[at + 1..];
                after.is_empty() || after.starts_with([' ', '\t'])
            })?;
            (entry[..end].trim_end(), &entry[end..])
        }
    };
    let value = rest.strip_prefix(':')?;
    (value.is_empty() || value.starts_with([' ', '\t'])).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str) -> String {
        parse_yaml(text).unwrap_err().to_string()
    }

    #[test]
    fn a_section_written_twice_is_located() {
        let text = "receivers:\n  otlp:\n    protocols:\n      grpc:\n\nexporters:\n  debug:\n\nreceivers:\n  nop:\n";
        assert_eq!(
            located(text),
            "config is not valid YAML: key `receivers` is written twice, at lines 1 and 9"
        );
    }

    #[test]
    fn the_same_key_in_sibling_mappings_is_not_a_duplicate() {
        let text = "\
receivers:
  otlp:
    protocols:
      grpc: { endpoint: a }
      http:
        endpoint: b
  otlp/2:
    protocols:
      http:
        endpoint: c
        endpoint: d
";
        assert_eq!(
            located(text),
            "config is not valid YAML: at `receivers.otlp/2.protocols.http`: key `endpoint` is written twice, at lines 10 and 11"
        );
    }

    #[test]
    fn sequence_items_are_separate_mappings() {
        let text = "\
processors:
  tail_sampling:
    policies:
      - name: a
        type: always_sample
      - name: b
        type: latency
        type: status_code
";
        assert_eq!(
            located(text),
            "config is not valid YAML: at `processors.tail_sampling.policies[1]`: key `type` is written twice, at lines 7 and 8"
        );
        let compact = "policies:\n- name: a\n  type: x\n- name: b\n  name: c\n";
        assert_eq!(
            located(compact),
            "config is not valid YAML: at `policies[1]`: key `name` is written twice, at lines 4 and 5"
        );
    }

    #[test]
    fn block_scalars_and_quoted_keys() {
        let text = "\
statements: |
  set(name, \"x\")
  endpoint: not a key
  endpoint: nor this
\"endpoint\": 1
'endpoint': 2
";
        assert_eq!(
            located(text),
            "config is not valid YAML: key `endpoint` is written twice, at lines 5 and 6"
        );
    }

    #[test]
    fn a_duplicate_in_a_flow_mapping_keeps_the_parsers_message() {
        assert_eq!(
            located("a: { b: 1, b: 2 }\n"),
            "config is not valid YAML: a: duplicate entry with key \"b\" at line 1 column 4"
        );
    }

    #[test]
    fn syntax_errors_keep_their_location() {
        assert!(located("a:\n  b: [\n").contains("line 3 column 1"));
    }

    #[test]
    fn valid_yaml_parses() {
        let value = parse_yaml("a:\n  - b: 1\n    c: 2\n").unwrap();
        assert_eq!(value["a"][0]["c"], Value::from(2));
    }
}
