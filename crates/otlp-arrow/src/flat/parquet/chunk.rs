//! A column chunk from pages encoded here: the dictionary page first, then the data pages,
//! and what the row group needs to know of it, laid out as parquet-rs's column writers lay
//! a chunk out.

use std::collections::BTreeSet;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder, PageEncodingStats};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::Error;

/// The zstd context that compresses every page of our chunks in a file, one at a time.
///
/// One for all of them: each context keeps a workspace sized for the largest page it has
/// compressed, and the chunks of a row group are written one after another (one context per
/// chunk held 1.5 MB more at the embedded default's peak under load, heaptrack).
/// Pages are compressed into `scratch` and copied out at their compressed size: a page waits
/// in memory until its row group ends, and `bulk::Compressor::compress` returns it in a
/// buffer of zstd's worst-case size (more than the page took uncompressed), which the page
/// would otherwise keep.
pub(super) struct PageCompressor {
    zstd: zstd::bulk::Compressor<'static>,
    compression: Compression,
    scratch: Vec<u8>,
}

impl PageCompressor {
    pub(super) fn new(level: i32) -> Result<Self, Error> {
        Ok(Self {
            zstd: zstd::bulk::Compressor::new(level)?,
            compression: Compression::ZSTD(ZstdLevel::try_new(level)?),
            scratch: Vec::new(),
        })
    }

    /// `page` compressed, in an allocation of its compressed size.
    pub(super) fn compress(&mut self, page: &[u8]) -> Result<Bytes, Error> {
        self.scratch.clear();
        self.scratch
            .reserve(zstd::zstd_safe::compress_bound(page.len()));
        let written = self.zstd.compress_to_buffer(page, &mut self.scratch)?;
        Ok(Bytes::copy_from_slice(&self.scratch[..written]))
    }

    /// The codec the chunks' metadata names.
    pub(super) fn compression(&self) -> Compression {
        self.compression
    }
}

/// A chunk's pages, compressed, and its dictionary page (plain values, not yet compressed).
pub(super) struct ChunkPages {
    /// The plain-encoded dictionary and its value count.
    pub(super) dictionary: Option<(Vec<u8>, u32)>,
    /// Each data page with the rows it holds.
    pub(super) pages: Vec<(CompressedPage, usize)>,
    /// Rows of the chunk.
    pub(super) rows: u64,
    /// Values of the chunk, one per level (rows, for a column that is not repeated).
    pub(super) num_values: u64,
}

/// What the chunk's metadata carries besides its pages.
#[derive(Default)]
pub(super) struct ChunkIndex {
    pub(super) statistics: Option<Statistics>,
    pub(super) column_index: Option<ColumnIndexMetaData>,
    /// Whether the row group's offset index (page locations) is written.
    pub(super) offset_index: bool,
}

/// Lays `chunk` out as one column chunk of `descr`, its dictionary page compressed with
/// `compressor`: the chunk's bytes, and its metadata for the row group.
pub(super) fn write_chunk(
    descr: &ColumnDescPtr,
    compressor: &mut PageCompressor,
    chunk: ChunkPages,
    index: ChunkIndex,
) -> Result<(Bytes, ColumnCloseResult), Error> {
    let mut sink = TrackedWrite::new(Vec::new());
    let mut writer = SerializedPageWriter::new(&mut sink);
    let mut encodings = BTreeSet::from([Encoding::RLE]);
    let mut encoding_stats: Vec<PageEncodingStats> = Vec::new();
    let (mut compressed, mut uncompressed) = (0i64, 0i64);
    let mut dictionary_offset = None;
    if let Some((page, count)) = chunk.dictionary {
        let buf = compressor.compress(&page)?;
        let spec = writer.write_page(CompressedPage::new(
            Page::DictionaryPage {
                buf,
                num_values: count,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            },
            page.len(),
        ))?;
        dictionary_offset = Some(spec.offset as i64);
        compressed += spec.compressed_size as i64;
        uncompressed += spec.uncompressed_size as i64;
        encodings.insert(Encoding::PLAIN);
        encoding_stats.push(PageEncodingStats {
            page_type: PageType::DICTIONARY_PAGE,
            encoding: Encoding::PLAIN,
            count: 1,
        });
    }
    let mut offsets = OffsetIndexBuilder::new();
    let mut data_offset = None;
    for (page, rows) in chunk.pages {
        let encoding = page.encoding();
        let spec = writer.write_page(page)?;
        data_offset.get_or_insert(spec.offset as i64);
        compressed += spec.compressed_size as i64;
        uncompressed += spec.uncompressed_size as i64;
        offsets.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        offsets.append_row_count(rows as i64);
        encodings.insert(encoding);
        match encoding_stats.last_mut() {
            Some(last) if last.page_type == PageType::DATA_PAGE && last.encoding == encoding => {
                last.count += 1;
            }
            _ => encoding_stats.push(PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding,
                count: 1,
            }),
        }
    }
    writer.close()?;
    let mut metadata = ColumnChunkMetaData::builder(descr.clone())
        .set_compression(compressor.compression())
        .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
        .set_page_encoding_stats(encoding_stats)
        .set_total_compressed_size(compressed)
        .set_total_uncompressed_size(uncompressed)
        .set_num_values(chunk.num_values as i64)
        .set_data_page_offset(data_offset.unwrap_or(0))
        .set_dictionary_page_offset(dictionary_offset);
    if let Some(statistics) = index.statistics {
        metadata = metadata.set_statistics(statistics);
    }
    let close = ColumnCloseResult {
        bytes_written: sink.bytes_written() as u64,
        rows_written: chunk.rows,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index: index.column_index,
        offset_index: index.offset_index.then(|| offsets.build()),
    };
    Ok((Bytes::from(sink.into_inner()?), close))
}

#[cfg(test)]
mod tests {
    use super::PageCompressor;

    #[test]
    fn pages_of_any_size_in_any_order_decompress_to_themselves() {
        let mut zstd = PageCompressor::new(3).expect("zstd level 3");
        let repetitive: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let noisy: Vec<u8> = (0..5_000u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
            .collect();
        for page in [
            &repetitive[..],
            &[][..],
            &noisy[..],
            b"a",
            &repetitive[..1000],
        ] {
            let compressed = zstd.compress(page).expect("compress");
            let back = zstd::bulk::decompress(&compressed, page.len()).expect("decompress");
            assert_eq!(back, page);
        }
        let compressed = zstd.compress(&repetitive).expect("compress");
        assert!(
            compressed.len() * 20 < repetitive.len(),
            "{} bytes from {}",
            compressed.len(),
            repetitive.len()
        );
    }
}
