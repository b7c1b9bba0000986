//! `service.telemetry.metrics.readers[].periodic`: the self-metrics pushed as OTLP metrics every `interval`, as an
//! OpenTelemetry SDK's periodic reader with an OTLP exporter does in otelcol. Counters become monotonic cumulative
//! sums, gauges gauges, histograms cumulative explicit-bucket histograms, all under one resource
//! (`service.telemetry.resource`) and one instrumentation scope.

use super::{Series, Telemetry};
use crate::ClientTlsSettings;
use crate::Error;
use crate::compression::{Compression, compress};
use crate::config::TelemetryConfig;
use crate::exporter::otlp::{OtlpGrpcExport, OtlpGrpcExporterConfig};
use crate::exporter::otlphttp::client::HttpClient;
use crate::exporter::otlphttp::config::HttpConnections;
use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_model::ExportMetricsServiceRequest;
use prost::Message;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a periodic reader's OTLP exporter sends (`exporter.otlp.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf`: POST to the endpoint's path (`/v1/metrics` when it has none).
    HttpProtobuf,
    /// `grpc`: the OTLP metrics service's `Export` call.
    Grpc,
}

/// One `periodic` reader with an `otlp` exporter.
#[derive(Debug, Clone)]
pub struct PeriodicReaderConfig {
    /// Where it was written (`service.telemetry.metrics.readers[1]`), for the errors of its start.
    pub key: String,
    /// How it sends.
    pub protocol: OtlpProtocol,
    /// The URL sent to: for `http/protobuf` with its path, for `grpc` the server's `scheme://host:port`.
    pub endpoint: String,
    /// Time between the starts of two pushes (`interval`, 60 s by default).
    pub interval: Duration,
    /// The most one push may take (the smaller of the reader's `timeout`, 30 s, and the exporter's, 10 s; a
    /// `0` is no limit for either).
    pub timeout: Option<Duration>,
    /// Headers (gRPC metadata) sent with every push.
    pub headers: BTreeMap<String, String>,
    /// `gzip` or `none`.
    pub compression: Compression,
    /// TLS for an `https://` endpoint.
    pub tls: ClientTlsSettings,
}

/// The running periodic readers of one collector; [`shutdown`](Self::shutdown) makes a last push and stops them.
#[derive(Debug, Default)]
pub struct PeriodicReaders {
    running: Vec<(watch::Sender<bool>, JoinHandle<()>)>,
}

impl PeriodicReaders {
    /// Starts pushing `telemetry` as `config.periodic_readers` say, with `config.resource`. The first push is one
    /// interval after the start. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Start`] naming the reader when its exporter cannot be built (an endpoint that is not a URL, a
    /// certificate file that cannot be read).
    pub fn start(config: &TelemetryConfig, telemetry: &Telemetry) -> Result<Self, Error> {
        let resource = config.resource.attributes();
        // One start time per process: a reload starts the readers again over the same registry, whose counts did
        // not start again, and a later start time would tell backends that they had.
        static START: OnceLock<u64> = OnceLock::new();
        let start = *START.get_or_init(|| unix_nanos(SystemTime::now()));
        let mut readers = PeriodicReaders::default();
        for reader in &config.periodic_readers {
            let sender = Sender::new(reader).map_err(|message| Error::Start {
                component: reader.key.clone(),
                message,
            })?;
            let (stop, stopped) = watch::channel(false);
            let push = Push {
                telemetry: telemetry.clone(),
                resource: resource.clone(),
                start,
                sender,
                timeout: reader.timeout,
                endpoint: reader.endpoint.clone(),
            };
            let task = tokio::spawn(push.run(reader.interval, stopped));
            tracing::info!(endpoint = %reader.endpoint, interval = ?reader.interval, "pushing self-metrics over OTLP");
            readers.running.push((stop, task));
        }
        Ok(readers)
    }

    /// Pushes once more, so that the last counts reach the backend, and stops every reader.
    pub async fn shutdown(self) {
        for (stop, _) in &self.running {
            let _ = stop.send(true);
        }
        for (_, task) in self.running {
            let _ = task.await;
        }
    }
}

struct Push {
    telemetry: Telemetry,
    resource: Vec<KeyValue>,
    start: u64,
    sender: Sender,
    timeout: Option<Duration>,
    endpoint: String,
}

