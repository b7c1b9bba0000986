//! The file writer under [`FlatParquetWriter`](super::FlatParquetWriter): arrow-rs's
//! `ArrowWriter`, taken apart so that the attribute map columns go to
//! [`AttributesChunk`] and the resource's and scope's other columns to
//! [`DictionaryChunk`], while every other column keeps parquet-rs's own column writers.
//!
//! List columns stay with parquet-rs but are handed over a few writes at a time
//! ([`GatheredLists`]).
//!
//! Row groups are cut exactly as `ArrowWriter` cuts them (by rows, and by the estimated
//! bytes of the open group), and each group's chunks are spliced in schema order.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, FieldRef, Int32Type, SchemaRef};
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use super::attributes_chunk::{AttributesChunk, ChunkLimits};
use super::chunk::PageCompressor;
use super::dictionary_chunk::DictionaryChunk;
use super::gathered_lists::GatheredLists;
use crate::Error;
use crate::flat::resource::RUN_COLUMNS;
use crate::flat::value::attributes_type;

/// parquet-rs makes a writer for every leaf of a row group, the leaves that go to
/// [`AttributesChunk`] and [`DictionaryChunk`] included, and gives each a zstd compression and
/// decompression context (about 100 KB for the latter alone, made anew for every row group).
/// Those writers never write, so their leaves are declared uncompressed to parquet-rs, which
/// then makes no contexts; our chunks compress their pages themselves and say so in their
/// own metadata.
fn without_codecs_for_our_chunks(
    props: WriterProperties,
    parquet_schema: &parquet::schema::types::SchemaDescriptor,
    routes: &[Route],
) -> WriterProperties {
    let unused = routes.iter().filter_map(|route| match route {
        Route::Attributes(leaves, _) | Route::Dictionary(leaves, _) => Some(leaves.clone()),
        Route::Arrow(_) | Route::GatheredList(..) => None,
    });
    let mut builder = props.into_builder();
    for leaf in unused.flatten() {
        builder = builder.set_column_compression(
            parquet_schema.column(leaf).path().clone(),
            Compression::UNCOMPRESSED,
        );
    }
    builder.build()
}

/// Which writer takes a top-level column, and its leaves among the file's.
enum Route {
    Arrow(Range<usize>),
    /// parquet-rs's writers, the column's arrays gathered in a slot of [`GatheredLists`].
    GatheredList(Range<usize>, usize),
    Attributes(Range<usize>, usize),
    Dictionary(Range<usize>, usize),
}

impl Route {
    fn leaves(&self) -> Range<usize> {
        match self {
            Route::Arrow(leaves)
            | Route::GatheredList(leaves, _)
            | Route::Attributes(leaves, _)
            | Route::Dictionary(leaves, _) => leaves.clone(),
        }
    }
}

pub(super) struct RowGroupWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    routes: Vec<Route>,
    attributes: Vec<AttributesChunk>,
    dictionaries: Vec<DictionaryChunk>,
    gathered: GatheredLists,
    /// Compresses the pages of `attributes` and `dictionaries`.
    zstd: PageCompressor,
    /// The open row group's parquet-rs writers, one per leaf (those of our chunks'
    /// columns unused), and its rows.
    open: Option<(Vec<ArrowColumnWriter>, usize)>,
    max_rows: Option<usize>,
    max_bytes: Option<usize>,
}

