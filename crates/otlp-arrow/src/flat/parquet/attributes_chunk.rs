//! An attribute map column (`Map<Utf8, Struct<str, int, double, bool, bytes, json>>`)
//! encoded into its seven Parquet column chunks a row at a time.
//!
//! parquet-rs's Arrow writer sees the map as seven unrelated leaves, and for every row
//! walks each leaf's repetition and definition levels and hashes each string into its
//! dictionary. But a resource's attributes repeat on every span of the resource, twenty of
//! them on otlp-testkit's services: here a row equal to the row before it is written by
//! copying that row's dictionary indices and presence flags, with no hashing and no level
//! walk. A page's levels follow from its rows' entry counts and the leaves' presence
//! flags, so they are derived once, when the page ends.
//!
//! The chunks are laid out as parquet-rs lays them out (version 1 data pages, levels and
//! values compressed together, the dictionary page first, falling back to plain values
//! once a dictionary outgrows its limit), so a reader cannot tell them apart.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, AsArray, MapArray, RunArray};
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnDescPtr;

use super::chunk::{ChunkIndex, ChunkPages, PageCompressor, write_chunk};
use super::hybrid;
use super::leaf_values::{ByteValues, Mark, Values, push_valid_bytes};
use super::map_rows::MapView;
use crate::Error;

/// Leaves of an attribute map, in schema order: the key, then the value struct's fields.
const LEAVES: usize = 7;

/// How the chunks are cut and compressed; the rest comes from the writer properties.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkLimits {
    /// A page ends after this many rows.
    pub(super) page_rows: usize,
    pub(super) zstd_level: i32,
    /// Whether the row group's offset index (page locations) is written.
    pub(super) offset_index: bool,
    /// Rows of list columns gathered before parquet-rs computes their levels.
    pub(super) list_gather_rows: usize,
}

/// The seven column chunks of one attribute map column in the open row group.
pub(super) struct AttributesChunk {
    column: Arc<str>,
    leaves: Vec<Leaf>,
    /// Whether the map itself may be null, which spends definition level 1 on "present".
    nullable: bool,
    /// Entry count of each row of the open page, or -1 for a null map.
    rows: Vec<i32>,
    rows_in_chunk: u64,
    /// Whether the open page ends with a row written from its columns (not repeated), the
    /// one each leaf's `last_row` marks.
    last_row_fresh: bool,
    /// How often rows have equalled the row before them lately: comparing is only worth
    /// its cost on a column whose rows repeat (a resource's attributes, not a span's).
    repeats: RepeatScore,
    limits: ChunkLimits,
    page_bytes: usize,
    dictionary_bytes: usize,
    levels: Vec<u32>,
    page: Vec<u8>,
}

impl std::fmt::Debug for AttributesChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttributesChunk")
            .field("column", &self.column)
            .field("rows", &self.rows_in_chunk)
            .finish_non_exhaustive()
    }
}

