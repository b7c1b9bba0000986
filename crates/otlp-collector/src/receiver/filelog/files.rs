//! Following files across polls as otelcol's file consumer does: a file is known by its first bytes (its
//! fingerprint), not its name, so a renamed (rotated) file is read on where it was left, a file truncated and
//! written anew is read from its start, and a copy is not read twice.
//!
//! Each known file keeps its open handle: after a rotation moves it out of `include`'s reach, what the writer
//! added before it moved on is still read, for a few polls, before the handle is closed.

use super::config::{FileLogConfig, StartAt};
use super::finder::Finder;
use crate::receiver::stanza::split::Splitter;
use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// How many polls a known file is still read after no pattern finds it any more.
const POLLS_AFTER_MOVED: u8 = 3;

/// The most bytes read from one file in one poll, and from all of them: a backlog is read in steps of bounded
/// memory, the next poll following at once (`Polled::more`), each file in turn.
const MOST_PER_FILE: u64 = 1024 * 1024;
const MOST_PER_POLL: u64 = 4 * 1024 * 1024;

/// Where a file was read to, as kept by a storage extension across restarts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Checkpoint {
    /// The file's first bytes, hex-encoded.
    pub(super) fingerprint: String,
    pub(super) offset: u64,
    /// Where it was last seen; for reading the checkpoint file, not for matching.
    pub(super) path: PathBuf,
}

/// A file being read.
struct Known {
    file: File,
    path: PathBuf,
    fingerprint: Vec<u8>,
    offset: u64,
    /// Since when the file has ended in the same incomplete entry, and the file's length then.
    waiting: Option<(Instant, u64)>,
    /// Polls since a pattern last found the file.
    missing: u8,
    /// Whether the last read reached the end of the file.
    at_end: bool,
}

/// What a poll read.
#[derive(Debug, Default)]
pub(super) struct Polled {
    pub(super) reads: Vec<Read>,
    /// Some file has more to read already: poll again without waiting.
    pub(super) more: bool,
}

/// The entries read from one file in a poll.
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) path: PathBuf,
    pub(crate) entries: Vec<String>,
}

/// Every file being read, and how to find and cut the next ones.
pub(super) struct Files {
    finder: Finder,
    splitter: Splitter,
    known: Vec<Known>,
    /// Checkpoints restored from storage that no file has matched yet.
    restored: Vec<(Vec<u8>, u64)>,
    first_poll: bool,
    /// Whether the warning that more files match than are read was given.
    warned_of_limit: bool,
    /// Which current file a poll reads first, so that a backlog in one does not hold up the others.
    next_first: usize,
    start_at: StartAt,
    fingerprint_size: usize,
    max_concurrent_files: usize,
    exclude_older_than: Option<Duration>,
    force_flush_period: Duration,
    delete_after_read: bool,
    /// The longest entry: how far one read may have to look for an entry's end.
    max_log_size: u64,
}

impl Files {
    pub(super) fn new(config: &FileLogConfig) -> Result<Self, String> {
        Ok(Files {
            finder: Finder::new(&config.include, &config.exclude)?,
            splitter: Splitter::new(
                config.multiline.as_ref(),
                config.max_log_size,
                config.preserve_leading_whitespaces,
                config.preserve_trailing_whitespaces,
            )?,
            known: Vec::new(),
            restored: Vec::new(),
            first_poll: true,
            warned_of_limit: false,
            next_first: 0,
            start_at: config.start_at,
            fingerprint_size: usize::try_from(config.fingerprint_size.0).unwrap_or(usize::MAX),
            max_concurrent_files: config.max_concurrent_files,
            exclude_older_than: config.exclude_older_than,
            force_flush_period: config.force_flush_period,
            delete_after_read: config.delete_after_read,
            max_log_size: config.max_log_size.0,
        })
    }

    /// Has every file read to its end read again from its start by the next poll (`replay_file`).
    pub(super) fn rewind(&mut self) {
        for known in self.known.iter_mut().filter(|known| known.at_end) {
            known.offset = 0;
            known.at_end = false;
            known.waiting = None;
        }
    }

    /// Resumes the files of `checkpoints` where they were left, whatever `start_at` says.
    pub(super) fn restore(&mut self, checkpoints: Vec<Checkpoint>) {
        self.restored = checkpoints
            .into_iter()
            .filter_map(|c| Some((unhex(&c.fingerprint)?, c.offset)))
            .collect();
    }

