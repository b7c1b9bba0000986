//! Apache Thrift's binary and compact protocols, read only, as far as Jaeger's messages need: a message header, and
//! structs of integers, doubles, booleans, strings and lists, every other field skipped by its type.
//!
//! Every read is bounded by the input: a length or count larger than what is left fails instead of allocating.

/// Why the bytes are not the Thrift message expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThriftError {
    /// The input ended inside a value.
    #[error("the data ends inside a value")]
    Truncated,
    /// A byte that no Thrift type or header starts with.
    #[error("{0}")]
    Malformed(String),
    /// Structs nested deeper than any Jaeger message goes.
    #[error("structs nested more than {MAX_DEPTH} deep")]
    TooDeep,
}

/// Deeper than Jaeger's messages (Batch → Span → Log → Tag is four).
const MAX_DEPTH: usize = 32;

/// The Thrift types, as both protocols tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    Struct,
    Map,
    Set,
    List,
}

/// A field header: its type and id; for the compact protocol's booleans, the value too.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub(super) kind: Type,
    pub(super) id: i16,
    bool_value: Option<bool>,
}

/// Reading one protocol's encoding.
pub(super) trait Protocol {
    /// A message's header: its method name.
    fn message_begin(&mut self) -> Result<String, ThriftError>;
    fn struct_begin(&mut self) -> Result<(), ThriftError>;
    fn struct_end(&mut self);
    /// The next field's header, `None` at the struct's end.
    fn field(&mut self) -> Result<Option<Field>, ThriftError>;
    fn bool(&mut self, field: Option<&Field>) -> Result<bool, ThriftError>;
    fn byte(&mut self) -> Result<i8, ThriftError>;
    fn i16(&mut self) -> Result<i16, ThriftError>;
    fn i32(&mut self) -> Result<i32, ThriftError>;
    fn i64(&mut self) -> Result<i64, ThriftError>;
    fn double(&mut self) -> Result<f64, ThriftError>;
    fn binary(&mut self) -> Result<Vec<u8>, ThriftError>;
    /// A list's (or set's) element type and length.
    fn list(&mut self) -> Result<(Type, usize), ThriftError>;
    /// A map's key and value types and length.
    fn map(&mut self) -> Result<(Type, Type, usize), ThriftError>;

    fn string(&mut self) -> Result<String, ThriftError> {
        String::from_utf8(self.binary()?)
            .map_err(|_| ThriftError::Malformed("a string is not UTF-8".into()))
    }

    /// Reads past a value of type `kind` (`field` for a compact boolean field, whose value is its header).
    fn skip(&mut self, kind: Type, field: Option<&Field>, depth: usize) -> Result<(), ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        match kind {
            Type::Bool => {
                self.bool(field)?;
            }
            Type::Byte => {
                self.byte()?;
            }
            Type::I16 => {
                self.i16()?;
            }
            Type::I32 => {
                self.i32()?;
            }
            Type::I64 => {
                self.i64()?;
            }
            Type::Double => {
                self.double()?;
            }
            Type::Binary => {
                self.binary()?;
            }
            Type::Struct => {
                self.struct_begin()?;
                while let Some(inner) = self.field()? {
                    self.skip(inner.kind, Some(&inner), depth + 1)?;
                }
                self.struct_end();
            }
            Type::List | Type::Set => {
                let (element, count) = self.list()?;
                for _ in 0..count {
                    self.skip(element, None, depth + 1)?;
                }
            }
            Type::Map => {
                let (key, value, count) = self.map()?;
                for _ in 0..count {
                    self.skip(key, None, depth + 1)?;
                    self.skip(value, None, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

/// A cursor over the input.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ThriftError> {
        let end = self.at.checked_add(n).ok_or(ThriftError::Truncated)?;
        let taken = self.bytes.get(self.at..end).ok_or(ThriftError::Truncated)?;
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ThriftError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// A count of elements each at least one byte long: more than the bytes left is malformed.
    fn count(&self, count: i64) -> Result<usize, ThriftError> {
        usize::try_from(count)
            .ok()
            .filter(|n| *n <= self.left())
            .ok_or_else(|| {
                ThriftError::Malformed(format!(
                    "a count of {count} with {} bytes left",
                    self.left()
                ))
            })
    }
}

/// The binary protocol (`TBinaryProtocol`): big-endian, fixed-width integers.
pub(super) struct Binary<'a> {
    input: Input<'a>,
}

impl<'a> Binary<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Binary {
            input: Input { bytes, at: 0 },
        }
    }

