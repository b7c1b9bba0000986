use super::*;
use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

fn redactor(yaml: &str) -> Redactor {
    let config: RedactionConfig = serde_norway::from_str(yaml).unwrap();
    Redactor::new(&config).unwrap()
}

fn string(key: &str, value: &str) -> KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}

fn int(key: &str, value: i64) -> KeyValue {
    otlp_ottl::key_value(
        key,
        AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        },
    )
}

/// The attributes as `key=value` text, in order.
fn text(attributes: &[KeyValue]) -> Vec<String> {
    attributes
        .iter()
        .map(|kv| {
            let value = otlp_ottl::Value::from_opt_any(kv.value.as_ref())
                .as_string()
                .into_owned();
            format!("{}={value}", kv.key)
        })
        .collect()
}

const CARD: &str = "4111111111111111";

#[test]
fn keys_not_allowed_go_blocked_values_are_masked_and_the_summary_says_which() {
    let r = redactor(
        r#"
allowed_keys: [description, id]
blocked_values: ["4[0-9]{12}(?:[0-9]{3})?"]
summary: debug
"#,
    );
    let mut attributes = vec![
        string("id", "42"),
        string("password", "hunter2"),
        string("description", &format!("paid with {CARD} today")),
        string("birth_date", "1970-01-01"),
    ];
    r.attributes(&mut attributes);
    assert_eq!(
        text(&attributes),
        [
            "id=42",
            "description=paid with **** today",
            "redaction.redacted.count=2",
            "redaction.redacted.keys=birth_date,password",
            "redaction.masked.count=1",
            "redaction.masked.keys=description",
        ]
    );
}

#[test]
fn a_second_processor_adds_to_the_summary_instead_of_removing_it() {
    let r = redactor("allowed_keys: [id]\nsummary: debug");
    let mut attributes = vec![string("id", "1"), string("a", "x")];
    r.attributes(&mut attributes);
    attributes.push(string("b", "y"));
    r.attributes(&mut attributes);
    assert_eq!(
        text(&attributes),
        [
            "id=1",
            "redaction.redacted.count=2",
            "redaction.redacted.keys=a,b"
        ]
    );
}

#[test]
fn masked_text_can_be_hashed_instead() {
    let r = redactor(&format!(
        "allow_all_keys: true\nblocked_values: [\"{CARD}\"]\nhash_function: md5"
    ));
    let mut attributes = vec![string("card", &format!("card {CARD}"))];
    r.attributes(&mut attributes);
    // As Python's hashlib writes them.
    assert_eq!(
        text(&attributes),
        ["card=card 5910f4ea0062a0e29afd3dccc741e3ce"]
    );

    let r = redactor(&format!(
        "allow_all_keys: true\nblocked_values: [\"{CARD}\"]\nhash_function: sha3"
    ));
    let mut attributes = vec![string("card", CARD)];
    r.attributes(&mut attributes);
    assert_eq!(
        text(&attributes),
        ["card=6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922"]
    );
}

#[test]
fn ignored_keys_pass_unchecked_and_allowed_values_are_not_masked() {
    let r = redactor(
        r#"
allowed_keys: [email, note]
ignored_keys: [trusted]
ignored_key_patterns: ["^safe\\."]
blocked_values: ["[a-z]+@[a-z.]+"]
allowed_values: ["@example\\.com$"]
summary: info
"#,
    );
    let mut attributes = vec![
        string("trusted", "me@secret.org"),
        string("safe.field", "you@secret.org"),
        string("email", "ops@example.com"),
        string("note", "write to boss@secret.org"),
    ];
    r.attributes(&mut attributes);
    assert_eq!(
        text(&attributes),
        [
            "trusted=me@secret.org",
            "safe.field=you@secret.org",
            "email=ops@example.com",
            "note=write to ****",
            "redaction.masked.count=1",
            "redaction.allowed.count=1",
            "redaction.ignored.count=2",
        ]
    );
}

#[test]
fn blocked_key_patterns_mask_whole_values_of_any_type_and_redact_all_types_reads_numbers() {
    let r = redactor(
        r#"
allow_all_keys: true
blocked_key_patterns: ["token", "^pin$"]
blocked_values: ["^4[0-9]{15}$"]
"#,
    );
    let mut attributes = vec![
        string("auth.token", "abc"),
        int("pin", 1234),
        int("card", 4111111111111111),
    ];
    r.attributes(&mut attributes);
    assert_eq!(
        text(&attributes),
        ["auth.token=****", "pin=****", "card=4111111111111111"],
        "numbers are only read with redact_all_types"
    );

    let r = redactor(
        "allow_all_keys: true\nblocked_values: [\"^4[0-9]{15}$\"]\nredact_all_types: true",
    );
    let mut attributes = vec![int("card", 4111111111111111), int("count", 3)];
    r.attributes(&mut attributes);
    assert_eq!(text(&attributes), ["card=****", "count=3"]);
}

#[test]
fn fails_closed_without_allowed_keys_and_silent_writes_no_summary() {
    let r = redactor("{}");
    let mut attributes = vec![string("a", "1"), int("b", 2)];
    r.attributes(&mut attributes);
    assert!(attributes.is_empty());
}

#[test]
fn a_log_body_is_redacted_as_attributes_are_with_paths_for_nested_keys() {
    let r = redactor(
        r#"
allowed_keys: [user, name, items, message]
blocked_values: ["4[0-9]{15}"]
blocked_key_patterns: ["^name$"]
summary: debug
"#,
    );
    let map = |entries: Vec<KeyValue>| AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: entries,
        })),
    };
    let list = |items: Vec<AnyValue>| AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values: items })),
    };
    let mut body = Some(map(vec![
        otlp_ottl::key_value(
            "user",
            map(vec![string("name", "Ada"), string("ssn", "123-45-6789")]),
        ),
        otlp_ottl::key_value(
            "items",
            list(vec![otlp_ottl::string_value(format!("card {CARD}"))]),
        ),
        string("message", "ok"),
        string("secret", "x"),
    ]));
    let mut attributes = Vec::new();
    r.body(&mut body, &mut attributes);
    let Some(any_value::Value::KvlistValue(top)) = body.and_then(|b| b.value) else {
        panic!("the body is still a map");
    };
    assert_eq!(
        text(&top.values),
        [
            "user={\"name\":\"****\"}",
            "items=[\"card ****\"]",
            "message=ok",
        ]
    );
    assert_eq!(
        text(&attributes),
        [
            "redaction.body.redacted.count=2",
            "redaction.body.redacted.keys=secret,user.ssn",
            "redaction.body.masked.count=2",
            "redaction.body.masked.keys=items.[0],user.name",
        ]
    );

    let mut body = Some(otlp_ottl::string_value(format!("charged {CARD}")));
    let mut attributes = Vec::new();
    r.body(&mut body, &mut attributes);
    assert_eq!(body, Some(otlp_ottl::string_value("charged ****")));
    assert_eq!(
        text(&attributes),
        [
            "redaction.body.masked.count=1",
            "redaction.body.masked.keys=body"
        ]
    );
}

#[test]
fn every_pattern_that_does_not_compile_is_named() {
    let config: RedactionConfig =
        serde_norway::from_str("blocked_values: [ok, \"(x\"]\nallowed_values: [\"[\"]").unwrap();
    let problems: Vec<String> = Redactor::new(&config)
        .unwrap_err()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(problems, ["blocked_values[1]", "allowed_values[0]"]);
}
