//! Flat rows as Arrow IPC files (Feather v2): the same schema as the Parquet files, for
//! tools that map Arrow files into memory.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::Block;
use arrow::ipc::reader::{FileDecoder, read_footer_length};
use arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use arrow::record_batch::RecordBatch;

use super::file::{FlatBuilder, decode};
use super::schema::{flat_schema, flat_signal};
use crate::{AnyRequest, Compression, Error, Signal};

/// Counts the bytes that reach the sink.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes OTLP requests of one signal as an Arrow IPC file of flat rows, one record
/// batch per request, buffers compressed with zstd or lz4.
///
/// As with Parquet, the file is readable only once [`finish`](Self::finish) wrote its
/// footer: write to a temporary name and rename.
pub struct FlatIpcWriter<W: Write> {
    builder: FlatBuilder,
    writer: FileWriter<Counted<W>>,
    rows: u64,
}

impl<W: Write> std::fmt::Debug for FlatIpcWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatIpcWriter")
            .field("signal", &self.builder.signal())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn ipc_options(compression: Compression) -> Result<IpcWriteOptions, Error> {
    let options = IpcWriteOptions::try_new(8, false, arrow::ipc::MetadataVersion::V5)?;
    Ok(match compression {
        Compression::None => options,
        Compression::Lz4 => {
            options.try_with_compression(Some(arrow::ipc::CompressionType::LZ4_FRAME))?
        }
        Compression::Zstd(level) => options
            .try_with_compression(Some(arrow::ipc::CompressionType::ZSTD))?
            .try_with_compression_level(Some(level))?,
    })
}

impl<W: Write> FlatIpcWriter<W> {
    /// A writer of `signal` rows; writes the file header and schema right away.
    pub fn new(sink: W, signal: Signal, compression: Compression) -> Result<Self, Error> {
        let schema = flat_schema(signal);
        let writer = FileWriter::try_new_with_options(
            Counted {
                inner: sink,
                bytes: 0,
            },
            &schema,
            ipc_options(compression)?,
        )?;
        Ok(Self {
            builder: FlatBuilder::new(signal),
            writer,
            rows: 0,
        })
    }

    /// The signal this writer accepts.
    pub fn signal(&self) -> Signal {
        self.builder.signal()
    }

    /// Writes every item of a request as one record batch; a request that cannot be
    /// converted is refused whole and the file is unaffected.
    pub fn write(&mut self, telemetry: &AnyRequest) -> Result<(), Error> {
        self.builder.append(telemetry)?;
        let batch = self.builder.finish()?;
        self.write_rows(&batch)
    }

    /// Writes a batch of this writer's flat schema.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        if batch.schema().fields() != self.builder.schema().fields() {
            return Err(Error::NotOtlpArrow(format!(
                "the batch is not a flat {} batch",
                self.signal()
            )));
        }
        self.write_rows(batch)
    }

    fn write_rows(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Bytes that reached the sink so far.
    pub fn bytes_written(&self) -> u64 {
        self.writer.get_ref().bytes
    }

    /// Writes the footer and gives the sink back.
    pub fn finish(mut self) -> Result<W, Error> {
        self.writer.finish()?;
        Ok(self.writer.into_inner()?.inner)
    }
}

/// Reads a flat Arrow IPC file back into OTLP requests, one per record batch.
///
/// The footer and every block are checked against the file's length before anything is
/// read or allocated for them, and a panic of arrow-ipc on a malformed body becomes
/// [`Error::Malformed`].
pub struct FlatIpcReader<R: Read + Seek> {
    input: R,
    decoder: FileDecoder,
    blocks: Vec<Block>,
    next: usize,
    schema: SchemaRef,
    signal: Signal,
    file_len: u64,
}

