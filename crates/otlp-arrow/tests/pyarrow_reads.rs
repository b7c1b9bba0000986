//! Standard Arrow readers need none of our code: pyarrow (in a subprocess) opens the
//! IPC file and stream we write and finds exactly the spans that went in.
//!
//! The interpreter is `$OTLP_SUITE_PYTHON`, else `python3`; it needs pyarrow
//! (`cargo xtask setup` installs it into the project venv).

use std::io::Write as _;
use std::process::Command;

use otlp_arrow::{ArrowIpcWriter, IpcFormat, Signal, WriterOptions};
use otlp_testkit::Generator;

const CHECK: &str = r#"
import sys
try:
    import pyarrow as pa
    import pyarrow.ipc as ipc
except ImportError as e:
    print(f"pyarrow missing: run `cargo xtask setup` ({e})")
    sys.exit(3)

path, fmt, expected_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(expected_path) as f:
    expected = [tuple(bytes.fromhex(x) for x in line.split()) for line in f if line.strip()]
with open(path, "rb") as f:
    reader = ipc.open_file(f) if fmt == "file" else ipc.open_stream(f)
    table = reader.read_all()
assert table.schema.metadata[b"otlp_arrow.signal"] == b"traces", table.schema.metadata
spans = pa.concat_arrays([chunk.flatten() for chunk in table.column("spans").chunks])
trace_ids = spans.field("trace_id").to_pylist()
names = [n.encode() for n in spans.field("name").to_pylist()]
got = list(zip(trace_ids, names))
if len(got) != len(expected):
    print(f"span count: pyarrow read {len(got)}, expected {len(expected)}")
    sys.exit(1)
for i, (g, e) in enumerate(zip(got, expected)):
    if g != e:
        print(f"span {i}: pyarrow read {g}, expected {e}")
        sys.exit(1)
print(f"ok {len(got)} spans in {table.num_rows} batches")
"#;

fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn check_with_pyarrow(format: IpcFormat) {
    let dir = tempfile::tempdir().unwrap();
    let mut generator = Generator::new(2024);
    let requests: Vec<_> = [10, 500, 1, 2000]
        .iter()
        .map(|&n| generator.traces(n))
        .collect();

    let mut expected = String::new();
    for request in &requests {
        for rs in &request.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let name: String = span.name.bytes().map(|b| format!("{b:02x}")).collect();
                    let id: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    expected.push_str(&format!("{id} {name}\n"));
                }
            }
        }
    }
    let total: usize = requests.iter().map(otlp_testkit::span_count).sum();
    assert_eq!(expected.lines().count(), total);
    let expected_path = dir.path().join("expected.txt");
    std::fs::write(&expected_path, expected).unwrap();

    let (path, fmt) = match format {
        IpcFormat::File => (dir.path().join("spans.arrow"), "file"),
        IpcFormat::Stream => (dir.path().join("spans.arrows"), "stream"),
    };
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = ArrowIpcWriter::new(file, Signal::Traces, WriterOptions::new(format)).unwrap();
    for request in &requests {
        writer.write(request).unwrap();
    }
    writer.finish().unwrap().flush().unwrap();

    let output = Command::new(python())
        .arg("-c")
        .arg(CHECK)
        .arg(&path)
        .arg(fmt)
        .arg(&expected_path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; pyarrow missing: run `cargo xtask setup`",
                python()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pyarrow check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert_eq!(
        stdout.trim(),
        format!("ok {total} spans in {} batches", requests.len())
    );
}

#[test]
fn pyarrow_reads_the_ipc_file() {
    check_with_pyarrow(IpcFormat::File);
}

#[test]
fn pyarrow_reads_the_ipc_stream() {
    check_with_pyarrow(IpcFormat::Stream);
}
