use super::*;
use crate::receiver::scraper::metric::enabled_with;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use std::os::unix::fs::PermissionsExt as _;

fn scraper(include: String, toggles: &[(&str, bool)], path_attribute: bool) -> FileStatsScraper {
    let config = FileStatsConfig {
        include,
        ..Default::default()
    };
    FileStatsScraper {
        finder: config.finder().unwrap(),
        enabled: enabled_with(SPECS, toggles),
        name_attribute: true,
        path_attribute,
        id: "filestats".to_owned(),
    }
}

/// (resource attributes, metric name, point attributes, value) of every point.
fn points(request: &ExportMetricsServiceRequest) -> Vec<(String, String, String, i64)> {
    let text = |kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]| {
        kvs.iter()
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::StringValue(s)) => format!("{}={s}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                },
            )
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut points = Vec::new();
    for rm in &request.resource_metrics {
        let resource = text(&rm.resource.as_ref().unwrap().attributes);
        for metric in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let data_points = match &metric.data {
                Some(Data::Gauge(g)) => &g.data_points,
                Some(Data::Sum(s)) => &s.data_points,
                other => panic!("{other:?}"),
            };
            for p in data_points {
                let Some(number_data_point::Value::AsInt(value)) = p.value else {
                    panic!("an integer")
                };
                points.push((
                    resource.clone(),
                    metric.name.clone(),
                    text(&p.attributes),
                    value,
                ));
            }
        }
    }
    points
}

#[test]
fn each_match_is_a_resource_with_its_size_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "twelve bytes").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir(dir.path().join("archive.log")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let metadata = std::fs::metadata(&log).unwrap();

    let scraper = scraper(
        format!("{}/*.log", dir.path().display()),
        &[
            ("file.ctime", true),
            ("file.atime", true),
            ("file.count", true),
        ],
        true,
    );
    let request = scraper.measure(7).expect("matches");
    let points = points(&request);
    let resource = format!("file.name=app.log,file.path={}", log.display());
    let of_log: Vec<_> = points.iter().filter(|p| p.0 == resource).collect();
    assert_eq!(
        of_log
            .iter()
            .map(|(_, name, attributes, value)| (name.as_str(), attributes.as_str(), *value))
            .collect::<Vec<_>>(),
        [
            ("file.mtime", "", metadata.mtime()),
            (
                "file.ctime",
                "file.permissions=-rw-r-----",
                metadata.ctime()
            ),
            ("file.atime", "", metadata.atime()),
            ("file.size", "", 12),
        ]
    );
    assert!(
        points
            .iter()
            .any(|p| p.0.starts_with("file.name=archive.log,") && p.1 == "file.size"),
        "a folder the pattern names is measured too: {points:?}"
    );
    assert!(!points.iter().any(|p| p.0.contains("notes.txt")));
    assert_eq!(
        points.last().unwrap(),
        &(String::new(), "file.count".to_owned(), String::new(), 2)
    );
}

#[test]
fn the_defaults_are_size_and_mtime_named_by_file_name_and_nothing_matched_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "1").unwrap();
    let request = scraper(format!("{}/**/*.log", dir.path().display()), &[], false)
        .measure(7)
        .expect("a match");
    let names: Vec<(String, String)> = points(&request)
        .into_iter()
        .map(|(resource, name, _, _)| (resource, name))
        .collect();
    assert_eq!(
        names,
        [
            ("file.name=a.log".to_owned(), "file.mtime".to_owned()),
            ("file.name=a.log".to_owned(), "file.size".to_owned())
        ]
    );
    assert!(
        scraper(format!("{}/*.none", dir.path().display()), &[], false)
            .measure(7)
            .is_none()
    );
}

#[test]
fn permissions_are_written_as_go_writes_them() {
    assert_eq!(permissions(0o100_755), "-rwxr-xr-x");
    assert_eq!(permissions(0o4_600), "-rw-------");
}

#[test]
fn an_include_is_required_and_must_be_a_glob() {
    let problems = |yaml: &str| -> Vec<String> {
        let config: FileStatsConfig = serde_norway::from_str(yaml).unwrap();
        Factory
            .validate(&config)
            .err()
            .map_or_else(Vec::new, |invalid| invalid.lines())
    };
    assert!(
        problems("{ include: '/var/log/*.log', metrics: { file.count: { enabled: true } } }")
            .is_empty()
    );
    assert!(problems("{}")[0].contains("include"));
    assert!(problems("{ include: '/var/log/[.log' }")[0].contains("is not a glob pattern"));
    assert!(
        problems("{ include: /x, metrics: { file.sizes: { enabled: true } } }")[0]
            .contains("file.sizes")
    );
}
