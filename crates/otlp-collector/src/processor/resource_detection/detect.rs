//! What the `env` and `system` detectors find, read once when the processor starts.

use std::collections::BTreeMap;

/// `OTEL_RESOURCE_ATTRIBUTES`, as the OpenTelemetry specification writes it: `key=value` pairs separated by commas,
/// values percent-encoded, spaces around keys and values ignored. Unset or empty: no attributes.
pub(super) fn env_attributes(variable: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let Some(text) = variable.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{}` is not key=value", pair.trim()))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("`{}` has no key", pair.trim()));
            }
            Ok((key.to_owned(), crate::percent::decode(value.trim())?))
        })
        .collect()
}

/// The `system` detector's attributes that exist here, each with whether it is on by default (as in otelcol).
pub(super) const SYSTEM_ATTRIBUTES: [(&str, bool); 3] =
    [("host.name", true), ("os.type", true), ("host.arch", false)];

/// The `system` detector's values for the attributes `enabled` names.
pub(super) fn system_attributes(enabled: &BTreeMap<String, bool>) -> Vec<(String, String)> {
    let on = |name: &str| {
        enabled.get(name).copied().unwrap_or_else(|| {
            SYSTEM_ATTRIBUTES
                .iter()
                .any(|&(known, default)| known == name && default)
        })
    };
    let uname = rustix::system::uname();
    let mut found = Vec::new();
    if on("host.name") {
        found.push((
            "host.name".to_owned(),
            uname.nodename().to_string_lossy().into_owned(),
        ));
    }
    if on("os.type") {
        found.push((
            "os.type".to_owned(),
            os_type(std::env::consts::OS).to_owned(),
        ));
    }
    if on("host.arch") {
        found.push((
            "host.arch".to_owned(),
            host_arch(std::env::consts::ARCH).to_owned(),
        ));
    }
    found
}

/// The semantic conventions' `os.type` for Rust's name of the OS.
fn os_type(os: &str) -> &str {
    match os {
        "macos" | "ios" => "darwin",
        other => other,
    }
}

/// The semantic conventions' `host.arch` for Rust's name of the architecture.
fn host_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_resource_attributes_parse_as_the_specification_writes_them() {
        let found = env_attributes(Some(
            " service.name = checkout , team=a%2Cb%3Dc,empty=,deployment.environment.name=prod ",
        ))
        .unwrap();
        assert_eq!(
            found,
            [
                ("service.name", "checkout"),
                ("team", "a,b=c"),
                ("empty", ""),
                ("deployment.environment.name", "prod"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(env_attributes(None).unwrap(), []);
        assert_eq!(env_attributes(Some("  ")).unwrap(), []);
        assert!(env_attributes(Some("a=1,b")).unwrap_err().contains("`b`"));
        assert!(env_attributes(Some("=1")).unwrap_err().contains("no key"));
        assert!(env_attributes(Some("a=%zz")).unwrap_err().contains("hex"));
    }

    #[test]
    fn system_names_follow_the_semantic_conventions() {
        assert_eq!(os_type("macos"), "darwin");
        assert_eq!(os_type("linux"), "linux");
        assert_eq!(host_arch("x86_64"), "amd64");
        assert_eq!(host_arch("aarch64"), "arm64");
        let defaults = system_attributes(&BTreeMap::new());
        let keys: Vec<&str> = defaults.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["host.name", "os.type"]);
        assert!(!defaults[0].1.is_empty());
    }
}
