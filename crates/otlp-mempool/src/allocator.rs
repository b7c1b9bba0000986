//! mimalloc's options, set from the program where otherwise only the environment sets them.

use std::ffi::OsStr;
use std::time::Duration;

/// `mi_option_purge_delay` of mimalloc.h (the same in mimalloc 2 and 3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The variables through which an operator sets mimalloc's purge delay (mimalloc reads them ignoring case;
/// the second is its older name).
const PURGE_DELAY_VARIABLES: [&str; 2] = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"];

/// Makes mimalloc return memory to the system `delay` after it was freed, unless the environment sets the
/// purge delay, which then stays in force. Returns whether `delay` was applied.
///
/// mimalloc 3 keeps freed pages for a second (mimalloc 2 for 10 ms), which spares the system calls and page
/// faults when a program frees and allocates again soon. A pipeline whose buffers fill and drain in bursts peaks
/// on those pages. The shorter the delay, the lower the peak and the more the faults: under
/// `otlp-suite loadgen --max` the collector's embedded default peaked at 156 MB resident with the second, 135–140
/// MB with 100 ms, 128–130 MB with 10 ms; OTLP forwarding at 50 000 spans/s spent 3.78, 3.99 and 4.54
/// CPU-seconds per million spans (means of 4 alternating runs). The collector takes 100 ms
/// (docs/operations.md, "Memory").
///
/// Call it at the start of `main`, before other threads allocate: mimalloc reads its options without
/// synchronization.
///
/// ```
/// # use std::time::Duration;
/// otlp_mempool::allocator::set_mimalloc_purge_delay(Duration::from_millis(100));
/// ```
pub fn set_mimalloc_purge_delay(delay: Duration) -> bool {
    if set_by_environment(std::env::vars_os().map(|(name, _)| name)) {
        return false;
    }
    let millis =
        std::os::raw::c_long::try_from(delay.as_millis()).unwrap_or(std::os::raw::c_long::MAX);
    // SAFETY: `mi_option_set` takes any value for any option of mimalloc's enum and stores it in mimalloc's
    // option table; `MI_OPTION_PURGE_DELAY` is one of that enum. It touches no memory of ours.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, millis) };
    true
}

fn set_by_environment<N: AsRef<OsStr>>(names: impl IntoIterator<Item = N>) -> bool {
    names.into_iter().any(|name| {
        name.as_ref().to_str().is_some_and(|name| {
            PURGE_DELAY_VARIABLES
                .iter()
                .any(|v| v.eq_ignore_ascii_case(name))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        if set_by_environment(std::env::vars_os().map(|(name, _)| name)) {
            return;
        }
        // SAFETY: reads an option of mimalloc's enum; no other test sets it.
        let read = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc 3's default purge delay: no other option of the enum defaults to 1000.
        assert_eq!(read(), 1000);
        assert!(set_mimalloc_purge_delay(Duration::from_millis(10)));
        assert_eq!(read(), 10);
    }

    #[test]
    fn an_operators_setting_is_found_in_any_case_and_by_its_older_name() {
        assert!(set_by_environment(["PATH", "MIMALLOC_PURGE_DELAY"]));
        assert!(set_by_environment(["mimalloc_purge_delay"]));
        assert!(set_by_environment(["MIMALLOC_RESET_DELAY"]));
        assert!(!set_by_environment([
            "PATH",
            "MIMALLOC_PURGE_DELAYS",
            "MIMALLOC_VERBOSE"
        ]));
    }
}
