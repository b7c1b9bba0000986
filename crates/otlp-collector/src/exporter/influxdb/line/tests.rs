use super::*;

fn written(line: &Line) -> String {
    let mut out = String::new();
    assert!(line.write(&mut out));
    out
}

#[test]
fn tags_and_fields_are_sorted_escaped_and_typed() {
    let mut line = Line::new("http requests,total", 1_700_000_000_000_000_001);
    line.tag("z", "last".to_owned());
    line.tag("host name", "a=b,c".to_owned());
    line.tag("empty", String::new());
    line.field("msg", Some(Field::Str("say \"hi\" \\ \nbye".to_owned())));
    line.field("count", Some(Field::Int(-3)));
    line.field("ratio", Field::float(0.5));
    line.field("whole", Field::float(2.0));
    line.field("ok", Some(Field::Bool(true)));
    line.field("nan", Field::float(f64::NAN));
    assert_eq!(
        written(&line),
        "http\\ requests\\,total,host\\ name=a\\=b\\,c,z=last count=-3i,msg=\"say \\\"hi\\\" \\\\ \nbye\",ok=true,ratio=0.5,whole=2.0 1700000000000000001\n"
    );
}

#[test]
fn a_line_without_fields_is_not_written_and_breaks_in_keys_become_spaces() {
    let mut out = String::new();
    assert!(!Line::new("m", 1).write(&mut out));
    assert!(out.is_empty());
    let mut line = Line::new("m", 1);
    line.tag("k", "two\nlines\\".to_owned());
    line.field("v", Some(Field::count(u64::MAX)));
    assert_eq!(
        written(&line),
        "m,k=two\\ lines\\\\ v=1.8446744073709552e19 1\n"
    );
}

#[test]
fn attribute_values_become_typed_fields() {
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    let any = |value| AnyValue { value: Some(value) };
    assert_eq!(
        Field::from_any(Some(&any(any_value::Value::IntValue(7)))),
        Some(Field::Int(7))
    );
    assert_eq!(
        Field::from_any(Some(&any(any_value::Value::ArrayValue(ArrayValue {
            values: vec![
                any(any_value::Value::StringValue("a".into())),
                any(any_value::Value::BoolValue(false))
            ],
        })))),
        Some(Field::Str("[\"a\",false]".to_owned()))
    );
    assert_eq!(Field::from_any(Some(&AnyValue { value: None })), None);
    assert_eq!(Field::from_any(None), None);
}
