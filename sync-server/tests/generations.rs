//! The generation pipeline (S7) over real HTTP against the fake fal (`iskra-fake-fal`, a
//! separate server on loopback that speaks fal's queue API and signs its webhooks): results by
//! polling and by webhook landing on the canvas, webhook verification, limits and
//! `Idempotency-Key`, fal outages, cancel, bad outputs and bad requests, replicas.

#[macro_use]
mod common;
mod generations {
    pub mod faults;
    pub mod flows;
    pub mod requests;
    pub mod support;
}
