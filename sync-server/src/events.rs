//! Live events for a user's devices (`GET /v1/events`): a per-user broadcast with a short
//! replay buffer so a reconnecting client resumes from `Last-Event-ID` without gaps.
//!
//! Event ids are per-process increasing numbers. A client that resumes with an id older than
//! the buffer (or from another replica) gets everything buffered; `project.changed` carries a
//! cursor, so a client that missed events still pulls every change.

use dashmap::DashMap;
use iskra_protocol::events::ServerEvent;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events kept per user for `Last-Event-ID` replay.
const REPLAY_EVENTS: usize = 256;
/// Capacity of a user's live channel; a subscriber that lags further re-syncs from the buffer.
const CHANNEL_CAPACITY: usize = 256;

/// An event with its id.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: u64,
    pub event: ServerEvent,
}

struct UserChannel {
    tx: broadcast::Sender<Envelope>,
    recent: Mutex<VecDeque<Envelope>>,
}

/// Fan-out of events to the connected devices of each user.
#[derive(Clone, Default)]
pub struct EventHub {
    users: Arc<DashMap<String, Arc<UserChannel>>>,
    next_id: Arc<AtomicU64>,
}

impl EventHub {
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

    /// Sends an event to every connected device of `user`.
    pub fn publish(&self, user: &str, event: ServerEvent) {
        let ch = self.channel(user);
        let env = Envelope { id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1, event };
        {
            let mut recent = ch.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == REPLAY_EVENTS {
                recent.pop_front();
            }
            recent.push_back(env.clone());
        }
        let _ = ch.tx.send(env);
    }

    /// Subscribes to `user`'s events; returns the buffered events after `last_id` first.
    pub fn subscribe(&self, user: &str, last_id: Option<u64>) -> (Vec<Envelope>, broadcast::Receiver<Envelope>) {
        let ch = self.channel(user);
        let recent = ch.recent.lock().unwrap_or_else(|e| e.into_inner());
        let rx = ch.tx.subscribe();
        let replay = match last_id {
            Some(last) => recent.iter().filter(|e| e.id > last).cloned().collect(),
            None => Vec::new(),
        };
        (replay, rx)
    }

    /// Number of users with a channel (for metrics).
    pub fn channels(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[tokio::test]
    async fn delivers_and_replays() {
        let hub = EventHub::default();
        let ev = |c: &str| ServerEvent::ProjectChanged { project_id: Uuid::nil(), cursor: c.into() };
        hub.publish("u", ev("1"));
        let (replay, mut rx) = hub.subscribe("u", Some(0));
        assert_eq!(replay.len(), 1);
        hub.publish("u", ev("2"));
        hub.publish("other", ev("x"));
        let got = rx.recv().await.unwrap();
        assert_eq!(got.event, ev("2"));
        let (replay, _) = hub.subscribe("u", Some(got.id - 1));
        assert_eq!(replay.len(), 1);
    }
}
