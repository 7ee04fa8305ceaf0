//! Waiting on AWS in the drill: AWS takes minutes to run a database or a task, and to let go
//! of what depends on one (a cluster's draining service, a group's network interface).

use std::time::{Duration, Instant};

/// Makes `attempt` again every 10 seconds until it answers `Ok`, for at most `wait`; its last
/// answer.
pub(super) async fn again<T, E, F, Fut>(wait: Duration, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    loop {
        match attempt().await {
            Err(_) if start.elapsed() < wait => tokio::time::sleep(Duration::from_secs(10)).await,
            answer => return answer,
        }
    }
}
