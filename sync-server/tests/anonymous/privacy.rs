//! Where a raw client address must never appear: every text column of every table, every
//! Redis key of the deployment, and everything the server logged during the run (captured by
//! a subscriber this test binary installs).

pub use crate::common::logs::{capture_logs, logs};
use crate::common::{Backend, TestServer};
use sqlx::Row;

/// Every value of every text column of every table of the server's database.
pub async fn text_values(server: &TestServer) -> Vec<String> {
    let pool = server.state.store.pool();
    let columns: Vec<(String, String)> = match server.backend {
        Backend::Scaled => sqlx::query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
        )
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect(),
        Backend::Embedded => {
            let tables: Vec<String> = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            let mut cols = Vec::new();
            for t in tables {
                let info = sqlx::query(&format!("SELECT name, type FROM pragma_table_info('{t}')"))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                for r in info {
                    let ty: String = r.get(1);
                    if ty.eq_ignore_ascii_case("text") || ty.is_empty() {
                        cols.push((t.clone(), r.get::<String, _>(0)));
                    }
                }
            }
            cols
        }
    };
    assert!(
        columns.iter().any(|(t, _)| t == "anonymous_generations"),
        "the anonymous tables are among those read"
    );
    let mut out = Vec::new();
    for (table, column) in columns {
        let rows = sqlx::query(&format!("SELECT \"{column}\" FROM \"{table}\""))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
        out.extend(
            rows.iter()
                .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten()),
        );
    }
    out
}

/// Every Redis key of the server's deployment (scaled backend; empty otherwise).
pub async fn redis_keys(server: &TestServer) -> Vec<String> {
    let Some(url) = &server.config.redis_url else {
        return Vec::new();
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}*", server.config.redis_prefix);
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Asserts that none of `addresses` appears in the database, Redis keys or the logs.
pub async fn assert_no_raw_address(server: &TestServer, addresses: &[&str]) {
    let values = text_values(server).await;
    assert!(!values.is_empty());
    let keys = redis_keys(server).await;
    if server.backend == Backend::Scaled {
        assert!(
            keys.iter().any(|k| k.contains("gen:anon:")),
            "the anonymous quota is counted in Redis: {keys:?}"
        );
    }
    let logs = logs();
    assert!(
        logs.contains("request_id"),
        "the server's request logs are captured"
    );
    for a in addresses {
        for v in &values {
            assert!(!v.contains(a), "{a} stored in the database: {v}");
        }
        for k in &keys {
            assert!(!k.contains(a), "{a} in a Redis key: {k}");
        }
        assert!(!logs.contains(a), "{a} in the logs");
    }
}
