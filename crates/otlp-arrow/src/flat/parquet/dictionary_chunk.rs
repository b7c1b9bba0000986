//! A top-level string or `UInt32` column whose values come in runs (a resource's and a
//! scope's columns: the same service, scope and schema URLs on every item under them),
//! dictionary-encoded a run at a time.
//!
//! parquet-rs's column writer hashes every row's value into its dictionary and walks its
//! definition levels one by one. Here a row equal to the one before it costs a comparison
//! with that row's dictionary value, and a run-end encoded column one lookup per run; its
//! indices and levels then go to the page as RLE runs. The chunk is laid out as parquet-rs
//! lays it out (a dictionary page, version 1 data pages, a plain fallback once the
//! dictionary outgrows its limit), with the same statistics and column index, so a reader
//! cannot tell the two apart.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int32Type};
use bytes::Bytes;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::file::metadata::ColumnIndexBuilder;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;

use super::attributes_chunk::ChunkLimits;
use super::chunk::{ChunkIndex, ChunkPages, PageCompressor, write_chunk};
use super::hybrid;
use super::leaf_values::Dictionary;
use crate::Error;

/// How the column's values are ordered and laid out in plain pages.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `Utf8`: byte strings, ordered bytewise, plain values after their length.
    Utf8,
    /// `UInt32`, stored as `INT32`: 4 bytes little-endian, ordered as unsigned numbers.
    UInt32,
}

impl Kind {
    fn less(self, a: &[u8], b: &[u8]) -> bool {
        match self {
            Kind::Utf8 => a < b,
            Kind::UInt32 => u32_of(a) < u32_of(b),
        }
    }
}

fn u32_of(bytes: &[u8]) -> u32 {
    bytes.try_into().map(u32::from_le_bytes).unwrap_or_default()
}

/// At most `limit` bytes of `value` that sort at or below it: a prefix cut at a character
/// boundary, as parquet-rs truncates a string column's minimum; and whether it was cut.
fn lower_bound(kind: Kind, value: &[u8], limit: Option<usize>) -> (Vec<u8>, bool) {
    let cut = limit
        .filter(|&limit| kind == Kind::Utf8 && value.len() > limit)
        .and_then(|limit| {
            let text = std::str::from_utf8(value).ok()?;
            let split = (1..=limit).rfind(|&at| text.is_char_boundary(at))?;
            Some(value[..split].to_vec())
        });
    match cut {
        Some(cut) => (cut, true),
        None => (value.to_vec(), false),
    }
}

/// At most `limit` bytes that sort at or above `value` and every string it starts: a
/// prefix whose last character is incremented, as parquet-rs truncates a string column's
/// maximum; and whether it was cut.
fn upper_bound(kind: Kind, value: &[u8], limit: Option<usize>) -> (Vec<u8>, bool) {
    let cut = limit
        .filter(|&limit| kind == Kind::Utf8 && value.len() > limit)
        .and_then(|limit| {
            let text = std::str::from_utf8(value).ok()?;
            // A character is at most 4 bytes: a boundary is within 3 of the limit.
            let split = (limit.saturating_sub(3)..=limit).rfind(|&at| text.is_char_boundary(at))?;
            let prefix = text.get(..split)?;
            prefix.char_indices().rev().find_map(|(at, last)| {
                let next = char::from_u32(last as u32 + 1)?;
                // An incremented character keeps its width, or the prefix would grow.
                (next.len_utf8() == last.len_utf8()).then(|| {
                    let mut bound = prefix.as_bytes()[..at + last.len_utf8()].to_vec();
                    next.encode_utf8(&mut bound[at..]);
                    bound
                })
            })
        });
    match cut {
        Some(cut) => (cut, true),
        None => (value.to_vec(), false),
    }
}

/// The smallest and largest value seen, and the nulls.
#[derive(Debug, Default, Clone)]
struct Bounds {
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
    nulls: u64,
}

impl Bounds {
    fn include(&mut self, kind: Kind, value: &[u8]) {
        if self.min.as_deref().is_none_or(|min| kind.less(value, min)) {
            self.min = Some(value.to_vec());
        }
        if self.max.as_deref().is_none_or(|max| kind.less(max, value)) {
            self.max = Some(value.to_vec());
        }
    }

