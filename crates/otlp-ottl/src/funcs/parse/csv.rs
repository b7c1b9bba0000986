//! `ParseCSV`, with a port of the record reader of Go's `encoding/csv` so quoting errors and
//! lazy-quote handling match otelcol.

use super::owned_map;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::{Value, put, string_value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvMode {
    Strict,
    LazyQuotes,
    IgnoreQuotes,
}

/// `ParseCSV(target, header, delimiter?, header_delimiter?, mode?)`.
struct ParseCsv {
    target: Expr,
    header: Expr,
    delimiter: char,
    header_delimiter: char,
    mode: CsvMode,
}

fn single_char(args: &Args<'_>, index: usize, value: Option<String>) -> Result<Option<char>> {
    match value {
        None => Ok(None),
        Some(text) => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Some(c)),
                _ => Err(args.error(
                    index,
                    format!(
                        "{} must be a single character",
                        if index == 2 {
                            "delimiter"
                        } else {
                            "header_delimiter"
                        }
                    ),
                )),
            }
        }
    }
}

pub(super) fn build_parse_csv(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let header = args.getter(1)?;
    let delimiter = args.opt_str(2);
    let delimiter = single_char(args, 2, delimiter)?.unwrap_or(',');
    let header_delimiter = args.opt_str(3);
    let header_delimiter = single_char(args, 3, header_delimiter)?.unwrap_or(delimiter);
    let mode = match args.opt_str(4).as_deref() {
        None | Some("strict") => CsvMode::Strict,
        Some("lazyQuotes") => CsvMode::LazyQuotes,
        Some("ignoreQuotes") => CsvMode::IgnoreQuotes,
        Some(other) => {
            return Err(args.error(
                4,
                format!(
                    "unknown mode: {other} (use \"strict\", \"lazyQuotes\" or \"ignoreQuotes\")"
                ),
            ));
        }
    };
    Ok(Box::new(ParseCsv {
        target,
        header,
        delimiter,
        header_delimiter,
        mode,
    }))
}

impl ConverterFn for ParseCsv {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let target = expect_string(self.target.eval(ctx)?, "ParseCSV", "target")?;
        let header = expect_string(self.header.eval(ctx)?, "ParseCSV", "header")?;
        if header.is_empty() {
            return Err(Error::eval("ParseCSV: headers must not be an empty string"));
        }
        let headers: Vec<&str> = header.split(self.header_delimiter).collect();
        let fields: Vec<String> = match self.mode {
            CsvMode::IgnoreQuotes => target.split(self.delimiter).map(str::to_owned).collect(),
            mode => read_csv_row(&target, self.delimiter, mode == CsvMode::LazyQuotes)
                .map_err(|e| Error::eval(format!("ParseCSV: {e}")))?,
        };
        if fields.len() != headers.len() {
            return Err(Error::eval(format!(
                "ParseCSV: map csv headers: wrong number of fields: expected {}, found {}",
                headers.len(),
                fields.len()
            )));
        }
        let mut out = Vec::with_capacity(headers.len());
        for (name, field) in headers.iter().zip(fields) {
            put(&mut out, name, string_value(field));
        }
        Ok(owned_map(out))
    }
}

/// otelcol's `parseutils.ReadCSVRow`: reads every record of `row` with Go's `encoding/csv`
/// rules and joins them into one, each later record continuing the last field of the one before
/// (so newlines in a log line stay inside the field they appear in).
fn read_csv_row(row: &str, comma: char, lazy: bool) -> std::result::Result<Vec<String>, String> {
    let mut reader = CsvReader {
        input: row.as_bytes(),
        offset: 0,
        line: 0,
        comma,
        lazy,
    };
    let mut records: Vec<Vec<String>> = Vec::new();
    while let Some((fields, error)) = reader.read_record() {
        if let Some(error) = error
            && fields.is_empty()
        {
            return Err(format!("read csv line: {error}"));
        }
        records.push(fields);
    }
    let mut records = records.into_iter();
    let Some(mut joined) = records.next() else {
        return Err("no csv lines found".to_owned());
    };
    for next in records {
        let mut next = next.into_iter();
        if let (Some(last), Some(first)) = (joined.last_mut(), next.next()) {
            last.push('\n');
            last.push_str(&first);
        }
        joined.extend(next);
    }
    Ok(joined)
}

