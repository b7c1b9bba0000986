//! The values of one attribute map leaf in the open page: dictionary indices (or plain
//! bytes after a fallback), 8-byte numbers, or booleans; and their page encodings.

use arrow::array::{Array, GenericByteArray};
use arrow::datatypes::ByteArrayType;
use parquet::basic::Encoding;

use super::hybrid;
use crate::columns::hash_bytes;

/// A position in a leaf's open page.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Mark {
    pub(super) present: usize,
    pub(super) values: usize,
    pub(super) plain_bytes: usize,
}

pub(super) fn push_valid_bytes<T: ByteArrayType<Offset = i32>>(
    values: &mut Values,
    array: &GenericByteArray<T>,
    entry: usize,
    position: usize,
) -> Option<()> {
    array.is_valid(entry).then(|| {
        let bytes: &[u8] = array.value(entry).as_ref();
        values.push_bytes(bytes, position);
    })
}

/// A leaf's values in the open page.
pub(super) enum Values {
    Bytes(ByteValues),
    /// Little-endian 8-byte values (`int`, `double`), and how they are encoded.
    Numbers(Vec<[u8; 8]>, Encoding),
    Bools(Vec<bool>),
}

impl Values {
    pub(super) fn len(&self) -> usize {
        match self {
            Values::Bytes(b) => b.len(),
            Values::Numbers(v, _) => v.len(),
            Values::Bools(v) => v.len(),
        }
    }

    pub(super) fn plain_len(&self) -> usize {
        match self {
            Values::Bytes(b) => b.plain.len(),
            _ => 0,
        }
    }

    pub(super) fn repeat(&mut self, start: Mark, end: Mark) {
        match self {
            Values::Bytes(b) => b.repeat(start, end),
            Values::Numbers(v, _) => v.extend_from_within(start.values..end.values),
            Values::Bools(v) => v.extend_from_within(start.values..end.values),
        }
    }

    pub(super) fn push_bytes(&mut self, bytes: &[u8], position: usize) {
        if let Values::Bytes(b) = self {
            b.push(bytes, position);
        }
    }

    pub(super) fn push_number(&mut self, le: [u8; 8]) {
        if let Values::Numbers(v, _) = self {
            v.push(le);
        }
    }

    pub(super) fn push_bool(&mut self, value: bool) {
        if let Values::Bools(v) = self {
            v.push(value);
        }
    }

    /// The open page's values as encoded, to size pages and row groups by.
    pub(super) fn page_bytes(&self) -> usize {
        match self {
            Values::Bytes(b) => b.page_bytes(),
            Values::Numbers(v, _) => v.len() * 8,
            Values::Bools(v) => v.len() / 8,
        }
    }

    pub(super) fn dictionary_bytes(&self) -> usize {
        match self {
            Values::Bytes(b) if b.dictionary_encoding => b.dictionary.page.len(),
            _ => 0,
        }
    }

    pub(super) fn fall_back(&mut self) {
        if let Values::Bytes(b) = self {
            b.dictionary_encoding = false;
        }
    }

    /// Appends the open page's values to `out`, and empties them; gives their encoding.
    pub(super) fn encode_page(&mut self, out: &mut Vec<u8>) -> Encoding {
        match self {
            Values::Bytes(b) => b.encode_page(out),
            Values::Numbers(v, encoding) => {
                if *encoding == Encoding::BYTE_STREAM_SPLIT {
                    for byte in 0..8 {
                        out.extend(v.iter().map(|value| value[byte]));
                    }
                } else {
                    out.extend(v.iter().flatten());
                }
                v.clear();
                *encoding
            }
            Values::Bools(v) => {
                for group in v.chunks(8) {
                    let byte = group
                        .iter()
                        .enumerate()
                        .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
                    out.push(byte);
                }
                v.clear();
                Encoding::PLAIN
            }
        }
    }

    pub(super) fn take_dictionary_page(&mut self) -> Option<(Vec<u8>, u32)> {
        match self {
            Values::Bytes(b) if b.dictionary_enabled => Some(b.take_dictionary_page()),
            _ => None,
        }
    }
}

/// Strings or bytes: dictionary indices while the dictionary is within its limit, plain
/// values after.
pub(super) struct ByteValues {
    /// Whether the chunk starts with a dictionary (the properties' choice).
    dictionary_enabled: bool,
    /// Whether values still go to the dictionary; false after a fallback.
    dictionary_encoding: bool,
    dictionary: Dictionary,
    indices: Vec<u32>,
    /// Plain values: 4-byte little-endian length, then the bytes.
    plain: Vec<u8>,
    plain_values: usize,
    /// The dictionary index each entry position had in the last row written from its
    /// columns: rows of one kind list the same keys in the same order.
    predicted: Vec<u32>,
}

