//! Rewriting of an expanded Go regex into Rust `regex` syntax: hand-written named groups get
//! internal names, and Go's ASCII-only Perl classes and word boundaries stay ASCII-only.

use super::CAPTURE_PREFIX;

/// Rewrites an expanded Go regex for Rust's `regex`: named groups written by hand
/// (`(?P<name>` / `(?<name>`) get internal names too (recorded in `names`), and the Perl classes
/// and word boundaries become ASCII-only as Go's are.
pub(super) fn rewrite_regex(
    regex: &str,
    names: &mut Vec<String>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(regex.len() + 16);
    let mut chars = regex.char_indices().peekable();
    // Whether we are inside a bracket class. Go has no nested classes, so a `[` inside one is
    // a literal; the nested classes this function writes go straight to `out`.
    let mut in_class = false;
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    out.push('\\');
                    continue;
                };
                match escaped {
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    's' => out.push_str(r"[\t\n\f\r ]"),
                    'S' => out.push_str(r"[^\t\n\f\r ]"),
                    'b' if !in_class => out.push_str(r"(?-u:\b)"),
                    'B' if !in_class => out.push_str(r"(?-u:\B)"),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if in_class => {
                if chars.peek().is_some_and(|(_, n)| *n == ':') {
                    // A POSIX class `[:alpha:]`, which both dialects have: copied to its `:]`.
                    out.push('[');
                    for (_, n) in chars.by_ref() {
                        out.push(n);
                        if n == ']' && out.ends_with(":]") {
                            break;
                        }
                    }
                } else {
                    out.push_str(r"\[");
                }
            }
            // Rust reads `&&` and `~~` in a class as set operations; Go reads them literally.
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '[' => {
                out.push('[');
                in_class = true;
                // A `]` right after `[` or `[^` is a literal member.
                if chars.peek().is_some_and(|(_, n)| *n == '^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek().is_some_and(|(_, n)| *n == ']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class => {
                let rest = &regex[at..];
                let name_start = if rest.starts_with("(?P<") {
                    Some(4)
                } else if rest.starts_with("(?<") {
                    Some(3)
                } else {
                    None
                };
                let Some(start) = name_start else {
                    out.push('(');
                    continue;
                };
                let Some(end) = rest[start..].find('>') else {
                    out.push('(');
                    continue;
                };
                let name = &rest[start..start + end];
                if name.starts_with(CAPTURE_PREFIX) {
                    // One of ours, from the expansion.
                    out.push('(');
                    continue;
                }
                if !valid_group_name(name) {
                    return Err(format!("invalid capture group name {name:?}"));
                }
                out.push_str(&format!("(?P<{CAPTURE_PREFIX}{}>", names.len()));
                names.push(name.to_owned());
                // Skip the rest of `(?P<name>`.
                for _ in 0..(start + end) {
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The group names Rust's `regex` accepts (a superset of Go's, which allows no dots).
fn valid_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::funcs::parse::grok::expand::Definitions;
    use crate::funcs::parse::owned_map;

    fn defaults() -> Definitions {
        Definitions {
            custom: HashMap::new(),
        }
    }

    #[test]
    fn perl_classes_are_ascii() {
        let mut names = Vec::new();
        let rewritten = rewrite_regex(r"\w[\d\s]\b(?<a>x)[]a][a[&&b]", &mut names).unwrap();
        assert_eq!(
            rewritten,
            r"[0-9A-Za-z_][[0-9][\t\n\f\r ]](?-u:\b)(?P<_grok0>x)[\]a][a\[\&\&b]"
        );
        assert_eq!(names, ["a"]);
        // The ASCII non-boundary compiles too.
        assert!(defaults().compile(r"(?P<x>a\Bb)", false).is_ok());
        let grok = defaults().compile("%{WORD:w}", true).unwrap();
        // Go's \w and \b are ASCII: "é" is not a word character.
        assert_eq!(
            grok.extract("café").unwrap(),
            owned_map(vec![crate::value::key_value(
                "w",
                crate::value::string_value("caf")
            )])
        );
    }
}
