//! Which files the `include` and `exclude` patterns name now: doublestar globs, as otelcol reads them (`*` stays
//! within a directory, `**` crosses any number of them).

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use std::path::{Component, Path, PathBuf};

/// `pattern` without `.` segments (`./logs/*.log` → `logs/*.log`, `/var/./log` → `/var/log`): the paths walked
/// have none (`Path::components` drops them), so a pattern that kept them would match nothing.
fn without_dot_segments(pattern: &str) -> String {
    let mut rest = pattern;
    while let Some(after) = rest.strip_prefix("./") {
        rest = after.trim_start_matches('/');
    }
    let mut cleaned = rest.replace("/./", "/");
    while cleaned.contains("/./") {
        cleaned = cleaned.replace("/./", "/");
    }
    cleaned
}

/// One pattern compiled with otelcol's semantics.
pub(super) fn glob(pattern: &str) -> Result<Glob, String> {
    if pattern.is_empty() {
        return Err("an empty pattern matches no file".to_owned());
    }
    GlobBuilder::new(&without_dot_segments(pattern))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("`{pattern}` is not a glob pattern: {e}"))
}

/// Where a pattern's files can be: the directory before its first wildcard, and how deep below it.
struct Include {
    matcher: GlobMatcher,
    base: PathBuf,
    /// `None` for a pattern with `**`.
    depth: Option<usize>,
}

/// The compiled `include` and `exclude` patterns.
pub(in crate::receiver) struct Finder {
    include: Vec<Include>,
    exclude: GlobSet,
}

fn is_wild(part: &str) -> bool {
    part.contains(['*', '?', '[', '{', '\\'])
}

impl Finder {
    pub(in crate::receiver) fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        let include = include
            .iter()
            .map(|pattern| {
                let matcher = glob(pattern)?.compile_matcher();
                let mut base = PathBuf::new();
                let mut rest = 0;
                let mut recursive = false;
                for component in Path::new(&without_dot_segments(pattern)).components() {
                    let text = component.as_os_str().to_string_lossy();
                    if rest == 0 && !is_wild(&text) {
                        base.push(component);
                    } else {
                        rest += 1;
                        recursive |= text.contains("**");
                    }
                }
                if rest == 0 {
                    // A plain path: the file itself, found by listing its directory.
                    rest = 1;
                    base.pop();
                }
                if base.as_os_str().is_empty() {
                    base.push(Component::CurDir);
                }
                Ok(Include {
                    matcher,
                    base,
                    depth: (!recursive).then_some(rest),
                })
            })
            .collect::<Result<_, String>>()?;
        let mut set = GlobSetBuilder::new();
        for pattern in exclude {
            set.add(glob(pattern)?);
        }
        let exclude = set.build().map_err(|e| e.to_string())?;
        Ok(Finder { include, exclude })
    }

    /// Every regular file (or link to one) some `include` pattern matches and no `exclude` pattern does, sorted,
    /// each once.
    pub(super) fn find(&self) -> Vec<PathBuf> {
        self.find_entries(false)
    }

    /// As [`find`](Self::find), directories included when `directories` is set (the `filestats` receiver's
    /// patterns name folders too).
    pub(in crate::receiver) fn find_entries(&self, directories: bool) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for include in &self.include {
            walk(&include.base, include.depth, directories, &mut |path| {
                let relative = path.strip_prefix(".").unwrap_or(path);
                if include.matcher.is_match(relative) && !self.exclude.is_match(relative) {
                    found.push(relative.to_owned());
                }
            });
        }
        found.sort();
        found.dedup();
        found
    }
}

/// Calls `visit` with each file (and directory, with `directories`) under `directory`, at most `depth` levels
/// down (no limit for `None`). Links to directories are followed only within a limit, so a link loop cannot hold
/// a poll.
fn walk(directory: &Path, depth: Option<usize>, directories: bool, visit: &mut dyn FnMut(&Path)) {
    if depth == Some(0) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let (is_dir, is_file) = if kind.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(target) => (target.is_dir() && depth.is_some(), target.is_file()),
                Err(_) => (false, false),
            }
        } else {
            (kind.is_dir(), kind.is_file())
        };
        if is_file {
            visit(&path);
        } else if is_dir {
            if directories {
                visit(&path);
            }
            walk(&path, depth.map(|d| d - 1), directories, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x\n").unwrap();
    }

    fn names(root: &Path, include: &[&str], exclude: &[&str]) -> Vec<String> {
        let absolute = |patterns: &[&str]| -> Vec<String> {
            patterns
                .iter()
                .map(|p| format!("{}/{p}", root.display()))
                .collect()
        };
        Finder::new(&absolute(include), &absolute(exclude))
            .unwrap()
            .find()
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn a_star_stays_in_its_directory_and_two_cross_them() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "a.log",
            "b.txt",
            "sub/c.log",
            "sub/deep/d.log",
            "pods/ns_p_1/app/0.log",
        ] {
            touch(dir.path(), file);
        }
        assert_eq!(names(dir.path(), &["*.log"], &[]), ["a.log"]);
        assert_eq!(
            names(dir.path(), &["**/*.log"], &[]),
            [
                "a.log",
                "pods/ns_p_1/app/0.log",
                "sub/c.log",
                "sub/deep/d.log"
            ]
        );
        assert_eq!(
            names(dir.path(), &["pods/*/*/*.log"], &[]),
            ["pods/ns_p_1/app/0.log"]
        );
        assert_eq!(
            names(dir.path(), &["**/*.log"], &["sub/**"]),
            ["a.log", "pods/ns_p_1/app/0.log"]
        );
        assert_eq!(
            names(dir.path(), &["sub/c.log", "*.log", "*.log"], &[]),
            ["a.log", "sub/c.log"]
        );
        assert!(names(dir.path(), &["missing/*.log"], &[]).is_empty());
    }

    #[test]
    fn dot_segments_match_the_paths_they_name() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "sub/c.log");
        assert_eq!(names(dir.path(), &["./sub/./*.log"], &[]), ["sub/c.log"]);
        assert_eq!(without_dot_segments("./././logs/*.log"), "logs/*.log");
        assert_eq!(without_dot_segments("/var/./log/*.log"), "/var/log/*.log");
        assert_eq!(without_dot_segments("../*.log"), "../*.log");
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let error = Finder::new(&["/var/log/[a.log".to_owned()], &[])
            .err()
            .unwrap();
        assert!(
            error.contains("`/var/log/[a.log` is not a glob pattern"),
            "{error}"
        );
    }
}
