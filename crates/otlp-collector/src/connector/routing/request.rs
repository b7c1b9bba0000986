//! Conditions of `request` routes: otelcol's small grammar over the client's request metadata,
//! `request["<key>"] == "<value>"` or `!=`, read from what the receiver kept of the client (`include_metadata`).

use crate::client::ClientInfo;

/// A compiled `request["<key>"] <op> "<value>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RequestCondition {
    key: String,
    value: String,
    equal: bool,
}

impl RequestCondition {
    /// Parses a condition as otelcol's routing connector reads it.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let format = r#"a `request` condition is `request["<key>"] == "<value>"` (or `!=`)"#;
        let (left, right, equal) = match (text.split_once("=="), text.split_once("!=")) {
            (Some(_), Some(_)) => return Err(format!("{format}, with one comparison")),
            (Some((left, right)), None) => (left, right, true),
            (None, Some((left, right))) => (left, right, false),
            (None, None) => return Err(format!("{format}; found no `==` or `!=`")),
        };
        if right.contains("==") || right.contains("!=") {
            return Err(format!("{format}, with one comparison"));
        }
        let key = left
            .trim()
            .strip_prefix("request[\"")
            .and_then(|rest| rest.strip_suffix("\"]"))
            .filter(|key| !key.is_empty())
            .ok_or_else(|| format!("{format}; found `{}` on the left", left.trim()))?;
        let value = right
            .trim()
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| format!("{format}; the value must be quoted"))?;
        Ok(RequestCondition {
            key: key.to_owned(),
            value: value.to_owned(),
            equal,
        })
    }

    /// Whether a batch from `client` meets the condition: some value of the key compares as asked (as in
    /// otelcol, a client without the key meets neither `==` nor `!=`).
    pub(super) fn matches(&self, client: Option<&ClientInfo>) -> bool {
        client
            .map_or(&[][..], |client| client.metadata_values(&self.key))
            .iter()
            .any(|value| (*value == self.value) == self.equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(values: &[&str]) -> ClientInfo {
        ClientInfo {
            metadata: [(
                "x-tenant".to_string(),
                values.iter().map(|v| v.to_string()).collect(),
            )]
            .into(),
            ..ClientInfo::default()
        }
    }

    #[test]
    fn compares_the_keys_values_case_insensitively_by_key() {
        let acme = RequestCondition::parse(r#"request["X-Tenant"] == "acme""#).unwrap();
        assert!(acme.matches(Some(&client(&["acme"]))));
        assert!(acme.matches(Some(&client(&["other", "acme"]))));
        assert!(!acme.matches(Some(&client(&["ACME"]))));
        assert!(!acme.matches(None));
        let not_acme = RequestCondition::parse(r#"  request["x-tenant"]!="acme"  "#).unwrap();
        assert!(not_acme.matches(Some(&client(&["globex"]))));
        assert!(!not_acme.matches(Some(&client(&["acme"]))));
        assert!(
            !not_acme.matches(None),
            "no key meets neither, as in otelcol"
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_grammar() {
        for wrong in [
            r#"request["x"] = "a""#,
            r#"attributes["x"] == "a""#,
            r#"request["x"] == a"#,
            r#"request["x"] == "a" and request["y"] != "b""#,
            r#"request[""] == "a""#,
        ] {
            let error = RequestCondition::parse(wrong).unwrap_err();
            assert!(
                error.contains(r#"request["<key>"] == "<value>""#),
                "{wrong}: {error}"
            );
        }
    }
}
