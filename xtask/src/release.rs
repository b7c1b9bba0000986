//! `cargo xtask release-check`: what publishing needs and `cargo xtask test` does not check, because it
//! takes too long for every CI run or needs the network.
//!
//! 1. The packaging rules below, on `cargo metadata` (also a unit test, so CI keeps them).
//! 2. `cargo hack check --each-feature` on the crates with features: each feature alone, and none, builds
//!    (installs cargo-hack when missing, and protoc, which the `fleet` and `etcd` features' etcd-client needs).
//! 3. `cargo publish --workspace --dry-run`: every publishable crate packages and builds from its package alone,
//!    internal dependencies resolved from the packages of the same run (needs crates.io). It builds in
//!    `<target>/release-check`, from which our crates are cleaned first, and the unpacked copies of our crates an
//!    earlier run left under `$CARGO_HOME/registry/src/` are removed: cargo would reuse both as they are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::setup::{SYSTEM_TOOLS, ensure_system_tools};
use crate::workspace::{Workspace, describe, seconds};

/// The license files every publishable crate ships, copies of the workspace root's.
pub const LICENSE_FILES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

/// The crates whose features `cargo hack check --each-feature` checks one by one: the umbrella, whose every
/// library crate is a feature, and the crates with optional parts.
pub const EACH_FEATURE_PACKAGES: &[&str] = &[
    "otlp-suite",
    "otlp-arrow",
    "otlp-control",
    "otlp-lb",
    "otlp-testkit",
];

/// The Debian packages a build with every feature needs (etcd-client's build script runs `protoc`).
const BUILD_PACKAGES: &[&str] = &["protobuf-compiler", "libprotobuf-dev"];

/// cargo-hack, installed with `cargo install --locked` when `cargo hack` is missing.
const CARGO_HACK: &str = "cargo-hack";
const CARGO_HACK_VERSION: &str = "0.6.46";

