//! API-key authentication and the per-key rate-limit decision, as every `x-api-key` request
//! pays it before its handler runs (`iskra_server::api_keys::decide`): the key's shape and
//! checksum, its lookup by SHA-256 with its owner, the deleted-account check, the scope of the
//! route and the key's limiter windows; then, timed apart, the request counted in the key's
//! usage (`Store::count_key_request`, one write transaction), as `authenticate` does next.
//! [`CLIENTS`] clients at once, each with its own key, back to back.
//!
//! Measured in-process against the server's own code on an `AppState` built as the server
//! builds it (embedded SQLite, in-process limiter), not over HTTP, so the figure is the
//! decision itself rather than the HTTP stack around it.

use crate::load::percentile_ms;
use crate::report::{Bound, Row};
use anyhow::{Context, Result};
use futures::future::try_join_all;
use iskra_server::api_keys::format;
use iskra_server::config::Windows;
use iskra_server::store::api_keys::{KeyInsert, NewKeyRow};
use iskra_server::{AppState, Config};
use std::time::{Duration, Instant};

/// Clients (keys) deciding at once.
const CLIENTS: usize = 50;
/// Untimed decisions per client first.
const WARMUP: usize = 20;
/// Target: p99 of one decision at [`CLIENTS`] clients, ms.
const TARGET_P99_MS: f64 = 1.0;

/// The route every decision is for (a key with both scopes may call it).
const ROUTE: &str = "/v1/images/usage";

/// p50 and p99 of one decision, `decisions` per client.
pub async fn run(decisions: usize) -> Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    // Limits that never refuse, so every decision takes the charging path.
    let never = Windows {
        minute: i64::MAX / 4,
        hour: 0,
        day: 0,
    };
    cfg.api_keys.requests_free = never;
    let state = AppState::build(cfg, "http://127.0.0.1:0".into())
        .await
        .context("server state")?;
    let mut keys = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let user = format!("bench-{i:02}");
        state.store.ensure_user(&user, None).await?;
        let key = format::generate();
        let id = uuid::Uuid::new_v4().to_string();
        let row = NewKeyRow {
            id: &id,
            user_id: &user,
            name: "bench",
            prefix: &key.prefix,
            hash: &key.hash.0,
            scopes: &["images:generate".into(), "images:read".into()],
        };
        match state.store.insert_api_key(&row, 20).await? {
            KeyInsert::Created(_) => keys.push(key.secret),
            KeyInsert::TooMany(_) => anyhow::bail!("a fresh user has no keys"),
        }
    }
    let clients = keys.into_iter().map(|key| {
        let state: AppState = state.clone();
        async move {
            // reqwest's `Method` is the `http` crate's, as axum's is.
            let method = reqwest::Method::GET;
            let mut decided = Vec::with_capacity(decisions);
            let mut counted = Vec::with_capacity(decisions);
            let day = iskra_server::api_keys::today(&state.clock);
            for i in 0..WARMUP + decisions {
                let start = Instant::now();
                let owner = iskra_server::api_keys::decide(&state, &key, Some((&method, ROUTE)))
                    .await
                    .map_err(|e| anyhow::anyhow!("decision refused: {e}"))?;
                let decision = start.elapsed();
                state.store.count_key_request(&owner.key.id, &day).await?;
                if i >= WARMUP {
                    decided.push(decision);
                    counted.push(start.elapsed() - decision);
                }
            }
            anyhow::Ok((decided, counted))
        }
    });
    let (mut decided, mut counted): (Vec<Duration>, Vec<Duration>) = try_join_all(clients)
        .await?
        .into_iter()
        .fold((Vec::new(), Vec::new()), |(mut d, mut c), (d1, c1)| {
            d.extend(d1);
            c.extend(c1);
            (d, c)
        });
    decided.sort();
    counted.sort();
    state.begin_shutdown();
    let name = |what: &str, p: &str| format!("API key {what} {p}, {CLIENTS} clients (SQLite)");
    let decision = "auth + limit decision";
    let count = "usage count (one write)";
    Ok(vec![
        Row::new(
            name(decision, "p50"),
            percentile_ms(&decided, 0.50),
            "ms",
            Bound::Info,
        ),
        Row::new(
            name(decision, "p99"),
            percentile_ms(&decided, 0.99),
            "ms",
            Bound::Max(TARGET_P99_MS),
        ),
        Row::new(
            name(count, "p50"),
            percentile_ms(&counted, 0.50),
            "ms",
            Bound::Info,
        ),
        Row::new(
            name(count, "p99"),
            percentile_ms(&counted, 0.99),
            "ms",
            Bound::Info,
        ),
    ])
}
