//! The account life cycle (S2): Clerk's webhooks (`POST /v1/webhooks/clerk`) keep a user's
//! email and name in step and delete the user with everything they own.
//!
//! - [`clerk`] reads Clerk's events into what Iskra acts on.
//! - [`store`] holds the SQL — deliveries recorded by `svix-id` in the same transaction as
//!   their effect, the deletion record and its lease, batched deletes.
//! - [`deletion`] is the crash-safe deletion and the task that resumes unfinished ones.
//! - [`settings`] are the `ISKRA_ACCOUNTS__…` knobs.
//!
//! A deleted id stays refused: requests with it answer 401 (see [`admit`], called by the
//! `Auth` extractor, which looks the user row up or creates it only for a live account), and
//! later Clerk events for it change nothing.

pub mod clerk;
pub mod deletion;
pub mod settings;
pub mod store;

pub use settings::AccountSettings;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::users::{Admission, UserRow};
use clerk::ClerkEvent;
use store::Applied;

/// The user row of a verified token's subject; 401 for an id whose account was deleted (or is
/// being deleted).
pub async fn admit(state: &AppState, user: &str, email: Option<&str>) -> ApiResult<UserRow> {
    match state.store.admit(user, email).await? {
        Admission::User(row) => Ok(row),
        Admission::Deleted => Err(ApiError::Unauthenticated(
            "this account has been deleted".into(),
        )),
    }
}

/// Applies a verified Clerk delivery once per `svix_id`. A new deletion ends the user's event
/// streams at once and starts deleting in the background (the record is durable: a crash
/// leaves it to the resumer).
pub async fn apply(state: &AppState, svix_id: &str, event: &ClerkEvent) -> ApiResult<Applied> {
    let applied = state.store.apply_clerk_event(svix_id, event).await?;
    metrics::counter!("iskra_clerk_webhooks_total", "outcome" => format!("{applied:?}"))
        .increment(1);
    tracing::info!(svix_id, event = event.type_name(), outcome = ?applied, "Clerk webhook");
    if let (Applied::DeletionRecorded, ClerkEvent::UserDeleted { id }) = (applied, event) {
        state.events.end(id);
        deletion::start(state, id);
    }
    Ok(applied)
}