    /// Where each known file was read to.
    pub(super) fn checkpoints(&self) -> Vec<Checkpoint> {
        self.known
            .iter()
            .map(|known| Checkpoint {
                fingerprint: hex(&known.fingerprint),
                offset: known.offset,
                path: known.path.clone(),
            })
            .collect()
    }

    /// Finds the files, matches them to the known ones, and reads what each gained since the last poll.
    pub(super) fn poll(&mut self, now: Instant) -> Polled {
        let mut previous = std::mem::take(&mut self.known);
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let paths = self.finder.find();
        if paths.len() > self.max_concurrent_files && !self.warned_of_limit {
            self.warned_of_limit = true;
            tracing::warn!(
                files = paths.len(),
                max_concurrent_files = self.max_concurrent_files,
                "more files match than max_concurrent_files: the first in name order are read, the others once \
                 those go away"
            );
        }
        for path in paths {
            if self.known.len() >= self.max_concurrent_files {
                break;
            }
            let Some((file, fingerprint)) = self.open(&path) else {
                continue;
            };
            // Two names for one content (a copy, a hard link) are read once.
            if !seen.insert(fingerprint.clone()) {
                continue;
            }
            let known = match take_longest_prefix(&mut previous, &fingerprint, |k| &k.fingerprint) {
                Some(known) => Known {
                    file,
                    path,
                    fingerprint,
                    missing: 0,
                    ..known
                },
                None => {
                    let offset =
                        match take_longest_prefix(&mut self.restored, &fingerprint, |r| &r.0) {
                            Some((_, offset)) => offset,
                            None if self.first_poll && self.start_at == StartAt::End => {
                                file.metadata().map_or(0, |m| m.len())
                            }
                            None => 0,
                        };
                    Known {
                        file,
                        path,
                        fingerprint,
                        offset,
                        waiting: None,
                        missing: 0,
                        at_end: false,
                    }
                }
            };
            self.known.push(known);
        }
        let current: Vec<(u64, u64)> = self
            .known
            .iter()
            .filter_map(|k| identity(&k.file))
            .collect();
        let found = self.known.len();
        for mut moved in previous {
            moved.missing = moved.missing.saturating_add(1);
            // Still found under its name with other first bytes: truncated and written anew, so what its old
            // handle would read is the new content, which is read as a new file.
            let rewritten = identity(&moved.file).is_some_and(|id| current.contains(&id));
            // Kept until read to its end, even when deleted: the open handle still reads it.
            if !rewritten && (moved.missing <= POLLS_AFTER_MOVED || !moved.at_end) {
                self.known.push(moved);
            }
        }
        self.first_poll = false;
        // Moved files first (their writers have moved on), then the found ones in turn.
        let start = if found == 0 {
            0
        } else {
            self.next_first % found
        };
        let order: Vec<usize> = (found..self.known.len())
            .chain((0..found).map(|i| (start + i) % found))
            .collect();
        let mut polled = Polled::default();
        let mut finished = Vec::new();
        let mut spent = 0;
        let mut stopped_at = None;
        for i in order {
            if spent >= MOST_PER_POLL {
                polled.more = true;
                stopped_at = Some(i);
                break;
            }
            let known = &mut self.known[i];
            // A moved file's writer has gone on to the new one: its last entry will not grow any more.
            let last_chance = known.missing >= POLLS_AFTER_MOVED;
            let limits = Limits {
                force_flush_period: self.force_flush_period,
                max_log_size: self.max_log_size,
            };
            match read(known, &self.splitter, now, limits, last_chance) {
                Ok((entries, bytes)) => {
                    spent += bytes;
                    polled.more |= !known.at_end;
                    if !entries.is_empty() {
                        polled.reads.push(Read {
                            path: known.path.clone(),
                            entries,
                        });
                    }
                    if known.at_end && self.delete_after_read && known.missing == 0 {
                        finished.push(i);
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %known.path.display(), error = %e, "cannot read the file");
                }
            }
        }
        self.next_first = match stopped_at {
            Some(i) if i < found => i,
            _ => start + 1,
        };
        finished.sort_unstable();
        for i in finished.into_iter().rev() {
            let known = self.known.remove(i);
            if let Err(e) = std::fs::remove_file(&known.path) {
                tracing::warn!(file = %known.path.display(), error = %e, "cannot delete the file read");
            }
        }
        polled
    }

