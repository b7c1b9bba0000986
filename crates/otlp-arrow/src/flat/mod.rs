//! Flat telemetry at rest (docs are filled in below).

mod columns;
mod file;
mod ipc;
mod json;
mod logs;
mod metrics;
mod parquet;
mod prune;
mod resource;
mod schema;
mod time;
mod traces;
mod value;

pub use file::{FlatBuilder, decode};
pub use ipc::{FlatIpcReader, FlatIpcWriter};
pub use logs::{LogInfo, LogsBuilder, decode_logs};
pub use metrics::{
    ExemplarInfo, MetricData, MetricInfo, MetricsBuilder, NumberValue, PointData, PointTimes,
    decode_metrics, metric_col,
};
pub use parquet::{
    FlatParquetReader, FlatParquetWriter, ParquetOptions, READ_BATCH_ROWS, TraceSearch,
};
pub use prune::{prune_logs, prune_metrics, prune_traces};
pub use resource::{ResourceInfo, SERVICE_NAME_KEY, ScopeInfo};
pub use schema::{
    FLAT_LAYOUT, FLAT_VERSION, FLAT_VERSION_METADATA_KEY, LAYOUT_METADATA_KEY, col, flat_schema,
    flat_signal,
};
pub use traces::{EventInfo, LinkInfo, SpanInfo, TracesBuilder, decode_traces};
pub use value::ValueRef;
