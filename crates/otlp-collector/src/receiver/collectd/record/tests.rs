use super::*;

fn records(json: &str) -> Vec<Record> {
    serde_json::from_str(json).expect("collectd's JSON")
}

fn points(json: &str, defaults: &[(&str, &str)]) -> Vec<Point> {
    let defaults: Vec<(String, String)> = defaults
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    records(json)
        .iter()
        .flat_map(|record| record.points(&defaults))
        .collect()
}

fn attributes(point: &Point) -> Vec<(&str, &str)> {
    point
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn a_value_list_of_several_sources_is_a_point_per_source_named_after_it() {
    let points = points(
        r#"[{"values":[0.5,0.25,0.125],"dstypes":["gauge","gauge","gauge"],
             "dsnames":["shortterm","midterm","longterm"],"time":1700000000.5,"interval":10.0,
             "host":"web1","plugin":"load","plugin_instance":"","type":"load","type_instance":""}]"#,
        &[],
    );
    let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["load.shortterm", "load.midterm", "load.longterm"]);
    assert_eq!(points[1].value, Number::Double(0.25));
    assert!(!points[0].cumulative);
    assert_eq!(points[0].time_unix_nano, 1_700_000_000_500_000_000);
    assert_eq!(
        attributes(&points[2]),
        [("plugin", "load"), ("host", "web1")]
    );
}

#[test]
fn a_single_source_is_a_dsname_attribute_and_counters_are_cumulative_sums() {
    let points = points(
        r#"[{"values":[193712],"dstypes":["derive"],"dsnames":["value"],"time":1700000000,"interval":10,
             "host":"web1","plugin":"cpu","plugin_instance":"0","type":"cpu","type_instance":"idle"},
            {"values":[18446744073709551615],"dstypes":["counter"],"dsnames":["value"],"time":1700000000,
             "host":"web1","plugin":"x","type":"t"}]"#,
        &[("env", "prod")],
    );
    assert_eq!(points[0].name, "cpu.idle");
    assert!(points[0].cumulative);
    assert_eq!(points[0].value, Number::Int(193_712));
    assert_eq!(
        attributes(&points[0]),
        [
            ("env", "prod"),
            ("plugin", "cpu"),
            ("plugin_instance", "0"),
            ("host", "web1"),
            ("dsname", "value")
        ]
    );
    assert_eq!(
        points[1].value,
        Number::Double(18_446_744_073_709_551_615.0)
    );
}

#[test]
fn dimensions_in_brackets_become_attributes_and_leave_the_name() {
    let points = points(
        r#"[{"values":[3],"dstypes":["gauge"],"dsnames":["value"],"time":1,
             "host":"web1[region=eu,rack=7]","plugin":"app","plugin_instance":"api[env=dev]-v2",
             "type":"requests","type_instance":"ok[code=200,env=prod]"}]"#,
        &[],
    );
    assert_eq!(points[0].name, "requests.ok");
    assert_eq!(
        attributes(&points[0]),
        [
            ("code", "200"),
            ("env", "prod"),
            ("plugin", "app"),
            ("plugin_instance", "api-v2"),
            ("region", "eu"),
            ("rack", "7"),
            ("host", "web1"),
            ("dsname", "value")
        ],
        "a dimension already set keeps its first value"
    );
}

#[test]
fn malformed_brackets_leave_the_field_whole() {
    assert_eq!(dimensions("a[b]c"), ("a[b]c".to_owned(), Vec::new()));
    assert_eq!(dimensions("a[k=v=w]"), ("a[k=v=w]".to_owned(), Vec::new()));
    assert_eq!(dimensions("a[k=v"), ("a[k=v".to_owned(), Vec::new()));
    assert_eq!(
        dimensions("a[k=]b"),
        ("ab".to_owned(), vec![("k".to_owned(), String::new())])
    );
}

#[test]
fn notifications_and_values_without_a_type_or_value_make_no_points() {
    let points = points(
        r#"[{"time":1700000000,"severity":"failure","message":"disk full","host":"web1","plugin":"df"},
            {"values":[null,1],"dstypes":["gauge"],"dsnames":["a","b"],"time":1,"type":"t"}]"#,
        &[],
    );
    assert!(points.is_empty(), "{points:?}");
}
