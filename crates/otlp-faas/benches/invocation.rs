//! Per-invocation overhead of [`otlp_faas::FaasLayer`] (span, trigger parsing, context
//! extraction, end-of-invocation flush through a real `BatchSpanProcessor` with a no-op exporter)
//! against the same handler uninstrumented, in the same group and run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::{Context as LambdaContext, LambdaEvent, service_fn};
use opentelemetry_sdk::testing::trace::NoopSpanExporter;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_faas::{FaasLayer, short_lived_batch_processor};
use serde_json::{Value, json};
use tower::{Layer, Service};

async fn handler(event: LambdaEvent<Value>) -> Result<usize, lambda_runtime::Error> {
    Ok(event.payload.to_string().len())
}

fn events() -> Vec<(&'static str, Value)> {
    let record = |n: usize| {
        json!({"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
               "attributes": {"AWSTraceHeader": format!("Root=1-5759e988-{n:024x};Parent=53995c3f42cd8ad8;Sampled=1")},
               "messageAttributes": {}, "body": "payload"})
    };
    vec![
        (
            "apigw",
            json!({"resource": "/orders/{id}", "path": "/orders/42", "httpMethod": "GET",
                   "headers": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                   "requestContext": {"stage": "prod"}}),
        ),
        (
            "sqs_batch_10",
            json!({"Records": (1..=10).map(record).collect::<Vec<_>>()}),
        ),
    ]
}

fn invocation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let provider = SdkTracerProvider::builder()
        .with_span_processor(short_lived_batch_processor(NoopSpanExporter::new()))
        .build();
    let layer = FaasLayer::new(provider.clone());

    let mut group = c.benchmark_group("lambda_invocation");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for (name, payload) in events() {
        let mut context = LambdaContext::default();
        context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned();
        context.invoked_function_arn =
            "arn:aws:lambda:us-east-1:123456789012:function:orders".to_owned();

        let mut plain = service_fn(handler);
        group.bench_with_input(
            BenchmarkId::new("peer_uninstrumented", name),
            &payload,
            |b, payload| {
                b.iter(|| {
                    let event = LambdaEvent::new(payload.clone(), context.clone());
                    black_box(runtime.block_on(plain.call(event)).expect("handler"))
                })
            },
        );
        let mut instrumented = layer.layer(service_fn(handler));
        group.bench_with_input(
            BenchmarkId::new("faas_layer", name),
            &payload,
            |b, payload| {
                b.iter(|| {
                    let event = LambdaEvent::new(payload.clone(), context.clone());
                    black_box(runtime.block_on(instrumented.call(event)).expect("handler"))
                })
            },
        );
    }
    group.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, invocation);
criterion_main!(benches);
