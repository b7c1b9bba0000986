//! Prometheus remote write 1.0's messages (`prometheus.WriteRequest` of the Prometheus project's `remote.proto`
//! and `types.proto`), with the field numbers of those files: the body of every request, before snappy.

/// One request: series with their samples, and optionally the families' metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub(super) timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub(super) metadata: Vec<MetricMetadata>,
}

/// A series: its labels (`__name__` among them, sorted by name) and its samples in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub(super) labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub(super) samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub(super) exemplars: Vec<Exemplar>,
    #[prost(message, repeated, tag = "4")]
    pub(super) histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, prost::Message)]
pub(super) struct Label {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    #[prost(string, tag = "2")]
    pub(super) value: String,
}

/// A value at a time, in milliseconds since the epoch.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(super) struct Sample {
    #[prost(double, tag = "1")]
    pub(super) value: f64,
    #[prost(int64, tag = "2")]
    pub(super) timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub(super) labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub(super) value: f64,
    #[prost(int64, tag = "3")]
    pub(super) timestamp: i64,
}

/// A native histogram: exponential buckets of base `2^(2^-schema)`, as sparse spans of deltas.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    pub(super) count_int: Option<u64>,
    #[prost(double, tag = "3")]
    pub(super) sum: f64,
    #[prost(sint32, tag = "4")]
    pub(super) schema: i32,
    #[prost(double, tag = "5")]
    pub(super) zero_threshold: f64,
    #[prost(uint64, optional, tag = "6")]
    pub(super) zero_count_int: Option<u64>,
    #[prost(message, repeated, tag = "8")]
    pub(super) negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub(super) negative_deltas: Vec<i64>,
    #[prost(message, repeated, tag = "11")]
    pub(super) positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub(super) positive_deltas: Vec<i64>,
    #[prost(int32, tag = "14")]
    pub(super) reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub(super) timestamp: i64,
}

/// A run of `length` consecutive buckets, `offset` buckets after the previous run (the first: from index 0).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(super) struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub(super) offset: i32,
    #[prost(uint32, tag = "2")]
    pub(super) length: u32,
}

/// A family's type, help and unit.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct MetricMetadata {
    #[prost(enumeration = "MetricType", tag = "1")]
    pub(super) r#type: i32,
    #[prost(string, tag = "2")]
    pub(super) metric_family_name: String,
    #[prost(string, tag = "4")]
    pub(super) help: String,
    #[prost(string, tag = "5")]
    pub(super) unit: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub(super) enum MetricType {
    Unknown = 0,
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
    Summary = 5,
    Info = 6,
}