    fn merge(&mut self, kind: Kind, other: &Bounds) {
        for value in [&other.min, &other.max].into_iter().flatten() {
            self.include(kind, value);
        }
        self.nulls += other.nulls;
    }
}

/// One column chunk in the open row group.
pub(super) struct DictionaryChunk {
    descr: ColumnDescPtr,
    kind: Kind,
    nullable: bool,
    statistics: EnabledStatistics,
    /// Longest minimum and maximum in the chunk's statistics and in its column index.
    statistics_bytes: Option<usize>,
    column_index_bytes: Option<usize>,
    limits: ChunkLimits,
    page_bytes: usize,
    dictionary_bytes: usize,
    dictionary: Dictionary,
    /// False once the dictionary has outgrown its limit: the rest of the chunk is plain.
    dictionary_encoding: bool,
    /// The open page: a definition level per row (nullable columns), the dictionary index
    /// (or plain value) of each row that has a value, and their bounds.
    levels: Vec<u32>,
    indices: Vec<u32>,
    plain: Vec<u8>,
    rows: usize,
    page: Bounds,
    /// The last value's dictionary index, whose bounds are already counted in the page.
    last: Option<u32>,
    chunk: Bounds,
    column_index: Option<ColumnIndexBuilder>,
    pages: Vec<(CompressedPage, usize)>,
    rows_in_chunk: u64,
    scratch: Vec<u8>,
}

impl DictionaryChunk {
    /// The encoder of the top-level column `descr`, or `None` if it is not a string or
    /// `UInt32` column the properties dictionary-encode (parquet-rs's writer then takes it).
    pub(super) fn new(
        descr: &ColumnDescPtr,
        data_type: &DataType,
        props: &WriterProperties,
        limits: ChunkLimits,
    ) -> Result<Option<Self>, Error> {
        let kind = match (data_type, descr.physical_type()) {
            (DataType::Utf8, PhysicalType::BYTE_ARRAY) => Kind::Utf8,
            (DataType::UInt32, PhysicalType::INT32) => Kind::UInt32,
            _ => return Ok(None),
        };
        let path = descr.path();
        let encoding = props.encoding(path);
        if descr.max_rep_level() != 0
            || descr.max_def_level() > 1
            || !props.dictionary_enabled(path)
            || !matches!(encoding, None | Some(Encoding::PLAIN))
        {
            return Ok(None);
        }
        let statistics = props.statistics_enabled(path);
        Ok(Some(Self {
            descr: descr.clone(),
            kind,
            nullable: descr.max_def_level() == 1,
            statistics,
            statistics_bytes: props.statistics_truncate_length(),
            column_index_bytes: props.column_index_truncate_length(),
            limits,
            page_bytes: props.data_page_size_limit(),
            dictionary_bytes: props.dictionary_page_size_limit(),
            dictionary: match kind {
                Kind::Utf8 => Dictionary::default(),
                Kind::UInt32 => Dictionary::fixed_width(),
            },
            dictionary_encoding: true,
            levels: Vec::new(),
            indices: Vec::new(),
            plain: Vec::new(),
            rows: 0,
            page: Bounds::default(),
            last: None,
            chunk: Bounds::default(),
            column_index: None,
            pages: Vec::new(),
            rows_in_chunk: 0,
            scratch: Vec::new(),
        }))
    }

    /// Appends every row of `column`: an array of the column's type, or that array run-end
    /// encoded. The pages it fills are compressed with `zstd`.
    pub(super) fn write(
        &mut self,
        column: &ArrayRef,
        zstd: &mut PageCompressor,
    ) -> Result<(), Error> {
        if let Some(runs) = column.as_run_opt::<Int32Type>() {
            let values = runs.values();
            let first = runs.run_ends().get_start_physical_index();
            let mut start = 0;
            // `sliced_values` clips the runs to the array's slice, relative to its start.
            for (i, end) in runs.run_ends().sliced_values().enumerate() {
                let rows = (end as usize).saturating_sub(start);
                start = end as usize;
                self.write_value(values, first + i, rows, zstd)?;
            }
        } else {
            for row in 0..column.len() {
                self.write_value(column, row, 1, zstd)?;
            }
        }
        Ok(())
    }