impl AttributesChunk {
    /// The encoder of an attribute map column whose leaves are `descrs`, or `None` when
    /// the properties ask for an encoding it does not write (parquet-rs's own writer then
    /// takes the column).
    pub(super) fn new(
        descrs: &[ColumnDescPtr],
        nullable: bool,
        props: &WriterProperties,
        limits: ChunkLimits,
    ) -> Result<Option<Self>, Error> {
        use PhysicalType::{BOOLEAN, BYTE_ARRAY, DOUBLE, INT64};
        let expected = [
            BYTE_ARRAY, BYTE_ARRAY, INT64, DOUBLE, BOOLEAN, BYTE_ARRAY, BYTE_ARRAY,
        ];
        let map_def = i16::from(nullable);
        let shaped = descrs.len() == LEAVES
            && descrs.iter().zip(expected).enumerate().all(|(i, (d, ty))| {
                let def = if i == 0 { map_def + 1 } else { map_def + 2 };
                d.physical_type() == ty && d.max_rep_level() == 1 && d.max_def_level() == def
            });
        if !shaped {
            return Err(Error::InvalidOptions(format!(
                "{:?} is not an attribute map's seven leaves",
                descrs.first().map(|d| d.path().string())
            )));
        }
        let mut leaves = Vec::with_capacity(LEAVES);
        for (i, descr) in descrs.iter().enumerate() {
            let path = descr.path();
            let encoding = props.encoding(path);
            let values = match descr.physical_type() {
                BYTE_ARRAY if matches!(encoding, None | Some(Encoding::PLAIN)) => {
                    Values::Bytes(ByteValues::new(props.dictionary_enabled(path)))
                }
                INT64 | DOUBLE if !props.dictionary_enabled(path) => match encoding {
                    Some(Encoding::PLAIN) => Values::Numbers(Vec::new(), Encoding::PLAIN),
                    Some(Encoding::BYTE_STREAM_SPLIT) => {
                        Values::Numbers(Vec::new(), Encoding::BYTE_STREAM_SPLIT)
                    }
                    _ => return Ok(None),
                },
                BOOLEAN if matches!(encoding, None | Some(Encoding::PLAIN)) => {
                    Values::Bools(Vec::new())
                }
                _ => return Ok(None),
            };
            leaves.push(Leaf {
                descr: descr.clone(),
                child: i.checked_sub(1),
                values,
                present: Vec::new(),
                last_row: Default::default(),
                pages: Vec::new(),
                page_rows: Vec::new(),
                levels_in_chunk: 0,
            });
        }
        Ok(Some(Self {
            column: Arc::from(descrs[0].path().parts()[0].as_str()),
            leaves,
            nullable,
            rows: Vec::new(),
            rows_in_chunk: 0,
            last_row_fresh: false,
            repeats: RepeatScore::default(),
            limits,
            page_bytes: props.data_page_size_limit(),
            dictionary_bytes: props.dictionary_page_size_limit(),
            levels: Vec::new(),
            page: Vec::new(),
        }))
    }

    /// Appends every row of `map`, compressing the pages it fills with `zstd`.
    pub(super) fn write(&mut self, map: &MapArray, zstd: &mut PageCompressor) -> Result<(), Error> {
        let column = Arc::clone(&self.column);
        let view = MapView::new(map, &column)?;
        // Rows are compared with the row before them in the same array; the first row of
        // each array is written from its columns.
        self.last_row_fresh = false;
        for row in 0..map.len() {
            self.append(&view, row, row.checked_sub(1), zstd)?;
        }
        Ok(())
    }

    /// Appends every row of `runs`, run-end encoded maps: a run's rows are its map's
    /// encoding repeated, with no comparing.
    pub(super) fn write_runs(
        &mut self,
        runs: &RunArray<Int32Type>,
        zstd: &mut PageCompressor,
    ) -> Result<(), Error> {
        let map = runs.values().as_map_opt().ok_or_else(|| {
            Error::NotOtlpArrow(format!("column {} runs are not maps", self.column))
        })?;
        let column = Arc::clone(&self.column);
        let view = MapView::new(map, &column)?;
        let ends = runs.run_ends();
        let first = ends.get_start_physical_index();
        self.last_row_fresh = false;
        let mut start = 0;
        // `sliced_values` clips the runs to the array's slice, relative to its start.
        for (i, end) in ends.sliced_values().enumerate() {
            let (value, rows) = (first + i, (end as usize).saturating_sub(start));
            start = end as usize;
            if rows == 0 {
                continue;
            }
            self.append(&view, value, value.checked_sub(1).filter(|_| i > 0), zstd)?;
            for _ in 1..rows {
                if self.last_row_fresh {
                    self.repeat_last_row();
                } else {
                    self.write_row(&view, value);
                }
                if self.page_is_full() {
                    self.end_page(zstd)?;
                }
            }
        }
        Ok(())
    }

    /// Appends `row` of `view`, copying the last row's encoding if `row` equals
    /// `previous`, the row of `view` written last.
    fn append(
        &mut self,
        view: &MapView<'_>,
        row: usize,
        previous: Option<usize>,
        zstd: &mut PageCompressor,
    ) -> Result<(), Error> {
        self.check_nullable(view, row)?;
        match previous {
            Some(previous)
                if self.last_row_fresh
                    && self.repeats.worth_comparing(row)
                    && self.repeats.record(view.same_rows(previous, row)) =>
            {
                self.repeat_last_row();
            }
            _ => self.write_row(view, row),
        }
        if self.page_is_full() {
            self.end_page(zstd)?;
        }
        Ok(())
    }

    fn check_nullable(&self, view: &MapView<'_>, row: usize) -> Result<(), Error> {
        if !self.nullable && view.entries(row).is_none() {
            return Err(Error::InvalidData {
                table: "attributes",
                reason: format!("null in the non-nullable map column {}", self.column),
            });
        }
        Ok(())
    }

