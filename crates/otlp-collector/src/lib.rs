//! The otlp-suite pipeline runtime: an OpenTelemetry Collector you configure the way you configure
//! `otelcol-contrib`, built for throughput and for never losing track of an item.
//!
//! ```
//! use otlp_collector::{Collector, Config};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let spans_file = dir.path().join("traces.jsonl");
//! let config = Config::from_yaml(&format!(
//!     r#"
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc: {{ endpoint: "127.0.0.1:0" }}
//! processors:
//!   batch: {{ timeout: 10ms }}
//! exporters:
//!   file: {{ path: "{}", format: json }}
//! service:
//!   pipelines:
//!     traces: {{ receivers: [otlp], processors: [batch], exporters: [file] }}
//!   telemetry:
//!     metrics: {{ level: none }}
//! "#,
//!     spans_file.display()
//! ))?;
//! let collector = Collector::new(config).start().await?;
//! let grpc = collector.grpc_addr("otlp").expect("the otlp receiver serves gRPC");
//! println!("send OTLP/gRPC to {grpc}");
//! let report = collector.shutdown(Duration::from_secs(5)).await;
//! assert!(report.is_clean());
//! # Ok(())
//! # }
//! ```
//!
//! The pipeline: receivers (`otlp` over gRPC and HTTP, `arrow_flight`) hand each request to the pipelines of its
//! signal; processors (`memory_limiter`, `batch`, `tail_sampling`, `probabilistic_sampler`) pass it on; the
//! exporters' bounded sending queues (`otlp`, `otlphttp`, `arrow_flight`, `file` as JSON, protobuf or Arrow IPC,
//! `debug`, and `loadbalancing`, which routes by trace id over several backends) deliver it with retries;
//! connectors (`forward`, `routing`, `count`) hand what one pipeline exports, or counts of it, to others. Each component type is a folder
//! under [`receiver`], [`processor`], [`exporter`], [`connector`] or [`extension`] that registers a factory
//! ([`component`]); a program embedding the collector
//! registers its own the same way. When any stage is full the client is told to retry (gRPC
//! `RESOURCE_EXHAUSTED`/`UNAVAILABLE` with `RetryInfo`, HTTP 429/503 with `Retry-After`) instead of the
//! collector buffering without bound, and every item accepted is exported, still queued, or counted as dropped
//! with a reason in the self-metrics.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admin;
pub mod auth;
mod batch;
pub mod client;
mod clock;
pub mod component;
mod compression;
pub mod config;
pub mod connector;
mod de;
mod error;
pub mod exporter;
pub mod extension;
#[doc(hidden)]
pub mod fuzzing;
mod histogram;
mod id;
mod percent;
pub mod pipeline;
pub mod processor;
pub mod receiver;
mod reload;
mod remote_write;
mod service;
mod shed;
pub mod telemetry;
mod tls;
pub mod wait;
mod zipkin;

pub use batch::Batch;
pub use compression::Compression;
pub use config::Config;
pub use error::{ConfigProblem, Error};
pub use exporter::arrow_flight::ArrowFlightExporterConfig;
pub use exporter::debug::{DebugExporterConfig, Verbosity};
pub use exporter::file::{FileExporterConfig, FileFormat, RotationConfig};
pub use exporter::loadbalancing::LoadBalancingExporterConfig;
pub use exporter::otlp::{GrpcClientKeepalive, OtlpGrpcExporterConfig};
pub use exporter::otlphttp::{HttpEncoding, OtlpHttpExporterConfig};
pub use exporter::{QueueBatchConfig, QueueConfig, RetryConfig, Sizer};
pub use extension::health_check::HealthCheckConfig;
pub use otlp_model::{AnyRequest, OtlpRequest, Signal};
pub use pipeline::{Refusal, RefusalKind};
pub use processor::batch::BatchConfig;
pub use processor::memory_limiter::MemoryLimiterConfig;
pub use receiver::arrow_flight::ArrowFlightReceiverConfig;
pub use receiver::otlp::{
    CorsSettings, GrpcKeepalive, GrpcServerConfig, HttpServerConfig, KeepaliveServerParameters,
    OtlpReceiverConfig, Protocols,
};
pub use reload::{ReloadOutcome, Reloaded};
pub use service::{Collector, RunningCollector, ShutdownReport};
pub use shed::LoadShedding;
pub use tls::{ClientTlsSettings, ServerTlsSettings, TlsVersion};
