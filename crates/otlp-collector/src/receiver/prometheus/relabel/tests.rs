use super::*;

fn rules(yaml: &str) -> Vec<Rule> {
    let configs: Vec<RelabelConfig> = serde_norway::from_str(yaml).unwrap();
    compile(&configs).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn replace_expands_groups_into_the_target_and_an_empty_result_removes_it() {
    let rules = rules(
        r#"
- source_labels: [__address__]
  regex: "([^:]+):(\\d+)"
  target_label: host
  replacement: "${1}"
- source_labels: [__address__]
  regex: "[^:]+:(?P<port>\\d+)"
  target_label: port_$port
  replacement: "p$port"
- source_labels: [env, team]
  separator: "/"
  target_label: owner
- source_labels: [missing]
  target_label: env
  replacement: ""
"#,
    );
    let out = process(
        &rules,
        labels(&[
            ("__address__", "10.0.0.1:9100"),
            ("env", "prod"),
            ("team", "db"),
        ]),
    )
    .unwrap();
    assert_eq!(out["host"], "10.0.0.1");
    assert_eq!(out["port_9100"], "p9100");
    assert_eq!(out["owner"], "prod/db");
    // `(.*)` matches the empty value, `replacement: ""` makes nothing: `env` is removed.
    assert!(!out.contains_key("env"));
}

#[test]
fn a_regex_must_match_the_whole_value() {
    let rules = rules("- { source_labels: [job], regex: node, action: keep }");
    assert!(process(&rules, labels(&[("job", "node")])).is_some());
    assert!(process(&rules, labels(&[("job", "node-exporter")])).is_none());
}

#[test]
fn keep_drop_and_their_equal_forms_decide_the_whole_set() {
    let drop = rules("- { source_labels: [__name__], regex: 'go_.*', action: Drop }");
    assert!(process(&drop, labels(&[("__name__", "go_goroutines")])).is_none());
    assert!(process(&drop, labels(&[("__name__", "up")])).is_some());
    let keep_equal =
        rules("- { source_labels: [port], target_label: expected, action: keepequal }");
    assert!(process(&keep_equal, labels(&[("port", "80"), ("expected", "80")])).is_some());
    assert!(process(&keep_equal, labels(&[("port", "80"), ("expected", "81")])).is_none());
    let drop_equal = rules("- { source_labels: [a], target_label: b, action: dropequal }");
    assert!(process(&drop_equal, labels(&[("a", "x"), ("b", "x")])).is_none());
    // Both missing: both empty, equal.
    assert!(process(&drop_equal, labels(&[])).is_none());
}

#[test]
fn hashmod_takes_the_low_half_of_the_md5_as_prometheus_does() {
    let rules = rules(
        "- { source_labels: [__address__], modulus: 8, target_label: shard, action: hashmod }",
    );
    // Python: int.from_bytes(md5(value).digest()[8:], 'big') % 8.
    for (address, shard) in [("10.0.0.1:9100", "5"), ("10.0.0.2:9100", "1")] {
        let out = process(&rules, labels(&[("__address__", address)])).unwrap();
        assert_eq!(out["shard"], shard, "{address}");
    }
}

#[test]
fn labelmap_labeldrop_and_labelkeep_work_on_names() {
    let map = rules("- { regex: '__meta_(.+)', action: labelmap }");
    let out = process(&map, labels(&[("__meta_zone", "eu"), ("job", "x")])).unwrap();
    assert_eq!(out["zone"], "eu");
    assert_eq!(
        out["__meta_zone"], "eu",
        "labelmap copies; the `__` label goes with the others later"
    );
    let drop = rules("- { regex: 'tmp_.*', action: labeldrop }");
    let out = process(&drop, labels(&[("tmp_a", "1"), ("keep", "2")])).unwrap();
    assert_eq!(out, labels(&[("keep", "2")]));
    let keep = rules("- { regex: 'job|instance', action: labelkeep }");
    let out = process(
        &keep,
        labels(&[("job", "j"), ("instance", "i"), ("other", "o")]),
    )
    .unwrap();
    assert_eq!(out, labels(&[("instance", "i"), ("job", "j")]));
}

#[test]
fn lowercase_and_uppercase_set_the_target() {
    let rules = rules(
        "- { source_labels: [Zone], target_label: zone, action: lowercase }\n\
         - { source_labels: [zone], target_label: ZONE, action: uppercase }",
    );
    let out = process(&rules, labels(&[("Zone", "Eu-West")])).unwrap();
    assert_eq!(
        (out["zone"].as_str(), out["ZONE"].as_str()),
        ("eu-west", "EU-WEST")
    );
}

#[test]
fn rules_prometheus_refuses_are_refused_with_their_index() {
    let refused = |yaml: &str| {
        let configs: Vec<RelabelConfig> = serde_norway::from_str(yaml).unwrap();
        compile(&configs).unwrap_err()
    };
    assert_eq!(
        refused("- { action: keep }\n- { action: hashmod, target_label: s }").0,
        1
    );
    assert!(
        refused("- { action: replace }")
            .1
            .contains("needs a `target_label`")
    );
    assert!(
        refused("- { target_label: 'a-b' }")
            .1
            .contains("`a-b` is not a label name")
    );
    assert!(
        refused("- { action: labeldrop, regex: x, target_label: y }")
            .1
            .contains("takes only `regex`")
    );
    assert!(
        refused("- { regex: '(', action: keep }")
            .1
            .contains("regex `(`")
    );
    assert!(
        refused("- { source_labels: [a], target_label: b, regex: x, action: keepequal }")
            .1
            .contains("takes only `source_labels` and `target_label`")
    );
    let unknown = serde_norway::from_str::<Vec<RelabelConfig>>("- { action: rename }").unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("unknown relabel action `rename`"),
        "{unknown}"
    );
}
