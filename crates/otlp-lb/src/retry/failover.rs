//! Sending with retries that fail over to the next candidate.

use std::fmt;
use std::future::Future;

use super::RetryPolicy;
use crate::Error;
use crate::balancer::{Balance, PickRequest};
use crate::endpoint::{Endpoint, EndpointId};

/// Why [`call_with_failover`] gave up. Generic over the caller's own error, which it carries.
#[derive(Debug)]
pub enum FailoverError<E> {
    /// The balancer had no endpoint to offer (empty set).
    NoEndpoint(Error),
    /// Every allowed attempt failed; `last` is the last attempt's error.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// An attempt failed and the retry budget had nothing left for another.
    BudgetExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
}

impl<E> FailoverError<E> {
    /// The last attempt's error, if an attempt was made.
    pub fn into_last(self) -> Option<E> {
        match self {
            FailoverError::NoEndpoint(_) => None,
            FailoverError::Exhausted { last, .. } | FailoverError::BudgetExhausted { last, .. } => {
                Some(last)
            }
        }
    }
}

impl<E: fmt::Display> fmt::Display for FailoverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailoverError::NoEndpoint(error) => write!(f, "no endpoint to send to: {error}"),
            FailoverError::Exhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempts: {last}")
            }
            FailoverError::BudgetExhausted { attempts, last } => write!(
                f,
                "retry budget exhausted after {attempts} attempts: {last}"
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FailoverError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FailoverError::NoEndpoint(error) => Some(error),
            FailoverError::Exhausted { last, .. } | FailoverError::BudgetExhausted { last, .. } => {
                Some(last)
            }
        }
    }
}

/// Calls `attempt` on a picked endpoint, and on failure retries on the next candidate: for a
/// keyed pick the next distinct endpoint on the ring, otherwise another endpoint, each tried
/// endpoint excluded until all were tried. Each attempt's outcome is reported to the
/// balancer (latency, outlier ejection); retries wait [`RetryPolicy::delay`] (full jitter) and
/// draw on the policy's budget.
///
/// Every error is retried: to stop on one, return it inside `Ok` (e.g. `T = Result<R, E>`).
pub async fn call_with_failover<B, F, Fut, T, E>(
    balancer: &B,
    key: Option<u64>,
    policy: &RetryPolicy,
    mut attempt: F,
) -> Result<T, FailoverError<E>>
where
    B: Balance + ?Sized,
    F: FnMut(Endpoint) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if let Some(budget) = &policy.budget {
        budget.deposit();
    }
    let mut tried: Vec<EndpointId> = Vec::new();
    let mut attempts = 0;
    loop {
        let request = PickRequest {
            key,
            exclude: &tried,
        };
        let pick = match balancer.pick_with(&request) {
            Ok(pick) => pick,
            // Everything was tried once: start over from the first choice.
            Err(Error::AllExcluded(_)) if !tried.is_empty() => {
                tried.clear();
                balancer
                    .pick_with(&PickRequest { key, exclude: &[] })
                    .map_err(FailoverError::NoEndpoint)?
            }
            Err(error) => return Err(FailoverError::NoEndpoint(error)),
        };
        let endpoint = pick.endpoint().clone();
        attempts += 1;
        match attempt(endpoint.clone()).await {
            Ok(value) => {
                pick.success();
                return Ok(value);
            }
            Err(last) => {
                pick.failure();
                if attempts >= policy.max_attempts {
                    return Err(FailoverError::Exhausted { attempts, last });
                }
                if let Some(budget) = &policy.budget
                    && !budget.withdraw()
                {
                    return Err(FailoverError::BudgetExhausted { attempts, last });
                }
                tracing::debug!(endpoint = %endpoint, attempts, "attempt failed; failing over");
                tried.push(endpoint.id().clone());
                tokio::time::sleep(policy.delay(attempts - 1)).await;
            }
        }
    }
}
