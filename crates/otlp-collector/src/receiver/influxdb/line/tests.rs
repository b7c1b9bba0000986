use super::*;

fn one(text: &str) -> Result<Point, String> {
    let mut all: Vec<_> = points(text).collect();
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0).1
}

#[test]
fn a_point_has_its_tags_fields_and_time() {
    let point =
        one("cpu,cpu=cpu0,host=a usage_idle=99.5,usage_user=0.25 1700000000000000000").unwrap();
    assert_eq!(point.measurement, "cpu");
    assert_eq!(
        point.tags,
        [("cpu".into(), "cpu0".into()), ("host".into(), "a".into())]
    );
    assert_eq!(
        point.fields,
        [
            ("usage_idle".into(), Value::Float(99.5)),
            ("usage_user".into(), Value::Float(0.25))
        ]
    );
    assert_eq!(point.time, Some(1_700_000_000_000_000_000));
    assert_eq!(one("m v=1").unwrap().time, None);
}

#[test]
fn every_field_type_reads_as_written() {
    let point =
        one(r#"m a=1i,b=-2i,c=3u,d=1e3,e=-0.5,f=t,g=FALSE,h="say \"hi\" C:\\",i="""#).unwrap();
    let values: Vec<Value> = point.fields.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        [
            Value::Int(1),
            Value::Int(-2),
            Value::UInt(3),
            Value::Float(1000.0),
            Value::Float(-0.5),
            Value::Bool(true),
            Value::Bool(false),
            Value::Str(r#"say "hi" C:\"#.into()),
            Value::Str(String::new()),
        ]
    );
}

#[test]
fn escapes_are_read_where_influxdb_writes_them() {
    let point = one(r#"disk\ io\,x,path=C:\\temp,dev\=ice=sd\ a free\ space=1 5"#).unwrap();
    assert_eq!(point.measurement, "disk io,x");
    // A backslash before anything else stays.
    assert_eq!(point.tags[0], ("path".into(), r"C:\\temp".into()));
    assert_eq!(point.tags[1], ("dev=ice".into(), "sd a".into()));
    assert_eq!(point.fields[0].0, "free space");
    assert_eq!(point.time, Some(5));
}

#[test]
fn comments_blank_lines_and_crlf_are_skipped() {
    let body = "# written by telegraf\r\n\r\nm v=1 1\r\n\n  \nm v=2 2\n# end";
    let all: Vec<_> = points(body).collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, 3);
    assert_eq!(all[1].0, 6);
    assert_eq!(all[1].1.as_ref().unwrap().time, Some(2));
}

#[test]
fn a_bad_line_is_named_and_the_next_still_read() {
    let body = "m v=1 1\nm v=oops 2\nm 3\nm,t v=1\nm v=1 12x\nm v=\"open\nm v=9 9";
    let all: Vec<_> = points(body).collect();
    let errors: Vec<(usize, String)> = all
        .iter()
        .filter_map(|(line, point)| point.clone().err().map(|e| (*line, e)))
        .collect();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert_eq!(errors[0].0, 2);
    assert!(errors[0].1.contains("`oops` is not a number"), "{errors:?}");
    assert!(
        errors[1].1.contains("expected `=` after field key `3`"),
        "{errors:?}"
    );
    assert!(
        errors[2].1.contains("expected `=` after tag key `t`"),
        "{errors:?}"
    );
    assert!(
        errors[3].1.contains("`12x` is not a timestamp"),
        "{errors:?}"
    );
    assert!(
        errors[4].1.contains("without its closing quote"),
        "{errors:?}"
    );
    assert_eq!(all.len(), 6, "the unclosed string takes the rest: {all:?}");
    assert_eq!(all[0].1.as_ref().unwrap().fields[0].1, Value::Float(1.0));
}

#[test]
fn a_string_may_hold_a_line_break() {
    let all: Vec<_> = points("log msg=\"two\nlines\" 1\nm v=1 2").collect();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].1.as_ref().unwrap().fields[0].1,
        Value::Str("two\nlines".into())
    );
    assert_eq!(all[1].0, 3);
}

#[test]
fn words_that_rust_reads_as_floats_are_not_numbers() {
    for word in ["inf", "NaN", "-infinity"] {
        assert!(one(&format!("m v={word}")).is_err(), "{word}");
    }
}
