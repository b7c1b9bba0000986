//! [`OtlpRequest`] for logs.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use crate::any::any_conversions;
use crate::request::{rejected_count, rejected_of};
use crate::split::{Layout, split_front, take_front};
use crate::{AnyRequest, OtlpRequest, OtlpResponse, Rejected, Signal};

const LAYOUT: Layout<ResourceLogs, ScopeLogs> = Layout {
    scopes: |resource| &mut resource.scope_logs,
    scope_items: |scope| scope.log_records.len(),
    split_scope: |scope, n| ScopeLogs {
        scope: scope.scope.clone(),
        log_records: take_front(&mut scope.log_records, n),
        schema_url: scope.schema_url.clone(),
    },
};

/// A log record's trace context is optional, but when present its ids must have their lengths.
fn valid_record(record: &LogRecord) -> bool {
    (record.trace_id.is_empty() || record.trace_id.len() == 16)
        && (record.span_id.is_empty() || record.span_id.len() == 8)
}

impl OtlpRequest for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;
    const MESSAGE_NAME: &'static str = "ExportLogsServiceRequest";
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const GRPC_METHOD: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    type Response = ExportLogsServiceResponse;

    fn item_count(&self) -> usize {
        self.resource_logs
            .iter()
            .flat_map(|resource| &resource.scope_logs)
            .map(|scope| scope.log_records.len())
            .sum()
    }

    fn append(&mut self, other: Self) {
        self.resource_logs.extend(other.resource_logs);
    }

    fn split_front(&mut self, max_items: usize) -> Self {
        ExportLogsServiceRequest {
            resource_logs: split_front(&mut self.resource_logs, max_items, &LAYOUT),
        }
    }

    fn remove_invalid(&mut self) -> Option<Rejected> {
        let mut removed = 0u64;
        for scope in self
            .resource_logs
            .iter_mut()
            .flat_map(|resource| &mut resource.scope_logs)
        {
            scope.log_records.retain(|record| {
                let valid = valid_record(record);
                removed += u64::from(!valid);
                valid
            });
        }
        (removed > 0).then(|| Rejected {
            items: removed,
            message: format!(
                "{removed} log record(s) rejected: trace_id must be empty or 16 bytes, span_id empty or 8 bytes"
            ),
        })
    }

    any_conversions!(Logs);
}

impl OtlpResponse for ExportLogsServiceResponse {
    fn with_rejected(rejected: Option<Rejected>) -> Self {
        ExportLogsServiceResponse {
            partial_success: rejected.map(|rejected| ExportLogsPartialSuccess {
                rejected_log_records: rejected_count(&rejected),
                error_message: rejected.message,
            }),
        }
    }

    fn rejected(&self) -> Option<Rejected> {
        let partial = self.partial_success.as_ref()?;
        rejected_of(partial.rejected_log_records, &partial.error_message)
    }
}
