//! One trait over the three signals' Arrow conversions, so the IPC writer and reader and Arrow Flight are
//! written once. The model is arrow-rs's `PrimitiveArray<T>`: generic code over [`ArrowRequest`], with the
//! per-signal encoders ([`TracesEncoder`](crate::TracesEncoder), ...) as its associated types.

use std::any::Any;

use arrow::record_batch::RecordBatch;
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    Signal, with_signal,
};

use crate::columns::DictMode;
use crate::{
    Error, LogsEncoder, MetricsEncoder, TracesEncoder, arrow_to_logs, arrow_to_metrics,
    arrow_to_traces,
};

/// An OTLP request type with this crate's normalized Arrow layout.
pub trait ArrowRequest: OtlpRequest {
    /// This signal's encoder.
    type Encoder: Encoder<Self>;

    /// Decodes a record batch of this signal's layout.
    fn from_arrow(batch: &RecordBatch) -> Result<Self, Error>;
}

/// Turns requests of one signal into record batches.
pub trait Encoder<R>: Default + Send + 'static {
    /// An encoder whose dictionaries persist across batches with `UInt16` keys, so the schema stays fixed and
    /// each new string is sent once (what IPC streams, files and Flight use).
    fn persistent() -> Self;

    /// Encodes one request as one record batch.
    fn encode(&mut self, request: &R) -> Result<RecordBatch, Error>;

    /// Forgets the persistent dictionaries (after one overflowed).
    fn reset(&mut self);
}

/// The per-signal implementations: each encoder's inherent methods, and the signal's decoder.
macro_rules! arrow_request {
    ($request:ty, $encoder:ty, $decode:path) => {
        impl Encoder<$request> for $encoder {
            fn persistent() -> Self {
                <$encoder>::with_mode(DictMode::Persistent)
            }

            fn encode(&mut self, request: &$request) -> Result<RecordBatch, Error> {
                <$encoder>::encode(self, request)
            }

            fn reset(&mut self) {
                <$encoder>::reset(self);
            }
        }

        impl ArrowRequest for $request {
            type Encoder = $encoder;

            fn from_arrow(batch: &RecordBatch) -> Result<Self, Error> {
                $decode(batch)
            }
        }
    };
}

arrow_request!(ExportTraceServiceRequest, TracesEncoder, arrow_to_traces);
arrow_request!(
    ExportMetricsServiceRequest,
    MetricsEncoder,
    arrow_to_metrics
);
arrow_request!(ExportLogsServiceRequest, LogsEncoder, arrow_to_logs);

/// An encoder of a signal chosen at run time (the signal of an IPC stream), reached from typed code by downcast.
pub(crate) trait DynEncoder: Send {
    fn signal(&self) -> Signal;
    fn empty_batch(&mut self) -> Result<RecordBatch, Error>;
    fn as_any_mut(&mut self) -> &mut dyn Any;

    /// Encodes a request of this encoder's signal (Flight sends requests of any signal it is handed).
    #[cfg(feature = "flight")]
    fn encode_any(&mut self, request: &otlp_model::AnyRequest) -> Result<RecordBatch, Error>;

    /// Forgets the persistent dictionaries.
    #[cfg(feature = "flight")]
    fn reset(&mut self);

    /// Encodes for an IPC stream, where a dictionary that overflows may be replaced: then all dictionaries
    /// start afresh.
    #[cfg(feature = "flight")]
    fn encode_for_stream(
        &mut self,
        request: &otlp_model::AnyRequest,
    ) -> Result<RecordBatch, Error> {
        match self.encode_any(request) {
            Err(Error::DictionaryOverflow { .. }) => {
                self.reset();
                self.encode_any(request)
            }
            other => other,
        }
    }
}

/// The encoder of `R`, behind [`DynEncoder`].
pub(crate) struct Typed<R: ArrowRequest>(pub(crate) R::Encoder);

impl<R: ArrowRequest> DynEncoder for Typed<R> {
    fn signal(&self) -> Signal {
        R::SIGNAL
    }

    #[cfg(feature = "flight")]
    fn encode_any(&mut self, request: &otlp_model::AnyRequest) -> Result<RecordBatch, Error> {
        let typed = R::from_any_ref(request).ok_or(Error::WrongSignal {
            expected: R::SIGNAL,
            found: request.signal(),
        })?;
        self.0.encode(typed)
    }

    fn empty_batch(&mut self) -> Result<RecordBatch, Error> {
        self.0.encode(&R::default())
    }

    #[cfg(feature = "flight")]
    fn reset(&mut self) {
        self.0.reset();
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A persistent-dictionary encoder for `signal`.
pub(crate) fn persistent_encoder(signal: Signal) -> Box<dyn DynEncoder> {
    with_signal!(signal, R => Box::new(Typed::<R>(<R as ArrowRequest>::Encoder::persistent())))
}
