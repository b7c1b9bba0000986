//! Arrow IPC stream and file writer and a reader hardened against hostile input.

use std::io::{Read, Write};

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::{DictionaryHandling, FileWriter, IpcWriteOptions, StreamWriter};
use arrow::record_batch::RecordBatch;
use otlp_model::{AnyRequest, with_request};

use crate::request::{DynEncoder, Typed, persistent_encoder};
use crate::{ArrowRequest, Encoder, Error, Signal};

/// The two Arrow IPC formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcFormat {
    /// The streaming format (`.arrows`): messages back to back, for pipes and sockets.
    Stream,
    /// The file format (`.arrow`, Feather v2): the stream plus a footer for random access.
    File,
}

/// Body compression of record batches and dictionaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4 frame: fastest.
    Lz4,
    /// Zstandard at the given level (3 is zstd's default).
    Zstd(i32),
}

/// How an [`ArrowIpcWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Stream or file.
    pub format: IpcFormat,
    /// Buffer compression.
    pub compression: Compression,
    /// Send only the new strings of each dictionary after the first batch (IPC delta
    /// dictionaries). When off, each batch resends whole dictionaries; only valid for
    /// streams, since the file format allows one dictionary per column.
    pub delta_dictionaries: bool,
}

impl WriterOptions {
    /// zstd level 3 and delta dictionaries.
    pub fn new(format: IpcFormat) -> Self {
        Self {
            format,
            compression: Compression::Zstd(3),
            delta_dictionaries: true,
        }
    }

    /// The same options with another compression.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    pub(crate) fn ipc_options(&self) -> Result<IpcWriteOptions, Error> {
        let handling = if self.delta_dictionaries {
            DictionaryHandling::Delta
        } else {
            DictionaryHandling::Resend
        };
        // 8-byte alignment (the spec's minimum) instead of arrow-rs' default 64: a batch
        // has hundreds of small buffers and the padding would cost more than the data.
        let options = IpcWriteOptions::try_new(8, false, arrow::ipc::MetadataVersion::V5)?
            .with_dictionary_handling(handling);
        Ok(match self.compression {
            Compression::None => options,
            Compression::Lz4 => {
                options.try_with_compression(Some(arrow::ipc::CompressionType::LZ4_FRAME))?
            }
            Compression::Zstd(level) => options
                .try_with_compression(Some(arrow::ipc::CompressionType::ZSTD))?
                .try_with_compression_level(Some(level))?,
        })
    }
}

enum Sink<W: Write> {
    Stream(StreamWriter<W>),
    File(FileWriter<W>),
}

/// Writes OTLP requests of one signal as an Arrow IPC stream or file, one record batch
/// per request, with dictionaries that persist across batches (sent as deltas).
///
/// Call [`finish`](Self::finish) at the end: a stream gets its end-of-stream marker, a
/// file its footer; a file without a footer is not readable.
pub struct ArrowIpcWriter<W: Write> {
    encoder: Box<dyn DynEncoder>,
    sink: Sink<W>,
    format: IpcFormat,
    batches: u64,
}

