//! One builder for any signal, and decoding any flat batch.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::schema::flat_signal;
use super::{
    LogsBuilder, MetricsBuilder, TracesBuilder, decode_logs, decode_metrics, decode_traces,
};
use crate::{AnyRequest, Error, Signal};

/// A flat builder of one signal, for writers that take any.
#[derive(Debug)]
pub enum FlatBuilder {
    /// Spans.
    Traces(Box<TracesBuilder>),
    /// Metric data points.
    Metrics(Box<MetricsBuilder>),
    /// Log records.
    Logs(Box<LogsBuilder>),
}

impl FlatBuilder {
    /// An empty builder for `signal`.
    pub fn new(signal: Signal) -> Self {
        match signal {
            Signal::Traces => FlatBuilder::Traces(Box::default()),
            Signal::Metrics => FlatBuilder::Metrics(Box::default()),
            Signal::Logs => FlatBuilder::Logs(Box::default()),
        }
    }

    /// An empty builder for `signal` whose batches carry the resource's and the scope's columns run-end encoded
    /// (`RunEndEncoded(Int32, …)`): `resource_attributes`, `scope_attributes`, `service_name`, the scope's name
    /// and version, both schema URLs and both dropped attribute counts, one value per run of items under the
    /// same resource and scope, where [`new`](Self::new)'s batches copy it onto every row. Otherwise the same
    /// rows and columns (`resource_entity_refs`, `resource_id` and `scope_id` stay a value per row).
    /// [`FlatParquetWriter::write_batch`](super::FlatParquetWriter::write_batch) takes these batches and encodes
    /// each run's value once; a resource's attributes are most of a row's bytes.
    ///
    /// ```
    /// use otlp_arrow::flat::FlatBuilder;
    /// use otlp_arrow::{AnyRequest, Signal};
    ///
    /// let request = otlp_testkit::Generator::new(7).traces(8);
    /// let mut builder = FlatBuilder::run_encoded(Signal::Traces);
    /// builder.append(&AnyRequest::Traces(request)).unwrap();
    /// let batch = builder.finish().unwrap();
    /// assert_eq!(batch.num_rows(), 8);
    /// for column in ["resource_attributes", "service_name", "scope_name"] {
    ///     let runs = batch.column_by_name(column).unwrap();
    ///     assert!(matches!(runs.data_type(), arrow::datatypes::DataType::RunEndEncoded(..)));
    /// }
    /// ```
    pub fn run_encoded(signal: Signal) -> Self {
        match signal {
            Signal::Traces => FlatBuilder::Traces(Box::new(TracesBuilder::run_encoded())),
            Signal::Metrics => FlatBuilder::Metrics(Box::new(MetricsBuilder::run_encoded())),
            Signal::Logs => FlatBuilder::Logs(Box::new(LogsBuilder::run_encoded())),
        }
    }

    /// The signal of the rows.
    pub fn signal(&self) -> Signal {
        match self {
            FlatBuilder::Traces(_) => Signal::Traces,
            FlatBuilder::Metrics(_) => Signal::Metrics,
            FlatBuilder::Logs(_) => Signal::Logs,
        }
    }

    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        super::flat_schema(self.signal())
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        match self {
            FlatBuilder::Traces(b) => b.len(),
            FlatBuilder::Metrics(b) => b.len(),
            FlatBuilder::Logs(b) => b.len(),
        }
    }

    /// Whether nothing was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends every item of a request of this builder's signal; on error (another
    /// signal, an invalid id) nothing of it is kept.
    pub fn append(&mut self, telemetry: &AnyRequest) -> Result<(), Error> {
        match (self, telemetry) {
            (FlatBuilder::Traces(b), AnyRequest::Traces(r)) => b.append_request(r),
            (FlatBuilder::Metrics(b), AnyRequest::Metrics(r)) => b.append_request(r),
            (FlatBuilder::Logs(b), AnyRequest::Logs(r)) => b.append_request(r),
            (b, t) => Err(Error::WrongSignal {
                expected: b.signal(),
                found: t.signal(),
            }),
        }
    }

    /// Appends every item of an encoded `Export*ServiceRequest` of this builder's signal, read in place for
    /// traces and logs (see [`TracesBuilder::append_encoded`]); metrics are decoded first. On error nothing of
    /// it is kept.
    pub fn append_encoded(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            FlatBuilder::Traces(b) => b.append_encoded(bytes),
            FlatBuilder::Logs(b) => b.append_encoded(bytes),
            FlatBuilder::Metrics(b) => {
                let request =
                    <otlp_model::ExportMetricsServiceRequest as prost::Message>::decode(bytes)
                        .map_err(|e| Error::Malformed(format!("encoded request: {e}")))?;
                b.append_request(&request)
            }
        }
    }

    /// The rows appended so far as a record batch.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        match self {
            FlatBuilder::Traces(b) => b.finish(),
            FlatBuilder::Metrics(b) => b.finish(),
            FlatBuilder::Logs(b) => b.finish(),
        }
    }
}

/// Decodes a flat batch of any signal (told by its schema metadata) into one request.
pub fn decode(batch: &RecordBatch) -> Result<AnyRequest, Error> {
    Ok(match flat_signal(batch.schema_ref())? {
        Signal::Traces => AnyRequest::Traces(decode_traces(batch)?),
        Signal::Metrics => AnyRequest::Metrics(decode_metrics(batch)?),
        Signal::Logs => AnyRequest::Logs(decode_logs(batch)?),
    })
}
