//! Cutting a file's new bytes into entries: at each newline, or where `multiline`'s pattern says an entry starts
//! or ends, at most `max_log_size` bytes each, trimmed of surrounding whitespace unless told to keep it.

use crate::receiver::filelog::{ByteSize, Multiline};
use regex::bytes::{Regex, RegexBuilder};

/// Where entries end.
#[derive(Debug, Clone)]
enum Boundary {
    Newline,
    /// Each match starts an entry; `^` matches at the start of every line.
    Start(Regex),
    /// Each match ends an entry.
    End(Regex),
}

/// Cuts bytes into entries as the settings say.
#[derive(Debug, Clone)]
pub(crate) struct Splitter {
    boundary: Boundary,
    omit_pattern: bool,
    max: usize,
    trim_leading: bool,
    trim_trailing: bool,
}

/// The entries found in some bytes, and how many of the bytes they took: the rest is an entry not yet complete.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Split<'b> {
    pub(crate) entries: Vec<&'b [u8]>,
    pub(crate) used: usize,
}

fn pattern(text: &str, key: &str) -> Result<Regex, String> {
    RegexBuilder::new(text)
        .multi_line(true)
        .build()
        .map_err(|e| format!("{key}: `{text}` is not a regular expression: {e}"))
}

impl Splitter {
    /// The splitter of otelcol's shared keys: `multiline` (none: each line is an entry), `max_log_size`,
    /// `preserve_leading_whitespaces` and `preserve_trailing_whitespaces`.
    pub(crate) fn new(
        multiline: Option<&Multiline>,
        max_log_size: ByteSize,
        preserve_leading: bool,
        preserve_trailing: bool,
    ) -> Result<Self, String> {
        let (boundary, omit_pattern) = match multiline {
            None => (Boundary::Newline, false),
            Some(multiline) => {
                let boundary = match (&multiline.line_start_pattern, &multiline.line_end_pattern) {
                    (Some(_), Some(_)) => {
                        return Err(
                            "give line_start_pattern or line_end_pattern, not both".to_owned()
                        );
                    }
                    (Some(start), None) => Boundary::Start(pattern(start, "line_start_pattern")?),
                    (None, Some(end)) => Boundary::End(pattern(end, "line_end_pattern")?),
                    (None, None) => {
                        return Err("give line_start_pattern or line_end_pattern".to_owned());
                    }
                };
                (boundary, multiline.omit_pattern)
            }
        };
        Ok(Splitter {
            boundary,
            omit_pattern,
            max: usize::try_from(max_log_size.0).unwrap_or(usize::MAX),
            trim_leading: !preserve_leading,
            trim_trailing: !preserve_trailing,
        })
    }

    /// The complete entries of `bytes`; with `flush`, what follows the last one is an entry too (nothing more
    /// will come to complete it).
    pub(crate) fn split<'b>(&self, bytes: &'b [u8], flush: bool) -> Split<'b> {
        let mut split = Split::default();
        let mut at = 0;
        loop {
            let rest = &bytes[at..];
            let Some((entry, next)) = self.next_entry(rest) else {
                break;
            };
            split.push(self.trim(entry));
            at += next;
        }
        // An entry that grew past the limit without ending is cut, as if it had ended there.
        while bytes.len() - at > self.max {
            split.push(self.trim(&bytes[at..at + self.max]));
            at += self.max;
        }
        if flush && at < bytes.len() {
            split.push(self.trim(&bytes[at..]));
            at = bytes.len();
        }
        split.used = at;
        split
    }

    /// The first complete entry of `bytes` and where the next one starts.
    fn next_entry<'b>(&self, bytes: &'b [u8]) -> Option<(&'b [u8], usize)> {
        match &self.boundary {
            Boundary::Newline => {
                let end = memchr(b'\n', bytes)?;
                if end > self.max {
                    return Some((&bytes[..self.max], self.max));
                }
                let line = &bytes[..end];
                Some((line.strip_suffix(b"\r").unwrap_or(line), end + 1))
            }
            Boundary::Start(start) => {
                let first = start.find(bytes)?;
                if first.start() > 0 {
                    // Text before the first start belongs to no entry of the pattern; it is sent on its own.
                    return Some((&bytes[..first.start()], first.start()));
                }
                // The next start must come after this one's match, so an empty match cannot loop.
                let from = first.end().max(1);
                let second = start.find_at(bytes, from)?;
                let begin = if self.omit_pattern { first.end() } else { 0 };
                Some((&bytes[begin..second.start()], second.start()))
            }
            Boundary::End(end) => {
                let found = end.find(bytes)?;
                if found.end() == 0 {
                    return None;
                }
                let stop = if self.omit_pattern {
                    found.start()
                } else {
                    found.end()
                };
                Some((&bytes[..stop], found.end()))
            }
        }
    }

    fn trim<'b>(&self, mut entry: &'b [u8]) -> &'b [u8] {
        if self.trim_leading {
            entry = entry.trim_ascii_start();
        }
        if self.trim_trailing {
            entry = entry.trim_ascii_end();
        }
        entry
    }
}