impl ByteValues {
    pub(super) fn new(dictionary: bool) -> Self {
        Self {
            dictionary_enabled: dictionary,
            dictionary_encoding: dictionary,
            dictionary: Dictionary::default(),
            indices: Vec::new(),
            plain: Vec::new(),
            plain_values: 0,
            predicted: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        if self.dictionary_encoding {
            self.indices.len()
        } else {
            self.plain_values
        }
    }

    fn push(&mut self, bytes: &[u8], position: usize) {
        if self.dictionary_encoding {
            let predicted = self.predicted.get(position).copied();
            let id = self.dictionary.intern(bytes, predicted);
            self.indices.push(id);
            match self.predicted.get_mut(position) {
                Some(slot) => *slot = id,
                None => self.predicted.push(id),
            }
        } else {
            self.plain
                .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            self.plain.extend_from_slice(bytes);
            self.plain_values += 1;
        }
    }

    pub(super) fn repeat(&mut self, start: Mark, end: Mark) {
        if self.dictionary_encoding {
            self.indices.extend_from_within(start.values..end.values);
        } else {
            self.plain_values += end.values - start.values;
            self.plain
                .extend_from_within(start.plain_bytes..end.plain_bytes);
        }
    }

    pub(super) fn page_bytes(&self) -> usize {
        if self.dictionary_encoding {
            self.indices.len() * usize::from(self.dictionary.index_width()) / 8
        } else {
            self.plain.len()
        }
    }

    pub(super) fn encode_page(&mut self, out: &mut Vec<u8>) -> Encoding {
        if self.dictionary_encoding {
            let bit_width = self.dictionary.index_width();
            out.push(bit_width);
            hybrid::encode(&self.indices, bit_width, out);
            self.indices.clear();
            Encoding::RLE_DICTIONARY
        } else {
            out.extend_from_slice(&self.plain);
            self.plain.clear();
            self.plain_values = 0;
            Encoding::PLAIN
        }
    }

    /// The dictionary page (plain values) and its value count; the next chunk starts a
    /// dictionary of its own.
    pub(super) fn take_dictionary_page(&mut self) -> (Vec<u8>, u32) {
        let count = self.dictionary.len() as u32;
        let page = std::mem::take(&mut self.dictionary).page;
        self.dictionary_encoding = self.dictionary_enabled;
        self.predicted.clear();
        (page, count)
    }
}

/// Distinct values in first-seen order, kept as the plain-encoded dictionary page they
/// become; the hash table holds only their ids.
pub(super) struct Dictionary {
    table: hashbrown::HashTable<(u64, u32)>,
    /// Where each value's bytes are in `page`.
    ranges: Vec<(u32, u32)>,
    page: Vec<u8>,
    /// Whether each value in the page follows its length (4 bytes, little-endian), as
    /// plain `BYTE_ARRAY` values do; fixed-width values (`INT32`) go in bare.
    length_prefixed: bool,
}

impl Default for Dictionary {
    /// A dictionary of byte strings.
    fn default() -> Self {
        Self {
            table: hashbrown::HashTable::new(),
            ranges: Vec::new(),
            page: Vec::new(),
            length_prefixed: true,
        }
    }
}

impl Dictionary {
    /// A dictionary of fixed-width values, each given as its plain encoding.
    pub(super) fn fixed_width() -> Self {
        Self {
            length_prefixed: false,
            ..Self::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Bits of an index into the dictionary as it stands ([`hybrid::index_width`]).
    pub(super) fn index_width(&self) -> u8 {
        hybrid::index_width(self.len().saturating_sub(1) as u32)
    }

    /// The bytes of the dictionary page so far.
    pub(super) fn page_len(&self) -> usize {
        self.page.len()
    }

    pub(super) fn get(&self, id: u32) -> Option<&[u8]> {
        let &(start, len) = self.ranges.get(id as usize)?;
        self.page.get(start as usize..(start + len) as usize)
    }

    /// The dictionary page (plain values) and its value count; the dictionary starts over.
    pub(super) fn take_page(&mut self) -> (Vec<u8>, u32) {
        let count = self.len() as u32;
        self.table.clear();
        self.ranges.clear();
        (std::mem::take(&mut self.page), count)
    }

    /// The id of `bytes`, added if new; `predicted`, an id `bytes` is likely to have, is
    /// compared first, which spares the hash when values repeat.
    #[inline]
    pub(super) fn intern(&mut self, bytes: &[u8], predicted: Option<u32>) -> u32 {
        if let Some(id) = predicted
            && self.get(id) == Some(bytes)
        {
            return id;
        }
        let hash = hash_bytes(bytes);
        let (ranges, page) = (&self.ranges, &self.page);
        let found = self.table.find(hash, |&(stored, id)| {
            stored == hash && {
                let (start, len) = ranges[id as usize];
                &page[start as usize..(start + len) as usize] == bytes
            }
        });
        if let Some(&(_, id)) = found {
            return id;
        }
        let id = self.ranges.len() as u32;
        if self.length_prefixed {
            self.page
                .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
        self.ranges
            .push((self.page.len() as u32, bytes.len() as u32));
        self.page.extend_from_slice(bytes);
        self.table
            .insert_unique(hash, (hash, id), |&(stored, _)| stored);
        id
    }
}