impl<W: Write> std::fmt::Debug for ArrowIpcWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowIpcWriter")
            .field("signal", &self.encoder.signal())
            .field("format", &self.format)
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ArrowIpcWriter<W> {
    /// A writer for `signal`; writes the schema right away.
    pub fn new(writer: W, signal: Signal, options: WriterOptions) -> Result<Self, Error> {
        let mut encoder = persistent_encoder(signal);
        // Persistent dictionaries fix every column's type, so the schema of an empty
        // request is the schema of every batch this writer will write.
        let schema = encoder.empty_batch()?.schema();
        let ipc = options.ipc_options()?;
        let sink = match options.format {
            IpcFormat::Stream => {
                Sink::Stream(StreamWriter::try_new_with_options(writer, &schema, ipc)?)
            }
            IpcFormat::File => Sink::File(FileWriter::try_new_with_options(writer, &schema, ipc)?),
        };
        Ok(Self {
            encoder,
            sink,
            format: options.format,
            batches: 0,
        })
    }

    /// The signal this writer accepts.
    pub fn signal(&self) -> Signal {
        self.encoder.signal()
    }

    /// Record batches written so far.
    pub fn batches_written(&self) -> u64 {
        self.batches
    }

    /// Writes a request of this writer's signal as one record batch.
    pub fn write<R: ArrowRequest>(&mut self, request: &R) -> Result<(), Error> {
        let signal = self.encoder.signal();
        let Some(Typed::<R>(encoder)) = self.encoder.as_any_mut().downcast_mut::<Typed<R>>() else {
            return Err(Error::WrongSignal {
                expected: signal,
                found: R::SIGNAL,
            });
        };
        let batch = match (encoder.encode(request), self.format) {
            // A stream may replace a dictionary that overflowed: start all of them afresh. A file allows one
            // dictionary per column, so there an overflow ends the file.
            (Err(Error::DictionaryOverflow { .. }), IpcFormat::Stream) => {
                encoder.reset();
                encoder.encode(request)?
            }
            (result, _) => result?,
        };
        match &mut self.sink {
            Sink::Stream(w) => w.write(&batch)?,
            Sink::File(w) => w.write(&batch)?,
        }
        self.batches += 1;
        Ok(())
    }

    /// Writes a request of any signal; it must be this writer's.
    pub fn write_any(&mut self, request: &AnyRequest) -> Result<(), Error> {
        with_request!(request, request => self.write(request))
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Stream(w) => w.flush()?,
            Sink::File(w) => w.flush()?,
        }
        Ok(())
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        match &self.sink {
            Sink::Stream(w) => w.get_ref(),
            Sink::File(w) => w.get_ref(),
        }
    }

    /// Writes the end-of-stream marker (and the footer of a file) and returns the
    /// underlying writer.
    pub fn finish(self) -> Result<W, Error> {
        Ok(match self.sink {
            Sink::Stream(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
            Sink::File(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
        })
    }
}

/// Limits of an [`ArrowIpcReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Largest IPC message metadata, message body and decompressed buffer accepted;
    /// larger declared lengths fail with [`Error::MessageTooLarge`] before anything is
    /// allocated for them.
    pub max_message_bytes: u64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 256 << 20,
        }
    }
}

const CONTINUATION: [u8; 4] = [0xff; 4];
const FILE_MAGIC: &[u8; 6] = b"ARROW1";
/// Most zero padding accepted between the file magic and the first message.
const MAX_FILE_HEADER_PADDING: usize = 1024;

/// Reads an Arrow IPC stream or file written by [`ArrowIpcWriter`] (or by any Arrow
/// implementation, if it uses this crate's layout) back into OTLP requests.
///
/// The IPC framing is parsed here, from any [`Read`] (no `Seek` needed for files: a
/// file is read front to back as the stream it contains, then its trailer is checked).
pub struct ArrowIpcReader<R: Read> {
    input: R,
    format: IpcFormat,
    options: ReaderOptions,
    decoder: StreamDecoder,
    /// The first word of the first message, already read past the file padding.
    lookahead: Option<[u8; 4]>,
    /// Bytes handed to the decoder but not consumed yet.
    pending: Buffer,
    /// A batch decoded while looking for the schema.
    first_batch: Option<RecordBatch>,
    signal: Signal,
    schema: SchemaRef,
    done: bool,
}

