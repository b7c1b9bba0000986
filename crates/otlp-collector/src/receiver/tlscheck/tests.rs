use super::*;

fn problems(yaml: &str) -> Vec<String> {
    let config: TlsCheckConfig = serde_norway::from_str(yaml).unwrap();
    match Factory.validate(&config) {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.lines(),
    }
}

#[test]
fn each_target_is_an_endpoint_or_an_absolute_file() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(
        problems(&format!(
            "targets: [{{ endpoint: \"example.com:443\" }}, {{ file_path: {} }}]",
            file.path().display()
        )),
        Vec::<String>::new()
    );
    let found = problems(
        "targets:
  - { endpoint: \"https://example.com:443\" }
  - { endpoint: \"example.com\" }
  - { endpoint: \"example.com:0\" }
  - { endpoint: \"a:1\", file_path: /etc/hostname }
  - {}
  - { file_path: certs/x.pem }
  - { file_path: /nonexistent/x.pem }",
    );
    for expected in [
        "targets[0].endpoint: `https://example.com:443` has a scheme",
        "targets[1].endpoint: `example.com` is not `host:port`",
        "targets[2].endpoint: `example.com:0` is not `host:port`",
        "targets[3]: has both `endpoint` and `file_path`",
        "targets[4]: needs `endpoint` or `file_path`",
        "targets[5].file_path: `certs/x.pem` must be absolute",
        "targets[6].file_path: `/nonexistent/x.pem` is not a readable file",
    ] {
        assert!(
            found
                .iter()
                .any(|p| p == expected || p.starts_with(expected)),
            "{expected}: {found:?}"
        );
    }
    assert_eq!(
        problems("targets: []"),
        ["targets: must list at least one target"]
    );
}
