//! A connected device as the benchmark sees it: `GET /v1/events` held open by a task that
//! parses every `generation.updated` event and keeps the first of each (job, status) with the
//! time it arrived: when the chunk that completed the event was read.

use crate::server::Server;
use anyhow::{bail, ensure, Result};
use iskra_protocol::{Generation, GenerationStatus};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The event carrying a job's new state.
const EVENT: &str = "generation.updated";

/// The `data:` of a `generation.updated` event.
#[derive(Deserialize)]
struct Updated {
    generation: Generation,
}

/// The first event of each (job, status) and its arrival, and a signal on every new one.
#[derive(Default)]
struct Seen {
    at: Mutex<HashMap<(Uuid, GenerationStatus), (Instant, Generation)>>,
    changed: Notify,
}

impl Seen {
    fn get(&self, id: Uuid, status: GenerationStatus) -> Option<(Instant, Generation)> {
        let at = self.at.lock().unwrap_or_else(PoisonError::into_inner);
        at.get(&(id, status)).cloned()
    }
}

/// An open event stream; the reading task stops when this is dropped.
pub struct Watcher {
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `(event name, data)` of one SSE frame (`id:`, comments and heartbeats ignored).
fn parse_frame(frame: &str) -> Option<(&str, String)> {
    let mut name = None;
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    name.map(|n| (n, data))
}

impl Watcher {
    /// Opens the event stream of the user of `token` and starts reading it.
    pub async fn open(server: &Server, token: &str) -> Result<Self> {
        let request = reqwest::Client::new()
            .get(server.url("/v1/events"))
            .bearer_auth(token);
        let mut stream = request.header("accept", "text/event-stream").send().await?;
        let status = stream.status();
        ensure!(status.is_success(), "GET /v1/events: {status}");
        let seen = Arc::new(Seen::default());
        let sink = seen.clone();
        let task = tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                let now = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    let Some((EVENT, data)) = parse_frame(&frame) else {
                        continue;
                    };
                    if let Ok(Updated { generation: g }) = serde_json::from_str(&data) {
                        let mut at = sink.at.lock().unwrap_or_else(PoisonError::into_inner);
                        at.entry((g.id, g.status)).or_insert((now, g));
                    }
                }
                sink.changed.notify_waiters();
            }
        });
        Ok(Self { seen, task })
    }

    /// When job `id` was first announced with `status`, and the job as announced; waits up
    /// to `timeout` for it.
    pub async fn wait(
        &self,
        id: Uuid,
        status: GenerationStatus,
        timeout: Duration,
    ) -> Result<(Instant, Generation)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.seen.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(seen) = self.seen.get(id, status) {
                return Ok(seen);
            }
            if self.task.is_finished() {
                bail!("the event stream ended");
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                bail!("no {status:?} event for generation {id} within {timeout:?}");
            }
        }
    }
}
