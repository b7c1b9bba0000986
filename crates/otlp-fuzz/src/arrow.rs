//! otlp-arrow's readers: Arrow IPC streams and files and Arrow Flight messages of the normalized layout, and the
//! flat Parquet and Arrow IPC files.
//!
//! These readers hand hostile bytes to arrow-rs and parquet, which panic on some malformed input; the readers
//! catch those panics and answer [`otlp_arrow::Error::Malformed`]. Under libFuzzer every panic aborts, caught or
//! not, so the fuzz targets of this module call [`tolerate_caught_panics`] first (see its docs).

use std::io::Cursor;
use std::sync::Once;

use arrow_flight::FlightData;
use bytes::{Buf, Bytes};
use otlp_arrow::flat::{
    FlatIpcReader, FlatIpcWriter, FlatParquetReader, FlatParquetWriter, ParquetOptions,
};
use otlp_arrow::{
    AnyRequest, ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, ReaderOptions,
    WriterOptions,
};
use prost::Message;

/// Most requests read from one input: a few kilobytes of fuzz input cannot hold more, and a bound keeps a
/// run short whatever the reader does.
const MAX_REQUESTS: usize = 1024;

/// Replaces libFuzzer's panic hook (print, then abort) by one that only prints, once per process.
///
/// The readers catch the panics of arrow-rs and parquet on purpose (`catch_unwind`), and libFuzzer's hook would
/// abort on those before they are caught. A panic nobody catches still ends the run: it unwinds into
/// libfuzzer-sys, which aborts when its `catch_unwind` sees it, so an invariant that breaks or a panic in our
/// own code is still a crash.
pub fn tolerate_caught_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("panic (caught by the reader, or a crash if nothing catches it): {info}");
        }));
    });
}

/// Compared encoded: a decoded double may be NaN, which is not equal to itself.
fn encoded(requests: &[AnyRequest]) -> Vec<Vec<u8>> {
    requests.iter().map(AnyRequest::encode_to_vec).collect()
}

/// An Arrow IPC stream, and an Arrow IPC file, of the normalized layout, read with [`ArrowIpcReader`].
///
/// The reader must answer requests or an error, never panic, and every request it reads must be of the
/// stream's signal and survive being written again with [`ArrowIpcWriter`] and read back.
pub fn arrow_ipc(data: &[u8]) {
    for format in [IpcFormat::Stream, IpcFormat::File] {
        let Ok(mut reader) = ArrowIpcReader::new(data, format) else {
            continue;
        };
        let signal = reader.signal();
        let mut requests = Vec::new();
        while requests.len() < MAX_REQUESTS {
            match reader.next_request() {
                Ok(Some(request)) => {
                    assert_eq!(request.signal(), signal, "a request of another signal");
                    requests.push(request);
                }
                Ok(None) | Err(_) => break,
            }
        }
        if requests.is_empty() {
            continue;
        }
        for compression in [Compression::None, Compression::Zstd(1)] {
            let options = WriterOptions::new(format).with_compression(compression);
            let mut writer = match ArrowIpcWriter::new(Vec::new(), signal, options) {
                Ok(writer) => writer,
                Err(error) => panic!("cannot start an IPC writer: {error}"),
            };
            for request in &requests {
                if let Err(error) = writer.write_any(request) {
                    panic!("a request read from IPC cannot be written to IPC: {error}");
                }
            }
            let written = match writer.finish() {
                Ok(written) => written,
                Err(error) => panic!("cannot finish the IPC output: {error}"),
            };
            let back = match ArrowIpcReader::new(written.as_slice(), format) {
                Ok(reader) => reader.collect::<Result<Vec<_>, _>>(),
                Err(error) => Err(error),
            };
            match back {
                Ok(back) => assert_eq!(
                    encoded(&back),
                    encoded(&requests),
                    "requests read from IPC read back differently after being written again"
                ),
                Err(error) => panic!(
                    "what was written for requests read from IPC does not read back: {error}"
                ),
            }
        }
    }
}