impl<W: Write + Send> RowGroupWriter<W> {
    /// `our_chunks`: whether attribute map columns get [`AttributesChunk`], the
    /// resource's and scope's other columns [`DictionaryChunk`] and list columns
    /// [`GatheredLists`] (false writes what `ArrowWriter` would, for comparisons).
    pub(super) fn new(
        sink: W,
        schema: SchemaRef,
        mut props: WriterProperties,
        limits: ChunkLimits,
        our_chunks: bool,
    ) -> Result<Self, Error> {
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)?;
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let (max_rows, max_bytes) = (props.max_row_group_row_count(), props.max_row_group_bytes());
        let mut routes = Vec::with_capacity(schema.fields().len());
        let mut attributes = Vec::new();
        let mut dictionaries = Vec::new();
        let mut gathered = GatheredLists::new(limits.list_gather_rows);
        let mut next_leaf = 0;
        for (root, field) in schema.fields().iter().enumerate() {
            let start = next_leaf;
            while next_leaf < parquet_schema.num_columns()
                && parquet_schema.get_column_root_idx(next_leaf) == root
            {
                next_leaf += 1;
            }
            let leaves = start..next_leaf;
            let route = if !our_chunks {
                None
            } else if field.data_type() == &attributes_type() {
                let descrs: Vec<_> = leaves.clone().map(|i| parquet_schema.column(i)).collect();
                AttributesChunk::new(&descrs, field.is_nullable(), &props, limits)?.map(|chunk| {
                    attributes.push(chunk);
                    Route::Attributes(leaves.clone(), attributes.len() - 1)
                })
            } else if RUN_COLUMNS.contains(&field.name().as_str()) && leaves.len() == 1 {
                let descr = parquet_schema.column(leaves.start);
                DictionaryChunk::new(&descr, field.data_type(), &props, limits)?.map(|chunk| {
                    dictionaries.push(chunk);
                    Route::Dictionary(leaves.clone(), dictionaries.len() - 1)
                })
            } else {
                None
            };
            routes.push(route.unwrap_or_else(|| match field.data_type() {
                DataType::List(_) | DataType::LargeList(_) if our_chunks => {
                    Route::GatheredList(leaves, gathered.add_column())
                }
                _ => Route::Arrow(leaves),
            }));
        }
        let props = without_codecs_for_our_chunks(props, &parquet_schema, &routes);
        let writer =
            SerializedFileWriter::new(sink, parquet_schema.root_schema_ptr(), Arc::new(props))?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
        Ok(Self {
            writer,
            factory,
            schema,
            routes,
            attributes,
            dictionaries,
            gathered,
            zstd: PageCompressor::new(limits.zstd_level)?,
            open: None,
            max_rows,
            max_bytes,
        })
    }

    /// Writes `batch`, ending row groups as `ArrowWriter::write` does.
    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let mut remaining = batch.clone();
        loop {
            if self.open.is_none() {
                let writers = self
                    .factory
                    .create_column_writers(self.writer.flushed_row_groups().len())?;
                self.open = Some((writers, 0));
            }
            let buffered = self.open.as_ref().map_or(0, |(_, rows)| *rows);
            let mut split_at = match self.max_rows {
                Some(max) if buffered + remaining.num_rows() > max => Some(max - buffered),
                _ => None,
            };
            let candidate = split_at.unwrap_or_else(|| remaining.num_rows());
            if let Some(max_bytes) = self.max_bytes
                && buffered > 0
            {
                let current = self.in_progress_size();
                if current >= max_bytes {
                    self.flush()?;
                    continue;
                }
                if let Some(fit) = (max_bytes - current).checked_div(current / buffered)
                    && candidate > fit
                {
                    if fit == 0 {
                        self.flush()?;
                        continue;
                    }
                    split_at = Some(fit);
                }
            }
            let rest = split_at.map(|at| {
                let rest = remaining.slice(at, remaining.num_rows() - at);
                remaining = remaining.slice(0, at);
                rest
            });
            self.write_open(&remaining)?;
            let rows = self.open.as_ref().map_or(0, |(_, rows)| *rows);
            if self.max_rows.is_some_and(|max| rows >= max)
                || self
                    .max_bytes
                    .is_some_and(|max| self.in_progress_size() >= max)
            {
                self.flush()?;
            }
            match rest {
                Some(rest) => remaining = rest,
                None => return Ok(()),
            }
        }
    }

    fn write_open(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let Some((writers, rows)) = self.open.as_mut() else {
            return Ok(());
        };
        for ((field, column), route) in self
            .schema
            .fields()
            .iter()
            .zip(batch.columns())
            .zip(&self.routes)
        {
            match route {
                Route::Arrow(leaves) => write_leaves(field, column, &mut writers[leaves.clone()])?,
                Route::GatheredList(_, slot) => self.gathered.push(*slot, column),
                Route::Attributes(_, chunk) => {
                    let chunk = &mut self.attributes[*chunk];
                    if let Some(map) = column.as_map_opt() {
                        chunk.write(map, &mut self.zstd)?;
                    } else if let Some(runs) = column.as_run_opt::<Int32Type>() {
                        chunk.write_runs(runs, &mut self.zstd)?;
                    } else {
                        return Err(Error::NotOtlpArrow(format!(
                            "column {} is neither a map nor run-end encoded maps",
                            field.name()
                        )));
                    }
                }
                Route::Dictionary(_, chunk) => {
                    self.dictionaries[*chunk].write(column, &mut self.zstd)?;
                }
            }
        }
        *rows += batch.num_rows();
        self.gathered.add_rows(batch.num_rows());
        if self.gathered.full() {
            self.write_gathered()?;
        }
        Ok(())
    }

    /// Hands the gathered list columns' arrays to their parquet-rs writers.
    fn write_gathered(&mut self) -> Result<(), Error> {
        let Some((writers, _)) = self.open.as_mut() else {
            return Ok(());
        };
        let mut arrays = self.gathered.take_all()?;
        for (field, route) in self.schema.fields().iter().zip(&self.routes) {
            if let Route::GatheredList(leaves, slot) = route
                && let Some(array) = arrays.get_mut(*slot).and_then(Option::take)
            {
                write_leaves(field, &array, &mut writers[leaves.clone()])?;
            }
        }
        Ok(())
    }

    /// Ends the open row group, if any.
    pub(super) fn flush(&mut self) -> Result<(), Error> {
        self.write_gathered()?;
        let Some((writers, _)) = self.open.take() else {
            return Ok(());
        };
        let mut writers = writers.into_iter();
        let mut row_group = self.writer.next_row_group()?;
        for route in &self.routes {
            // Taken whether used or not: an attribute map's are left unused.
            let leaves: Vec<_> = writers.by_ref().take(route.leaves().len()).collect();
            match route {
                Route::Arrow(_) | Route::GatheredList(..) => {
                    for writer in leaves {
                        writer.close()?.append_to_row_group(&mut row_group)?;
                    }
                }
                Route::Attributes(_, chunk) => {
                    for (bytes, close) in self.attributes[*chunk].close(&mut self.zstd)? {
                        row_group.append_column(&bytes, close)?;
                    }
                }
                Route::Dictionary(_, chunk) => {
                    let (bytes, close) = self.dictionaries[*chunk].close(&mut self.zstd)?;
                    row_group.append_column(&bytes, close)?;
                }
            }
        }
        row_group.close()?;
        Ok(())
    }

    /// Estimated encoded bytes of the open row group. The list columns' gathered arrays
    /// count once they are written (at most
    /// [`ParquetOptions::list_gather_rows`](super::ParquetOptions::list_gather_rows) rows
    /// later), so a group cut by bytes may end a little later than `ArrowWriter` ends it.
    pub(super) fn in_progress_size(&self) -> usize {
        let Some((writers, _)) = &self.open else {
            return 0;
        };
        writers
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .sum::<usize>()
            + self
                .attributes
                .iter()
                .map(AttributesChunk::estimated_bytes)
                .sum::<usize>()
            + self
                .dictionaries
                .iter()
                .map(DictionaryChunk::estimated_bytes)
                .sum::<usize>()
    }

    pub(super) fn bytes_written(&self) -> usize {
        self.writer.bytes_written()
    }

    pub(super) fn inner(&self) -> &W {
        self.writer.inner()
    }

    pub(super) fn append_key_value_metadata(&mut self, kv: KeyValue) {
        self.writer.append_key_value_metadata(kv);
    }

    /// Ends the open row group, writes the footer, and gives the sink back.
    pub(super) fn into_inner(mut self) -> Result<W, Error> {
        self.flush()?;
        Ok(self.writer.into_inner()?)
    }
}

/// Writes `column`'s leaves with parquet-rs's writers of its leaves.
fn write_leaves(
    field: &FieldRef,
    column: &ArrayRef,
    writers: &mut [ArrowColumnWriter],
) -> Result<(), Error> {
    for (leaf, writer) in compute_leaves(field, column)?.iter().zip(writers) {
        writer.write(leaf)?;
    }
    Ok(())
}
