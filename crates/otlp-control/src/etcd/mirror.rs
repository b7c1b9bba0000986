//! A consistent local copy of a few etcd key ranges, kept current by a watch.
//!
//! The first read is one transaction over all ranges (one revision for all of them). The watch
//! then starts at the next revision, each range resuming from the last revision it saw, so a
//! broken stream (etcd restart, network) loses no event. When the history to resume from was
//! compacted away, etcd cancels the watch with a compact revision, and the copy is rebuilt from
//! a fresh read (a resync).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{
    Client, EventType, GetOptions, KeyValue, Txn, TxnOp, TxnOpResponse, WatchOptions, WatchStream,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::error::Result;
use crate::registry::WatchStats;

/// A watched range: one key or every key under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Range {
    Key(String),
    Prefix(String),
}

impl Range {
    fn contains(&self, key: &str) -> bool {
        match self {
            Range::Key(exact) => key == exact,
            Range::Prefix(prefix) => key.starts_with(prefix.as_str()),
        }
    }

    fn get(&self) -> TxnOp {
        match self {
            Range::Key(key) => TxnOp::get(key.as_str(), None),
            Range::Prefix(prefix) => {
                TxnOp::get(prefix.as_str(), Some(GetOptions::new().with_prefix()))
            }
        }
    }

    fn watch_options(&self, start_revision: i64) -> WatchOptions {
        let options = WatchOptions::new().with_start_revision(start_revision);
        match self {
            Range::Key(_) => options,
            Range::Prefix(_) => options.with_prefix(),
        }
    }

    fn key(&self) -> &str {
        match self {
            Range::Key(key) | Range::Prefix(key) => key,
        }
    }
}

/// One key's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) value: Vec<u8>,
    pub(crate) create_revision: i64,
    pub(crate) mod_revision: i64,
}

impl From<&KeyValue> for Entry {
    fn from(kv: &KeyValue) -> Self {
        Self {
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        }
    }
}

/// The copy: every key of the watched ranges at `revision`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) revision: i64,
    pub(crate) entries: Arc<BTreeMap<String, Entry>>,
}

impl Snapshot {
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub(crate) fn under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Entry)> {
        self.entries
            .range(prefix.to_owned()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
    }
}

/// A running mirror.
pub(crate) struct Mirror {
    pub(crate) snapshots: watch::Receiver<Snapshot>,
    pub(crate) stats: watch::Receiver<WatchStats>,
    pub(crate) task: JoinHandle<()>,
}

/// Reads `ranges` and starts watching them.
pub(crate) async fn spawn(client: &Client, ranges: Vec<Range>) -> Result<Mirror> {
    let mut client = client.clone();
    let snapshot = read(&mut client, &ranges).await?;
    let revisions = vec![snapshot.revision; ranges.len()];
    let stats = WatchStats {
        resyncs: 0,
        resumes: 0,
        revision: snapshot.revision,
    };
    let (snapshot_tx, snapshots) = watch::channel(snapshot);
    let (stats_tx, stats) = watch::channel(stats);
    let task = tokio::spawn(run(client, ranges, revisions, snapshot_tx, stats_tx));
    Ok(Mirror {
        snapshots,
        stats,
        task,
    })
}

async fn read(client: &mut Client, ranges: &[Range]) -> Result<Snapshot> {
    let txn = Txn::new().and_then(ranges.iter().map(Range::get).collect::<Vec<_>>());
    let response = client.txn(txn).await?;
    let revision = response.header().map_or(0, |header| header.revision());
    let mut entries = BTreeMap::new();
    for op in response.op_responses() {
        if let TxnOpResponse::Get(get) = op {
            for kv in get.kvs() {
                entries.insert(
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    Entry::from(kv),
                );
            }
        }
    }
    Ok(Snapshot {
        revision,
        entries: Arc::new(entries),
    })
}

async fn open(client: &mut Client, ranges: &[Range], revisions: &[i64]) -> Result<WatchStream> {
    let mut stream = client
        .watch(
            ranges[0].key(),
            Some(ranges[0].watch_options(revisions[0] + 1)),
        )
        .await?;
    for (range, revision) in ranges.iter().zip(revisions).skip(1) {
        stream
            .watch(range.key(), Some(range.watch_options(revision + 1)))
            .await?;
    }
    Ok(stream)
}

enum Broken {
    Stream,
    Compacted,
}

async fn run(
    mut client: Client,
    ranges: Vec<Range>,
    mut revisions: Vec<i64>,
    snapshots: watch::Sender<Snapshot>,
    stats: watch::Sender<WatchStats>,
) {
    let mut backoff = Duration::from_millis(20);
    loop {
        let broken = match open(&mut client, &ranges, &revisions).await {
            Ok(mut stream) => {
                backoff = Duration::from_millis(20);
                follow(&mut stream, &ranges, &mut revisions, &snapshots, &stats).await
            }
            Err(_) => Broken::Stream,
        };
        if snapshots.is_closed() {
            return;
        }
        match broken {
            Broken::Compacted => match read(&mut client, &ranges).await {
                Ok(fresh) => {
                    tracing::info!(
                        revision = fresh.revision,
                        "watched history compacted; resynced"
                    );
                    revisions.fill(fresh.revision);
                    stats.send_modify(|stats| {
                        stats.resyncs += 1;
                        stats.revision = fresh.revision;
                    });
                    snapshots.send_replace(fresh);
                    continue;
                }
                Err(_) => {
                    // Resync on the next round, once etcd answers again.
                    revisions.fill(0);
                }
            },
            Broken::Stream => stats.send_modify(|stats| stats.resumes += 1),
        }
        sleep_until(Instant::now() + backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

async fn follow(
    stream: &mut WatchStream,
    ranges: &[Range],
    revisions: &mut [i64],
    snapshots: &watch::Sender<Snapshot>,
    stats: &watch::Sender<WatchStats>,
) -> Broken {
    if revisions.contains(&0) {
        return Broken::Compacted; // a resync failed earlier: start from a fresh read
    }
    loop {
        let response = match stream.message().await {
            Ok(Some(response)) => response,
            Ok(None) | Err(_) => return Broken::Stream,
        };
        if response.compact_revision() > 0 {
            return Broken::Compacted;
        }
        if response.canceled() {
            return Broken::Stream;
        }
        if response.events().is_empty() {
            continue;
        }
        let mut changed = false;
        let mut latest = 0;
        snapshots.send_if_modified(|snapshot| {
            let entries = Arc::make_mut(&mut snapshot.entries);
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let key = String::from_utf8_lossy(kv.key()).into_owned();
                let revision = kv.mod_revision();
                latest = latest.max(revision);
                if let Some(index) = ranges.iter().position(|range| range.contains(&key)) {
                    revisions[index] = revisions[index].max(revision);
                }
                match event.event_type() {
                    EventType::Put => {
                        entries.insert(key, Entry::from(kv));
                    }
                    EventType::Delete => {
                        entries.remove(&key);
                    }
                }
                changed = true;
            }
            snapshot.revision = snapshot.revision.max(latest);
            changed
        });
        stats.send_modify(|stats| stats.revision = stats.revision.max(latest));
    }
}
