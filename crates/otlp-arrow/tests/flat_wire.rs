//! Encoded requests read in place into the flat builders give exactly the rows the prost path gives, for
//! arbitrary requests of every `AnyValue` kind; bytes prost refuses are refused too, keeping nothing.

mod strategies;

use otlp_arrow::flat::{LogsBuilder, TracesBuilder};
use proptest::prelude::*;
use prost::Message;
use strategies::{logs, traces};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn traces_in_place_equal_the_prost_path(request in traces()) {
        let mut reference = TracesBuilder::new();
        let expected = reference.append_request(&request).and_then(|()| reference.finish());
        let mut in_place = TracesBuilder::new();
        let got = in_place.append_encoded(&request.encode_to_vec()).and_then(|()| in_place.finish());
        match (expected, got) {
            (Ok(expected), Ok(got)) => prop_assert_eq!(expected, got),
            (Err(_), Err(_)) => {}
            (expected, got) => prop_assert!(false, "prost path {:?}, in place {:?}", expected.map(|b| b.num_rows()), got.map(|b| b.num_rows())),
        }
    }

    #[test]
    fn logs_in_place_equal_the_prost_path(request in logs()) {
        let mut reference = LogsBuilder::new();
        let expected = reference.append_request(&request).and_then(|()| reference.finish());
        let mut in_place = LogsBuilder::new();
        let got = in_place.append_encoded(&request.encode_to_vec()).and_then(|()| in_place.finish());
        match (expected, got) {
            (Ok(expected), Ok(got)) => prop_assert_eq!(expected, got),
            (Err(_), Err(_)) => {}
            (expected, got) => prop_assert!(false, "prost path {:?}, in place {:?}", expected.map(|b| b.num_rows()), got.map(|b| b.num_rows())),
        }
    }

    #[test]
    fn damaged_bytes_that_still_decode_give_the_decoded_rows(request in traces(), at: usize, with: u8) {
        let mut bytes = request.encode_to_vec();
        if !bytes.is_empty() {
            let at = at % bytes.len();
            bytes[at] = with;
        }
        // The collector reads in place only what the scanner accepted, and the scanner accepts what prost does.
        let Ok(decoded) = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(bytes.as_slice()) else {
            return Ok(());
        };
        let mut reference = TracesBuilder::new();
        let expected = reference.append_request(&decoded).and_then(|()| reference.finish());
        let mut in_place = TracesBuilder::new();
        let got = in_place.append_encoded(&bytes).and_then(|()| in_place.finish());
        match (expected, got) {
            (Ok(expected), Ok(got)) => prop_assert_eq!(expected, got),
            (Err(_), Err(_)) => {}
            (expected, got) => prop_assert!(false, "prost path {:?}, in place {:?}", expected.map(|b| b.num_rows()), got.map(|b| b.num_rows())),
        }
    }
}

#[test]
fn realistic_requests_in_place_equal_the_prost_path() {
    let mut generator = otlp_testkit::Generator::new(3);
    for _ in 0..5 {
        let request = generator.traces(500);
        let mut reference = TracesBuilder::new();
        reference.append_request(&request).unwrap();
        let mut in_place = TracesBuilder::new();
        in_place.append_encoded(&request.encode_to_vec()).unwrap();
        assert_eq!(reference.finish().unwrap(), in_place.finish().unwrap());
        let logs = generator.logs(300);
        let mut reference = LogsBuilder::new();
        reference.append_request(&logs).unwrap();
        let mut in_place = LogsBuilder::new();
        in_place.append_encoded(&logs.encode_to_vec()).unwrap();
        assert_eq!(reference.finish().unwrap(), in_place.finish().unwrap());
    }
}