impl<R: Read> std::fmt::Debug for ArrowIpcReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowIpcReader")
            .field("format", &self.format)
            .field("signal", &self.signal)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: Read> ArrowIpcReader<R> {
    /// Opens `input` with default limits and reads its schema.
    pub fn new(input: R, format: IpcFormat) -> Result<Self, Error> {
        Self::with_options(input, format, ReaderOptions::default())
    }

    /// Opens `input` and reads its schema.
    pub fn with_options(
        mut input: R,
        format: IpcFormat,
        options: ReaderOptions,
    ) -> Result<Self, Error> {
        if format == IpcFormat::File {
            let mut magic = [0u8; 8];
            if read_full(&mut input, &mut magic, "file magic")? == 0 {
                return Err(Error::Truncated("empty input".into()));
            }
            if !magic.starts_with(FILE_MAGIC) {
                return Err(Error::Malformed("missing ARROW1 file magic".into()));
            }
        }
        let mut lookahead = None;
        if format == IpcFormat::File {
            // Writers pad the magic to their alignment (arrow-rs: 64 bytes) with zeros;
            // the first message starts with a continuation marker.
            let mut word = [0u8; 4];
            for _ in 0..MAX_FILE_HEADER_PADDING / 4 {
                if read_full(&mut input, &mut word, "file header")? == 0 {
                    return Err(Error::Truncated("file has no schema".into()));
                }
                if word != [0; 4] {
                    break;
                }
            }
            if word != CONTINUATION {
                return Err(Error::Malformed(
                    "no IPC message after the file magic".into(),
                ));
            }
            lookahead = Some(word);
        }
        let mut reader = Self {
            input,
            format,
            options,
            decoder: StreamDecoder::new(),
            lookahead,
            pending: Buffer::from_vec(Vec::<u8>::new()),
            first_batch: None,
            signal: Signal::Traces,
            schema: std::sync::Arc::new(arrow::datatypes::Schema::empty()),
            done: false,
        };
        // The decoder only acts on a message once bytes after it arrive (a schema has
        // no body), so the schema is known after the second message is fed.
        for _ in 0..2 {
            if let Some(batch) = reader.decode_next()? {
                reader.first_batch = Some(batch);
            }
            if let Some(schema) = reader.decoder.schema() {
                reader.signal = crate::signal_of_schema(&schema)?;
                reader.schema = schema;
                return Ok(reader);
            }
            if reader.first_batch.is_some() || reader.done {
                break;
            }
        }
        if reader.done && reader.first_batch.is_none() {
            return Err(Error::Truncated("input ends before the schema".into()));
        }
        Err(Error::Malformed(
            "the stream does not start with a schema".into(),
        ))
    }

    /// Feeds the next message (or the end-of-stream marker) to the decoder.
    fn decode_next(&mut self) -> Result<Option<RecordBatch>, Error> {
        if self.pending.is_empty() {
            if self.done {
                return Ok(None);
            }
            match read_message(&mut self.input, &self.options, self.lookahead.take())? {
                Some(message) => self.pending = message,
                None => {
                    self.done = true;
                    if self.format == IpcFormat::File {
                        self.check_trailer()?;
                    }
                    // Lets the decoder act on a last message that has no body.
                    let mut eos = CONTINUATION.to_vec();
                    eos.extend_from_slice(&[0; 4]);
                    self.pending = Buffer::from_vec(eos);
                }
            }
        }
        let result = decode_guarded(&mut self.decoder, &mut self.pending);
        if result.is_err() {
            self.done = true;
            self.pending = Buffer::from_vec(Vec::<u8>::new());
        }
        result
    }

    /// The signal of the stream.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The Arrow schema of the stream.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The next record batch, or `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        if let Some(batch) = self.first_batch.take() {
            return Ok(Some(batch));
        }
        loop {
            if let Some(batch) = self.decode_next()? {
                return Ok(Some(batch));
            }
            if self.done && self.pending.is_empty() {
                return Ok(None);
            }
        }
    }

    /// The next request, or `None` at the end.
    pub fn next_request(&mut self) -> Result<Option<AnyRequest>, Error> {
        match self.next_batch()? {
            Some(batch) => crate::decode_batch(&batch).map(Some),
            None => Ok(None),
        }
    }

    fn check_trailer(&mut self) -> Result<(), Error> {
        let mut rest = Vec::new();
        (&mut self.input)
            .take(self.options.max_message_bytes + 1)
            .read_to_end(&mut rest)?;
        if rest.len() as u64 > self.options.max_message_bytes {
            return Err(Error::MessageTooLarge {
                declared: rest.len() as u64,
                limit: self.options.max_message_bytes,
            });
        }
        if rest.len() < 10 || !rest.ends_with(FILE_MAGIC) {
            return Err(Error::Truncated(
                "file footer or trailing ARROW1 magic missing".into(),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Iterator for ArrowIpcReader<R> {
    type Item = Result<AnyRequest, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_request() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => None,
            Err(e) => {
                // An error leaves the framing in an unknown state: stop.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads exactly `buf.len()` bytes (returning that) or none at all (returning 0, a
/// clean end of input); anything in between is [`Error::Truncated`].
fn read_full<R: Read>(input: &mut R, buf: &mut [u8], what: &str) -> Result<usize, Error> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if filled != buf.len() && filled != 0 {
        return Err(Error::Truncated(format!(
            "{what}: expected {} bytes, got {filled}",
            buf.len()
        )));
    }
    Ok(filled)
}

/// Appends exactly `len` bytes from `input`, growing the buffer only as bytes arrive.
fn read_exact_into<R: Read>(
    input: &mut R,
    out: &mut Vec<u8>,
    len: u64,
    what: &str,
) -> Result<(), Error> {
    let before = out.len();
    input.take(len).read_to_end(out)?;
    let got = (out.len() - before) as u64;
    if got != len {
        return Err(Error::Truncated(format!(
            "{what}: expected {len} bytes, got {got}"
        )));
    }
    Ok(())
}

/// Reads one framed IPC message (`None` at end of stream) and returns it re-framed as
/// one buffer for [`StreamDecoder`].
pub(crate) fn read_message<R: Read>(
    input: &mut R,
    options: &ReaderOptions,
    first_word: Option<[u8; 4]>,
) -> Result<Option<Buffer>, Error> {
    let mut word = [0u8; 4];
    match first_word {
        Some(w) => word = w,
        None => {
            if read_full(input, &mut word, "message length")? == 0 {
                // A stream may end without its end-of-stream marker.
                return Ok(None);
            }
        }
    }
    if word == CONTINUATION && read_full(input, &mut word, "message length")? == 0 {
        return Err(Error::Truncated(
            "stream ends after a continuation marker".into(),
        ));
    }
    let meta_len = u64::from(u32::from_le_bytes(word));
    if meta_len == 0 {
        return Ok(None);
    }
    if meta_len % 8 != 0 {
        return Err(Error::Malformed(format!(
            "message metadata length {meta_len} is not a multiple of 8"
        )));
    }
    let limit = options.max_message_bytes;
    if meta_len > limit {
        return Err(Error::MessageTooLarge {
            declared: meta_len,
            limit,
        });
    }
    let mut framed = Vec::with_capacity(8 + meta_len as usize);
    framed.extend_from_slice(&CONTINUATION);
    framed.extend_from_slice(&word);
    read_exact_into(input, &mut framed, meta_len, "message metadata")?;
    let meta = framed.get(8..).unwrap_or_default();
    let message = arrow::ipc::root_as_message(meta)
        .map_err(|e| Error::Malformed(format!("invalid message metadata: {e}")))?;
    let body_len = u64::try_from(message.bodyLength())
        .map_err(|_| Error::Malformed(format!("negative body length {}", message.bodyLength())))?;
    if body_len > limit {
        return Err(Error::MessageTooLarge {
            declared: body_len,
            limit,
        });
    }
    let body_start = framed.len();
    read_exact_into(input, &mut framed, body_len, "message body")?;
    let (meta, body) = framed.split_at(body_start);
    let message = arrow::ipc::root_as_message(meta.get(8..).unwrap_or_default())
        .map_err(|e| Error::Malformed(format!("invalid message metadata: {e}")))?;
    check_buffers(&message, body, limit)?;
    // Copied into an Arrow (64-byte aligned) allocation: a `Vec<u8>` promises no
    // alignment, and buffers are read in place.
    Ok(Some(Buffer::from_slice_ref(&framed)))
}

/// Only the types this crate's layouts (nested and flat) use are accepted: arrow-rs panics
/// on some malformed types (a negative fixed size, for one), and nothing else is ours anyway.
fn check_schema(schema: &arrow::datatypes::Schema) -> Result<(), Error> {
    use arrow::datatypes::{DataType, TimeUnit};
    fn allowed(t: &DataType) -> bool {
        match t {
            DataType::Boolean
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Utf8
            | DataType::Binary => true,
            DataType::FixedSizeBinary(width) => *width == 8 || *width == 16,
            DataType::Dictionary(key, value) => {
                matches!(**key, DataType::UInt8 | DataType::UInt16 | DataType::UInt32)
                    && **value == DataType::Utf8
            }
            DataType::List(item) => allowed(item.data_type()),
            DataType::Struct(fields) => fields.iter().all(|f| allowed(f.data_type())),
            // The flat layout's times and attribute maps (key, value struct).
            DataType::Timestamp(TimeUnit::Nanosecond, _) => true,
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fields) => {
                    fields.len() == 2 && fields.iter().all(|f| allowed(f.data_type()))
                }
                _ => false,
            },
            _ => false,
        }
    }
    crate::signal_of_schema(schema)?;
    match schema.fields().iter().find(|f| !allowed(f.data_type())) {
        None => Ok(()),
        Some(field) => Err(Error::NotOtlpArrow(format!(
            "column `{}` has a type outside the OTLP Arrow layout: {}",
            field.name(),
            field.data_type()
        ))),
    }
}

/// arrow-ipc slices buffers and sizes decompression output as the message says, so
/// both are checked here first: every buffer inside the body, and every compressed
/// buffer's declared uncompressed length within the limit.
fn check_buffers(message: &arrow::ipc::Message<'_>, body: &[u8], limit: u64) -> Result<(), Error> {
    use arrow::ipc::MessageHeader;
    let batch = match message.header_type() {
        MessageHeader::RecordBatch => message.header_as_record_batch(),
        MessageHeader::DictionaryBatch => {
            message.header_as_dictionary_batch().and_then(|d| d.data())
        }
        MessageHeader::Schema => {
            let schema = message
                .header_as_schema()
                .ok_or_else(|| Error::Malformed("schema message without a schema".into()))?;
            return check_schema(&arrow::ipc::convert::try_fb_to_schema(schema)?);
        }
        _ => return Ok(()),
    };
    let batch = batch.ok_or_else(|| Error::Malformed("batch message without a header".into()))?;
    let compressed = batch.compression().is_some();
    for buffer in batch.buffers().into_iter().flatten() {
        let (offset, length) = (buffer.offset(), buffer.length());
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(length).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            // The IPC format aligns buffers to 8 bytes; arrow-rs asserts (panics) on
            // misaligned offsets buffers.
            .filter(|r| r.end <= body.len() && r.start % 8 == 0)
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "buffer at offset {offset} of length {length} is misaligned or outside the {} byte body",
                    body.len()
                ))
            })?;
        if compressed && !range.is_empty() {
            let prefix = body
                .get(range.start..range.start + 8)
                .and_then(|p| <[u8; 8]>::try_from(p).ok())
                .ok_or_else(|| {
                    Error::Malformed("compressed buffer shorter than its length prefix".into())
                })?;
            let uncompressed = i64::from_le_bytes(prefix);
            // -1 marks a buffer stored uncompressed.
            if uncompressed != -1 && (uncompressed < 0 || uncompressed as u64 > limit) {
                return Err(Error::MessageTooLarge {
                    declared: uncompressed as u64,
                    limit,
                });
            }
        }
    }
    Ok(())
}

