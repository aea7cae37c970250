//! A first free generation before sign-in (S6) over real HTTP against the fake fal: one a day
//! per client IP (also across two replicas sharing PostgreSQL and Redis), `X-Forwarded-For`
//! believed only from trusted proxies, the result readable only through its capability token,
//! the sweep of expired results, bad input, and no raw client address in the database, Redis or
//! the logs of the run; email capture for shared images.

#[macro_use]
mod common;
#[path = "generations/support.rs"]
#[allow(dead_code)]
mod support;
mod anonymous {
    pub mod flow;
    pub mod leads;
    pub mod privacy;
}