    fn write_row(&mut self, view: &MapView<'_>, row: usize) {
        let entries = view.entries(row);
        self.rows.push(match entries {
            None => -1,
            Some(ref range) => range.len() as i32,
        });
        for leaf in &mut self.leaves {
            let start = leaf.mark();
            if let Some(range) = entries.clone() {
                leaf.write_entries(view, range);
            }
            leaf.last_row = (start, leaf.mark());
        }
        self.last_row_fresh = true;
    }

    fn repeat_last_row(&mut self) {
        if let Some(&entries) = self.rows.last() {
            self.rows.push(entries);
        }
        for leaf in &mut self.leaves {
            leaf.repeat(leaf.last_row);
        }
    }

    fn page_is_full(&self) -> bool {
        self.rows.len() >= self.limits.page_rows
            || self.leaves.iter().any(|leaf| {
                leaf.values.page_bytes() >= self.page_bytes
                    || leaf.values.dictionary_bytes() > self.dictionary_bytes
            })
    }

    /// Encodes and compresses the open page of every leaf.
    fn end_page(&mut self, zstd: &mut PageCompressor) -> Result<(), Error> {
        if self.rows.is_empty() {
            return Ok(());
        }
        // Repetition levels are the same for every leaf: 0 opens a row, 1 continues it.
        self.levels.clear();
        for &entries in &self.rows {
            self.levels.push(0);
            let more = usize::try_from(entries).unwrap_or(0).saturating_sub(1);
            self.levels.extend(std::iter::repeat_n(1, more));
        }
        let num_values = self.levels.len() as u32;
        let mut repetition = Vec::new();
        hybrid::encode_levels(&self.levels, 1, &mut repetition);

        let map_def = u32::from(self.nullable);
        // A value field with no value in the page (most pages of `double`, `bool`,
        // `bytes`, `json`) has the same levels as every other such field: encoded once.
        let mut valueless: Option<Vec<u8>> = None;
        for leaf in &mut self.leaves {
            self.page.clear();
            self.page.extend_from_slice(&repetition);
            let bit_width = hybrid::bit_width(leaf.descr.max_def_level() as u32);
            match &valueless {
                Some(levels) if leaf.child.is_some() && leaf.values.len() == 0 => {
                    self.page.extend_from_slice(levels);
                }
                _ => {
                    let from = self.page.len();
                    leaf.definition_levels(&self.rows, map_def, &mut self.levels);
                    hybrid::encode_levels(&self.levels, bit_width, &mut self.page);
                    if leaf.child.is_some() && leaf.values.len() == 0 {
                        valueless = Some(self.page[from..].to_vec());
                    }
                }
            }
            let encoding = leaf.values.encode_page(&mut self.page);
            let page = Page::DataPage {
                buf: zstd.compress(&self.page)?,
                num_values,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            leaf.pages.push(CompressedPage::new(page, self.page.len()));
            leaf.page_rows.push(self.rows.len());
            leaf.levels_in_chunk += u64::from(num_values);
            leaf.present.clear();
            // A dictionary past its limit has taken its last value: the rest of the
            // chunk is plain, as parquet-rs falls back.
            if leaf.values.dictionary_bytes() > self.dictionary_bytes {
                leaf.values.fall_back();
            }
        }
        self.rows_in_chunk += self.rows.len() as u64;
        self.rows.clear();
        self.last_row_fresh = false;
        Ok(())
    }

    /// Bytes the open row group's chunks will take at most, compressed pages so far and
    /// the open page as encoded.
    pub(super) fn estimated_bytes(&self) -> usize {
        self.leaves
            .iter()
            .map(|leaf| {
                leaf.pages.iter().map(|p| p.data().len()).sum::<usize>()
                    + leaf.values.page_bytes()
                    + leaf.values.dictionary_bytes()
                    + leaf.present.len() / 4
            })
            .sum()
    }

    /// Ends the row group: each leaf's column chunk, with what its row group needs to
    /// know of it, in schema order. The encoder is ready for the next row group.
    pub(super) fn close(
        &mut self,
        zstd: &mut PageCompressor,
    ) -> Result<Vec<(Bytes, ColumnCloseResult)>, Error> {
        self.end_page(zstd)?;
        let mut chunks = Vec::with_capacity(LEAVES);
        for leaf in &mut self.leaves {
            chunks.push(leaf.close(zstd, self.rows_in_chunk, self.limits.offset_index)?);
        }
        self.rows_in_chunk = 0;
        Ok(chunks)
    }
}

/// A score of recent comparisons: a repeat counts up by 4, a difference down by 1, so
/// comparing goes on while at least one row in five repeats the one before it. Below
/// that, one row in 32 is still compared, to notice when repeats come back.
#[derive(Debug, Default)]
struct RepeatScore(i32);

impl RepeatScore {
    const PROBE_EVERY: usize = 32;