impl Push {
    async fn run(self, interval: Duration, mut stopped: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        // A push that overran its interval is followed by the next one an interval later, not by a burst.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.push().await,
                _ = stopped.changed() => {
                    self.push().await;
                    return;
                }
            }
        }
    }

    async fn push(&self) {
        let request = snapshot(
            &self.telemetry,
            &self.resource,
            self.start,
            unix_nanos(SystemTime::now()),
        );
        let sent = match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, self.sender.send(request))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}"))),
            None => self.sender.send(request).await,
        };
        if let Err(error) = sent {
            tracing::warn!(endpoint = %self.endpoint, %error, "cannot push self-metrics");
        }
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Every series of `telemetry` now, as one OTLP metrics request.
pub(super) fn snapshot(
    telemetry: &Telemetry,
    resource: &[KeyValue],
    start: u64,
    now: u64,
) -> ExportMetricsServiceRequest {
    let families = telemetry.families.lock();
    let mut metrics = Vec::with_capacity(families.len());
    for (name, family) in families.iter() {
        let mut sums = Vec::new();
        let mut gauges = Vec::new();
        let mut histograms = Vec::new();
        for (labels, series) in &family.series {
            let attributes = attributes(labels);
            match series {
                Series::Counter(_) | Series::CounterFn(_) => {
                    sums.push(number(attributes, series.value(), start, now));
                }
                Series::Gauge(_) => gauges.push(number(attributes, series.value(), start, now)),
                Series::Histogram(histogram) => {
                    let cells = &histogram.0;
                    let bucket_counts: Vec<u64> = cells
                        .buckets
                        .iter()
                        .map(|count| count.load(Ordering::Relaxed))
                        .collect();
                    histograms.push(HistogramDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        count: bucket_counts.iter().sum(),
                        sum: Some(histogram.sum()),
                        bucket_counts,
                        explicit_bounds: cells.bounds.to_vec(),
                        ..Default::default()
                    });
                }
            }
        }
        let metric = |data| Metric {
            name: name.clone(),
            description: family.help.clone(),
            data: Some(data),
            ..Default::default()
        };
        // A family holds one kind; should a slip have mixed them, each kind still goes out as what it is.
        if !sums.is_empty() {
            metrics.push(metric(metric::Data::Sum(Sum {
                data_points: sums,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })));
        }
        if !gauges.is_empty() {
            metrics.push(metric(metric::Data::Gauge(Gauge {
                data_points: gauges,
            })));
        }
        if !histograms.is_empty() {
            metrics.push(metric(metric::Data::Histogram(Histogram {
                data_points: histograms,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })));
        }
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource.to_vec(),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "otlp-collector".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn number(attributes: Vec<KeyValue>, value: u64, start: u64, now: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsInt(
            i64::try_from(value).unwrap_or(i64::MAX),
        )),
        ..Default::default()
    }
}

/// The attributes of a series from its labels as the registry renders them (`k="v",k2="a\"b"`).
fn attributes(labels: &str) -> Vec<KeyValue> {
    let mut out = Vec::new();
    let mut rest = labels;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => {}
                },
                '"' => {
                    end = at + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push(KeyValue {
            key: key.trim_start_matches(',').to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value)),
            }),
            ..Default::default()
        });
        rest = &after[end..];
    }
    out
}

/// The transport of one reader.
enum Sender {
    /// Boxed: the pooled client is several times the size of the gRPC channel.
    Http(Box<HttpSender>),
    Grpc(OtlpGrpcExport),
}

impl Sender {
    fn new(reader: &PeriodicReaderConfig) -> Result<Self, String> {
        match reader.protocol {
            OtlpProtocol::HttpProtobuf => Ok(Sender::Http(Box::new(HttpSender::new(reader)?))),
            OtlpProtocol::Grpc => {
                let mut config = OtlpGrpcExporterConfig::with_endpoint(&reader.endpoint);
                config.tls = reader.tls.clone();
                config.headers = reader.headers.clone();
                config.compression = reader.compression;
                if let Some(timeout) = reader.timeout {
                    config.timeout = timeout;
                }
                Ok(Sender::Grpc(OtlpGrpcExport::new(&config, None)?))
            }
        }
    }

    async fn send(&self, request: ExportMetricsServiceRequest) -> Result<(), String> {
        let body = Bytes::from(request.encode_to_vec());
        match self {
            Sender::Http(http) => http.send(body).await,
            Sender::Grpc(grpc) => grpc
                .send_encoded::<ExportMetricsServiceRequest>(vec![body], None)
                .await
                .map(|_| ())
                .map_err(|e| e.message().to_string()),
        }
    }
}