    /// Opens `path` and reads its fingerprint; `None` for a file that cannot be read, is empty, or is older than
    /// `exclude_older_than`.
    fn open(&self, path: &PathBuf) -> Option<(File, Vec<u8>)> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => {
                tracing::debug!(file = %path.display(), error = %e, "cannot open the file");
                return None;
            }
        };
        if let Some(limit) = self.exclude_older_than {
            let modified = file.metadata().and_then(|m| m.modified()).ok()?;
            let age = SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default();
            if age > limit {
                return None;
            }
        }
        let fingerprint = read_at(&file, 0, self.fingerprint_size as u64).ok()?;
        (!fingerprint.is_empty()).then_some((file, fingerprint))
    }
}

/// The file's device and inode: which file a handle reads, whatever its name now.
fn identity(file: &File) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// Takes out of `list` the entry whose fingerprint is the longest prefix of `fingerprint`: the same file, grown.
fn take_longest_prefix<T>(
    list: &mut Vec<T>,
    fingerprint: &[u8],
    of: impl Fn(&T) -> &Vec<u8>,
) -> Option<T> {
    let best = list
        .iter()
        .enumerate()
        .filter(|(_, item)| !of(item).is_empty() && fingerprint.starts_with(of(item)))
        .max_by_key(|(_, item)| of(item).len())
        .map(|(i, _)| i)?;
    Some(list.swap_remove(best))
}

/// How long an unfinished entry may wait, and how long an entry may be.
#[derive(Clone, Copy)]
struct Limits {
    force_flush_period: Duration,
    max_log_size: u64,
}

/// Reads what `known` gained since its offset and cuts it into entries; also says how many bytes it read.
fn read(
    known: &mut Known,
    splitter: &Splitter,
    now: Instant,
    limits: Limits,
    last_chance: bool,
) -> std::io::Result<(Vec<String>, u64)> {
    let length = known.file.metadata()?.len();
    if length < known.offset {
        // Truncated in place and not yet written past its old fingerprint: the content is new.
        known.offset = 0;
    }
    let mut window = MOST_PER_FILE;
    let mut bytes;
    let mut read_to_end;
    let mut split = loop {
        bytes = read_at(
            &known.file,
            known.offset,
            (length - known.offset).min(window),
        )?;
        read_to_end = known.offset + bytes.len() as u64 >= length;
        let split = splitter.split(&bytes, last_chance && read_to_end);
        // An entry longer than one read's window has its end further on: read more of it at once, until the
        // splitter cuts it at max_log_size (it cuts once a byte more is there). Waiting for the next poll would
        // read the same window again.
        let widest = limits.max_log_size.saturating_add(1);
        if split.used == 0 && !read_to_end && window < widest {
            window = window.saturating_mul(2).min(widest);
            continue;
        }
        break split;
    };
    let filled = bytes.len();
    let rest = bytes.len() - split.used;
    if rest > 0 && read_to_end {
        // An entry without its end: flushed once nothing was added to the file for force_flush_period.
        match known.waiting {
            Some((since, then)) if then == length => {
                if now.duration_since(since) >= limits.force_flush_period {
                    split = splitter.split(&bytes, true);
                    known.waiting = None;
                }
            }
            _ => known.waiting = Some((now, length)),
        }
    } else {
        known.waiting = None;
    }
    known.offset += split.used as u64;
    let entries = split
        .entries
        .iter()
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect();
    known.at_end = known.offset >= length;
    Ok((entries, filled as u64))
}