/// A port of the record reader of Go's `encoding/csv` (no comments, no leading-space trimming).
struct CsvReader<'a> {
    input: &'a [u8],
    offset: usize,
    line: usize,
    comma: char,
    lazy: bool,
}

const BARE_QUOTE: &str = "bare \" in non-quoted-field";
const EXTRA_QUOTE: &str = "extraneous or missing \" in quoted-field";

fn csv_error(start_line: usize, line: usize, column: usize, what: &str) -> String {
    if start_line == line {
        format!("parse error on line {line}, column {column}: {what}")
    } else {
        format!("record on line {start_line}; parse error on line {line}, column {column}: {what}")
    }
}

fn newline_len(line: &[u8]) -> usize {
    usize::from(line.last() == Some(&b'\n'))
}

impl CsvReader<'_> {
    /// The next line with its `\n` (`\r\n` normalized), or `None` at the end of the input.
    fn read_line(&mut self) -> Option<Vec<u8>> {
        self.line += 1;
        let rest = &self.input[self.offset..];
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let mut line = rest[..end].to_vec();
        self.offset += end;
        if line.last() != Some(&b'\n') && line.last() == Some(&b'\r') {
            line.pop();
        }
        let n = line.len();
        if n >= 2 && line[n - 2] == b'\r' && line[n - 1] == b'\n' {
            line.truncate(n - 1);
            line[n - 2] = b'\n';
        }
        Some(line)
    }

    /// The next record and the parse error that ended it early, or `None` at the end.
    fn read_record(&mut self) -> Option<(Vec<String>, Option<String>)> {
        let mut line = loop {
            let line = self.read_line()?;
            if line.len() != newline_len(&line) {
                break line;
            }
        };
        let mut comma_buf = [0u8; 4];
        let comma: &[u8] = self.comma.encode_utf8(&mut comma_buf).as_bytes();
        let start_line = self.line;
        let mut pos_line = self.line;
        let mut column = 1usize;
        let mut at = 0usize;
        let mut buffer: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        let mut error = None;
        'fields: loop {
            let rest = &line[at..];
            if rest.first() != Some(&b'"') {
                let i = rest.windows(comma.len()).position(|w| w == comma);
                let field = match i {
                    Some(i) => &rest[..i],
                    None => &rest[..rest.len() - newline_len(rest)],
                };
                if !self.lazy
                    && let Some(j) = field.iter().position(|&b| b == b'"')
                {
                    error = Some(csv_error(start_line, self.line, column + j, BARE_QUOTE));
                    break 'fields;
                }
                buffer.extend_from_slice(field);
                ends.push(buffer.len());
                match i {
                    Some(i) => {
                        at += i + comma.len();
                        column += i + comma.len();
                    }
                    None => break 'fields,
                }
            } else {
                at += 1;
                column += 1;
                loop {
                    let rest = &line[at..];
                    if let Some(i) = rest.iter().position(|&b| b == b'"') {
                        buffer.extend_from_slice(&rest[..i]);
                        at += i + 1;
                        column += i + 1;
                        let rest = &line[at..];
                        if rest.first() == Some(&b'"') {
                            buffer.push(b'"');
                            at += 1;
                            column += 1;
                        } else if rest.starts_with(comma) {
                            at += comma.len();
                            column += comma.len();
                            ends.push(buffer.len());
                            continue 'fields;
                        } else if newline_len(rest) == rest.len() {
                            ends.push(buffer.len());
                            break 'fields;
                        } else if self.lazy {
                            buffer.push(b'"');
                        } else {
                            error = Some(csv_error(start_line, self.line, column - 1, EXTRA_QUOTE));
                            break 'fields;
                        }
                    } else if !rest.is_empty() {
                        buffer.extend_from_slice(rest);
                        column += rest.len();
                        line = self.read_line().unwrap_or_default();
                        at = 0;
                        if !line.is_empty() {
                            pos_line += 1;
                            column = 1;
                        }
                    } else {
                        if !self.lazy {
                            error = Some(csv_error(start_line, pos_line, column, EXTRA_QUOTE));
                            break 'fields;
                        }
                        ends.push(buffer.len());
                        break 'fields;
                    }
                }
            }
        }
        let mut fields = Vec::with_capacity(ends.len());
        let mut start = 0;
        for end in ends {
            fields.push(String::from_utf8_lossy(&buffer[start..end]).into_owned());
            start = end;
        }
        Some((fields, error))
    }
}
