//! `GET /v1/events`: server-sent events for the signed-in user's devices, with a heartbeat
//! comment every 15 s and `Last-Event-ID` resume. Streams end when the server shuts down, and
//! a stream whose reader stopped reading is cut once its own buffer is full (see `events`).

use crate::extract::Auth;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use iskra_protocol::ErrorBody;
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;

/// Interval of the heartbeat comment.
const HEARTBEAT: Duration = Duration::from_secs(15);

fn to_sse(env: crate::events::Envelope) -> Result<Event, Infallible> {
    Ok(Event::default()
        .id(env.id.to_string())
        .event(env.event.name())
        .data(env.event.data().to_string()))
}

/// Live events of the signed-in user.
#[utoipa::path(get, path = "/v1/events", tag = "sync", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "resume after this event")),
    responses((status = 200, content_type = "text/event-stream", description = "project.changed, project.deleted, asset.created, asset.deleted, generation.updated, quota.updated"),
        (status = 401, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    // A reader that stops reading is cut (the stream ends) and resumes with Last-Event-ID.
    let (replay, rx) = state.events.stream(auth.id(), last);
    let live = ReceiverStream::new(rx);
    let mut shutdown = state.shutdown.clone();
    let stream = stream::iter(replay)
        .chain(live)
        .map(to_sse)
        .take_until(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
    metrics::counter!("iskra_sse_connections_total").increment(1);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
}
