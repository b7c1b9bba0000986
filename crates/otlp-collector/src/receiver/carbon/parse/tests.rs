use super::super::config::{ParserConfig, RegexParserConfig, RegexRule};
use super::*;

const NOW: u64 = 1_700_000_000_123_000_000;

fn regex(rules: Vec<RegexRule>, separator: &str) -> Parser {
    ParserConfig {
        kind: "regex".to_owned(),
        config: Some(RegexParserConfig {
            rules,
            name_separator: separator.to_owned(),
        }),
    }
    .build()
    .expect("valid rules")
}

fn rule(regexp: &str) -> RegexRule {
    RegexRule {
        regexp: regexp.to_owned(),
        ..Default::default()
    }
}

fn attributes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_plain_line_is_a_gauge_point_with_an_integer_or_a_double() {
    let point = Parser::Plaintext
        .parse("servers.web1.load 42 1700000000", NOW)
        .expect("a valid line");
    assert_eq!(
        point,
        Point {
            name: "servers.web1.load".to_owned(),
            attributes: Vec::new(),
            cumulative: false,
            value: Number::Int(42),
            time_unix_nano: 1_700_000_000_000_000_000,
        }
    );
    let point = Parser::Plaintext
        .parse("load -0.25 1700000000", NOW)
        .expect("a valid line");
    assert_eq!(point.value, Number::Double(-0.25));
}

#[test]
fn tags_become_attributes_in_their_order_the_last_of_a_key_winning() {
    let point = Parser::Plaintext
        .parse("disk.used;host=a;mount=/;host=b;empty= 1 1700000000", NOW)
        .expect("a valid line");
    assert_eq!(point.name, "disk.used");
    assert_eq!(
        point.attributes,
        attributes(&[("host", "b"), ("mount", "/"), ("empty", "")])
    );
    let point = Parser::Plaintext
        .parse("disk.used; 1 1700000000", NOW)
        .expect("an empty tag list");
    assert!(point.attributes.is_empty());
}