/// The `FlightData` messages of one Arrow Flight `do_put`, as a Flight receiver decodes them
/// (`otlp_arrow::flight::fuzzing::decode_flight`, the server's own decoder). The input is a sequence of
/// length-delimited protobuf `FlightData` messages, as gRPC hands them over one by one.
///
/// Decoding must never panic, and the requests it gives must come back whole from what a Flight client sends
/// for them.
pub fn arrow_flight(data: &[u8]) {
    let mut input = Bytes::copy_from_slice(data);
    let mut messages = Vec::new();
    while input.has_remaining() && messages.len() < MAX_REQUESTS {
        match FlightData::decode_length_delimited(&mut input) {
            Ok(message) => messages.push(message),
            Err(_) => break,
        }
    }
    let (requests, _error) =
        otlp_arrow::flight::fuzzing::decode_flight(&messages, ReaderOptions::default());
    let Some(signal) = requests.first().map(AnyRequest::signal) else {
        return;
    };
    assert!(
        requests.iter().all(|request| request.signal() == signal),
        "one Flight stream gave requests of several signals"
    );
    for compression in [Compression::None, Compression::Zstd(1)] {
        let options = WriterOptions::new(IpcFormat::Stream).with_compression(compression);
        let sent = match otlp_arrow::flight::fuzzing::encode_flight(signal, &requests, &options) {
            Ok(sent) => sent,
            Err(error) => panic!("requests decoded from Flight cannot be sent on Flight: {error}"),
        };
        let (back, error) =
            otlp_arrow::flight::fuzzing::decode_flight(&sent, ReaderOptions::default());
        assert!(
            error.is_none(),
            "what a Flight client sends is refused: {error:?}"
        );
        assert_eq!(
            encoded(&back),
            encoded(&requests),
            "requests decoded from Flight decode differently after being sent again"
        );
    }
}

/// A flat Parquet file, read with [`FlatParquetReader`], and a flat Arrow IPC file, read with
/// [`FlatIpcReader`] (each rejects the other's bytes by their magic).
///
/// Reading must answer a request or an error, never panic, and a request read from a flat file must be written
/// again by the writer of the same format and read back unchanged.
pub fn arrow_flat(data: &[u8]) {
    if let Ok(request) = FlatParquetReader::read_all(Bytes::copy_from_slice(data)) {
        let written =
            FlatParquetWriter::new(Vec::new(), request.signal(), ParquetOptions::default())
                .and_then(|mut writer| {
                    writer.write(&request)?;
                    writer.finish()
                });
        let back = match written {
            Ok(written) => FlatParquetReader::read_all(Bytes::from(written)),
            Err(error) => {
                panic!("a request read from a flat Parquet file cannot be written: {error}")
            }
        };
        match back {
            Ok(back) => assert_eq!(
                back.encode_to_vec(),
                request.encode_to_vec(),
                "a request read from a flat Parquet file reads back differently after being written again"
            ),
            Err(error) => panic!(
                "a flat Parquet file written for a request read from one does not read: {error}"
            ),
        }
    }
    if let Ok(request) = FlatIpcReader::read_all(Cursor::new(data)) {
        let written = FlatIpcWriter::new(Vec::new(), request.signal(), Compression::None).and_then(
            |mut writer| {
                writer.write(&request)?;
                writer.finish()
            },
        );
        let back = match written {
            Ok(written) => FlatIpcReader::read_all(Cursor::new(written)),
            Err(error) => {
                panic!("a request read from a flat Arrow file cannot be written: {error}")
            }
        };
        match back {
            Ok(back) => assert_eq!(
                back.encode_to_vec(),
                request.encode_to_vec(),
                "a request read from a flat Arrow file reads back differently after being written again"
            ),
            Err(error) => panic!(
                "a flat Arrow file written for a request read from one does not read: {error}"
            ),
        }
    }
}