    fn kind(byte: u8) -> Result<Type, ThriftError> {
        Ok(match byte {
            2 => Type::Bool,
            3 => Type::Byte,
            4 => Type::Double,
            6 => Type::I16,
            8 => Type::I32,
            10 => Type::I64,
            11 => Type::Binary,
            12 => Type::Struct,
            13 => Type::Map,
            14 => Type::Set,
            15 => Type::List,
            other => {
                return Err(ThriftError::Malformed(format!(
                    "{other} is not a Thrift binary type"
                )));
            }
        })
    }
}

impl Protocol for Binary<'_> {
    fn message_begin(&mut self) -> Result<String, ThriftError> {
        let first = self.i32()?;
        let name = if first < 0 {
            // Strict: version 1 in the high half, the message type in the low byte; then the name.
            if (first as u32) & 0xffff_0000 != 0x8001_0000 {
                return Err(ThriftError::Malformed(format!(
                    "bad Thrift binary version {first:#x}"
                )));
            }
            self.string()?
        } else {
            // Old, non-strict: the name's length first, then the name and the type byte.
            let name = self
                .input
                .take(self.input.count(i64::from(first))?)?
                .to_vec();
            self.byte()?;
            String::from_utf8(name)
                .map_err(|_| ThriftError::Malformed("a method name is not UTF-8".into()))?
        };
        self.i32()?;
        Ok(name)
    }

    fn struct_begin(&mut self) -> Result<(), ThriftError> {
        Ok(())
    }

    fn struct_end(&mut self) {}

    fn field(&mut self) -> Result<Option<Field>, ThriftError> {
        let [kind] = self.input.array::<1>()?;
        if kind == 0 {
            return Ok(None);
        }
        let kind = Binary::kind(kind)?;
        Ok(Some(Field {
            kind,
            id: self.i16()?,
            bool_value: None,
        }))
    }

    fn bool(&mut self, _: Option<&Field>) -> Result<bool, ThriftError> {
        Ok(self.input.array::<1>()?[0] != 0)
    }

    fn byte(&mut self) -> Result<i8, ThriftError> {
        Ok(self.input.array::<1>()?[0] as i8)
    }

    fn i16(&mut self) -> Result<i16, ThriftError> {
        Ok(i16::from_be_bytes(self.input.array()?))
    }

    fn i32(&mut self) -> Result<i32, ThriftError> {
        Ok(i32::from_be_bytes(self.input.array()?))
    }

    fn i64(&mut self) -> Result<i64, ThriftError> {
        Ok(i64::from_be_bytes(self.input.array()?))
    }

    fn double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_be_bytes(self.input.array()?))
    }

    fn binary(&mut self) -> Result<Vec<u8>, ThriftError> {
        let length = self.i32()?;
        let length = self.input.count(i64::from(length))?;
        Ok(self.input.take(length)?.to_vec())
    }

    fn list(&mut self) -> Result<(Type, usize), ThriftError> {
        let [kind] = self.input.array::<1>()?;
        let kind = Binary::kind(kind)?;
        let count = self.i32()?;
        Ok((kind, self.input.count(i64::from(count))?))
    }

    fn map(&mut self) -> Result<(Type, Type, usize), ThriftError> {
        let [key, value] = self.input.array::<2>()?;
        let count = self.i32()?;
        let count = if count == 0 {
            0
        } else {
            self.input.count(i64::from(count))?
        };
        Ok((Binary::kind(key)?, Binary::kind(value)?, count))
    }
}

/// The compact protocol (`TCompactProtocol`): zigzag varints, field ids as deltas, booleans in headers.
pub(super) struct Compact<'a> {
    input: Input<'a>,
    /// The last field id of each struct being read.
    last_ids: Vec<i16>,
}

