use super::*;
use std::collections::BTreeMap;

fn setter(yaml: &str) -> HeadersSetter {
    let config: HeadersSetterConfig = serde_norway::from_str(yaml).unwrap();
    HeadersSetter {
        settings: config.compile().unwrap(),
    }
}

fn problem(yaml: &str) -> (String, String) {
    let config: HeadersSetterConfig = serde_norway::from_str(yaml).unwrap();
    config.problem().expect("a problem")
}

fn client(entries: &[(&str, &[&str])]) -> ClientInfo {
    ClientInfo {
        metadata: entries
            .iter()
            .map(|(key, values)| {
                (
                    key.to_string(),
                    values.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        ..ClientInfo::default()
    }
}

fn applied(
    setter: &HeadersSetter,
    start: &[(&str, &str)],
    client: Option<&ClientInfo>,
) -> Vec<String> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in start {
        headers.insert(
            http::HeaderName::try_from(*name).unwrap(),
            value.parse().unwrap(),
        );
    }
    for setting in &setter.settings {
        setting.apply(&mut headers, client).unwrap();
    }
    let mut out: Vec<String> = headers
        .iter()
        .map(|(name, value)| format!("{name}={}", value.to_str().unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn from_context_takes_the_clients_value_case_insensitively_else_the_default_else_nothing() {
    let setter = setter(
        "headers: [{key: X-Scope-OrgID, from_context: x-tenant, default_value: anonymous}, \
         {key: x-region, from_context: region}]",
    );
    let acme = client(&[("x-tenant", &["acme"]), ("region", &["eu"])]);
    assert_eq!(
        applied(&setter, &[], Some(&acme)),
        ["x-region=eu", "x-scope-orgid=acme"]
    );
    let upper = client(&[("X-Tenant", &["beta"])]);
    assert_eq!(applied(&setter, &[], Some(&upper)), ["x-scope-orgid=beta"]);
    assert_eq!(applied(&setter, &[], None), ["x-scope-orgid=anonymous"]);
}

#[test]
fn from_attribute_takes_what_the_authenticator_learnt_of_the_client() {
    let setter = setter(
        "headers: [{key: x-user, from_attribute: subject}, {key: x-group, from_attribute: membership, \
         default_value: none}]",
    );
    let mut alice = ClientInfo::default();
    alice.auth.insert("subject".into(), vec!["alice".into()]);
    assert_eq!(
        applied(&setter, &[], Some(&alice)),
        ["x-group=none", "x-user=alice"]
    );
    alice
        .auth
        .insert("membership".into(), vec!["ops".into(), "dev".into()]);
    let mut headers = http::HeaderMap::new();
    let error = setter.settings[1]
        .apply(&mut headers, Some(&alice))
        .unwrap_err();
    assert!(
        error.contains("2 values of its `membership` attribute"),
        "{error}"
    );
}

#[test]
fn actions_respect_what_the_request_already_has() {
    let setter = setter(
        "headers: [{key: a, action: insert, value: new}, {key: b, action: update, value: new}, \
         {key: c, action: upsert, value: new}, {key: d, action: delete}, {key: e, action: update, value: new}]",
    );
    let start = [("a", "old"), ("b", "old"), ("c", "old"), ("d", "old")];
    assert_eq!(
        applied(&setter, &start, None),
        ["a=old", "b=new", "c=new"],
        "insert keeps a, update replaces b and skips the absent e, upsert replaces c, delete removes d"
    );
    assert_eq!(applied(&setter, &[], None), ["a=new", "c=new"]);
}

#[test]
fn a_client_with_several_values_for_the_key_is_an_error() {
    let setter = setter("headers: [{key: X-Scope-OrgID, from_context: x-tenant}]");
    let both = client(&[("x-tenant", &["a", "b"])]);
    let mut headers = http::HeaderMap::new();
    let error = setter.settings[0]
        .apply(&mut headers, Some(&both))
        .unwrap_err();
    assert!(
        error.contains("2 values of its `x-tenant` metadata"),
        "{error}"
    );
}

#[test]
fn mistakes_are_named_at_their_key() {
    assert_eq!(problem("headers: []").0, "headers");
    assert_eq!(problem("headers: [{key: a}]").0, "headers[0].from_context");
    assert_eq!(
        problem("headers: [{key: a, value: x}, {key: b, value: x, from_context: y}]").0,
        "headers[1].value"
    );
    assert_eq!(
        problem("headers: [{key: a, value: x, default_value: y}]").0,
        "headers[0].default_value"
    );
    assert_eq!(
        problem("headers: [{key: 'a b', value: x}]").0,
        "headers[0].key"
    );
    assert_eq!(
        problem("headers: [{key: a, from_attribute: subject, value: x}]").0,
        "headers[0].value"
    );
    assert_eq!(
        problem("headers: [{key: a, from_attribute: ''}]").0,
        "headers[0].from_attribute"
    );
    let typo: Result<HeadersSetterConfig, _> =
        serde_norway::from_str("headers: [{key: a, action: replace, value: x}]");
    assert!(typo.unwrap_err().to_string().contains("upsert"));
}

#[test]
fn receivers_cannot_name_it() {
    let mut authenticators = crate::auth::Authenticators::default();
    authenticators.insert(
        "headers_setter".into(),
        Arc::new(setter("headers: [{key: a, value: x}]")),
    );
    let settings = crate::auth::AuthSettings {
        authenticator: "headers_setter".into(),
    };
    let refused = authenticators.server(&settings).unwrap_err();
    assert!(refused.contains("checks no one's"), "{refused}");
    assert!(authenticators.client(&settings).is_ok());
}
