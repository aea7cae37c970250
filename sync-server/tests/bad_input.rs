//! Bad input (X3) on every route `/openapi.json` lists (so new routes are swept automatically):
//! malformed JSON, unknown fields, non-finite numbers, negative sizes, a 2 MB body, ids that are
//! not UUIDs and missing credentials get a 4xx in the docs/api.md error shape, never a 5xx, and
//! change nothing. `Idempotency-Key` on `POST /v1/projects` replays the first result.

#[macro_use]
mod common;

use common::media::sha256_hex;
use common::{assert_error_shape, Backend, TestServer, User};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// One operation of the OpenAPI document.
struct Route {
    method: Method,
    path: String,
    json_body: bool,
    secured: bool,
}

async fn documented_routes(srv: &TestServer) -> Vec<Route> {
    let doc = srv.openapi().await;
    let routes: Vec<Route> = common::operations(&doc)
        .into_iter()
        .map(|(method, path, op)| Route {
            json_body: op["requestBody"]["content"]
                .get("application/json")
                .is_some(),
            secured: op["security"].as_array().is_some_and(|s| !s.is_empty()),
            method,
            path,
        })
        .collect();
    assert!(
        routes.len() >= 15,
        "suspiciously few routes: {}",
        routes.len()
    );
    routes
}

/// The path with each `{param}` replaced: by `bad` when given, else by a well-formed id.
fn fill(path: &str, project: Uuid, bad: Option<&str>) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&rest[..start]);
        let value = match (bad, &rest[start + 1..end]) {
            (Some(bad), _) => bad.to_owned(),
            (None, "token") => "bm90LWEtdG9rZW4.c2ln".to_owned(),
            (None, _) if path.starts_with("/v1/projects") => project.to_string(),
            (None, _) if path.starts_with("/v1/assets") => sha256_hex(b"not uploaded"),
            (None, _) => Uuid::new_v4().to_string(),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out + rest
}

