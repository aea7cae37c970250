//! Clerk's webhooks (S2, S11) over real HTTP with real Svix signatures: profiles kept in step,
//! forged deliveries refused, and `user.deleted` removing everything of one user — counted in
//! every table of the database and in the object store, on both backends — including after the
//! server binary is killed halfway through.

#[macro_use]
mod common;
#[path = "generations/support.rs"]
#[allow(dead_code)]
mod generation_support;
mod clerk_webhooks {
    pub mod deletion;
    pub mod profile;
    pub mod restart;
    pub mod signatures;
    pub mod support;
}
