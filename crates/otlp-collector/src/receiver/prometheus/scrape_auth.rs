//! How a job proves itself to its targets, with Prometheus's keys: `basic_auth` (`username`, `password` or
//! `password_file`) or `authorization` (`type`, `Bearer` by default, and `credentials` or `credentials_file`). Files
//! are read at every scrape, as Prometheus reads them, so a rotated secret is used without a restart.

use serde::Deserialize;
use std::path::PathBuf;

/// `basic_auth`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password, inline.
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password (trailing whitespace ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// `authorization`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme of the `Authorization` header (`Bearer`).
    #[serde(default = "bearer", rename = "type")]
    pub kind: String,
    /// The credentials, inline.
    #[serde(default)]
    pub credentials: Option<String>,
    /// A file holding the credentials (trailing whitespace ignored).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

/// A secret given inline or in a file, read now.
fn secret(inline: Option<&String>, file: Option<&PathBuf>) -> Result<String, String> {
    match (inline, file) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| text.trim_end().to_owned())
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        (None, None) => Ok(String::new()),
    }
}

/// The problems Prometheus finds in a job's `basic_auth` and `authorization`.
pub(super) fn problems(
    basic: Option<&BasicAuth>,
    authorization: Option<&Authorization>,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if basic.is_some() && authorization.is_some() {
        problems.push((
            "authorization",
            "at most one of basic_auth and authorization".to_owned(),
        ));
    }
    if let Some(basic) = basic
        && basic.password.is_some()
        && basic.password_file.is_some()
    {
        problems.push((
            "basic_auth",
            "at most one of password and password_file".to_owned(),
        ));
    }
    if let Some(authorization) = authorization {
        if authorization.kind.eq_ignore_ascii_case("basic") {
            problems.push((
                "authorization.type",
                "cannot be `Basic`: use basic_auth".to_owned(),
            ));
        }
        if authorization.credentials.is_some() && authorization.credentials_file.is_some() {
            problems.push((
                "authorization",
                "at most one of credentials and credentials_file".to_owned(),
            ));
        }
    }
    problems
}

/// The `Authorization` header of a scrape, if the job has one.
pub(super) fn header(
    basic: Option<&BasicAuth>,
    authorization: Option<&Authorization>,
) -> Result<Option<String>, String> {
    use base64::Engine as _;
    if let Some(basic) = basic {
        let password = secret(basic.password.as_ref(), basic.password_file.as_ref())?;
        let pair = format!("{}:{password}", basic.username);
        return Ok(Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )));
    }
    if let Some(authorization) = authorization {
        let credentials = secret(
            authorization.credentials.as_ref(),
            authorization.credentials_file.as_ref(),
        )?;
        return Ok(Some(format!("{} {credentials}", authorization.kind)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_prometheus_s() {
        let basic: BasicAuth =
            serde_norway::from_str("{ username: admin, password: s3cret }").unwrap();
        assert_eq!(
            header(Some(&basic), None).unwrap().unwrap(),
            "Basic YWRtaW46czNjcmV0"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "abc\n").unwrap();
        let bearer: Authorization =
            serde_norway::from_str(&format!("{{ credentials_file: {} }}", file.display())).unwrap();
        assert_eq!(header(None, Some(&bearer)).unwrap().unwrap(), "Bearer abc");
        let missing: Authorization =
            serde_norway::from_str("{ credentials_file: /nonexistent/token }").unwrap();
        assert!(
            header(None, Some(&missing))
                .unwrap_err()
                .contains("/nonexistent/token")
        );
        assert_eq!(header(None, None).unwrap(), None);
    }

    #[test]
    fn contradictions_are_named() {
        let basic: BasicAuth =
            serde_norway::from_str("{ username: a, password: b, password_file: /c }").unwrap();
        let kind: Authorization =
            serde_norway::from_str("{ type: basic, credentials: x }").unwrap();
        let found = problems(Some(&basic), Some(&kind));
        let keys: Vec<&str> = found.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, ["authorization", "basic_auth", "authorization.type"]);
    }
}