impl<'b> Split<'b> {
    fn push(&mut self, entry: &'b [u8]) {
        // An empty line is no record, as in otelcol.
        if !entry.is_empty() {
            self.entries.push(entry);
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: ByteSize = ByteSize(1024 * 1024);

    fn texts(split: &Split<'_>) -> Vec<String> {
        split
            .entries
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    fn multiline(start: Option<&str>, end: Option<&str>) -> Splitter {
        let multiline = Multiline {
            line_start_pattern: start.map(str::to_owned),
            line_end_pattern: end.map(str::to_owned),
            omit_pattern: false,
        };
        Splitter::new(Some(&multiline), MIB, false, false).unwrap()
    }

    #[test]
    fn lines_end_at_newlines_and_the_rest_waits() {
        let splitter = Splitter::new(None, MIB, false, false).unwrap();
        let bytes = b"one\r\n  two  \n\nthree";
        let split = splitter.split(bytes, false);
        assert_eq!(texts(&split), ["one", "two"]);
        assert_eq!(split.used, bytes.len() - "three".len());
        let flushed = splitter.split(bytes, true);
        assert_eq!(texts(&flushed), ["one", "two", "three"]);
        assert_eq!(flushed.used, bytes.len());
    }

    #[test]
    fn whitespace_is_kept_when_asked() {
        let split = Splitter::new(None, MIB, true, true)
            .unwrap()
            .split(b"  a \n", false);
        assert_eq!(texts(&split), ["  a "]);
    }

    #[test]
    fn long_lines_are_cut_at_max_log_size() {
        let splitter = Splitter::new(None, ByteSize(4), false, false).unwrap();
        let split = splitter.split(b"abcdefghij\nxy\n", false);
        assert_eq!(texts(&split), ["abcd", "efgh", "ij", "xy"]);
        let unterminated = splitter.split(b"abcdefghij", false);
        assert_eq!(texts(&unterminated), ["abcd", "efgh"]);
        assert_eq!(unterminated.used, 8);
    }

    #[test]
    fn a_start_pattern_keeps_stack_traces_whole() {
        let splitter = multiline(Some(r"^\d{4}-\d{2}-\d{2}"), None);
        let bytes =
            b"preamble\n2026-01-01 boom\n  at a()\n  at b()\n2026-01-01 ok\n2026-01-02 last";
        let split = splitter.split(bytes, false);
        assert_eq!(
            texts(&split),
            [
                "preamble",
                "2026-01-01 boom\n  at a()\n  at b()",
                "2026-01-01 ok"
            ]
        );
        assert_eq!(&bytes[split.used..], b"2026-01-02 last");
        assert_eq!(
            texts(&splitter.split(&bytes[split.used..], true)),
            ["2026-01-02 last"]
        );
    }

    #[test]
    fn an_end_pattern_ends_entries() {
        let splitter = multiline(None, Some(r";$"));
        let split = splitter.split(b"a\nb;\nc;\nd", false);
        assert_eq!(texts(&split), ["a\nb;", "c;"]);
        assert_eq!(split.used, 7);
    }

    #[test]
    fn patterns_are_checked() {
        let new =
            |multiline: &Multiline| Splitter::new(Some(multiline), ByteSize(1024), false, false);
        let both = Multiline {
            line_start_pattern: Some("a".into()),
            line_end_pattern: Some("b".into()),
            omit_pattern: false,
        };
        assert!(new(&both).unwrap_err().contains("not both"));
        let bad = Multiline {
            line_start_pattern: Some("(".into()),
            ..Multiline::default()
        };
        assert!(
            new(&bad)
                .unwrap_err()
                .contains("line_start_pattern: `(` is not a regular expression")
        );
    }
}
