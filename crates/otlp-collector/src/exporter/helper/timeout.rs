//! The per-attempt timeout: an attempt that does not answer in time is a retryable failure.

use super::super::{Attempt, Delivered, ExportError};
use std::time::Duration;

/// Sends `attempt`, giving it at most `timeout`.
pub(crate) async fn send_within(
    timeout: Duration,
    attempt: &dyn Attempt,
) -> Result<Delivered, ExportError> {
    match tokio::time::timeout(timeout, attempt.send()).await {
        Ok(result) => result,
        Err(_) => Err(ExportError::retryable(format!(
            "no answer within the timeout of {timeout:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::BoxFuture;

    struct Hangs;

    impl Attempt for Hangs {
        fn send(&self) -> BoxFuture<'_, Result<Delivered, ExportError>> {
            Box::pin(std::future::pending())
        }
    }

    struct Answers;

    impl Attempt for Answers {
        fn send(&self) -> BoxFuture<'_, Result<Delivered, ExportError>> {
            Box::pin(async {
                Ok(Delivered {
                    rejected: 1,
                    message: "one bad".into(),
                })
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_without_answer_is_a_retryable_timeout() {
        let result = send_within(Duration::from_secs(5), &Hangs).await;
        assert!(
            matches!(result, Err(ExportError::Retryable { message, .. }) if message.contains("timeout of 5s"))
        );
        let answered = send_within(Duration::from_secs(5), &Answers).await.unwrap();
        assert_eq!(answered.rejected, 1);
    }
}
