//! Event-stream load: many open `GET /v1/events` streams of one user, the server's memory
//! growth while they are open, then how many streams receive one pushed change as
//! `project.changed` — over HTTP/1.1 (one TCP connection per stream, as one device holds its
//! stream) and over HTTP/2 (streams multiplexed on shared connections, as a fronting proxy or
//! an HTTP/2 client carries them; cleartext, with prior knowledge).

use crate::report::{Bound, Row};
use crate::server::Server;
use crate::sync::Device;
use anyhow::{ensure, Result};
use futures::{StreamExt, TryStreamExt};
use std::path::Path;
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
/// HTTP/2 streams per connection (the server allows 200 at once on one connection).
const STREAMS_PER_CONNECTION: usize = 100;

/// How the streams reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP/1.1: a connection per stream.
    Http1,
    /// HTTP/2 (h2c): [`STREAMS_PER_CONNECTION`] streams per connection.
    Http2,
}

impl Transport {
    fn label(self) -> String {
        match self {
            Transport::Http1 => "HTTP/1.1, a connection each".to_owned(),
            Transport::Http2 => format!("HTTP/2, {STREAMS_PER_CONNECTION} per connection"),
        }
    }

    /// The clients stream `i` is opened with: each HTTP/2 client holds one connection.
    fn clients(self, n: usize) -> Result<Vec<reqwest::Client>> {
        Ok(match self {
            Transport::Http1 => vec![reqwest::Client::builder().http1_only().build()?],
            Transport::Http2 => (0..n.div_ceil(STREAMS_PER_CONNECTION))
                .map(|_| reqwest::Client::builder().http2_prior_knowledge().build())
                .collect::<reqwest::Result<_>>()?,
        })
    }
}

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

/// Measurement 4: RSS growth with `n` open event streams, on each transport, and how many
/// get one change. HTTP/1.1 runs on `server`; HTTP/2 on a fresh server of `bin` of its own,
/// whose heap holds nothing freed by the first run (which its streams would reuse unseen).
pub async fn run(server: &Server, bin: &Path, n: usize) -> Result<Vec<Row>> {
    let mut rows = run_on(server, n, Transport::Http1).await?;
    let fresh = Server::start(bin).await?;
    let h2 = run_on(&fresh, n, Transport::Http2).await;
    fresh.stop().await;
    rows.extend(h2?);
    Ok(rows)
}

async fn run_on(server: &Server, n: usize, transport: Transport) -> Result<Vec<Row>> {
    let token = server.token("bench-sse").await?;
    let http = reqwest::Client::new();
    let mut device = Device::new(server, &http, &token).await?;
    device.push(1).await?;
    sleep(SETTLE).await;
    let before = server.memory()?.rss;

    let clients = transport.clients(n)?;
    let open = |i: usize| {
        let client = &clients[i / STREAMS_PER_CONNECTION % clients.len()];
        let request = client.get(server.url("/v1/events")).bearer_auth(&token);
        async move {
            let r = request.header("accept", "text/event-stream").send().await?;
            let status = r.status();
            ensure!(status.is_success(), "GET /v1/events: {status}");
            let want = match transport {
                Transport::Http1 => reqwest::Version::HTTP_11,
                Transport::Http2 => reqwest::Version::HTTP_2,
            };
            ensure!(r.version() == want, "GET /v1/events over {:?}", r.version());
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
    drop(clients);
    let label = transport.label();
    let name = format!("server RSS growth, {n} SSE streams ({label})");
    let got = format!("SSE streams that got the change ({label})");
    Ok(vec![
        Row::new(name, growth, "MB", Bound::Max(TARGET_GROWTH_MB)),
        Row::new(got, received as f64, "streams", Bound::Min(n as f64)),
    ])
}
