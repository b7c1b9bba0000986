use super::*;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

#[test]
fn a_record_is_tagged_by_its_dimensions_and_ids_and_falls_back_to_its_observed_time() {
    let records = vec![
        LogRecord {
            time_unix_nano: 10,
            severity_number: 17,
            severity_text: "ERROR".to_owned(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("disk full".into())),
            }),
            attributes: vec![
                kv("path", any_value::Value::StringValue("/var".into())),
                kv("free", any_value::Value::DoubleValue(0.5)),
            ],
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            ..Default::default()
        },
        LogRecord {
            observed_time_unix_nano: 20,
            body: Some(AnyValue {
                value: Some(any_value::Value::KvlistValue(KeyValueList {
                    values: vec![
                        kv("b", any_value::Value::IntValue(1)),
                        kv("a", any_value::Value::BoolValue(true)),
                    ],
                })),
            }),
            ..Default::default()
        },
        LogRecord::default(),
    ];
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("disk".into()),
                )],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "logger".to_owned(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (lines, refused) = lines(&request, &["service.name".to_owned(), "path".to_owned()]);
    let written: Vec<String> = lines
        .iter()
        .map(|line| {
            let mut out = String::new();
            line.write(&mut out);
            out.trim_end().to_owned()
        })
        .collect();
    assert_eq!(
        written,
        [
            format!(
                "logs,path=/var,service.name=disk,span_id={},trace_id={} body=\"disk full\",free=0.5,\
                 otel.library.name=\"logger\",severity_number=17i,severity_text=\"ERROR\" 10",
                "02".repeat(8),
                "01".repeat(16)
            ),
            "logs,service.name=disk body=\"{\\\"a\\\":true,\\\"b\\\":1}\",otel.library.name=\"logger\" 20".to_owned(),
        ]
    );
    assert_eq!(refused, 1, "the record without any time");
}