impl<R: Read + Seek> std::fmt::Debug for FlatIpcReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatIpcReader")
            .field("signal", &self.signal)
            .field("batches", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

fn read_range<R: Read + Seek>(
    input: &mut R,
    file_len: u64,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, Error> {
    let end = offset
        .checked_add(len)
        .filter(|&end| end <= file_len)
        .ok_or_else(|| {
            malformed(format!(
                "block at {offset}+{len} lies outside the {file_len} byte file"
            ))
        })?;
    input.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity((end - offset) as usize);
    input.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(Error::Truncated(format!("block at {offset} ends early")));
    }
    Ok(buf)
}

fn read_block<R: Read + Seek>(
    input: &mut R,
    file_len: u64,
    block: &Block,
) -> Result<Buffer, Error> {
    let offset = u64::try_from(block.offset()).map_err(|_| malformed("negative block offset"))?;
    let meta =
        u64::try_from(block.metaDataLength()).map_err(|_| malformed("negative metadata length"))?;
    let body = u64::try_from(block.bodyLength()).map_err(|_| malformed("negative body length"))?;
    let len = meta
        .checked_add(body)
        .ok_or_else(|| malformed("block length overflows"))?;
    // Copied into an Arrow (64-byte aligned) allocation: buffers are read in place.
    Ok(Buffer::from_vec(read_range(input, file_len, offset, len)?))
}

fn decode_guarded<T>(step: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|_| {
        Err(malformed(
            "arrow-ipc could not decode a block of the file (it panicked)",
        ))
    })
}

impl<R: Read + Seek> FlatIpcReader<R> {
    /// Opens a file: reads and checks its footer, schema and dictionaries.
    pub fn new(mut input: R) -> Result<Self, Error> {
        let file_len = input.seek(SeekFrom::End(0))?;
        if file_len < 18 {
            return Err(Error::Truncated("too short for an Arrow IPC file".into()));
        }
        let tail = read_range(&mut input, file_len, file_len - 10, 10)?;
        let mut trailer = [0u8; 10];
        trailer.copy_from_slice(&tail);
        let footer_len = read_footer_length(trailer)
            .map_err(|_| Error::Truncated("file footer or trailing ARROW1 magic missing".into()))?
            as u64;
        if footer_len > file_len - 10 {
            return Err(malformed("footer longer than the file"));
        }
        let footer_bytes =
            read_range(&mut input, file_len, file_len - 10 - footer_len, footer_len)?;
        let footer = arrow::ipc::root_as_footer(&footer_bytes)
            .map_err(|e| malformed(format!("invalid footer: {e}")))?;
        let fb_schema = footer
            .schema()
            .ok_or_else(|| malformed("footer without a schema"))?;
        let schema = Arc::new(arrow::ipc::convert::try_fb_to_schema(fb_schema)?);
        let signal = flat_signal(&schema)?;
        // Only the exact flat schema of the signal is read: no other types reach arrow-ipc.
        if schema.fields() != flat_schema(signal).fields() {
            return Err(Error::NotOtlpArrow(format!(
                "the file's columns are not the flat {signal} schema of this version"
            )));
        }
        let blocks: Vec<Block> = footer
            .recordBatches()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        let dictionaries: Vec<Block> = footer
            .dictionaries()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        let mut decoder = FileDecoder::new(schema.clone(), footer.version());
        for block in &dictionaries {
            let buf = read_block(&mut input, file_len, block)?;
            decode_guarded(|| Ok(decoder.read_dictionary(block, &buf)?))?;
        }
        Ok(Self {
            input,
            decoder,
            blocks,
            next: 0,
            schema,
            signal,
            file_len,
        })
    }

    /// The signal of the file.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The flat schema of the file.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Record batches in the file.
    pub fn num_batches(&self) -> usize {
        self.blocks.len()
    }

    /// The next record batch of flat rows, or `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        while let Some(block) = self.blocks.get(self.next).copied() {
            self.next += 1;
            let buf = read_block(&mut self.input, self.file_len, &block)?;
            let decoder = &self.decoder;
            if let Some(batch) = decode_guarded(|| Ok(decoder.read_record_batch(&block, &buf)?))? {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }

    /// The next record batch as a request, or `None` at the end.
    pub fn next_request(&mut self) -> Result<Option<AnyRequest>, Error> {
        match self.next_batch()? {
            Some(batch) => decode(&batch).map(Some),
            None => Ok(None),
        }
    }

    /// The whole file as one request: containers regroup exactly as written.
    pub fn read_all(input: R) -> Result<AnyRequest, Error> {
        let mut reader = Self::new(input)?;
        let mut batches = Vec::new();
        while let Some(batch) = reader.next_batch()? {
            batches.push(batch);
        }
        let batch = arrow::compute::concat_batches(&reader.schema, &batches)?;
        decode(&batch)
    }
}

impl<R: Read + Seek> Iterator for FlatIpcReader<R> {
    type Item = Result<AnyRequest, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_request() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => None,
            Err(e) => {
                self.next = self.blocks.len();
                Some(Err(e))
            }
        }
    }
}
