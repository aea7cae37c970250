//! A minimal client of `GET /v1/events`: reads the `text/event-stream` body of a real response
//! and parses it into events (comments such as the heartbeat are skipped).

use super::{User, WAIT};
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::Method;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: serde_json::Value,
}

/// An open event stream.
pub struct EventStream {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl EventStream {
    /// Opens the stream as `user`, resuming after `last_event_id` when given.
    pub async fn open(user: &User, last_event_id: Option<&str>) -> EventStream {
        let mut req = user.request(Method::GET, "/v1/events");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.expect("GET /v1/events");
        assert_eq!(res.status(), 200, "GET /v1/events");
        assert!(
            res.headers().contains_key("x-request-id"),
            "no x-request-id on the event stream"
        );
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
        EventStream {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event; `None` when the server ended the stream. Fails after [`WAIT`].
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(WAIT, self.next_unbounded())
            .await
            .expect("no event within the wait bound")
    }

    /// The next event named `name`, skipping others.
    pub async fn next_named(&mut self, name: &str) -> SseEvent {
        loop {
            let ev = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended before a {name} event"));
            if ev.event == name {
                return ev;
            }
        }
    }

    async fn next_unbounded(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if let Some(ev) = parse_frame(&frame) {
                    return Some(ev);
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self
                    .buf
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Parses one frame; `None` for comment-only frames.
pub fn parse_frame(frame: &str) -> Option<SseEvent> {
    let (mut id, mut event, mut data) = (None, None, Vec::new());
    for line in frame.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value.to_owned()),
            _ => {}
        }
    }
    let event = event?;
    let data = serde_json::from_str(&data.join("\n")).unwrap_or(serde_json::Value::Null);
    Some(SseEvent { id, event, data })
}
