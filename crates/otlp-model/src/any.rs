//! [`AnyRequest`]: one export request of any signal, for code that holds all three (a pipeline's batch, a file
//! of mixed signals), and the macros that take it back to code written once over [`OtlpRequest`].

use prost::Message;

use crate::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    Rejected, Signal,
};

/// One OTLP export request of any signal.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRequest {
    /// A traces request.
    Traces(ExportTraceServiceRequest),
    /// A metrics request.
    Metrics(ExportMetricsServiceRequest),
    /// A logs request.
    Logs(ExportLogsServiceRequest),
}

/// Runs `$body` with `$request` bound to the typed request inside an [`AnyRequest`] (by value, reference or
/// mutable reference, as `$any` is), so generic code over [`OtlpRequest`] serves every signal; the model is
/// arrow-rs's `downcast_primitive_array!`.
///
/// ```
/// use otlp_model::{AnyRequest, OtlpRequest, Signal, with_request};
///
/// fn describe<R: OtlpRequest>(request: &R) -> String {
///     format!("{} {}", request.item_count(), R::SIGNAL.item_unit())
/// }
/// let any = AnyRequest::empty(Signal::Logs);
/// assert_eq!(with_request!(&any, request => describe(request)), "0 log_records");
/// ```
#[macro_export]
macro_rules! with_request {
    ($any:expr, $request:ident => $body:expr) => {
        match $any {
            $crate::AnyRequest::Traces($request) => $body,
            $crate::AnyRequest::Metrics($request) => $body,
            $crate::AnyRequest::Logs($request) => $body,
        }
    };
}

/// Runs `$body` with the type `$R` naming the request type of `$signal`, for generic code that has a signal but
/// no request yet (decoding, answering).
///
/// ```
/// use otlp_model::{OtlpRequest, Signal, with_signal};
///
/// let method = with_signal!(Signal::Metrics, R => R::GRPC_METHOD);
/// assert_eq!(method, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export");
/// ```
#[macro_export]
macro_rules! with_signal {
    ($signal:expr, $R:ident => $body:expr) => {
        match $signal {
            $crate::Signal::Traces => {
                type $R = $crate::ExportTraceServiceRequest;
                $body
            }
            $crate::Signal::Metrics => {
                type $R = $crate::ExportMetricsServiceRequest;
                $body
            }
            $crate::Signal::Logs => {
                type $R = $crate::ExportLogsServiceRequest;
                $body
            }
        }
    };
}

/// The four conversions between a typed request and its [`AnyRequest`] variant, for the `OtlpRequest` impls.
macro_rules! any_conversions {
    ($variant:ident) => {
        fn into_any(self) -> AnyRequest {
            AnyRequest::$variant(self)
        }

        fn try_from_any(any: AnyRequest) -> Result<Self, AnyRequest> {
            match any {
                AnyRequest::$variant(request) => Ok(request),
                other => Err(other),
            }
        }

        fn from_any_ref(any: &AnyRequest) -> Option<&Self> {
            match any {
                AnyRequest::$variant(request) => Some(request),
                _ => None,
            }
        }

        fn from_any_mut(any: &mut AnyRequest) -> Option<&mut Self> {
            match any {
                AnyRequest::$variant(request) => Some(request),
                _ => None,
            }
        }
    };
}
pub(crate) use any_conversions;

impl AnyRequest {
    /// An empty request of `signal`.
    pub fn empty(signal: Signal) -> Self {
        with_signal!(signal, R => R::default().into_any())
    }

    /// Decodes a protobuf `Export*ServiceRequest` of `signal`.
    pub fn decode(signal: Signal, bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        with_signal!(signal, R => R::decode(bytes).map(OtlpRequest::into_any))
    }

    /// The signal of this request.
    pub fn signal(&self) -> Signal {
        match self {
            AnyRequest::Traces(_) => Signal::Traces,
            AnyRequest::Metrics(_) => Signal::Metrics,
            AnyRequest::Logs(_) => Signal::Logs,
        }
    }

    /// Spans, data points or log records in the request.
    pub fn item_count(&self) -> usize {
        with_request!(self, request => request.item_count())
    }

    /// Size of the request encoded as protobuf.
    pub fn encoded_len(&self) -> usize {
        with_request!(self, request => request.encoded_len())
    }

    /// The request encoded as protobuf.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        with_request!(self, request => request.encode_to_vec())
    }

    /// Moves every item of `other` to the end of `self`; a request of another signal is handed back untouched.
    pub fn append(&mut self, other: AnyRequest) -> Result<(), AnyRequest> {
        with_request!(self, request => append_to(request, other))
    }

    /// [`OtlpRequest::split_front`] for any signal.
    pub fn split_front(&mut self, max_items: usize) -> AnyRequest {
        with_request!(self, request => request.split_front(max_items).into_any())
    }

    /// [`OtlpRequest::remove_invalid`] for any signal.
    pub fn remove_invalid(&mut self) -> Option<Rejected> {
        with_request!(self, request => request.remove_invalid())
    }

    /// The typed request, when it is of type `R`.
    pub fn get<R: OtlpRequest>(&self) -> Option<&R> {
        R::from_any_ref(self)
    }

    /// The typed request, mutably, when it is of type `R`.
    pub fn get_mut<R: OtlpRequest>(&mut self) -> Option<&mut R> {
        R::from_any_mut(self)
    }

    /// Takes the typed request out, handing `self` back when it is of another signal.
    pub fn into_request<R: OtlpRequest>(self) -> Result<R, AnyRequest> {
        R::try_from_any(self)
    }
}

fn append_to<R: OtlpRequest>(request: &mut R, other: AnyRequest) -> Result<(), AnyRequest> {
    request.append(R::try_from_any(other)?);
    Ok(())
}

impl From<ExportTraceServiceRequest> for AnyRequest {
    fn from(request: ExportTraceServiceRequest) -> Self {
        AnyRequest::Traces(request)
    }
}

impl From<ExportMetricsServiceRequest> for AnyRequest {
    fn from(request: ExportMetricsServiceRequest) -> Self {
        AnyRequest::Metrics(request)
    }
}

impl From<ExportLogsServiceRequest> for AnyRequest {
    fn from(request: ExportLogsServiceRequest) -> Self {
        AnyRequest::Logs(request)
    }
}