/// A request body for the route with `NUM` where a number (or a size) goes.
fn sample(route: &Route, num: &str) -> String {
    match (route.method.as_str(), route.path.as_str()) {
        ("POST", "/v1/projects/{id}/sync") => format!(
            r#"{{"clientId":"{}","changes":[{{"opId":"{}","elementId":"{}","set":{{"width":{num}}},"clock":"0001732300000000-000001-n"}}]}}"#,
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4()
        ),
        (_, p) if p.starts_with("/v1/projects") => format!(r#"{{"name":{num}}}"#),
        _ => format!(r#"{{"value":{num}}}"#),
    }
}

/// Never a 5xx; a 4xx when `must_refuse`; every error in the docs/api.md shape.
fn check(route: &Route, what: &str, (status, body): &(u16, Value), must_refuse: bool) {
    let name = format!("{} {} with {what}", route.method, route.path);
    assert!(*status < 500, "{name}: {status} {body}");
    if must_refuse {
        assert!(
            (400..500).contains(status),
            "{name} was accepted: {status} {body}"
        );
    }
    if *status >= 400 && route.method != Method::HEAD {
        assert!(body["error"].is_object(), "{name}: {status} {body}");
        assert_error_shape(body);
    }
}

async fn every_route_refuses_bad_input_cleanly(b: Backend) {
    // Billing configured, so its routes are swept past the 503 of a server without it (Stripe
    // itself is unreachable: nothing the sweep sends may get that far).
    let srv = TestServer::start(b, |cfg| {
        cfg.stripe_secret_key = Some("sk_test_sweep".into());
        cfg.stripe_api_url = "http://127.0.0.1:9".into();
    })
    .await;
    let user = srv.user("sweeper");
    let project = Uuid::new_v4();
    let restore = json!({"id": project, "name": "Sweep"});
    let two_mb = format!(r#"{{"pad":"{}"}}"#, "a".repeat(2 << 20));
    for route in documented_routes(&srv).await {
        let url = srv.url(&fill(&route.path, project, None));
        let anon = srv.http.request(route.method.clone(), &url);
        let res = common::status_of(anon).await;
        check(&route, "no credentials", &res, route.secured);
        if route.secured {
            assert_eq!(res.0, 401, "{} {}", route.method, route.path);
            if route.method != Method::HEAD {
                assert_eq!(
                    res.1["error"]["code"], "UNAUTHENTICATED",
                    "{} {}",
                    route.method, route.path
                );
            }
        }
        if route.path.contains('{') {
            for bad in ["not-a-uuid", "1", "%20", "..%2F..%2Fetc"] {
                let req =
                    user.request(route.method.clone(), &fill(&route.path, project, Some(bad)));
                check(
                    &route,
                    &format!("path id {bad:?}"),
                    &common::status_of(req).await,
                    true,
                );
            }
        }
        let bodies = [
            ("malformed JSON", r#"{"name": "x","#.to_owned(), true),
            (
                "unknown fields",
                sample(&route, "1").replacen('{', r#"{"definitelyNotAField":true,"#, 1),
                true,
            ),
            ("a non-finite number", sample(&route, "1e999"), true),
            (
                "a negative size",
                sample(&route, "-1"),
                !route.path.ends_with("/sync"),
            ),
            ("a 2 MB body", two_mb.clone(), true),
        ];
        for (what, body, refuse) in bodies {
            user.post("/v1/projects", &restore).await;
            let req = user.request(route.method.clone(), &fill(&route.path, project, None));
            let res =
                common::status_of(req.header("content-type", "application/json").body(body)).await;
            check(&route, what, &res, refuse && route.json_body);
            if route.json_body && what == "a 2 MB body" {
                assert_eq!(
                    res.1["error"]["code"], "PAYLOAD_TOO_LARGE",
                    "{}",
                    route.path
                );
                assert_eq!(
                    res.1["error"]["limitBytes"], srv.state.config.max_json_bytes,
                    "{}",
                    route.path
                );
            }
            if route.json_body && !refuse {
                assert_eq!(
                    res.1["rejected"].as_array().map(Vec::len),
                    Some(1),
                    "the negative size is rejected"
                );
            }
        }
    }
    // Nothing was written by any of it.
    user.post("/v1/projects", &restore).await;
    let projects = user.list_all("/v1/projects", "").await;
    assert_eq!(projects.len(), 1, "{projects:?}");
    let detail = user.project(project).await;
    assert_eq!(
        (
            &detail["name"],
            &detail["canvas"]["elements"],
            &detail["cursor"]
        ),
        (&json!("Sweep"), &json!([]), &json!("0"))
    );
    assert_eq!(user.storage().await["usedBytes"], 0);
    assert!(user.list_all("/v1/assets", "").await.is_empty());
}

async fn create(user: &User, key: &str, body: &Value) -> (u16, Value, Option<String>) {
    let req = user
        .request(Method::POST, "/v1/projects")
        .header("idempotency-key", key)
        .json(body);
    let res = common::send(req).await;
    (
        res.status,
        res.json.clone(),
        res.header("idempotent-replayed").map(str::to_owned),
    )
}

async fn idempotency_key_replays_the_first_result(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let first = create(&alice, "k-1", &json!({"name": "Once"})).await;
    assert_eq!((first.0, first.2.as_deref()), (201, None));
    let again = create(&alice, "k-1", &json!({"name": "Once"})).await;
    assert_eq!(
        (again.0, &again.1, again.2.as_deref()),
        (201, &first.1, Some("true"))
    );
    assert_eq!(alice.list_all("/v1/projects", "").await.len(), 1);

    let other = create(&alice, "k-1", &json!({"name": "Twice"})).await;
    assert_eq!(other.0, 409, "{}", other.1);
    assert_eq!(other.1["error"]["code"], "CONFLICT");
    assert_eq!(alice.list_all("/v1/projects", "").await.len(), 1);
    // Keys belong to their user.
    assert_eq!(create(&bob, "k-1", &json!({"name": "Once"})).await.0, 201);
    // A key that is too long is refused.
    let long = create(&alice, &"k".repeat(256), &json!({})).await;
    assert_eq!(
        (long.0, &long.1["error"]["code"]),
        (400, &json!("BAD_REQUEST"))
    );

    // Parallel requests with one key create one project.
    let tasks = (0..10).map(|_| {
        let alice = alice.clone();
        tokio::spawn(async move { create(&alice, "k-parallel", &json!({})).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created: Vec<&Value> = results
        .iter()
        .filter(|r| r.0 == 201)
        .map(|r| &r.1)
        .collect();
    assert!(
        !created.is_empty() && created.iter().all(|p| *p == created[0]),
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| r.0 == 201 || r.0 == 409),
        "{results:?}"
    );
    assert_eq!(alice.list_all("/v1/projects", "").await.len(), 2);
}

backend_tests!(
    every_route_refuses_bad_input_cleanly,
    idempotency_key_replays_the_first_result
);
