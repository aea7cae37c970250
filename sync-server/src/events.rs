//! Live events for a user's devices (`GET /v1/events`): a per-user broadcast with a short
//! replay buffer so a reconnecting client resumes from `Last-Event-ID` without gaps.
//!
//! Each open stream reads the broadcast into a bounded buffer of its own ([`STREAM_BUFFER`]).
//! A reader that lets it fill (it stopped reading) is cut: its stream ends after what the
//! buffer holds, so it never slows the publisher or the user's other streams, and it never
//! skips an event silently — it reconnects with `Last-Event-ID` and the replay buffer, longer
//! than a stream's, gives it what it missed.
//!
//! With one server, events are delivered in-process. With several replicas (Redis configured),
//! every event goes through Redis: a script assigns a global, increasing event id and publishes
//! it in one round trip, and each replica delivers what it receives from its subscription — so
//! a device sees events from pushes on any replica, and ids mean the same on every replica.
//! `project.changed` carries a cursor, so a client that missed events still pulls every change.

use dashmap::DashMap;
use futures::StreamExt;
use iskra_protocol::events::ServerEvent;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Events kept per user for `Last-Event-ID` replay.
const REPLAY_EVENTS: usize = 256;
/// Capacity of a user's live channel (each stream's forwarder drains it at once).
const CHANNEL_CAPACITY: usize = 256;
/// Events one stream holds for a reader that is not reading; one more cuts the stream.
/// Well below [`REPLAY_EVENTS`], so the cut reader finds what it missed in the replay.
pub const STREAM_BUFFER: usize = 64;
/// Pause before reconnecting a lost Redis subscription.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// An event with its id. The event is shared, not copied, by the replay buffer and every
/// stream's buffer: a stream's buffer is allocated in blocks of envelopes when the stream
/// opens, so an envelope's size is paid by every open stream (10,000 streams: 8 KB each with
/// the event inline, 0.5 KB shared).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: u64,
    pub event: Arc<ServerEvent>,
}

struct UserChannel {
    tx: broadcast::Sender<Envelope>,
    recent: Mutex<VecDeque<Envelope>>,
}

#[derive(Default)]
struct Local {
    users: DashMap<String, Arc<UserChannel>>,
    next_id: AtomicU64,
}

impl Local {
    fn channel(&self, user: &str) -> Arc<UserChannel> {
        self.users
            .entry(user.to_owned())
            .or_insert_with(|| {
                Arc::new(UserChannel {
                    tx: broadcast::channel(CHANNEL_CAPACITY).0,
                    recent: Mutex::new(VecDeque::with_capacity(REPLAY_EVENTS)),
                })
            })
            .clone()
    }

    fn deliver(&self, user: &str, env: Envelope) {
        let ch = self.channel(user);
        {
            let mut recent = ch.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == REPLAY_EVENTS {
                recent.pop_front();
            }
            recent.push_back(env.clone());
        }
        let _ = ch.tx.send(env);
    }

    /// Drops the user's channel and replay buffer: its subscribers' streams end.
    fn end(&self, user: &str) {
        self.users.remove(user);
    }
}

/// An event as relayed through Redis; without an event, the end of the user's streams.
#[derive(Serialize, Deserialize)]
struct Relayed {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    event: Option<ServerEvent>,
}

/// Fan-out of events to the connected devices of each user.
#[derive(Clone, Default)]
pub struct EventHub {
    local: Arc<Local>,
    relay: Option<mpsc::UnboundedSender<Relayed>>,
}

/// Assigns the next global event id and publishes `id payload` (one round trip).
const PUBLISH_SCRIPT: &str = "local id = redis.call('INCR', KEYS[1]) \
    redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2]) return id";

