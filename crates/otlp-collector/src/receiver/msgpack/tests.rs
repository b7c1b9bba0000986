use super::*;

#[test]
fn every_kind_decodes() {
    // ["tag", 1700000000, {"log": "hi", "n": -3, "f": 1.5, "ok": true, "none": nil}]
    let bytes = [
        0x93, 0xa3, b't', b'a', b'g', 0xce, 0x65, 0x53, 0xf1, 0x00, 0x85, 0xa3, b'l', b'o', b'g',
        0xa2, b'h', b'i', 0xa1, b'n', 0xfd, 0xa1, b'f', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa2,
        b'o', b'k', 0xc3, 0xa4, b'n', b'o', b'n', b'e', 0xc0,
    ];
    let (value, used) = decode(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    let Value::Array(items) = value else { panic!() };
    assert_eq!(items[0], Value::Str("tag".into()));
    assert_eq!(items[1], Value::Int(1_700_000_000));
    let Value::Map(record) = &items[2] else {
        panic!()
    };
    assert_eq!(record[1], (Value::Str("n".into()), Value::Int(-3)));
    assert_eq!(record[2].1, Value::Float(1.5));
    assert_eq!(record[3].1, Value::Bool(true));
    assert_eq!(record[4].1, Value::Nil);
    assert_eq!(
        decode(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
            .unwrap()
            .0,
        Value::UInt(u64::MAX)
    );
    assert_eq!(
        decode(&[0xd7, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap().0,
        Value::Ext(0, vec![1, 2, 3, 4, 5, 6, 7, 8])
    );
    assert_eq!(
        decode(&[0xc4, 2, b'o', b'k'])
            .unwrap()
            .0
            .as_text()
            .as_deref(),
        Some("ok")
    );
}

#[test]
fn a_value_cut_short_asks_for_more_and_nonsense_is_refused() {
    let bytes = [0x92, 0xa3, b't', b'a', b'g', 0x01];
    for end in 0..bytes.len() {
        assert_eq!(decode(&bytes[..end]), Err(Incomplete::More), "{end} bytes");
    }
    assert!(decode(&bytes).is_ok());
    assert!(matches!(decode(&[0xc1]), Err(Incomplete::Invalid(_))));
    // A huge announced array with no elements behind it allocates nothing: it waits for bytes that never come.
    assert_eq!(
        decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
        Err(Incomplete::More)
    );
    let deep: Vec<u8> = std::iter::repeat_n(0x91, 100).chain([0xc0]).collect();
    assert!(matches!(decode(&deep), Err(Incomplete::Invalid(_))));
}
