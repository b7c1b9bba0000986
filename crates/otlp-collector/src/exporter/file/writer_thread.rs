//! A thread of its own for one signal's file writes, in place of tokio's blocking pool.
//!
//! The pool hands consecutive writes to whichever of its threads is free, and mimalloc keeps a heap per
//! thread: a Parquet writer whose pages, arrays and compression buffers are allocated on two threads in turn
//! keeps two heaps' worth of them. Under `loadgen --max` on the embedded default for 240-600 s, the pool's two
//! threads took turns and the collector's resident memory had minute medians of 90–118 MB and peaked at
//! 107–136 MB (five runs); with a thread of its own, 82–90 MB and 97–100 MB (two runs), at the same spans/s and
//! CPU (docs/operations.md, "Memory").

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use crate::Signal;

type Job = Box<dyn FnOnce() + Send>;

/// Threads started when their signal is first written and stopped when the exporter is dropped (each finishes
/// the writes already handed to it first).
#[derive(Default)]
pub(super) struct WriterThreads {
    threads: [OnceLock<Sender<Job>>; 3],
}

impl WriterThreads {
    /// Runs `write` on `signal`'s thread and waits for its result; `None` if the thread could not be started or
    /// `write` panicked (the thread goes on with the next write).
    pub(super) async fn run<T: Send + 'static>(
        &self,
        signal: Signal,
        write: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(write());
        });
        self.thread(signal)?.send(job).ok()?;
        result.await.ok()
    }

    fn thread(&self, signal: Signal) -> Option<&Sender<Job>> {
        let slot = self.threads.get(signal.index())?;
        if let Some(jobs) = slot.get() {
            return Some(jobs);
        }
        let (jobs, queue) = channel::<Job>();
        std::thread::Builder::new()
            .name(format!("file-{}", signal.as_str()))
            .spawn(move || {
                for job in queue {
                    // A panic drops the job's result sender, so its caller learns of it; the thread stays.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .ok()?;
        // Two first writes at once may both start a thread: the one not kept sees its sender dropped and stops.
        Some(slot.get_or_init(|| jobs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_id() -> std::thread::ThreadId {
        std::thread::current().id()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_signal_writes_on_one_thread_of_its_own_and_outlives_a_panic() {
        let threads = WriterThreads::default();
        let mut traces = Vec::new();
        for _ in 0..8 {
            traces.push(threads.run(Signal::Traces, thread_id).await.unwrap());
        }
        assert!(traces.iter().all(|id| *id == traces[0]), "{traces:?}");
        assert_ne!(traces[0], thread_id());
        let logs = threads.run(Signal::Logs, thread_id).await.unwrap();
        assert_ne!(logs, traces[0]);

        let panicked: Option<()> = threads
            .run(Signal::Traces, || panic!("a defect in one write"))
            .await;
        assert_eq!(panicked, None);
        assert_eq!(
            threads.run(Signal::Traces, thread_id).await,
            Some(traces[0])
        );
    }
}
