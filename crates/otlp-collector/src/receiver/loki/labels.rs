//! A stream's labels as protobuf pushes carry them: a Prometheus label set in text, `{job="app", level="error"}`,
//! as Loki's clients write it (Prometheus's `labels.String()`): names bare or, since Prometheus 3, quoted; values
//! quoted with Go's escapes.

/// The labels of `text`, sorted by name; a metric name before the braces is `__name__`.
pub(super) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader {
        chars: text.trim().chars().collect(),
        at: 0,
    };
    let mut labels = Vec::new();
    if reader.peek() != Some('{') {
        let name = reader.name()?;
        labels.push(("__name__".to_owned(), name));
    }
    reader.expect('{')?;
    reader.skip_spaces();
    while reader.peek() != Some('}') {
        let name = if reader.peek() == Some('"') {
            reader.quoted()?
        } else {
            reader.name()?
        };
        reader.skip_spaces();
        reader.expect('=')?;
        reader.skip_spaces();
        let value = reader.quoted()?;
        if labels.iter().any(|(n, _)| *n == name) {
            return Err(format!("label `{name}` appears twice"));
        }
        labels.push((name, value));
        reader.skip_spaces();
        match reader.peek() {
            Some(',') => {
                reader.at += 1;
                reader.skip_spaces();
            }
            Some('}') => {}
            other => return Err(reader.unexpected(other, "`,` or `}`")),
        }
    }
    reader.expect('}')?;
    if reader.at != reader.chars.len() {
        return Err(format!("text follows the closing `}}` at {}", reader.at));
    }
    labels.sort();
    Ok(labels)
}

struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn unexpected(&self, found: Option<char>, wanted: &str) -> String {
        match found {
            Some(c) => format!("expected {wanted} at {}, found `{c}`", self.at),
            None => format!("expected {wanted}, found the end"),
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        match self.peek() {
            Some(c) if c == wanted => {
                self.at += 1;
                Ok(())
            }
            other => Err(self.unexpected(other, &format!("`{wanted}`"))),
        }
    }

    /// A bare name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    fn name(&mut self) -> Result<String, String> {
        let start = self.at;
        while let Some(c) = self.peek() {
            let allowed = c.is_ascii_alphabetic()
                || c == '_'
                || c == ':'
                || (self.at > start && c.is_ascii_digit());
            if !allowed {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return Err(self.unexpected(self.peek(), "a label name"));
        }
        Ok(self.chars[start..self.at].iter().collect())
    }

    /// A double-quoted string with Go's escapes.
    fn quoted(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("a quoted value is not closed".to_owned());
            };
            self.at += 1;
            match c {
                '"' => return Ok(text),
                '\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err("a quoted value ends in `\\`".to_owned());
                    };
                    self.at += 1;
                    match escaped {
                        '\\' | '"' | '\'' => text.push(escaped),
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        'a' => text.push('\u{7}'),
                        'b' => text.push('\u{8}'),
                        'f' => text.push('\u{c}'),
                        'v' => text.push('\u{b}'),
                        'u' | 'U' => {
                            let digits = if escaped == 'u' { 4 } else { 8 };
                            let hex: String =
                                self.chars.iter().skip(self.at).take(digits).collect();
                            let decoded = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == digits)
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("`\\{escaped}{hex}` is not a character"))?;
                            self.at += digits;
                            text.push(decoded);
                        }
                        other => return Err(format!("unknown escape `\\{other}`")),
                    }
                }
                _ => text.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn label_sets_as_clients_write_them() {
        assert_eq!(
            parse(r#"{job="app", level="error", filename="/var/log/app.log"}"#),
            Ok(pairs(&[
                ("filename", "/var/log/app.log"),
                ("job", "app"),
                ("level", "error")
            ]))
        );
        assert_eq!(parse("{}"), Ok(Vec::new()));
        assert_eq!(
            parse(r#"{msg="say \"hi\"\n\u00e9", "service.name"="shop",}"#),
            Ok(pairs(&[
                ("msg", "say \"hi\"\n\u{e9}"),
                ("service.name", "shop")
            ]))
        );
        assert_eq!(
            parse(r#"up{job="a"}"#),
            Ok(pairs(&[("__name__", "up"), ("job", "a")]))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            parse(r#"{job="app""#),
            Err("expected `,` or `}`, found the end".to_owned())
        );
        assert_eq!(
            parse(r#"{job=app}"#),
            Err("expected `\"` at 5, found `a`".to_owned())
        );
        assert_eq!(
            parse(r#"{a="1", a="2"}"#),
            Err("label `a` appears twice".to_owned())
        );
        assert_eq!(parse(r#"{a="\q"}"#), Err("unknown escape `\\q`".to_owned()));
        assert_eq!(
            parse(r#"{a="1"} x"#),
            Err("text follows the closing `}` at 7".to_owned())
        );
    }
}
