//! The connections kept between scrapes, one per database, and the `connection_pool` rules that close them.

use super::client::Connector;
use super::config::ConnectionPool;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// Open connections by database.
pub(super) struct Pool {
    rules: ConnectionPool,
    kept: BTreeMap<String, Kept>,
}

struct Kept {
    client: Client,
    opened: Instant,
    used: Instant,
}

impl Pool {
    pub(super) fn new(rules: ConnectionPool) -> Self {
        Pool {
            rules,
            kept: BTreeMap::new(),
        }
    }

    /// `ask` on the connection to `database`, opened first when there is none open, within `timeout` for both.
    /// A connection whose question failed or ran late is closed: a late answer could still arrive, out of step
    /// with the next question.
    pub(super) async fn ask<T>(
        &mut self,
        connector: &Connector,
        database: &str,
        timeout: Duration,
        ask: impl AsyncFnOnce(&Client) -> Result<T, String>,
    ) -> Result<T, String> {
        if self
            .kept
            .get(database)
            .is_some_and(|kept| kept.client.is_closed())
        {
            self.kept.remove(database);
        }
        let exchange = async {
            if !self.kept.contains_key(database) {
                let client = connector.open(database).await?;
                let now = Instant::now();
                self.kept.insert(
                    database.to_owned(),
                    Kept {
                        client,
                        opened: now,
                        used: now,
                    },
                );
            }
            let Some(kept) = self.kept.get_mut(database) else {
                return Err("the connection closed".to_owned());
            };
            kept.used = Instant::now();
            ask(&kept.client).await
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        };
        if answer.is_err() {
            self.kept.remove(database);
        }
        answer
    }

    /// After a scrape: closes the connections the rules no longer keep (idle too long, open too long, more than
    /// `max_idle` or `max_open`, the least recently used first) and those of databases no longer read.
    pub(super) fn tidy(&mut self, read: &[String]) {
        let now = Instant::now();
        let rules = &self.rules;
        self.kept.retain(|database, kept| {
            let idle_too_long = rules
                .max_idle_time
                .is_some_and(|most| now.duration_since(kept.used) > most);
            let open_too_long = rules
                .max_lifetime
                .is_some_and(|most| now.duration_since(kept.opened) > most);
            (database == super::LISTING_DATABASE || read.contains(database))
                && !idle_too_long
                && !open_too_long
        });
        let most = match (rules.max_idle, rules.max_open) {
            (Some(idle), Some(open)) => idle.min(open),
            (Some(most), None) | (None, Some(most)) => most,
            (None, None) => return,
        };
        while self.kept.len() > most {
            let Some(oldest) = self
                .kept
                .iter()
                .min_by_key(|(_, kept)| kept.used)
                .map(|(database, _)| database.clone())
            else {
                break;
            };
            self.kept.remove(&oldest);
        }
    }
}
