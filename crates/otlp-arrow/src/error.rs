//! The crate's error type.

use crate::Signal;

/// Everything that can go wrong converting, writing, reading or shipping OTLP as Arrow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An OTLP id had a length other than the one OTLP prescribes (or zero).
    #[error("invalid {field}: OTLP requires {expected} bytes (or empty), got {actual}")]
    InvalidId {
        /// The id column (`trace_id`, `span_id`, ...).
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// A dictionary (or a string/binary buffer) outgrew its index type.
    #[error(
        "column `{column}` outgrew its dictionary or offsets ({limit} entries or bytes); \
         finish this IPC file and start a new one"
    )]
    DictionaryOverflow {
        /// The column.
        column: &'static str,
        /// The limit exceeded.
        limit: usize,
    },
    /// A table or column the layout requires is missing.
    #[error("not an OTLP Arrow batch: missing column `{0}`")]
    MissingColumn(String),
    /// A column has an unexpected Arrow type.
    #[error("column `{column}` has type {actual}, expected {expected}")]
    ColumnType {
        /// `table.column`.
        column: String,
        /// What the layout requires.
        expected: &'static str,
        /// What the batch has.
        actual: String,
    },
    /// Values that are well-typed but inconsistent (dangling parent ids, bad codes, ...).
    #[error("invalid data in table `{table}`: {reason}")]
    InvalidData {
        /// The table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Nested arrays/maps deeper than [`MAX_NESTING`](crate::MAX_NESTING).
    #[error("nested arrays/maps deeper than {0} levels")]
    NestingTooDeep(usize),
    /// The schema does not carry this crate's metadata.
    #[error("not an OTLP Arrow stream: {0}")]
    NotOtlpArrow(String),
    /// A batch of another signal than asked for.
    #[error("expected a {expected} batch, found {found}")]
    WrongSignal {
        /// Signal asked for.
        expected: Signal,
        /// Signal found in the schema metadata.
        found: Signal,
    },
    /// An IPC message declares more bytes than the reader accepts.
    #[error("IPC message of {declared} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Length declared by the input.
        declared: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The IPC input ended in the middle of a message, or lacks the file trailer.
    #[error("truncated Arrow IPC input: {0}")]
    Truncated(String),
    /// Bytes that are not Arrow IPC framing.
    #[error("malformed Arrow IPC input: {0}")]
    Malformed(String),
    /// Arrow rejected the data (invalid IPC body, validation failure, ...).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Parquet reader or writer failed (an invalid file, a write error).
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Writer options out of range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Reading or writing the underlying stream failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A Flight call failed.
    #[cfg(feature = "flight")]
    #[error("flight: {0}")]
    Flight(#[from] Box<tonic::Status>),
    /// The Flight server refused or never acknowledged a batch.
    #[cfg(feature = "flight")]
    #[error("flight server did not acknowledge: {0}")]
    NotAcknowledged(String),
}
