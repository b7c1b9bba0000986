//! OTLP protobuf read in place, without building prost messages: [`scan`] checks an encoded export request
//! exactly as prost's decoder would (every wire type, string, length and nesting limit), counts its items and
//! finds the ones [`OtlpRequest::remove_invalid`](crate::OtlpRequest::remove_invalid) would remove, in one pass
//! that allocates nothing. A receiver answers a request with it; prost decoding stays the reference, and the
//! tests compare the two on arbitrary requests and on damaged bytes.
//!
//! [`EncodedTraces`] edits an encoded traces request the way a sampler edits the decoded one (spans removed, a
//! kept span's `trace_state` replaced, scopes and resources left empty removed), reading what the sampler decides
//! on in place ([`SpanView`]) and copying the kept spans' bytes.
//!
//! ```
//! use otlp_model::{ExportTraceServiceRequest, OtlpRequest, Signal, wire};
//! use prost::Message;
//!
//! let request = ExportTraceServiceRequest::default();
//! let bytes = request.encode_to_vec();
//! let scan = wire::scan(Signal::Traces, &bytes)?;
//! assert_eq!((scan.items, scan.invalid), (0, 0));
//! assert!(wire::scan(Signal::Traces, &[0x0a, 0x05]).is_err());
//! # Ok::<(), wire::WireError>(())
//! ```

mod reader;
mod scan;
mod schema;
mod short;
mod traces;

pub use reader::{Fields, RECURSION_LIMIT, Value, WireError, varint};
pub use scan::{Scan, scan};
pub use short::{for_each_field, key_then_value, leading_len_field, single_field};
pub use traces::{
    AnyValueView, EncodedTraces, FoundAttribute, SpanEdits, SpanView, find_attribute,
};