impl<'a> Compact<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Compact {
            input: Input { bytes, at: 0 },
            last_ids: vec![0],
        }
    }

    fn varint(&mut self) -> Result<u64, ThriftError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let [byte] = self.input.array::<1>()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ThriftError::Malformed(
            "a varint longer than ten bytes".into(),
        ))
    }

    fn zigzag(&mut self) -> Result<i64, ThriftError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    fn kind(nibble: u8) -> Result<Type, ThriftError> {
        Ok(match nibble {
            1 | 2 => Type::Bool,
            3 => Type::Byte,
            4 => Type::I16,
            5 => Type::I32,
            6 => Type::I64,
            7 => Type::Double,
            8 => Type::Binary,
            9 => Type::List,
            10 => Type::Set,
            11 => Type::Map,
            12 => Type::Struct,
            other => {
                return Err(ThriftError::Malformed(format!(
                    "{other} is not a Thrift compact type"
                )));
            }
        })
    }
}

impl Protocol for Compact<'_> {
    fn message_begin(&mut self) -> Result<String, ThriftError> {
        let [protocol, version] = self.input.array::<2>()?;
        if protocol != 0x82 || version & 0x1f != 1 {
            return Err(ThriftError::Malformed(format!(
                "not a Thrift compact message (starts {protocol:#04x} {version:#04x})"
            )));
        }
        self.varint()?;
        self.string()
    }

    fn struct_begin(&mut self) -> Result<(), ThriftError> {
        if self.last_ids.len() > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        self.last_ids.push(0);
        Ok(())
    }

    fn struct_end(&mut self) {
        self.last_ids.pop();
    }

    fn field(&mut self) -> Result<Option<Field>, ThriftError> {
        let [header] = self.input.array::<1>()?;
        if header == 0 {
            return Ok(None);
        }
        let kind = Compact::kind(header & 0x0f)?;
        let delta = header >> 4;
        let last = self.last_ids.last().copied().unwrap_or(0);
        let id = if delta == 0 {
            // A long-form id: a zigzag i16 of its own.
            self.i16()?
        } else {
            last.wrapping_add(i16::from(delta))
        };
        if let Some(last) = self.last_ids.last_mut() {
            *last = id;
        }
        Ok(Some(Field {
            kind,
            id,
            bool_value: (kind == Type::Bool).then_some(header & 0x0f == 1),
        }))
    }

    fn bool(&mut self, field: Option<&Field>) -> Result<bool, ThriftError> {
        match field.and_then(|f| f.bool_value) {
            Some(value) => Ok(value),
            // An element of a list: a byte of its own, 1 for true.
            None => Ok(self.input.array::<1>()?[0] == 1),
        }
    }

    fn byte(&mut self) -> Result<i8, ThriftError> {
        Ok(self.input.array::<1>()?[0] as i8)
    }

    fn i16(&mut self) -> Result<i16, ThriftError> {
        i16::try_from(self.zigzag()?)
            .map_err(|_| ThriftError::Malformed("an i16 out of range".into()))
    }

    fn i32(&mut self) -> Result<i32, ThriftError> {
        i32::try_from(self.zigzag()?)
            .map_err(|_| ThriftError::Malformed("an i32 out of range".into()))
    }

    fn i64(&mut self) -> Result<i64, ThriftError> {
        self.zigzag()
    }

    fn double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_le_bytes(self.input.array()?))
    }

    fn binary(&mut self) -> Result<Vec<u8>, ThriftError> {
        let length = self.varint()?;
        let length = self
            .input
            .count(i64::try_from(length).unwrap_or(i64::MAX))?;
        Ok(self.input.take(length)?.to_vec())
    }

    fn list(&mut self) -> Result<(Type, usize), ThriftError> {
        let [header] = self.input.array::<1>()?;
        let count = match header >> 4 {
            15 => self.varint()?,
            short => u64::from(short),
        };
        let kind = Compact::kind(header & 0x0f)?;
        Ok((
            kind,
            self.input.count(i64::try_from(count).unwrap_or(i64::MAX))?,
        ))
    }

    fn map(&mut self) -> Result<(Type, Type, usize), ThriftError> {
        let count = self.varint()?;
        if count == 0 {
            return Ok((Type::Byte, Type::Byte, 0));
        }
        let count = self.input.count(i64::try_from(count).unwrap_or(i64::MAX))?;
        let [types] = self.input.array::<1>()?;
        Ok((
            Compact::kind(types >> 4)?,
            Compact::kind(types & 0x0f)?,
            count,
        ))
    }
}
