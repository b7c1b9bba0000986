//! MessagePack values, decoded from a byte stream that may hold a partial value at its end (Fluentd's Forward
//! protocol streams values over TCP with no framing of its own; Datadog's tracers post whole bodies). Every length is checked against the bytes there before
//! anything is allocated, and nesting is bounded, so hostile input costs no more than its own size.

/// How deep arrays and maps may nest.
const MAX_DEPTH: usize = 64;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::receiver) enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    Float(f64),
    /// A `str` (invalid UTF-8 replaced).
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Ext(i8, Vec<u8>),
}

impl Value {
    /// The text of a `str`, or of a `bin` holding text (some clients send keys and tags as `bin`).
    pub(in crate::receiver) fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Bin(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Why bytes are not a value: not yet complete, or not MessagePack.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::receiver) enum Incomplete {
    /// More bytes are needed.
    More,
    /// The bytes are not what was expected.
    Invalid(String),
}

/// The first value of `bytes` and how many bytes it took.
pub(in crate::receiver) fn decode(bytes: &[u8]) -> Result<(Value, usize), Incomplete> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(0)?;
    Ok((value, reader.at))
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], Incomplete> {
        let end = self.at.checked_add(n).ok_or(Incomplete::More)?;
        let slice = self.bytes.get(self.at..end).ok_or(Incomplete::More)?;
        self.at = end;
        Ok(slice)
    }

    fn uint(&mut self, n: usize) -> Result<u64, Incomplete> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn length(&mut self, n: usize) -> Result<usize, Incomplete> {
        usize::try_from(self.uint(n)?)
            .map_err(|_| Incomplete::Invalid("a length beyond memory".into()))
    }

    /// `n` elements are announced: at least one byte each must be there, or more must come.
    fn announced(&self, n: usize) -> Result<(), Incomplete> {
        if self.bytes.len() - self.at < n {
            Err(Incomplete::More)
        } else {
            Ok(())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Incomplete> {
        if depth > MAX_DEPTH {
            return Err(Incomplete::Invalid(format!(
                "nested deeper than {MAX_DEPTH}"
            )));
        }
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Value::Int(i64::from(marker)),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.length(1)?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc5 => {
                let n = self.length(2)?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc6 => {
                let n = self.length(4)?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc7 => {
                let n = self.length(1)?;
                self.ext(n)?
            }
            0xc8 => {
                let n = self.length(2)?;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.length(4)?;
                self.ext(n)?
            }
            0xca => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Float(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Int(self.uint(1)? as i64),
            0xcd => Value::Int(self.uint(2)? as i64),
            0xce => Value::Int(self.uint(4)? as i64),
            0xcf => {
                let v = self.uint(8)?;
                i64::try_from(v).map_or(Value::UInt(v), Value::Int)
            }
            0xd0 => Value::Int(i64::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::Int(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::Int(i64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::Int(self.uint(8)? as i64),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = self.length(1)?;
                self.str(n)?
            }
            0xda => {
                let n = self.length(2)?;
                self.str(n)?
            }
            0xdb => {
                let n = self.length(4)?;
                self.str(n)?
            }
            0xdc => {
                let n = self.length(2)?;
                self.array(n, depth)?
            }
            0xdd => {
                let n = self.length(4)?;
                self.array(n, depth)?
            }
            0xde => {
                let n = self.length(2)?;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.length(4)?;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::Int(i64::from(marker as i8)),
            0xc1 => return Err(Incomplete::Invalid("the never-used byte 0xc1".into())),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, Incomplete> {
        Ok(Value::Str(
            String::from_utf8_lossy(self.take(n)?).into_owned(),
        ))
    }

    fn ext(&mut self, n: usize) -> Result<Value, Incomplete> {
        let kind = self.take(1)?[0] as i8;
        Ok(Value::Ext(kind, self.take(n)?.to_vec()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, Incomplete> {
        self.announced(n)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, Incomplete> {
        self.announced(n.saturating_mul(2))?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.value(depth + 1)?;
            entries.push((key, self.value(depth + 1)?));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests;
