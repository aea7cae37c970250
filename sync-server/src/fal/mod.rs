//! fal: the queue API client and webhook verification.
//!
//! The generation workers submit requests to fal's queue, follow them by polling or by fal's
//! webhook, fetch the result and store its files. This module is everything that talks to fal:
//! [`FalClient`] (queue calls and storage upload, with retries and a circuit breaker),
//! [`WebhookVerifier`] and [`FalWebhook`] (signed webhook calls), and [`output_refs`] /
//! [`result_seed`] (what a result holds).

mod breaker;
mod client;
mod error;
mod jwks;
mod output;
mod webhook;

#[cfg(test)]
mod tests;

pub use client::{FalClient, FalConfig, FalStatus, Submitted};
pub use error::{render_detail, FalError};
pub use output::{output_refs, result_seed, OutputRef};
pub use webhook::{webhook_message, FalWebhook, WebhookError, WebhookVerifier, MAX_SKEW_SECS};
