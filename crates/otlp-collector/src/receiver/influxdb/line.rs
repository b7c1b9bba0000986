//! InfluxDB line protocol, read: `measurement[,tag=value…] field=value[,field=value…] [timestamp]`, one point per
//! line, escaped as InfluxDB escapes it (a backslash before a comma or space in a measurement, before a comma,
//! equals sign or space in a tag key, tag value or field key, before a double quote or backslash in a string
//! field). Blank lines and `#` comments are skipped.

/// A field's value, typed as the line wrote it: `1.5` a float, `1i` an integer, `1u` an unsigned integer, `t` or
/// `false` a boolean, `"…"` a string.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    Str(String),
}

/// One point.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Point {
    pub(super) measurement: String,
    pub(super) tags: Vec<(String, String)>,
    pub(super) fields: Vec<(String, Value)>,
    /// In the request's precision; `None` when the line has none (the receiver stamps it).
    pub(super) time: Option<i64>,
}

/// Each line of `body` that is a point, or why it is not, with its number (from 1). A string field may span lines.
pub(super) fn points(body: &str) -> impl Iterator<Item = (usize, Result<Point, String>)> + '_ {
    let mut reader = Reader {
        text: body.as_bytes(),
        body,
        at: 0,
        line: 1,
    };
    std::iter::from_fn(move || {
        loop {
            reader.skip_blank_lines();
            if reader.at >= reader.text.len() {
                return None;
            }
            let line = reader.line;
            if reader.peek() == Some(b'#') {
                reader.skip_to_line_end();
                continue;
            }
            let point = reader.point();
            if point.is_err() {
                reader.skip_to_line_end();
            }
            return Some((line, point));
        }
    })
}

struct Reader<'a> {
    text: &'a [u8],
    body: &'a str,
    at: usize,
    line: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_blank_lines(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.at += 1;
        }
    }

    fn skip_to_line_end(&mut self) {
        while let Some(byte) = self.peek() {
            self.at += 1;
            if byte == b'\n' {
                self.line += 1;
                return;
            }
        }
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Text up to the first unescaped byte of `stops` (or the line's end), unescaping `\` before any of
    /// `escapable`; a backslash before anything else is kept, as InfluxDB keeps it.
    fn name(&mut self, stops: &[u8], escapable: &[u8]) -> String {
        let mut out = String::new();
        let mut start = self.at;
        while let Some(byte) = self.peek() {
            if byte == b'\\'
                && self
                    .text
                    .get(self.at + 1)
                    .is_some_and(|next| escapable.contains(next))
            {
                out.push_str(&self.body[start..self.at]);
                self.at += 1;
                start = self.at;
                self.at += 1;
                continue;
            }
            if stops.contains(&byte) || byte == b'\n' {
                break;
            }
            self.at += 1;
        }
        out.push_str(self.body[start..self.at].trim_end_matches('\r'));
        out
    }

    fn expect(&mut self, byte: u8, after: impl FnOnce() -> String) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` {}", byte as char, after()))
        }
    }

    fn point(&mut self) -> Result<Point, String> {
        let measurement = self.name(b", ", b", ");
        if measurement.is_empty() {
            return Err("a line without a measurement".to_owned());
        }
        let mut tags = Vec::new();
        while self.peek() == Some(b',') {
            self.at += 1;
            let key = self.name(b",= ", b",= ");
            self.expect(b'=', || format!("after tag key `{key}`"))?;
            let value = self.name(b", ", b",= ");
            if key.is_empty() || value.is_empty() {
                return Err(format!("an empty tag key or value (`{key}={value}`)"));
            }
            tags.push((key, value));
        }
        if self.peek() != Some(b' ') {
            return Err(format!("`{measurement}` has no fields"));
        }
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
        let mut fields = Vec::new();
        loop {
            let key = self.name(b",= ", b",= ");
            if key.is_empty() {
                return Err(format!("an empty field key in `{measurement}`"));
            }
            self.expect(b'=', || format!("after field key `{key}`"))?;
            let value = self.value(&key)?;
            fields.push((key, value));
            if self.peek() == Some(b',') {
                self.at += 1;
            } else {
                break;
            }
        }
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        let time = if self.at_line_end() || self.peek() == Some(b'\r') {
            None
        } else {
            let start = self.at;
            while !self.at_line_end() && !matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
                self.at += 1;
            }
            let text = &self.body[start..self.at];
            Some(text.parse::<i64>().map_err(|_| {
                format!("`{text}` is not a timestamp (an integer in the request's precision)")
            })?)
        };
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.at += 1;
        }
        if !self.at_line_end() {
            return Err("more after the timestamp".to_owned());
        }
        Ok(Point {
            measurement,
            tags,
            fields,
            time,
        })
    }

    fn value(&mut self, key: &str) -> Result<Value, String> {
        if self.peek() == Some(b'"') {
            self.at += 1;
            let mut out = String::new();
            let mut start = self.at;
            loop {
                match self.peek() {
                    None => {
                        return Err(format!("field `{key}`: a string without its closing quote"));
                    }
                    Some(b'\\') if matches!(self.text.get(self.at + 1), Some(b'"' | b'\\')) => {
                        out.push_str(&self.body[start..self.at]);
                        self.at += 1;
                        start = self.at;
                        self.at += 1;
                    }
                    Some(b'"') => {
                        out.push_str(&self.body[start..self.at]);
                        self.at += 1;
                        return Ok(Value::Str(out));
                    }
                    Some(byte) => {
                        if byte == b'\n' {
                            self.line += 1;
                        }
                        self.at += 1;
                    }
                }
            }
        }
        let start = self.at;
        while !self.at_line_end() && !matches!(self.peek(), Some(b',' | b' ' | b'\r')) {
            self.at += 1;
        }
        let text = &self.body[start..self.at];
        let bad = || format!("field `{key}`: `{text}` is not a number, boolean or quoted string");
        match text {
            "t" | "T" | "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
            "f" | "F" | "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
            _ => {}
        }
        if let Some(digits) = text.strip_suffix('i') {
            return digits.parse().map(Value::Int).map_err(|_| bad());
        }
        if let Some(digits) = text.strip_suffix('u') {
            return digits.parse().map(Value::UInt).map_err(|_| bad());
        }
        // Rust also reads `inf` and `NaN`, which line protocol has no spelling for.
        if !text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        {
            return Err(bad());
        }
        text.parse().map(Value::Float).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests;
