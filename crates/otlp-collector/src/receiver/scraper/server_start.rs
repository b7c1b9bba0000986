//! When a server's cumulative counters started: its start (now less its uptime), read again after a restart.

/// What is known of a server's start between scrapes.
#[derive(Debug, Default)]
pub(crate) struct ServerStart {
    /// When it started, in nanoseconds since the epoch: the start of its cumulative sums.
    started: u64,
    /// Its uptime at the last scrape, seconds.
    uptime: Option<u64>,
    /// What tells one run of the server from the next (Redis' `run_id`, memcached's `pid`).
    run: String,
}

impl ServerStart {
    /// Notes `uptime` (seconds) of run `run` read `now`. A first reading, another run or an uptime lower than the
    /// last (a restart) sets the start anew; the run tells a restart within the first second, whose uptime is 0
    /// again. Later readings of the same run keep it: an uptime in whole seconds would move it back and forth by
    /// up to a second, and a start that moves makes a new series of every sum.
    pub(crate) fn saw(&mut self, run: &str, uptime: u64, now: u64) {
        if self.uptime.is_none_or(|last| uptime < last) || self.run != run {
            self.started = now.saturating_sub(uptime.saturating_mul(1_000_000_000));
            run.clone_into(&mut self.run);
        }
        self.uptime = Some(uptime);
    }

    /// Notes a reading of `uptime` `now` that is known to be of a new run (a counter went back), whatever its
    /// uptime and run say: a restart within the same second as the last leaves both as they were.
    pub(crate) fn restarted(&mut self, uptime: u64, now: u64) {
        self.started = now.saturating_sub(uptime.saturating_mul(1_000_000_000));
        self.uptime = Some(uptime);
    }

    /// The start, in nanoseconds since the epoch (0 before the first reading).
    pub(crate) fn nanos(&self) -> u64 {
        self.started
    }
}

/// When the sums of a server whose readings carry no uptime (nginx's `stub_status`, HAProxy's statistics) start:
/// when the receiver did, and after the server restarts, seen as a counter that went back, at the reading before,
/// the last moment the old server was known to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CountersSince {
    started: u64,
    /// The time of the last reading and the start its sums were reported with.
    last: Option<(u64, u64)>,
}

impl CountersSince {
    /// Sums that start at `started` (the receiver's start, ns since the epoch) until a restart is seen.
    pub(crate) fn new(started: u64) -> Self {
        CountersSince {
            started,
            last: None,
        }
    }

    /// The start of the sums of a reading at `now`; `went_back` says whether one of its counters is lower than at
    /// the reading before.
    pub(crate) fn start(&mut self, went_back: bool, now: u64) -> u64 {
        let start = match self.last {
            None => self.started,
            Some((at, _)) if went_back => at,
            Some((_, start)) => start,
        };
        self.last = Some((now, start));
        start
    }
}

#[cfg(test)]
mod tests {
    use super::{CountersSince, ServerStart};

    #[test]
    fn counters_that_went_back_start_the_sums_at_the_reading_before() {
        let mut since = CountersSince::new(5);
        assert_eq!(since.start(false, 10), 5);
        assert_eq!(since.start(false, 20), 5);
        assert_eq!(since.start(true, 30), 20);
        assert_eq!(since.start(false, 40), 20);
    }

    #[test]
    fn sums_start_when_the_server_did_and_again_after_a_restart() {
        let mut server = ServerStart::default();
        let second = 1_000_000_000;
        server.saw("1", 100, 1000 * second);
        assert_eq!(server.nanos(), 900 * second);
        // A later reading a second off keeps the start: the uptime is whole seconds.
        server.saw("1", 111, 1010 * second + second / 2);
        assert_eq!(server.nanos(), 900 * second);
        server.saw("2", 3, 1020 * second);
        assert_eq!(server.nanos(), 1017 * second);
        // Its uptime went back without a run to tell.
        server.saw("", 1, 1030 * second);
        assert_eq!(server.nanos(), 1029 * second);
        server.saw("", 0, 1030 * second);
        assert_eq!(server.nanos(), 1030 * second);
    }

    #[test]
    fn a_restart_told_otherwise_starts_the_sums_anew() {
        let mut server = ServerStart::default();
        let second = 1_000_000_000;
        server.saw("Monday 05:55:18", 0, 1000 * second);
        server.restarted(0, 1000 * second + second / 2);
        assert_eq!(server.nanos(), 1000 * second + second / 2);
        server.saw("Monday 05:55:18", 1, 1001 * second + second / 2);
        assert_eq!(server.nanos(), 1000 * second + second / 2, "kept");
    }

    #[test]
    fn a_restart_within_the_first_second_is_told_by_its_run() {
        let mut server = ServerStart::default();
        let second = 1_000_000_000;
        server.saw("41", 0, 1000 * second);
        server.saw("42", 0, 1000 * second + second / 2);
        assert_eq!(server.nanos(), 1000 * second + second / 2);
    }
}