/// Re-frames one Flight message (flatbuffer header + body) as IPC stream bytes for
/// [`StreamDecoder`], after checking its declared sizes against the limits.
#[cfg(feature = "flight")]
pub(crate) fn frame_message(
    header: &[u8],
    body: &[u8],
    options: &ReaderOptions,
) -> Result<Buffer, Error> {
    if header.is_empty() && body.is_empty() {
        return Ok(Buffer::from_vec(Vec::<u8>::new()));
    }
    let limit = options.max_message_bytes;
    for len in [header.len(), body.len()] {
        if len as u64 > limit {
            return Err(Error::MessageTooLarge {
                declared: len as u64,
                limit,
            });
        }
    }
    let message = arrow::ipc::root_as_message(header)
        .map_err(|e| Error::Malformed(format!("invalid message header: {e}")))?;
    if u64::try_from(message.bodyLength()).ok() != Some(body.len() as u64) {
        return Err(Error::Malformed(format!(
            "message declares a {} byte body but carries {} bytes",
            message.bodyLength(),
            body.len()
        )));
    }
    check_buffers(&message, body, limit)?;
    let padded = header.len().next_multiple_of(8);
    let padded_len = u32::try_from(padded).map_err(|_| Error::MessageTooLarge {
        declared: padded as u64,
        limit,
    })?;
    let mut framed = Vec::with_capacity(8 + padded + body.len());
    framed.extend_from_slice(&CONTINUATION);
    framed.extend_from_slice(&padded_len.to_le_bytes());
    framed.extend_from_slice(header);
    framed.resize(8 + padded, 0);
    framed.extend_from_slice(body);
    Ok(Buffer::from_slice_ref(&framed))
}

/// Runs arrow-ipc's decoder, turning a panic into an error.
///
/// The framing and buffer ranges are checked before this, but arrow-rs 60 still
/// asserts (panics) on some malformed bodies, e.g. an offsets buffer whose length is
/// not a multiple of its element size. Hostile input must not take the process down.
pub(crate) fn decode_guarded(
    decoder: &mut StreamDecoder,
    buffer: &mut Buffer,
) -> Result<Option<RecordBatch>, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(buffer))) {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::Malformed(
            "arrow-ipc could not decode a message body (it panicked)".into(),
        )),
    }
}
