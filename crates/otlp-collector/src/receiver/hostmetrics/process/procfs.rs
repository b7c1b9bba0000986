//! One process's tables under `/proc/<pid>`, parsed: what the `process` scraper reports is read here.

use std::collections::BTreeMap;

/// The fields of `/proc/<pid>/stat` the scraper uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Stat {
    pub(crate) parent_pid: i64,
    pub(crate) minor_faults: i64,
    pub(crate) major_faults: i64,
    /// Clock ticks in user and kernel mode, and waiting for block I/O (`delayacct_blkio_ticks`).
    pub(crate) user_ticks: u64,
    pub(crate) system_ticks: u64,
    pub(crate) iowait_ticks: u64,
    pub(crate) threads: i64,
    /// Clock ticks after boot at which the process started.
    pub(crate) start_ticks: u64,
}

/// `/proc/<pid>/stat`; the command (field 2) is in parentheses and may itself hold spaces and parentheses, so the
/// fields are counted from the last `)`.
pub(crate) fn stat(text: &str) -> Option<Stat> {
    let (_, after) = text.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_ascii_whitespace().collect();
    // Field n of proc(5) is fields[n - 3]: the state, field 3, comes first.
    let field = |n: usize| fields.get(n - 3).copied();
    let int = |n: usize| field(n)?.parse::<i64>().ok();
    let ticks = |n: usize| field(n)?.parse::<u64>().ok();
    Some(Stat {
        parent_pid: int(4)?,
        minor_faults: int(10)?,
        major_faults: int(12)?,
        user_ticks: ticks(14)?,
        system_ticks: ticks(15)?,
        threads: int(20)?,
        start_ticks: ticks(22)?,
        // Absent on kernels before 2.6.18.
        iowait_ticks: ticks(42).unwrap_or(0),
    })
}

/// The `Key:\tvalue` lines of `/proc/<pid>/status`.
pub(crate) fn status(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key, value.trim()))
        .collect()
}

/// A `kB` amount of `status` (`VmRSS:   1234 kB`) in bytes; 0 when absent, as for a kernel thread.
pub(crate) fn kilobytes(status: &BTreeMap<&str, &str>, key: &str) -> i64 {
    status
        .get(key)
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The real user id of `status`'s `Uid:` line.
pub(crate) fn uid(status: &BTreeMap<&str, &str>) -> Option<u32> {
    status
        .get("Uid")?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The pending signals queued for the real user (`SigQ: used/limit`), what `RLIMIT_SIGPENDING` counts.
pub(crate) fn signals_queued(status: &BTreeMap<&str, &str>) -> Option<i64> {
    status.get("SigQ")?.split_once('/')?.0.parse().ok()
}

/// `/proc/<pid>/io`'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Io {
    pub(crate) read_bytes: i64,
    pub(crate) write_bytes: i64,
    pub(crate) read_calls: i64,
    pub(crate) write_calls: i64,
}

pub(crate) fn io(text: &str) -> Option<Io> {
    let fields = status(text);
    let get = |key: &str| fields.get(key)?.parse::<i64>().ok();
    Some(Io {
        read_bytes: get("read_bytes")?,
        write_bytes: get("write_bytes")?,
        read_calls: get("syscr")?,
        write_calls: get("syscw")?,
    })
}

/// `/proc/<pid>/cmdline`'s arguments (NUL-terminated).
pub(crate) fn cmdline(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The process's name: `status`'s `Name`, which the kernel cuts at 15 bytes, completed from the command's base
/// name when that starts with it (gopsutil's reading, so names match otelcol's).
pub(crate) fn name(status_name: &str, cmdline: &[String]) -> String {
    if status_name.len() >= 15
        && let Some(base) = cmdline
            .first()
            .and_then(|command| command.rsplit('/').next())
        && base.starts_with(status_name)
    {
        return base.to_owned();
    }
    status_name.to_owned()
}

/// The user name of `uid` in an `/etc/passwd` text.
pub(crate) fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests;
