//! `${env:VAR}` expansion in every string of a config document.

use crate::Error;
use crate::id::join;
use serde_norway::Value;

/// Replaces `${env:VAR}`, `${env:VAR:-default}` and `$$` in every string of the tree. A value that is exactly
/// one reference is re-read as a YAML scalar so `port: ${env:PORT}` yields a number, as in otelcol.
pub(super) fn expand_env(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
) -> Result<(), Error> {
    match value {
        Value::String(s) => {
            if !s.contains('$') {
                return Ok(());
            }
            let whole_reference =
                s.starts_with("${") && s.ends_with('}') && s.matches("${").count() == 1;
            let expanded = expand_string(s, env).map_err(|m| Error::config(path, m))?;
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
                expand_env(item, env, &join(path, &i.to_string()))?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(k) => k.clone(),
                    _ => String::new(),
                };
                expand_env(item, env, &join(path, &key))?;
            }
        }
        Value::Tagged(tagged) => expand_env(&mut tagged.value, env, path)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

fn expand_string(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
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
                (None, None) => {
                    tracing::warn!(
                        variable = name,
                        "environment variable is not set; using an empty string"
                    );
                }
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

    #[test]
    fn env_substitution() {
        let e = env(&[("HOST", "db"), ("PORT", "4317")]);
        assert_eq!(
            expand_string("${env:HOST}:${env:PORT}", &e).unwrap(),
            "db:4317"
        );
        assert_eq!(
            expand_string("${env:MISSING:-fallback}", &e).unwrap(),
            "fallback"
        );
        assert_eq!(expand_string("cost: $$5", &e).unwrap(), "cost: $5");
        assert_eq!(expand_string("${env:MISSING}", &e).unwrap(), "");
        assert!(
            expand_string("${HOST}", &e)
                .unwrap_err()
                .contains("env:HOST")
        );
        assert!(
            expand_string("${file:/x}", &e)
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(
            expand_string("${env:HOST", &e)
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
