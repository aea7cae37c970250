//! A reader of `GET /v1/events` that stops reading is cut without holding anyone up: the
//! user's other stream keeps receiving every event in order while the stalled one falls
//! behind, the stalled stream is ended once its own buffer is full, and when its reader reads
//! again and reconnects with `Last-Event-ID` it has every event, none twice, none missing.
//! Streams also share one HTTP/2 connection (h2c), each receiving every event.

#[macro_use]
mod common;

use common::sse::{parse_frame, EventStream, SseEvent};
use common::{poll_until, Backend, TestServer, User, WAIT};
use iskra_protocol::events::ServerEvent;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Events published between two checks of the stalled stream.
const BATCH: usize = 50;
/// The stalled reader's socket receive buffer. Small, so the server's writes back up soon;
/// not below the loopback MSS's reach, or once it reads again the transfer crawls: a window
/// under one segment is sent into only by TCP's persist probes (silly-window avoidance), and
/// the megabytes queued meanwhile then take longer than the wait bound to arrive.
const RECV_BUFFER: u32 = 64 * 1024;
/// Bound on the events published before the stalled stream must have been cut.
const MAX_EVENTS: usize = 200_000;

fn changed(n: usize) -> ServerEvent {
    ServerEvent::ProjectChanged {
        project_id: Uuid::nil(),
        cursor: n.to_string(),
    }
}

fn cursor(ev: &SseEvent) -> usize {
    assert_eq!(ev.event, "project.changed", "{ev:?}");
    ev.data["cursor"].as_str().unwrap().parse().unwrap()
}

/// Opens `GET /v1/events` on a socket with a small receive buffer and does not read it.
async fn stalled_reader(srv: &TestServer, user: &User) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(RECV_BUFFER).expect("SO_RCVBUF");
    let mut sock = socket.connect(srv.addr).await.expect("connect");
    let head = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Accept: text/event-stream\r\nConnection: close\r\n\r\n",
        srv.addr,
        user.token.as_deref().unwrap()
    );
    sock.write_all(head.as_bytes())
        .await
        .expect("write request");
    sock
}

/// Reads a response to its end; the events of its chunked `text/event-stream` body.
async fn read_to_end(mut sock: tokio::net::TcpStream) -> Vec<SseEvent> {
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, sock.read_to_end(&mut raw))
        .await
        .expect("the cut stream ends")
        .expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, mut chunked) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut body = String::new();
    loop {
        let (size, rest) = chunked.split_once("\r\n").expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = &rest[size + 2..];
    }
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(parse_frame)
        .collect()
}

async fn a_stalled_reader_is_cut_and_resumes_without_a_gap(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    alice.get("/v1/me").await.expect(200);
    let stalled = stalled_reader(&srv, &alice).await;
    let mut live = EventStream::open(&alice, None).await;
    poll_until("both streams are open", || async {
        srv.state.events.streams("alice") == 2
    })
    .await;

    // Publish in batches; the live reader gets each batch, in order, before the next one.
    let mut published = 0;
    while srv.state.events.streams("alice") == 2 {
        assert!(published < MAX_EVENTS, "the stalled stream was never cut");
        for n in published..published + BATCH {
            srv.state.events.publish("alice", changed(n));
        }
        for n in published..published + BATCH {
            assert_eq!(cursor(&live.next().await.expect("live event")), n);
        }
        published += BATCH;
    }
    // Events after the cut: the cut reader must get them on its return.
    for n in published..published + BATCH {
        srv.state.events.publish("alice", changed(n));
        assert_eq!(cursor(&live.next().await.expect("live event")), n);
    }
    published += BATCH;
    eprintln!("the stalled stream was cut after {published} events");

    // The stalled reader reads again: what its stream held, in order, then the end.
    let got = read_to_end(stalled).await;
    let delivered: Vec<usize> = got.iter().map(cursor).collect();
    assert_eq!(
        delivered,
        (0..delivered.len()).collect::<Vec<_>>(),
        "in order, no gap"
    );
    assert!(
        delivered.len() < published,
        "the stream was cut before the last events ({} of {published})",
        delivered.len()
    );
    // It resumes after the last event it has and gets every one it missed.
    let last = got.last().and_then(|e| e.id.clone()).expect("an event id");
    let mut resumed = EventStream::open(&alice, Some(&last)).await;
    for n in delivered.len()..published {
        assert_eq!(cursor(&resumed.next().await.expect("replayed event")), n);
    }
    // And the live reader was never cut.
    srv.state.events.publish("alice", changed(published));
    assert_eq!(cursor(&live.next().await.expect("live event")), published);
    assert_eq!(
        cursor(&resumed.next().await.expect("live event")),
        published
    );
}

backend_tests!(a_stalled_reader_is_cut_and_resumes_without_a_gap);

/// Streams multiplexed on one HTTP/2 connection, as a proxy or an HTTP/2 client carries many.
const H2_STREAMS: usize = 3;

async fn event_streams_share_an_http2_connection(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let h2 = User::new(http, &srv.base, "alice", alice.token.clone());
    let me = h2.request(Method::GET, "/v1/me").send().await.unwrap();
    assert_eq!(
        (me.status().as_u16(), me.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let mut streams = Vec::new();
    for _ in 0..H2_STREAMS {
        streams.push(EventStream::open(&h2, None).await);
    }
    poll_until("the HTTP/2 streams are open", || async {
        srv.state.events.streams("alice") == H2_STREAMS
    })
    .await;
    for n in 0..BATCH {
        srv.state.events.publish("alice", changed(n));
    }
    for stream in &mut streams {
        for n in 0..BATCH {
            assert_eq!(cursor(&stream.next().await.expect("event")), n);
        }
    }
}

backend_tests!(event_streams_share_an_http2_connection);
