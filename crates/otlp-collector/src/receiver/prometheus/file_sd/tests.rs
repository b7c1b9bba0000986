use super::*;

fn discovery(dir: &Path, refresh: Duration) -> FileDiscovery {
    FileDiscovery::new(&[FileSdConfig {
        files: vec![
            format!("{}/*.json", dir.display()),
            format!("{}/static.yml", dir.display()),
        ],
        refresh_interval: refresh,
    }])
    .unwrap()
}

fn addresses(groups: &[Group]) -> Vec<String> {
    groups
        .iter()
        .flat_map(|g| g.targets.iter().cloned())
        .collect()
}

#[test]
fn groups_come_from_json_and_yaml_with_their_file_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.json"),
        r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("static.yml"), "- targets: [c:3]\n").unwrap();
    std::fs::write(dir.path().join("ignored.txt"), "not a target file").unwrap();
    let mut discovery = discovery(dir.path(), Duration::from_secs(300));
    let groups = discovery.poll("test", "job").unwrap();
    assert_eq!(addresses(&groups), ["a:1", "b:2", "c:3"]);
    assert_eq!(groups[0].labels["env"], "prod");
    assert_eq!(
        groups[0].labels["__meta_filepath"],
        dir.path().join("a.json").display().to_string()
    );
    assert_eq!(discovery.poll("test", "job"), None, "nothing changed");
}

#[test]
fn files_that_change_appear_or_go_away_change_the_groups() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    std::fs::write(&a, r#"[{"targets": ["a:1"]}]"#).unwrap();
    let mut discovery = discovery(dir.path(), Duration::from_secs(300));
    assert_eq!(addresses(&discovery.poll("t", "j").unwrap()), ["a:1"]);
    // A longer content: another fingerprint even within the file system's time granularity.
    std::fs::write(&a, r#"[{"targets": ["a:1", "a:2"]}]"#).unwrap();
    assert_eq!(
        addresses(&discovery.poll("t", "j").unwrap()),
        ["a:1", "a:2"]
    );
    std::fs::write(dir.path().join("b.json"), r#"[{"targets": ["b:1"]}]"#).unwrap();
    assert_eq!(
        addresses(&discovery.poll("t", "j").unwrap()),
        ["a:1", "a:2", "b:1"]
    );
    std::fs::remove_file(&a).unwrap();
    assert_eq!(addresses(&discovery.poll("t", "j").unwrap()), ["b:1"]);
}

#[test]
fn a_file_that_cannot_be_read_keeps_what_it_said() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    std::fs::write(&a, r#"[{"targets": ["a:1"]}]"#).unwrap();
    let mut discovery = discovery(dir.path(), Duration::ZERO);
    assert_eq!(addresses(&discovery.poll("t", "j").unwrap()), ["a:1"]);
    std::fs::write(&a, r#"[{"targets": ["a:1"], "labls": {}}]"#).unwrap();
    assert_eq!(
        discovery.poll("t", "j"),
        None,
        "the typo'd file keeps its groups"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    assert_eq!(
        discovery.poll("t", "j"),
        None,
        "a new file that cannot be read adds nothing"
    );
}
