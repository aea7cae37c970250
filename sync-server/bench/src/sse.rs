//! Event-stream load: many open `GET /v1/events` connections of one user (one TCP connection
//! each), the server's memory growth while they are open, then how many streams receive one
//! pushed change as `project.changed`.

use crate::report::{Bound, Row};
use crate::server::Server;
use crate::sync::Device;
use anyhow::{ensure, Result};
use futures::{StreamExt, TryStreamExt};
use std::time::Duration;
use tokio::time::{sleep, timeout};

/// Target: growth of the server's RSS with the streams open, MB.
const TARGET_GROWTH_MB: f64 = 100.0;
/// Connections being opened at any moment.
const OPENING_AT_ONCE: usize = 100;
/// Time given to the server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);
/// Time the streams get to receive the change.
const DELIVERY: Duration = Duration::from_secs(10);
/// What a stream carries when the change reaches it.
const EVENT: &[u8] = b"event: project.changed";

/// Reads a stream until it carries [`EVENT`]; false when it ends first.
async fn saw_change(mut stream: reqwest::Response) -> bool {
    let mut seen = Vec::new();
    while let Ok(Some(chunk)) = stream.chunk().await {
        seen.extend_from_slice(&chunk);
        if seen.windows(EVENT.len()).any(|w| w == EVENT) {
            return true;
        }
    }
    false
}

/// Measurement 4: RSS growth with `n` open event streams and how many get one change.
pub async fn run(server: &Server, n: usize) -> Result<Vec<Row>> {
    let token = server.token("bench-sse").await?;
    let http = reqwest::Client::new();
    let mut device = Device::new(server, &http, &token).await?;
    device.push(1).await?;
    sleep(SETTLE).await;
    let before = server.memory()?.rss;

    let open = |_| {
        let request = http.get(server.url("/v1/events")).bearer_auth(&token);
        async move {
            let r = request.header("accept", "text/event-stream").send().await?;
            let status = r.status();
            ensure!(status.is_success(), "GET /v1/events: {status}");
            Ok(r)
        }
    };
    let streams: Vec<_> = futures::stream::iter(0..n)
        .map(open)
        .buffer_unordered(OPENING_AT_ONCE)
        .try_collect()
        .await?;
    sleep(SETTLE).await;
    let growth = server.memory()?.rss - before;

    let readers: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(timeout(DELIVERY, saw_change(s))))
        .collect();
    device.push(1).await?;
    let mut received = 0;
    for reader in readers {
        received += usize::from(matches!(reader.await, Ok(Ok(true))));
    }
    let name = format!("server RSS growth, {n} SSE streams");
    let got = "SSE streams that got the change".to_string();
    Ok(vec![
        Row::new(name, growth, "MB", Bound::Max(TARGET_GROWTH_MB)),
        Row::new(got, received as f64, "streams", Bound::Min(n as f64)),
    ])
}
