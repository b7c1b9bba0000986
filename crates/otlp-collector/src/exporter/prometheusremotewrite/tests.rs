use super::*;
use wire::{Label, MetricMetadata, Sample, TimeSeries};

fn series(name: &str, samples: usize) -> TimeSeries {
    TimeSeries {
        labels: vec![Label {
            name: "__name__".to_owned(),
            value: name.to_owned(),
        }],
        samples: (0..samples)
            .map(|i| Sample {
                value: i as f64,
                timestamp: i as i64,
            })
            .collect(),
        ..TimeSeries::default()
    }
}

#[test]
fn a_batch_is_cut_into_requests_of_at_most_the_size_each_series_whole() {
    let all: Vec<TimeSeries> = (0..50).map(|i| series(&format!("s{i:02}"), 20)).collect();
    let metadata = vec![MetricMetadata {
        metric_family_name: "s0".to_owned(),
        ..MetricMetadata::default()
    }];
    let one_size = WriteRequest {
        timeseries: vec![all[0].clone()],
        metadata: vec![],
    }
    .encoded_len();
    let max = one_size * 7 + 3;
    let requests = split(all.clone(), metadata.clone(), max);
    assert_eq!(requests.len(), 8, "7 series per request, 50 series");
    for request in &requests {
        assert!(
            request.encoded_len() <= max,
            "{} > {max}",
            request.encoded_len()
        );
    }
    let sent: Vec<TimeSeries> = requests.iter().flat_map(|r| r.timeseries.clone()).collect();
    assert_eq!(sent, all, "every series once, in order");
    assert_eq!(requests.last().unwrap().metadata, metadata);
    // A series larger than the limit goes alone rather than not at all.
    let requests = split(vec![series("big", 1000), series("small", 1)], vec![], 100);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].timeseries[0].samples.len(), 1000);
    assert!(split(vec![], vec![], 100).is_empty());
}

#[test]
fn of_several_failures_a_permanent_one_decides_else_the_longest_wait() {
    use std::time::Duration;
    let retry = |seconds| ExportError::Retryable {
        message: format!("{seconds}"),
        retry_after: Some(Duration::from_secs(seconds)),
    };
    let decided = worse(Some(retry(1)), retry(5));
    assert!(matches!(
        decided,
        ExportError::Retryable { retry_after: Some(wait), .. } if wait == Duration::from_secs(5)
    ));
    assert!(matches!(
        worse(Some(retry(1)), ExportError::permanent("400")),
        ExportError::Permanent { .. }
    ));
    assert!(matches!(
        worse(Some(ExportError::permanent("400")), retry(1)),
        ExportError::Permanent { .. }
    ));
}
