//! `${env:VAR}` expansion in every string of a config document.

use crate::Error;
use crate::id::join;
use serde_norway::Value;

/// A `${env:VAR}` without a default whose variable was not set, so it became an empty string, as in otelcol.
/// Kept with the config rather than logged while it is read: the log is set up from the config, after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    /// Where the reference stands (`exporters.otlphttp.headers.api-key`).
    pub path: String,
    /// The variable's name.
    pub name: String,
}

impl std::fmt::Display for UnsetVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at `{}`: environment variable `{}` is not set; using an empty string",
            self.path, self.name
        )
    }
}

/// Replaces `${env:VAR}`, `${env:VAR:-default}` and `$$` in every string of the tree. A value that is exactly
/// one reference is re-read as a YAML scalar so `port: ${env:PORT}` yields a number, as in otelcol. References
/// to unset variables without a default are added to `unset`.
pub(super) fn expand_env(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
    unset: &mut Vec<UnsetVariable>,
) -> Result<(), Error> {
    match value {
        Value::String(s) => {
            if !s.contains('$') {
                return Ok(());
            }
            let whole_reference =
                s.starts_with("${") && s.ends_with('}') && s.matches("${").count() == 1;
            let mut unset_names = Vec::new();
            let expanded =
                expand_string(s, env, &mut unset_names).map_err(|m| Error::config(path, m))?;
            unset.extend(unset_names.into_iter().map(|name| UnsetVariable {
                path: path.to_string(),
                name,
            }));
            *value = if whole_reference {
                match serde_norway::from_str::<Value>(&expanded) {
                    Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
                    _ => Value::String(expanded),
                }
            } else {
                Value::String(expanded)
            };
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                // Indexes as serde_path_to_error writes them in the config's other messages: `actions[0]`.
                expand_env(item, env, &format!("{path}[{i}]"), unset)?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(k) => k.clone(),
                    _ => String::new(),
                };
                expand_env(item, env, &join(path, &key), unset)?;
            }
        }
        Value::Tagged(tagged) => expand_env(&mut tagged.value, env, path, unset)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// `s` expanded; the names of unset variables referenced without a default are added to `unset`.
fn expand_string(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated `${{` in `{s}`"))?;
            let reference = &body[..end];
            let (scheme, spec) = reference.split_once(':').ok_or_else(|| {
                format!("`${{{reference}}}` needs a scheme: write `${{env:{reference}}}`")
            })?;
            if scheme != "env" {
                return Err(format!(
                    "`${{{reference}}}` uses the unsupported scheme `{scheme}`; supported: env"
                ));
            }
            let (name, default) = match spec.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (spec, None),
            };
            let valid_name = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid_name {
                return Err(format!("`{name}` is not a valid environment variable name"));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => unset.push(name.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        expand_string(s, env, &mut Vec::new())
    }

    #[test]
    fn env_substitution() {
        let e = env(&[("HOST", "db"), ("PORT", "4317")]);
        assert_eq!(expand("${env:HOST}:${env:PORT}", &e).unwrap(), "db:4317");
        assert_eq!(expand("${env:MISSING:-fallback}", &e).unwrap(), "fallback");
        assert_eq!(expand("cost: $$5", &e).unwrap(), "cost: $5");
        assert_eq!(expand("${env:MISSING}", &e).unwrap(), "");
        assert!(expand("${HOST}", &e).unwrap_err().contains("env:HOST"));
        assert!(
            expand("${file:/x}", &e)
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(
            expand("${env:HOST", &e)
                .unwrap_err()
                .contains("unterminated")
        );
    }

    #[test]
    fn an_unset_variable_without_a_default_is_recorded_where_it_stands() {
        let mut tree: Value = serde_norway::from_str(
            "exporters:\n  otlphttp:\n    headers:\n      api-key: ${env:API_KEY}\n    endpoint: \"https://${env:HOST}:${env:PORT:-4318}\"\n",
        )
        .unwrap();
        let mut unset = Vec::new();
        expand_env(&mut tree, &env(&[]), "", &mut unset).unwrap();
        let messages: Vec<String> = unset.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "at `exporters.otlphttp.headers.api-key`: environment variable `API_KEY` is not set; using an \
                 empty string",
                "at `exporters.otlphttp.endpoint`: environment variable `HOST` is not set; using an empty string",
            ]
        );
        assert_eq!(tree["exporters"]["otlphttp"]["endpoint"], "https://:4318");
    }
}
