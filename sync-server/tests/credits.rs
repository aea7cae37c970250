//! The credits ledger (S8) over real HTTP: balances and history, prices before a click,
//! parallel submits that can never overdraw (also across replicas), and holds charged or
//! released exactly once whatever fal repeats.

#[macro_use]
mod common;
#[path = "generations/support.rs"]
#[allow(dead_code)]
mod support;
mod credits {
    pub mod account;
    pub mod charging;
    pub mod helpers;
}
