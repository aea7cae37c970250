//! The service layer: what a request does once it is parsed and its caller known. Handlers in
//! `routes/` parse → authorize → call a service → map its result to a response; services
//! orchestrate the store (SQL only, store errors only), blob storage and live events, and
//! answer in [`crate::error::ApiError`] terms.
//!
//! Larger areas keep their service in their own module: generation (`crate::generation`),
//! credits (`crate::credits`), billing (`crate::billing`), accounts (`crate::accounts`),
//! sharing (`crate::sharing`), quota reports (`crate::quota`).

pub mod assets;
pub mod projects;
pub mod sync;
