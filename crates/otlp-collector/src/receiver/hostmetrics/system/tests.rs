use super::*;

#[test]
fn uptime_is_the_first_field() {
    assert_eq!(parse("350735.47 234388.90\n"), Some(350735.47));
    assert_eq!(parse(""), None);
    assert_eq!(parse("soon"), None);
}
