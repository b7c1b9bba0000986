use super::*;

#[test]
fn the_three_averages_are_read() {
    assert_eq!(
        parse("0.52 1.25 2.00 3/512 12345\n"),
        Some([0.52, 1.25, 2.0])
    );
    assert_eq!(parse("0.52 x"), None);
}