    /// Appends `rows` rows of `values[index]`.
    fn write_value(
        &mut self,
        values: &ArrayRef,
        index: usize,
        rows: usize,
        zstd: &mut PageCompressor,
    ) -> Result<(), Error> {
        if rows == 0 {
            return Ok(());
        }
        if values.is_null(index) {
            if !self.nullable {
                return Err(Error::InvalidData {
                    table: "flat rows",
                    reason: format!("null in the non-nullable column {}", self.descr.name()),
                });
            }
            return self.push_rows(None, rows, zstd);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match (self.kind, values.data_type()) {
            (Kind::Utf8, DataType::Utf8) => {
                scratch.extend_from_slice(values.as_string::<i32>().value(index).as_bytes());
            }
            (Kind::UInt32, DataType::UInt32) => {
                let number = values
                    .as_primitive::<arrow::datatypes::UInt32Type>()
                    .value(index);
                scratch.extend_from_slice(&number.to_le_bytes());
            }
            (_, other) => {
                self.scratch = scratch;
                return Err(Error::NotOtlpArrow(format!(
                    "column {} holds {other}",
                    self.descr.name()
                )));
            }
        }
        let pushed = self.push_rows(Some(&scratch), rows, zstd);
        self.scratch = scratch;
        pushed
    }

    /// Appends `rows` rows of `value` (`None`: null), ending pages where they fill up.
    fn push_rows(
        &mut self,
        value: Option<&[u8]>,
        mut rows: usize,
        zstd: &mut PageCompressor,
    ) -> Result<(), Error> {
        while rows > 0 {
            let taken = rows.min(self.limits.page_rows - self.rows);
            self.push_in_page(value, taken);
            rows -= taken;
            if self.page_is_full() {
                self.end_page(zstd)?;
            }
        }
        Ok(())
    }

    fn push_in_page(&mut self, value: Option<&[u8]>, rows: usize) {
        self.rows += rows;
        let Some(value) = value else {
            self.levels.extend(std::iter::repeat_n(0, rows));
            self.page.nulls += rows as u64;
            return;
        };
        if self.nullable {
            self.levels.extend(std::iter::repeat_n(1, rows));
        }
        if self.dictionary_encoding {
            let id = self.dictionary.intern(value, self.last);
            if self.last != Some(id) {
                self.page.include(self.kind, value);
                self.last = Some(id);
            }
            self.indices.extend(std::iter::repeat_n(id, rows));
        } else {
            self.page.include(self.kind, value);
            for _ in 0..rows {
                if self.kind == Kind::Utf8 {
                    self.plain
                        .extend_from_slice(&(value.len() as u32).to_le_bytes());
                }
                self.plain.extend_from_slice(value);
            }
        }
    }

    /// The open page's values as encoded.
    fn open_page_bytes(&self) -> usize {
        if self.dictionary_encoding {
            self.indices.len() * usize::from(self.dictionary.index_width()) / 8
        } else {
            self.plain.len()
        }
    }

    fn page_is_full(&self) -> bool {
        self.rows >= self.limits.page_rows
            || self.open_page_bytes() >= self.page_bytes
            || (self.dictionary_encoding && self.dictionary.page_len() > self.dictionary_bytes)
    }

    /// Encodes and compresses the open page.
    fn end_page(&mut self, zstd: &mut PageCompressor) -> Result<(), Error> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut page = Vec::new();
        if self.nullable {
            hybrid::encode_levels(&self.levels, 1, &mut page);
        }
        let encoding = if self.dictionary_encoding {
            let bit_width = self.dictionary.index_width();
            page.push(bit_width);
            hybrid::encode(&self.indices, bit_width, &mut page);
            Encoding::RLE_DICTIONARY
        } else {
            page.extend_from_slice(&self.plain);
            Encoding::PLAIN
        };
        let data = Page::DataPage {
            buf: zstd.compress(&page)?,
            num_values: self.rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        self.pages
            .push((CompressedPage::new(data, page.len()), self.rows));
        if self.statistics == EnabledStatistics::Page && self.limits.offset_index {
            let index = self
                .column_index
                .get_or_insert_with(|| ColumnIndexBuilder::new(self.descr.physical_type()));
            let (kind, limit, page) = (self.kind, self.column_index_bytes, &self.page);
            // A null page has no bounds: empty ones, as the format asks.
            let min = page.min.as_deref().map(|v| lower_bound(kind, v, limit).0);
            let max = page.max.as_deref().map(|v| upper_bound(kind, v, limit).0);
            index.append(
                page.min.is_none(),
                min.unwrap_or_default(),
                max.unwrap_or_default(),
                page.nulls as i64,
                None,
            );
        }
        self.chunk.merge(self.kind, &self.page);
        self.page = Bounds::default();
        self.last = None;
        self.rows_in_chunk += self.rows as u64;
        self.rows = 0;
        self.levels.clear();
        self.indices.clear();
        self.plain.clear();
        // A dictionary past its limit has taken its last value: the rest of the chunk is
        // plain, as parquet-rs falls back.
        if self.dictionary.page_len() > self.dictionary_bytes {
            self.dictionary_encoding = false;
        }
        Ok(())
    }

    /// Bytes the open row group's chunk will take at most.
    pub(super) fn estimated_bytes(&self) -> usize {
        self.pages
            .iter()
            .map(|(page, _)| page.data().len())
            .sum::<usize>()
            + self.open_page_bytes()
            + self.dictionary.page_len()
            + self.levels.len() / 8
    }

    /// The chunk's statistics, as parquet-rs gives a column of this type.
    fn statistics(&self) -> Option<Statistics> {
        if self.statistics == EnabledStatistics::None {
            return None;
        }
        let Bounds { min, max, nulls } = &self.chunk;
        Some(match self.kind {
            Kind::Utf8 => {
                let limit = self.statistics_bytes;
                let min = min.as_deref().map(|v| lower_bound(self.kind, v, limit));
                let max = max.as_deref().map(|v| upper_bound(self.kind, v, limit));
                // A bound is exact when there is one and it was not cut.
                let exact = |bound: &Option<(Vec<u8>, bool)>| bound.as_ref().is_some_and(|b| !b.1);
                let (min_exact, max_exact) = (exact(&min), exact(&max));
                Statistics::ByteArray(
                    ValueStatistics::new(
                        min.map(|b| ByteArray::from(b.0)),
                        max.map(|b| ByteArray::from(b.0)),
                        None,
                        Some(*nulls),
                        false,
                    )
                    .with_min_is_exact(min_exact)
                    .with_max_is_exact(max_exact),
                )
            }
            Kind::UInt32 => Statistics::int32(
                min.as_deref().map(|v| u32_of(v) as i32),
                max.as_deref().map(|v| u32_of(v) as i32),
                None,
                Some(*nulls),
                false,
            ),
        })
    }

    /// Ends the row group: the column chunk, with what its row group needs to know of it.
    /// The encoder is ready for the next row group.
    pub(super) fn close(
        &mut self,
        zstd: &mut PageCompressor,
    ) -> Result<(Bytes, ColumnCloseResult), Error> {
        self.end_page(zstd)?;
        let index = ChunkIndex {
            statistics: self.statistics(),
            column_index: self.column_index.take().map(|b| b.build()).transpose()?,
            offset_index: self.limits.offset_index,
        };
        let pages = ChunkPages {
            dictionary: Some(self.dictionary.take_page()),
            pages: std::mem::take(&mut self.pages),
            rows: self.rows_in_chunk,
            num_values: self.rows_in_chunk,
        };
        let closed = write_chunk(&self.descr, zstd, pages, index);
        self.chunk = Bounds::default();
        self.rows_in_chunk = 0;
        self.dictionary_encoding = true;
        closed
    }
}

#[cfg(test)]
mod tests;
