use super::profile::{Profile, gzipped, profile};
use ::pprof::{Frames, Report, Symbol};
use prost::Message as _;
use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, SystemTime};

fn symbol(name: &str, line: u32) -> Symbol {
    Symbol {
        name: Some(name.as_bytes().to_vec()),
        addr: None,
        lineno: Some(line),
        filename: Some("src/lib.rs".into()),
    }
}

fn stack(frames: &[(&str, u32)], thread: &str) -> Frames {
    Frames {
        frames: frames
            .iter()
            .map(|(name, line)| vec![symbol(name, *line)])
            .collect(),
        thread_name: thread.to_owned(),
        thread_id: 7,
        sample_timestamp: SystemTime::now(),
    }
}

#[test]
fn stacks_become_samples_of_count_and_cpu_time_over_shared_locations() {
    let mut report = Report {
        data: HashMap::from([
            (
                stack(&[("decode", 10), ("receive", 20), ("main", 1)], "worker-1"),
                3,
            ),
            (
                stack(&[("encode", 30), ("receive", 20), ("main", 1)], "worker-2"),
                5,
            ),
        ]),
        // pprof-rs does not export the timing's type: set through its fields.
        timing: Default::default(),
    };
    report.timing.frequency = 100;
    report.timing.start_time = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
    report.timing.duration = Duration::from_secs(2);
    let built = profile(&report);
    assert_eq!(
        built.string_table[0], "",
        "pprof's string table starts with \"\""
    );
    let string = |at: i64| built.string_table[at as usize].as_str();
    let types: Vec<(&str, &str)> = built
        .sample_type
        .iter()
        .map(|t| (string(t.r#type), string(t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(built.period, 10_000_000, "100 Hz");
    assert_eq!(built.time_nanos, 10_000_000_000);
    assert_eq!(built.duration_nanos, 2_000_000_000);
    assert_eq!(built.function.len(), 4, "receive and main are shared");
    assert_eq!(built.location.len(), 4);
    let mut samples: Vec<(Vec<&str>, Vec<i64>, &str)> = built
        .sample
        .iter()
        .map(|sample| {
            let names = sample
                .location_id
                .iter()
                .map(|id| {
                    let location = &built.location[*id as usize - 1];
                    let function = &built.function[location.line[0].function_id as usize - 1];
                    string(function.name)
                })
                .collect();
            (names, sample.value.clone(), string(sample.label[0].str))
        })
        .collect();
    samples.sort();
    assert_eq!(
        samples,
        vec![
            (
                vec!["decode", "receive", "main"],
                vec![3, 30_000_000],
                "worker-1"
            ),
            (
                vec!["encode", "receive", "main"],
                vec![5, 50_000_000],
                "worker-2"
            ),
        ]
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gzipped(&built).unwrap().as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(Profile::decode(unzipped.as_slice()).unwrap(), built);
}