/// Runs the packaging rules, the each-feature check and the publish dry run, stopping at the first failure.
pub fn run_release_check(workspace: &Workspace, allow_dirty: bool) -> Result<ExitCode> {
    let mut durations: Vec<(&str, Duration)> = Vec::new();

    let started = Instant::now();
    let metadata = workspace.metadata()?;
    let problems = packaging_problems(&metadata, &workspace.root)?;
    durations.push(("packaging", started.elapsed()));
    if !problems.is_empty() {
        for problem in &problems {
            println!("xtask release-check: {problem}");
        }
        println!(
            "xtask release-check: step packaging FAILED: {} problem(s)",
            problems.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "xtask release-check: step packaging ok (every publishable crate has its metadata and files)"
    );

    let build_tools: Vec<(&str, &str)> = SYSTEM_TOOLS
        .iter()
        .filter(|(_, package)| BUILD_PACKAGES.contains(package))
        .copied()
        .collect();
    ensure_system_tools(&build_tools)?;
    ensure_cargo_hack(workspace)?;

    let mut hack = workspace.cargo();
    hack.args(["hack", "check", "--each-feature"]);
    for package in EACH_FEATURE_PACKAGES {
        hack.args(["--package", package]);
    }
    // The dry run resolves our crates from a local registry of the packages it just made. Cargo unpacks them
    // under $CARGO_HOME/registry/src/ and keeps a directory of the same name and version, and takes a registry
    // crate's build for up to date whatever its source: an earlier run's sources and builds would be verified
    // instead of today's. So their unpacked copies go, and the dry run builds in a directory of its own from
    // which our crates are cleaned first (its dependencies stay, so only the first run builds everything).
    let ours = publishable_versions(&metadata);
    if let Some(cargo_home) = cargo_home() {
        for removed in remove_unpacked_copies(&cargo_home, &ours)? {
            println!(
                "xtask release-check: removed an earlier run's unpacked {}",
                removed.display()
            );
        }
    }
    let publish_target = workspace.target_dir()?.join("release-check");
    if publish_target.is_dir() {
        let mut clean = workspace.cargo();
        clean.arg("clean").arg("--target-dir").arg(&publish_target);
        for (name, _) in &ours {
            clean.args(["--package", name]);
        }
        crate::workspace::run(&mut clean)?;
    }
    let mut publish = workspace.cargo();
    publish
        .args(["publish", "--workspace", "--dry-run", "--target-dir"])
        .arg(&publish_target);
    if allow_dirty {
        publish.arg("--allow-dirty");
    }
    for (name, command) in [("each-feature", &mut hack), ("publish", &mut publish)] {
        println!("xtask release-check: {name}: {}", describe(command));
        let started = Instant::now();
        let status = command
            .status()
            .with_context(|| format!("could not start `{}`", describe(command)))?;
        durations.push((name, started.elapsed()));
        if !status.success() {
            println!(
                "xtask release-check: step {name} FAILED ({status}) after {}",
                seconds(started.elapsed())
            );
            print_recap(&durations);
            return Ok(ExitCode::FAILURE);
        }
        println!(
            "xtask release-check: step {name} ok in {}",
            seconds(started.elapsed())
        );
    }
    print_recap(&durations);
    Ok(ExitCode::SUCCESS)
}

fn print_recap(durations: &[(&str, Duration)]) {
    let steps: Vec<String> = durations
        .iter()
        .map(|(name, elapsed)| format!("{name} {}", seconds(*elapsed)))
        .collect();
    println!("xtask release-check: steps run: {}", steps.join(", "));
}

/// Installs cargo-hack (pinned, `--locked`) when `cargo hack` does not run.
fn ensure_cargo_hack(workspace: &Workspace) -> Result<()> {
    let present = workspace
        .cargo()
        .args(["hack", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if present {
        println!("xtask release-check: cargo-hack present");
        return Ok(());
    }
    println!("xtask release-check: installing {CARGO_HACK} {CARGO_HACK_VERSION}");
    let mut install = workspace.cargo();
    install.args([
        "install",
        CARGO_HACK,
        "--locked",
        "--version",
        CARGO_HACK_VERSION,
    ]);
    // A target directory set for the workspace (CARGO_TARGET_DIR) would keep cargo-hack's build in it.
    install.env_remove("CARGO_TARGET_DIR");
    crate::workspace::run(&mut install)
}

/// `$CARGO_HOME`, or `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// (name, version) of every publishable package in `cargo metadata` output.
fn publishable_versions(metadata: &Value) -> Vec<(String, String)> {
    metadata
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|package| is_publishable(package))
        .filter_map(|package| {
            Some((
                text(package, "name")?.to_owned(),
                text(package, "version")?.to_owned(),
            ))
        })
        .collect()
}

/// Removes `<cargo_home>/registry/src/<any registry>/<name>-<version>` for each of `packages`, and returns what it
/// removed. A crate of crates.io unpacked there is unpacked again from the download cache when needed.
fn remove_unpacked_copies(
    cargo_home: &Path,
    packages: &[(String, String)],
) -> Result<Vec<PathBuf>> {
    let sources = cargo_home.join("registry").join("src");
    let registries = match fs::read_dir(&sources) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("could not list {}", sources.display()));
        }
    };
    let mut removed = Vec::new();
    for registry in registries {
        let registry = registry.with_context(|| format!("could not list {}", sources.display()))?;
        for (name, version) in packages {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.is_dir() {
                fs::remove_dir_all(&unpacked)
                    .with_context(|| format!("could not remove {}", unpacked.display()))?;
                removed.push(unpacked);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// Whether a `cargo metadata` package may be published (`publish` absent, or a list of registries that is not
/// empty: `publish = false` is the empty list).
fn is_publishable(package: &Value) -> bool {
    match package.get("publish") {
        None | Some(Value::Null) => true,
        Some(Value::Array(registries)) => !registries.is_empty(),
        Some(_) => true,
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
}

fn strings<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A crates.io keyword: at most 20 characters, ASCII letters, digits, `_` and `-`, starting with a letter.
fn is_valid_keyword(keyword: &str) -> bool {
    keyword.len() <= 20
        && keyword.starts_with(|c: char| c.is_ascii_alphabetic())
        && keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What keeps the workspace's publishable crates from being published on their own, one line each; empty when
/// nothing does. `root` holds the license files each crate must carry a copy of.
pub fn packaging_problems(metadata: &Value, root: &Path) -> Result<Vec<String>> {
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .context("`cargo metadata` output has no `packages` list")?;
    let publishable: Vec<&str> = packages
        .iter()
        .filter(|package| is_publishable(package))
        .filter_map(|package| text(package, "name"))
        .collect();
    let unpublished: Vec<&str> = packages
        .iter()
        .filter(|package| !is_publishable(package))
        .filter_map(|package| text(package, "name"))
        .collect();
    let mut problems = Vec::new();
    for package in packages.iter().filter(|package| is_publishable(package)) {
        let name = text(package, "name").unwrap_or("?");
        let dir = text(package, "manifest_path")
            .map(PathBuf::from)
            .and_then(|manifest| manifest.parent().map(Path::to_path_buf))
            .with_context(|| format!("{name} has no manifest_path"))?;
        for key in ["description", "license", "repository", "rust_version"] {
            if text(package, key).is_none() {
                problems.push(format!("{name}: no `{}`", key.replace('_', "-")));
            }
        }
        match text(package, "readme") {
            None => problems.push(format!("{name}: no `readme`")),
            Some(readme) if !dir.join(readme).is_file() => {
                problems.push(format!("{name}: readme {readme} is not a file"));
            }
            Some(_) => {}
        }
        let keywords = strings(package, "keywords");
        if keywords.is_empty() || keywords.len() > 5 {
            problems.push(format!(
                "{name}: {} keywords (crates.io takes 1 to 5)",
                keywords.len()
            ));
        }
        for keyword in keywords.iter().filter(|k| !is_valid_keyword(k)) {
            problems.push(format!(
                "{name}: keyword {keyword:?} is not valid on crates.io"
            ));
        }
        if strings(package, "categories").is_empty() {
            problems.push(format!("{name}: no `categories`"));
        }
        for file in LICENSE_FILES {
            let ours = root.join(file);
            let expected =
                fs::read(&ours).with_context(|| format!("could not read {}", ours.display()))?;
            match fs::read(dir.join(file)) {
                Ok(copy) if copy == expected => {}
                Ok(_) => problems.push(format!("{name}: {file} differs from the workspace root's")),
                Err(_) => problems.push(format!("{name}: no {file} (copy the workspace root's)")),
            }
        }
        for dependency in package
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(dependency_name) = text(dependency, "name") else {
                continue;
            };
            let is_dev = text(dependency, "kind") == Some("dev");
            let is_path = dependency.get("path").is_some_and(|path| !path.is_null());
            // A path dependency without a version has the requirement `*`.
            let has_version = text(dependency, "req").is_some_and(|req| req != "*");
            if !is_path {
                continue;
            }
            if !is_dev && !has_version {
                problems.push(format!(
                    "{name}: depends on {dependency_name} by path without a version"
                ));
            }
            if !is_dev && unpublished.contains(&dependency_name) {
                problems.push(format!(
                    "{name}: depends on {dependency_name}, which is `publish = false`"
                ));
            }
            // cargo keeps a dev-dependency with a version in the published manifest (and drops one without).
            if is_dev && has_version && !publishable.contains(&dependency_name) {
                problems.push(format!(
                    "{name}: dev-dependency {dependency_name} is `publish = false` but has a version; give it a \
                     path alone so that publishing drops it"
                ));
            }
        }
    }
    problems.extend(publish_cycles(packages, &publishable));
    Ok(problems)
}

/// Cycles among the publishable crates through what their published manifests keep: normal and build
/// dependencies, and dev-dependencies with a version. None of the crates of a cycle can be published first, since
/// crates.io wants every dependency of a crate already there.
fn publish_cycles(packages: &[Value], publishable: &[&str]) -> Vec<String> {
    let edges = |name: &str| -> Vec<String> {
        let Some(package) = packages.iter().find(|p| text(p, "name") == Some(name)) else {
            return Vec::new();
        };
        let mut to: Vec<String> = package
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|dependency| {
                let kept = text(dependency, "kind") != Some("dev")
                    || text(dependency, "req").is_some_and(|req| req != "*");
                kept && dependency.get("path").is_some_and(|path| !path.is_null())
            })
            .filter_map(|dependency| text(dependency, "name"))
            .filter(|dependency| publishable.contains(dependency) && *dependency != name)
            .map(str::to_owned)
            .collect();
        to.sort();
        to.dedup();
        to
    };
    let mut cycles: Vec<Vec<String>> = Vec::new();
    // Depth-first from each crate; a path back to the start is a cycle, reported once (from its least name).
    for start in publishable {
        let mut stack: Vec<(String, Vec<String>)> =
            vec![(start.to_string(), vec![start.to_string()])];
        let mut seen: Vec<String> = Vec::new();
        while let Some((node, path)) = stack.pop() {
            for next in edges(&node) {
                if next == *start {
                    let least = path.iter().min().is_some_and(|least| least == start);
                    if least && !cycles.iter().any(|cycle| cycle == &path) {
                        cycles.push(path.clone());
                    }
                } else if !seen.contains(&next) {
                    seen.push(next.clone());
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    cycles
        .into_iter()
        .map(|cycle| {
            format!(
                "publish cycle {} -> {}: give the dev-dependency in it a path and no version, so that publishing \
                 drops it",
                cycle.join(" -> "),
                cycle[0]
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, publish: Value, dependencies: Value, dir: &Path) -> Value {
        serde_json::json!({
            "name": name,
            "publish": publish,
            "description": "d",
            "license": "MIT OR Apache-2.0",
            "repository": "https://example.invalid/r",
            "rust_version": "1.88",
            "readme": "README.md",
            "keywords": ["opentelemetry"],
            "categories": ["development-tools"],
            "manifest_path": dir.join("Cargo.toml"),
            "dependencies": dependencies,
        })
    }

    fn crate_dir(root: &Path, name: &str, licensed: bool) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("README.md"), "# r\n").unwrap();
        if licensed {
            for file in LICENSE_FILES {
                fs::copy(root.join(file), dir.join(file)).unwrap();
            }
        }
        dir
    }

    #[test]
    fn this_workspace_is_publishable() {
        let workspace = Workspace::locate().unwrap();
        let metadata = workspace.metadata().unwrap();
        let problems = packaging_problems(&metadata, &workspace.root).unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
        // The crates checked feature by feature exist and are publishable.
        let packages = metadata["packages"].as_array().unwrap();
        for name in EACH_FEATURE_PACKAGES {
            let package = packages.iter().find(|p| p["name"] == *name);
            assert!(package.is_some_and(is_publishable), "{name}");
        }
    }

    #[test]
    fn finds_missing_metadata_files_and_bad_dependencies() {
        let root = tempfile::tempdir().unwrap();
        for file in LICENSE_FILES {
            fs::write(root.path().join(file), format!("{file} text\n")).unwrap();
        }
        let good = crate_dir(root.path(), "good", true);
        let bad = crate_dir(root.path(), "bad", false);
        let private = crate_dir(root.path(), "private", false);
        let mut bad_package = package(
            "bad",
            Value::Null,
            serde_json::json!([
                {"name": "private", "kind": null, "req": "^0.1.0", "path": private},
                {"name": "good", "kind": null, "req": "*", "path": good},
                {"name": "private", "kind": "dev", "req": "^0.1.0", "path": private},
                {"name": "private", "kind": "dev", "req": "*", "path": private},
                {"name": "serde", "kind": null, "req": "^1"},
            ]),
            &bad,
        );
        bad_package["keywords"] = serde_json::json!(["opentelemetry", "not valid!"]);
        bad_package["categories"] = serde_json::json!([]);
        bad_package["description"] = Value::Null;
        let metadata = serde_json::json!({"packages": [
            package("good", Value::Null, serde_json::json!([]), &good),
            bad_package,
            package("private", serde_json::json!([]), serde_json::json!([]), &private),
        ]});
        let problems = packaging_problems(&metadata, root.path()).unwrap();
        assert_eq!(
            problems,
            vec![
                "bad: no `description`",
                "bad: keyword \"not valid!\" is not valid on crates.io",
                "bad: no `categories`",
                "bad: no LICENSE-MIT (copy the workspace root's)",
                "bad: no LICENSE-APACHE (copy the workspace root's)",
                "bad: depends on private, which is `publish = false`",
                "bad: depends on good by path without a version",
                "bad: dev-dependency private is `publish = false` but has a version; give it a path alone so \
                 that publishing drops it",
            ]
        );

        fs::write(good.join("LICENSE-MIT"), "changed\n").unwrap();
        let metadata = serde_json::json!({"packages": [
            package("good", Value::Null, serde_json::json!([]), &good),
        ]});
        assert_eq!(
            packaging_problems(&metadata, root.path()).unwrap(),
            vec!["good: LICENSE-MIT differs from the workspace root's"]
        );
    }

    #[test]
    fn finds_cycles_through_versioned_dev_dependencies() {
        let root = tempfile::tempdir().unwrap();
        for file in LICENSE_FILES {
            fs::write(root.path().join(file), "text\n").unwrap();
        }
        let dirs: Vec<PathBuf> = ["a", "b", "c"]
            .iter()
            .map(|name| crate_dir(root.path(), name, true))
            .collect();
        let dependency = |name: &str, kind: Option<&str>, req: &str, dir: &Path| serde_json::json!({"name": name, "kind": kind, "req": req, "path": dir});
        // a -> b -> c, and c back to a as a dev-dependency.
        let metadata = |c_to_a_req: &str| {
            serde_json::json!({"packages": [
                package("a", Value::Null, serde_json::json!([dependency("b", None, "^0.1", &dirs[1])]), &dirs[0]),
                package("b", Value::Null, serde_json::json!([dependency("c", None, "^0.1", &dirs[2])]), &dirs[1]),
                package("c", Value::Null, serde_json::json!([dependency("a", Some("dev"), c_to_a_req, &dirs[0])]), &dirs[2]),
            ]})
        };
        assert_eq!(
            packaging_problems(&metadata("^0.1"), root.path()).unwrap(),
            vec![
                "publish cycle a -> b -> c -> a: give the dev-dependency in it a path and no version, so that \
                 publishing drops it"
            ]
        );
        // Without a version the dev-dependency is dropped on publish: no cycle.
        assert!(
            packaging_problems(&metadata("*"), root.path())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn removes_unpacked_copies_of_our_crates_only() {
        let home = tempfile::tempdir().unwrap();
        let overlay = home.path().join("registry/src/-921fdde238e36f1b");
        let crates_io = home
            .path()
            .join("registry/src/index.crates.io-1949cf8c6b5b557f");
        for dir in [
            overlay.join("otlp-model-0.1.0/src"),
            overlay.join("otlp-model-0.0.9"),
            crates_io.join("serde-1.0.0"),
        ] {
            fs::create_dir_all(dir).unwrap();
        }
        let ours = vec![("otlp-model".to_owned(), "0.1.0".to_owned())];
        assert_eq!(
            remove_unpacked_copies(home.path(), &ours).unwrap(),
            vec![overlay.join("otlp-model-0.1.0")]
        );
        assert!(overlay.join("otlp-model-0.0.9").is_dir());
        assert!(crates_io.join("serde-1.0.0").is_dir());
        assert!(
            remove_unpacked_copies(home.path(), &ours)
                .unwrap()
                .is_empty()
        );
        let nowhere = home.path().join("none");
        assert!(remove_unpacked_copies(&nowhere, &ours).unwrap().is_empty());
    }

    #[test]
    fn keywords_follow_crates_io_rules() {
        assert!(is_valid_keyword("load-balancing"));
        assert!(is_valid_keyword("tail_sampling"));
        assert!(!is_valid_keyword("2fast"));
        assert!(!is_valid_keyword("a-keyword-longer-than-20"));
        assert!(!is_valid_keyword("w3c trace"));
    }

    #[test]
    fn build_packages_are_setup_tools() {
        for package in BUILD_PACKAGES {
            assert!(
                SYSTEM_TOOLS.iter().any(|(_, p)| p == package),
                "{package} is not in setup's SYSTEM_TOOLS"
            );
        }
    }
}