    fn worth_comparing(&self, row: usize) -> bool {
        self.0 >= 0 || row.is_multiple_of(Self::PROBE_EVERY)
    }

    fn record(&mut self, repeated: bool) -> bool {
        self.0 = if repeated {
            (self.0 + 4).min(32)
        } else {
            (self.0 - 1).max(-32)
        };
        repeated
    }
}

struct Leaf {
    descr: ColumnDescPtr,
    /// The value struct's field this leaf is, or `None` for the key.
    child: Option<usize>,
    values: Values,
    /// Whether each entry of the open page has a value here (the value fields only).
    present: Vec<bool>,
    /// Where the last row written from its columns starts and ends in the open page.
    last_row: (Mark, Mark),
    /// Finished data pages, compressed, held until the dictionary page has gone first.
    pages: Vec<CompressedPage>,
    page_rows: Vec<usize>,
    levels_in_chunk: u64,
}

impl Leaf {
    fn mark(&self) -> Mark {
        Mark {
            present: self.present.len(),
            values: self.values.len(),
            plain_bytes: self.values.plain_len(),
        }
    }

    fn repeat(&mut self, (start, end): (Mark, Mark)) {
        self.present.extend_from_within(start.present..end.present);
        self.values.repeat(start, end);
    }

    fn write_entries(&mut self, view: &MapView<'_>, entries: Range<usize>) {
        let Some(child) = self.child else {
            for (position, entry) in entries.enumerate() {
                self.values
                    .push_bytes(view.keys.value(entry).as_bytes(), position);
            }
            return;
        };
        let v = &view.values;
        for (position, entry) in entries.enumerate() {
            let present = match child {
                0 => push_valid_bytes(&mut self.values, v.str, entry, position),
                1 => v.int.is_valid(entry).then(|| {
                    self.values.push_number(v.int.value(entry).to_le_bytes());
                }),
                2 => v.double.is_valid(entry).then(|| {
                    self.values.push_number(v.double.value(entry).to_le_bytes());
                }),
                3 => v.bool.is_valid(entry).then(|| {
                    self.values.push_bool(v.bool.value(entry));
                }),
                4 => push_valid_bytes(&mut self.values, v.bytes, entry, position),
                _ => push_valid_bytes(&mut self.values, v.json, entry, position),
            };
            self.present.push(present.is_some());
        }
    }

    /// The open page's definition levels: 0 for a null map, the map's own level for an
    /// empty one, and for each entry one more, and one more again where this leaf has a
    /// value.
    fn definition_levels(&self, rows: &[i32], map_def: u32, levels: &mut Vec<u32>) {
        levels.clear();
        let entry_def = map_def + 1;
        let mut present = self.present.iter();
        for &entries in rows {
            match entries {
                -1 => levels.push(0),
                0 => levels.push(map_def),
                n if self.child.is_none() => {
                    levels.extend(std::iter::repeat_n(entry_def, n as usize));
                }
                n => levels.extend(
                    present
                        .by_ref()
                        .take(n as usize)
                        .map(|&p| entry_def + u32::from(p)),
                ),
            }
        }
    }

    fn close(
        &mut self,
        zstd: &mut PageCompressor,
        rows: u64,
        offset_index: bool,
    ) -> Result<(Bytes, ColumnCloseResult), Error> {
        let pages = ChunkPages {
            dictionary: self.values.take_dictionary_page(),
            pages: self.pages.drain(..).zip(self.page_rows.drain(..)).collect(),
            rows,
            num_values: std::mem::take(&mut self.levels_in_chunk),
        };
        let index = ChunkIndex {
            offset_index,
            ..ChunkIndex::default()
        };
        write_chunk(&self.descr, zstd, pages, index)
    }
}

#[cfg(test)]
mod tests;
