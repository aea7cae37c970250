//! Webhooks: fal's Ed25519 signature scheme and JWKS (`sign`), delivery with retries and crafted
//! deliveries (`deliver`).

mod deliver;
mod sign;

pub(crate) use deliver::{deliver_crafted, spawn_delivery};
pub use deliver::{CraftedWebhook, Tamper, WebhookRecord};
pub use sign::{
    signed_message, unix_now, Signer, HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    HEADER_USER_ID,
};