impl EventHub {
    /// A hub shared by all replicas through Redis at `url`, with keys under `prefix`.
    pub async fn with_redis(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let mut conn = client
            .get_connection_manager_with_config(iskra_limiter::bounded_connection_config())
            .await?;
        let channel = format!("{prefix}:events");
        let counter = format!("{prefix}:event-id");
        let local = Arc::new(Local::default());
        let (tx, mut rx) = mpsc::unbounded_channel::<Relayed>();
        let script = redis::Script::new(PUBLISH_SCRIPT);
        let out_channel = channel.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let payload = serde_json::to_string(&msg).unwrap_or_default();
                let sent: Result<u64, _> = script
                    .key(&counter)
                    .arg(&out_channel)
                    .arg(payload)
                    .invoke_async(&mut conn)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "event not relayed through Redis");
                }
            }
        });
        let sub_local = local.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = subscribe(&client, &channel, &sub_local).await {
                    tracing::warn!(error = %e, "Redis event subscription lost; reconnecting");
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
        Ok(Self {
            local,
            relay: Some(tx),
        })
    }

    /// Sends an event to every connected device of `user` (on every replica).
    pub fn publish(&self, user: &str, event: ServerEvent) {
        match &self.relay {
            Some(relay) => {
                let _ = relay.send(Relayed {
                    user: user.to_owned(),
                    event: Some(event),
                });
            }
            None => {
                let id = self.local.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                self.local.deliver(
                    user,
                    Envelope {
                        id,
                        event: Arc::new(event),
                    },
                );
            }
        }
    }

    /// Ends every open event stream of `user` on every replica and forgets their replay
    /// buffer (the account is gone); nothing is sent to them.
    pub fn end(&self, user: &str) {
        match &self.relay {
            Some(relay) => {
                let _ = relay.send(Relayed {
                    user: user.to_owned(),
                    event: None,
                });
            }
            None => self.local.end(user),
        }
    }

    /// Subscribes to `user`'s events; returns the buffered events after `last_id` first.
    pub fn subscribe(
        &self,
        user: &str,
        last_id: Option<u64>,
    ) -> (Vec<Envelope>, broadcast::Receiver<Envelope>) {
        let ch = self.local.channel(user);
        let recent = ch.recent.lock().unwrap_or_else(|e| e.into_inner());
        let rx = ch.tx.subscribe();
        let replay = match last_id {
            Some(last) => recent.iter().filter(|e| e.id > last).cloned().collect(),
            None => Vec::new(),
        };
        (replay, rx)
    }

    /// One stream of `user`'s events: the buffered events after `last_id`, then live events
    /// through a bounded buffer of the stream's own. When the reader lets that buffer fill,
    /// the stream is cut: the receiver yields what it holds and ends.
    pub fn stream(
        &self,
        user: &str,
        last_id: Option<u64>,
    ) -> (Vec<Envelope>, mpsc::Receiver<Envelope>) {
        let (replay, mut rx) = self.subscribe(user, last_id);
        let (tx, out) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            loop {
                let env = tokio::select! {
                    // The reader is gone: stop at once, not at the next event.
                    () = tx.closed() => break,
                    env = rx.recv() => env,
                };
                // Lagging the broadcast, a full buffer, or the user's channel ended: cut.
                let Ok(env) = env else { break };
                if tx.try_send(env).is_err() {
                    metrics::counter!("iskra_sse_streams_cut_total").increment(1);
                    break;
                }
            }
        });
        (replay, out)
    }

    /// Open streams (live subscriptions) of `user` on this server.
    pub fn streams(&self, user: &str) -> usize {
        self.local
            .users
            .get(user)
            .map_or(0, |ch| ch.tx.receiver_count())
    }

    /// Number of users with a channel (for metrics).
    pub fn channels(&self) -> usize {
        self.local.users.len()
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
    local: &Local,
) -> Result<(), redis::RedisError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    let mut messages = pubsub.on_message();
    while let Some(msg) = messages.next().await {
        let Ok(text) = msg.get_payload::<String>() else {
            continue;
        };
        let Some((id, body)) = text.split_once(' ') else {
            continue;
        };
        let (Ok(id), Ok(relayed)) = (id.parse::<u64>(), serde_json::from_str::<Relayed>(body))
        else {
            continue;
        };
        match relayed.event {
            Some(event) => local.deliver(
                &relayed.user,
                Envelope {
                    id,
                    event: Arc::new(event),
                },
            ),
            None => local.end(&relayed.user),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ev(c: &str) -> ServerEvent {
        ServerEvent::ProjectChanged {
            project_id: Uuid::nil(),
            cursor: c.into(),
        }
    }

    async fn delivers_and_replays(a: EventHub, b: EventHub, user: &str) {
        let (_, mut rx) = b.subscribe(user, None);
        a.publish(user, ev("1"));
        let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*first.event, ev("1"));
        a.publish(user, ev("2"));
        a.publish("someone-else", ev("x"));
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*got.event, ev("2"));
        assert!(got.id > first.id);
        let (replay, _) = b.subscribe(user, Some(first.id));
        assert_eq!(
            replay
                .iter()
                .map(|e| (*e.event).clone())
                .collect::<Vec<_>>(),
            vec![ev("2")]
        );
    }

    #[tokio::test]
    async fn in_process_delivers_and_replays() {
        let hub = EventHub::default();
        delivers_and_replays(hub.clone(), hub, "u").await;
    }

    #[tokio::test]
    async fn ending_a_user_closes_their_streams_only() {
        let hub = EventHub::default();
        let (_, mut gone) = hub.subscribe("gone", None);
        let (_, mut stays) = hub.subscribe("stays", None);
        hub.publish("gone", ev("1"));
        hub.end("gone");
        assert_eq!(*gone.recv().await.unwrap().event, ev("1"));
        assert!(matches!(
            gone.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
        assert!(
            hub.subscribe("gone", Some(0)).0.is_empty(),
            "no replay left"
        );
        hub.publish("stays", ev("2"));
        assert_eq!(*stays.recv().await.unwrap().event, ev("2"));
    }

    #[tokio::test]
    async fn redis_relays_between_replicas() {
        let url = std::env::var("ISKRA_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("iskra-test-{}", Uuid::new_v4());
        let a = EventHub::with_redis(&url, &prefix)
            .await
            .expect("Redis on 127.0.0.1:6379 (run scripts/test.sh)");
        let b = EventHub::with_redis(&url, &prefix).await.unwrap();
        // Let b's subscription start before publishing.
        for _ in 0..100 {
            let (_, mut rx) = b.subscribe("probe", None);
            a.publish("probe", ev("p"));
            if tokio::time::timeout(Duration::from_millis(100), rx.recv())
                .await
                .is_ok()
            {
                break;
            }
        }
        delivers_and_replays(a, b, "u").await;
    }
}
