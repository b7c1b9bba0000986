//! Replays every committed fuzz input through its target on stable: the seed corpora (`fuzz/corpus/<target>/`)
//! and the inputs that once crashed a target (`fuzz/regressions/<target>/`), so a fixed crash stays fixed
//! without nightly or cargo-fuzz.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of every target directory under `fuzz/<kind>/`, by target name.
fn inputs(kind: &str) -> Vec<(String, Vec<PathBuf>)> {
    let dir = fuzz_dir().join(kind);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    for entry in entries {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = fs::read_dir(entry.path())
            .unwrap()
            .map(|file| file.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        targets.push((entry.file_name().to_string_lossy().into_owned(), files));
    }
    targets.sort();
    targets
}

fn replay(kind: &str) -> usize {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, files) in inputs(kind) {
        let target = otlp_fuzz::target(&name)
            .unwrap_or_else(|| panic!("fuzz/{kind}/{name} is not the name of a fuzz target"));
        for file in files {
            let bytes = fs::read(&file).unwrap();
            if catch_unwind(AssertUnwindSafe(|| (target.run)(&bytes))).is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "inputs that fail their target: {failures:#?}"
    );
    replayed
}

#[test]
fn every_seed_passes_its_target() {
    assert!(replay("corpus") > 0, "no seed input was found");
}

#[test]
fn every_fixed_crash_stays_fixed() {
    replay("regressions");
}

#[test]
fn every_target_has_seeds_and_a_cargo_fuzz_binary() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let corpora = inputs("corpus");
    for target in otlp_fuzz::TARGETS {
        let name = target.name;
        assert!(
            corpora
                .iter()
                .any(|(dir, files)| dir == name && !files.is_empty()),
            "fuzz/corpus/{name} has no seed"
        );
        let source = fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|_| panic!("fuzz/fuzz_targets/{name}.rs is missing"));
        assert!(
            source.contains(&format!("otlp_fuzz::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call otlp_fuzz::{name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}
