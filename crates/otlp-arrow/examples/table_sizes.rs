//! Prints, per table and column, how many bytes a batch of otlp-testkit traces takes
//! raw and zstd-compressed: where the bytes of the layout go.

use arrow::array::{Array, AsArray};
use otlp_testkit::Generator;
use prost::Message;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let request = Generator::new(1).traces(n);
    let spans = otlp_testkit::span_count(&request);
    let proto = request.encode_to_vec();
    println!(
        "{spans} spans; protobuf {} B/span raw, {} B/span zstd",
        proto.len() / spans,
        zstd::bulk::compress(&proto, 3).unwrap().len() / spans
    );
    let batch = otlp_arrow::traces_to_arrow(&request).unwrap();
    let mut rows = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let list = column.as_list::<i32>();
        let table = list.value(0);
        let table = table.as_struct();
        for (child, array) in table.fields().iter().zip(table.columns()) {
            let data = array.to_data();
            let mut raw = Vec::new();
            collect(&data, &mut raw);
            let z = zstd::bulk::compress(&raw, 3).unwrap().len();
            rows.push((
                z,
                raw.len(),
                format!("{}.{} ({} rows)", field.name(), child.name(), array.len()),
            ));
        }
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    for (z, raw, name) in rows {
        println!(
            "{:>8.2} {:>8.2}  {name}",
            z as f64 / spans as f64,
            raw as f64 / spans as f64
        );
    }
}

/// Every buffer of the array and its children (dictionary values are a child).
fn collect(data: &arrow::array::ArrayData, out: &mut Vec<u8>) {
    for b in data.buffers() {
        out.extend_from_slice(b.as_slice());
    }
    if let Some(n) = data.nulls() {
        out.extend_from_slice(n.buffer().as_slice());
    }
    for c in data.child_data() {
        collect(c, out);
    }
}
