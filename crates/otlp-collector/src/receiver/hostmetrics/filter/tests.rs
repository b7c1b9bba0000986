use super::*;

#[test]
fn include_and_exclude_select_names_strictly_or_by_expression() {
    let strict = Matcher::new(&["lo".to_owned()], MatchType::Strict).unwrap();
    let regexp = Matcher::new(
        &["^veth".to_owned(), "docker".to_owned()],
        MatchType::Regexp,
    )
    .unwrap();
    assert!(strict.matches("lo") && !strict.matches("lo0"));
    assert!(regexp.matches("veth12ab") && regexp.matches("br-docker0") && !regexp.matches("eth0"));
    let only_eth = Select::new(
        Some(Matcher::new(&["eth".to_owned()], MatchType::Regexp).unwrap()),
        Some(strict),
    );
    assert!(only_eth.passes("eth0"));
    assert!(!only_eth.passes("lo"));
    assert!(Select::default().passes("anything"));
    let error = Matcher::new(&["(".to_owned()], MatchType::Regexp).unwrap_err();
    assert!(
        error.starts_with("`(` is not a regular expression"),
        "{error}"
    );
}