#[test]
fn the_timestamp_may_be_fractional_or_minus_one_for_now_as_carbon_reads_it() {
    let at = |timestamp: &str| {
        Parser::Plaintext
            .parse(&format!("x 1 {timestamp}"), NOW)
            .map(|p| p.time_unix_nano)
    };
    assert_eq!(at("-1"), Ok(NOW));
    assert_eq!(at("1700000000.5"), Ok(1_700_000_000_500_000_000));
    assert_eq!(at("1700000000.123456789999"), Ok(1_700_000_000_123_456_789));
    assert_eq!(at("5."), Ok(5_000_000_000));
    assert_eq!(at("0"), Ok(0));
    for bad in [
        "-5",
        "soon",
        "1e9",
        ".5",
        "1.-5",
        "NaN",
        "99999999999999999999",
    ] {
        assert!(at(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn fields_may_be_apart_by_any_whitespace() {
    let point = Parser::Plaintext
        .parse("a.b\t7  1700000000", NOW)
        .expect("tabs and runs of spaces");
    assert_eq!(point.value, Number::Int(7));
}

#[test]
fn lines_that_are_not_carbon_say_what_is_wrong() {
    let error = |line: &str| Parser::Plaintext.parse(line, NOW).expect_err(line);
    assert!(error("a.b 1").contains("is not `<path> <value> <timestamp>`"));
    assert!(error("a.b 1 2 3").contains("is not `<path> <value> <timestamp>`"));
    assert!(error("a.b one 1700000000").contains("the value `one` is not a number"));
    assert!(error(";k=v 1 1700000000").contains("has no name"));
    assert!(error("a;k 1 1700000000").contains("the tag `k` is not `key=value`"));
    assert!(error("a;=v 1 1700000000").contains("the tag `=v`"));
    assert!(error("a;k=v; 1 1700000000").contains("the tag ``"));
}

#[test]
fn a_regex_rule_names_the_metric_and_takes_attributes_from_the_path() {
    let mut cpu = rule(r"(?P<key_service>[^.]+)\.(?P<key_host>[^.]+)\.cpu\.seconds");
    cpu.name_prefix = "cpu_seconds".to_owned();
    cpu.labels = [("k".to_owned(), "v".to_owned())].into();
    cpu.kind = "cumulative".to_owned();
    let parser = regex(vec![cpu], "_");
    let point = parser
        .parse("service_name.host00.cpu.seconds 1.5 1700000000", NOW)
        .expect("the rule matches");
    assert_eq!(point.name, "cpu_seconds");
    assert!(point.cumulative);
    assert_eq!(
        point.attributes,
        attributes(&[("service", "service_name"), ("host", "host00"), ("k", "v")])
    );
}

#[test]
fn name_captures_are_joined_in_the_order_of_their_names() {
    let parser = regex(
        vec![rule(
            r"^(?P<key_svc>[^.]+)\.(?P<key_host>[^.]+)\.(?P<name_1>[^.]+)\.(?P<name_0>[^.]+)$",
        )],
        "",
    );
    let point = parser
        .parse("svc_02.host02.duration.avg 3 1700000000", NOW)
        .expect("the rule matches");
    assert_eq!(point.name, "avgduration");
    assert!(!point.cumulative);

    let parser = regex(vec![rule(r"^(?P<name_a>x)\.(?P<name_b>y)$")], ".");
    let point = parser.parse("x.y 1 1", NOW).expect("the rule matches");
    assert_eq!(
        point.name, ".x.y",
        "the separator comes before every part, as otelcol joins them"
    );
}

#[test]
fn a_rule_without_a_name_keeps_the_path_and_the_first_matching_rule_applies() {
    let mut first = rule(r"^test\.(?P<key_env>[^.]*)\.");
    first.labels = [("key".to_owned(), "value".to_owned())].into();
    let parser = regex(vec![first, rule(r"(?P<key_never>.*)")], "_");
    let point = parser.parse("test.prod.count 1 1", NOW).expect("a match");
    assert_eq!(point.name, "test.prod.count");
    assert_eq!(
        point.attributes,
        attributes(&[("env", "prod"), ("key", "value")])
    );
}

#[test]
fn empty_captures_are_left_out_and_a_label_replaces_a_capture() {
    let mut labelled = rule(r"^(?P<key_a>[^.]*)\.(?P<key_b>[^.]*)$");
    labelled.labels = [("b".to_owned(), "fixed".to_owned())].into();
    let parser = regex(vec![labelled], "");
    let point = parser.parse(".two 1 1", NOW).expect("a match");
    assert_eq!(point.attributes, attributes(&[("b", "fixed")]));
}

#[test]
fn a_path_no_rule_matches_is_read_as_plaintext() {
    let parser = regex(vec![rule(r"^never$")], "_");
    let point = parser
        .parse("other.metric;dc=eu 2 1700000000", NOW)
        .expect("plaintext");
    assert_eq!(point.name, "other.metric");
    assert_eq!(point.attributes, attributes(&[("dc", "eu")]));
}

#[test]
fn bad_rules_are_refused_with_the_rule_and_the_reason() {
    let problem = |rules: Vec<RegexRule>| {
        ParserConfig {
            kind: "regex".to_owned(),
            config: Some(RegexParserConfig {
                rules,
                name_separator: String::new(),
            }),
        }
        .build()
        .expect_err("invalid")
    };
    let (key, message) = problem(Vec::new());
    assert_eq!(key, "parser.config.rules");
    assert!(message.contains("at least one rule"), "{message}");
    let (key, message) = problem(vec![rule("ok"), rule("(unclosed")]);
    assert_eq!(key, "parser.config.rules[1]");
    assert!(message.starts_with("regexp: "), "{message}");
    let (_, message) = problem(vec![rule("(?P<host>x)")]);
    assert!(
        message.contains("capture `host` must start with `name_`"),
        "{message}"
    );
    let mut counter = rule("x");
    counter.kind = "counter".to_owned();
    let (_, message) = problem(vec![counter]);
    assert!(
        message.contains("`counter` is not gauge or cumulative"),
        "{message}"
    );
}