/// Up to `wanted` bytes of `file` from `offset`; fewer when the file ends sooner.
fn read_at(file: &File, offset: u64, wanted: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(wanted).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read_at(&mut bytes[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn config(dir: &std::path::Path, start_at: StartAt) -> FileLogConfig {
        FileLogConfig {
            include: vec![format!("{}/*.log", dir.display())],
            start_at,
            fingerprint_size: super::super::config::ByteSize(16),
            force_flush_period: Duration::from_millis(500),
            ..FileLogConfig::default()
        }
    }

    fn append(path: &std::path::Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    fn entries(polled: Polled) -> Vec<String> {
        polled.reads.into_iter().flat_map(|r| r.entries).collect()
    }

    #[test]
    fn start_at_end_skips_what_was_there_and_later_files_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.log");
        append(&old, "before the start\n");
        let mut files = Files::new(&config(dir.path(), StartAt::End)).unwrap();
        let now = Instant::now();
        assert!(files.poll(now).reads.is_empty());
        append(&old, "after\n");
        append(
            &dir.path().join("new.log"),
            "a new file, from its first line\n",
        );
        let mut read = entries(files.poll(now));
        read.sort();
        assert_eq!(read, ["a new file, from its first line", "after"]);
        assert!(files.poll(now).reads.is_empty());
    }

    #[test]
    fn a_rotated_file_is_read_to_its_end_and_the_new_one_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "1st file, its first line\n");
        let mut files = Files::new(&config(dir.path(), StartAt::Beginning)).unwrap();
        let now = Instant::now();
        assert_eq!(entries(files.poll(now)), ["1st file, its first line"]);
        append(&log, "written just before the rotation\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "2nd file, its first line\n");
        let mut got = entries(files.poll(now));
        got.sort();
        assert_eq!(
            got,
            [
                "2nd file, its first line",
                "written just before the rotation"
            ]
        );
        assert!(files.poll(now).reads.is_empty());
    }

    #[test]
    fn a_copy_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "the content before the truncation\n");
        let mut files = Files::new(&config(dir.path(), StartAt::Beginning)).unwrap();
        let now = Instant::now();
        assert_eq!(
            entries(files.poll(now)),
            ["the content before the truncation"]
        );
        std::fs::write(&log, "new\n").unwrap();
        assert_eq!(entries(files.poll(now)), ["new"]);
    }

    #[test]
    fn an_unfinished_last_line_waits_for_the_flush_period() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), "complete\nno newline yet");
        let mut files = Files::new(&config(dir.path(), StartAt::Beginning)).unwrap();
        let start = Instant::now();
        assert_eq!(entries(files.poll(start)), ["complete"]);
        assert!(
            files
                .poll(start + Duration::from_millis(100))
                .reads
                .is_empty()
        );
        assert_eq!(
            entries(files.poll(start + Duration::from_millis(600))),
            ["no newline yet"]
        );
        assert!(files.poll(start + Duration::from_secs(2)).reads.is_empty());
    }

    #[test]
    fn checkpoints_resume_where_reading_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        append(&log, "one: read before the restart\n");
        let mut files = Files::new(&config(dir.path(), StartAt::Beginning)).unwrap();
        assert_eq!(entries(files.poll(Instant::now())).len(), 1);
        let saved = files.checkpoints();
        assert_eq!(saved[0].offset, 29);
        append(&log, "two: written while stopped\n");
        let mut restarted = Files::new(&config(dir.path(), StartAt::End)).unwrap();
        restarted.restore(saved);
        assert_eq!(
            entries(restarted.poll(Instant::now())),
            ["two: written while stopped"]
        );
    }

    #[test]
    fn a_line_longer_than_one_read_is_read_whole_up_to_max_log_size() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        let long = "x".repeat(usize::try_from(MOST_PER_FILE).unwrap() * 3);
        append(&log, &format!("{long}\nafter\n"));
        let mut files = Files::new(&FileLogConfig {
            max_log_size: super::super::config::ByteSize(8 * MOST_PER_FILE),
            ..config(dir.path(), StartAt::Beginning)
        })
        .unwrap();
        let read = entries(files.poll(Instant::now()));
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].len(), long.len());
        assert_eq!(read[1], "after");
        // Past max_log_size the line is cut there, as otelcol cuts it.
        let mut files = Files::new(&FileLogConfig {
            max_log_size: super::super::config::ByteSize(2 * MOST_PER_FILE),
            ..config(dir.path(), StartAt::Beginning)
        })
        .unwrap();
        let mut read = Vec::new();
        for _ in 0..4 {
            read.extend(entries(files.poll(Instant::now())));
        }
        let lengths: Vec<usize> = read.iter().map(String::len).collect();
        let window = usize::try_from(MOST_PER_FILE).unwrap();
        assert_eq!(lengths, [2 * window, window, 5]);
    }

    #[test]
    fn rewinding_reads_each_finished_file_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), "one\ntwo\n");
        let mut files = Files::new(&config(dir.path(), StartAt::Beginning)).unwrap();
        assert_eq!(entries(files.poll(Instant::now())), ["one", "two"]);
        assert!(entries(files.poll(Instant::now())).is_empty());
        files.rewind();
        assert_eq!(entries(files.poll(Instant::now())), ["one", "two"]);
    }

    #[test]
    fn fingerprints_survive_their_hex_form() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