/// OTLP/HTTP with protobuf bodies, through the `otlphttp` exporter's client (plain or over rustls).
struct HttpSender {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    compression: Compression,
}

impl HttpSender {
    fn new(reader: &PeriodicReaderConfig) -> Result<Self, String> {
        let url: http::Uri = reader
            .endpoint
            .parse()
            .map_err(|e| format!("endpoint `{}`: {e}", reader.endpoint))?;
        let mut headers = crate::exporter::otlphttp::client::header_map(&reader.headers)?;
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        if let Some(encoding) = reader.compression.content_encoding() {
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static(encoding),
            );
        }
        // The push's own timeout bounds the exchange; the client's is only a backstop.
        let timeout = reader.timeout.unwrap_or(Duration::MAX / 2);
        Ok(HttpSender {
            client: HttpClient::new(&reader.tls, &HttpConnections::default(), timeout)?,
            url,
            headers,
            compression: reader.compression,
        })
    }

    async fn send(&self, body: Bytes) -> Result<(), String> {
        let body = match self.compression {
            Compression::None => body,
            compression => Bytes::from(
                compress(compression, &body).map_err(|e| format!("cannot compress: {e}"))?,
            ),
        };
        let answer = self
            .client
            .post(&self.url, &self.headers, body)
            .await
            .map_err(|e| format!("POST {}: {e}", self.url))?;
        if answer.status.is_success() {
            return Ok(());
        }
        Err(format!(
            "POST {} answered {}: {}",
            self.url,
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(512)])
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &KeyValue) -> (&str, &str) {
        match value.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(text)) => (value.key.as_str(), text.as_str()),
            other => panic!("{}: not a string: {other:?}", value.key),
        }
    }

    #[test]
    fn counters_gauges_and_histograms_become_sums_gauges_and_histograms() {
        let telemetry = Telemetry::new();
        telemetry
            .counter("accepted", "Accepted.", &[("receiver", "otlp")])
            .add(7);
        telemetry.gauge("queue", "Queued.", &[], || 3);
        let latency = telemetry.histogram("latency", "Latency.", &[], &[1.0, 10.0]);
        latency.record(0.5);
        latency.record(5.0);
        latency.record(50.0);
        let resource = [KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("edge".into())),
            }),
            ..Default::default()
        }];
        let request = snapshot(&telemetry, &resource, 100, 200);
        let [resource_metrics] = request.resource_metrics.as_slice() else {
            panic!("one resource: {request:?}");
        };
        let attributes = &resource_metrics.resource.as_ref().unwrap().attributes;
        assert_eq!(text(&attributes[0]), ("service.name", "edge"));
        let metrics = &resource_metrics.scope_metrics[0].metrics;
        let by_name = |name: &str| metrics.iter().find(|m| m.name == name).unwrap();

        let Some(metric::Data::Sum(sum)) = &by_name("accepted").data else {
            panic!("a counter is a sum");
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(7)));
        assert_eq!(
            (point.start_time_unix_nano, point.time_unix_nano),
            (100, 200)
        );
        assert_eq!(text(&point.attributes[0]), ("receiver", "otlp"));
        assert_eq!(by_name("accepted").description, "Accepted.");

        let Some(metric::Data::Gauge(gauge)) = &by_name("queue").data else {
            panic!("a gauge is a gauge");
        };
        assert_eq!(
            gauge.data_points[0].value,
            Some(number_data_point::Value::AsInt(3))
        );
        assert!(gauge.data_points[0].attributes.is_empty());

        let Some(metric::Data::Histogram(histogram)) = &by_name("latency").data else {
            panic!("a histogram is a histogram");
        };
        let point = &histogram.data_points[0];
        assert_eq!(point.explicit_bounds, [1.0, 10.0]);
        assert_eq!(point.bucket_counts, [1, 1, 1]);
        assert_eq!((point.count, point.sum), (3, Some(55.5)));
    }

    #[test]
    fn labels_are_read_back_with_their_escapes() {
        let labels = r#"exporter="otlp/2",message="say \"hi\"\nback\\slash""#;
        let read: Vec<(String, String)> = attributes(labels)
            .iter()
            .map(|kv| {
                let (key, value) = text(kv);
                (key.to_string(), value.to_string())
            })
            .collect();
        assert_eq!(
            read,
            [
                ("exporter".to_string(), "otlp/2".to_string()),
                ("message".to_string(), "say \"hi\"\nback\\slash".to_string()),
            ]
        );
        assert!(attributes("").is_empty());
    }
}
