//! API keys and the public images API (S9) over real HTTP on both backends: a key's life
//! cycle (created once, works, refused on the very next request after revocation on two
//! replicas) and its secrecy (never in the database, the data dir, the logs or any later
//! response); the per-key limit under 200 parallel requests with exact usage counts;
//! generate and edit (JSON and multipart upload) through the fake fal to downloaded images,
//! with usage per key and day; `Idempotency-Key` on generate and edit; bad input on every new
//! route.

#[macro_use]
mod common;
#[allow(dead_code)]
#[path = "generations/support.rs"]
mod gen_support;
mod api_keys {
    pub mod bad_input;
    pub mod idempotency;
    pub mod images;
    pub mod lifecycle;
    pub mod limits;
    pub mod support;
}
