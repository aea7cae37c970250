//! Projects (S3, D2): default names `Iskra 01`, `Iskra 02`, … (the next free number),
//! client-chosen ids, rename and hard delete with their validation and events, and the list's
//! search, sort and keyset pagination.

#[macro_use]
mod common;

use common::http::ids;
use common::replica::Replica;
use common::sse::EventStream;
use common::{Backend, TestServer, User};
use serde_json::{json, Value};
use uuid::Uuid;

async fn name_of_new(user: &User) -> String {
    user.create_project(None).await["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn default_names_take_the_next_free_number(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    assert_eq!(name_of_new(&alice).await, "Iskra 01");
    let second = alice.create_project(None).await;
    assert_eq!(second["name"], "Iskra 02");
    alice.create_project(Some("Holiday")).await;
    assert_eq!(name_of_new(&alice).await, "Iskra 03");
    let first = alice.list_all("/v1/projects", "q=Iskra 01").await;
    alice
        .delete(&format!(
            "/v1/projects/{}",
            first[0]["id"].as_str().unwrap()
        ))
        .await
        .expect(204);
    assert_eq!(
        name_of_new(&alice).await,
        "Iskra 01",
        "a freed number is reused"
    );
    alice
        .patch(
            &format!("/v1/projects/{}", second["id"].as_str().unwrap()),
            &json!({"name": "Renamed"}),
        )
        .await
        .expect(200);
    assert_eq!(name_of_new(&alice).await, "Iskra 02");
    assert_eq!(name_of_new(&alice).await, "Iskra 04");
    // Numbering is per user.
    assert_eq!(name_of_new(&srv.user("bob")).await, "Iskra 01");
}

async fn projects_are_created_renamed_and_deleted(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let mut events = EventStream::open(&alice, None).await;
    let id = Uuid::new_v4();
    let created = alice
        .post(
            "/v1/projects",
            &json!({"id": id, "name": "  Offline idea "}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (&created["id"], &created["name"]),
        (&json!(id), &json!("Offline idea"))
    );
    for key in [
        "createdAt",
        "updatedAt",
        "imageCount",
        "videoCount",
        "thumbnailAssetId",
    ] {
        assert!(created.get(key).is_some(), "{key} missing in {created}");
    }
    let again = alice
        .post("/v1/projects", &json!({"id": id, "name": "Other"}))
        .await;
    assert_eq!(
        again.expect(200),
        &created,
        "the same client-chosen id answers the existing project"
    );
    assert_eq!(alice.list_all("/v1/projects", "").await.len(), 1);

    let path = format!("/v1/projects/{id}");
    for bad in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(201)}),
        json!({"name": "a\u{7}b"}),
        json!({}),
    ] {
        let err = alice.patch(&path, &bad).await;
        err.expect_error(422, "VALIDATION_FAILED");
    }
    let renamed = alice
        .patch(&path, &json!({"name": "Final"}))
        .await
        .expect(200)
        .clone();
    assert_eq!(renamed["name"], "Final");
    assert!(renamed["updatedAt"].as_str() >= created["updatedAt"].as_str());
    let detail = alice.project(id).await;
    assert_eq!(
        (&detail["name"], &detail["canvas"]["viewport"]),
        (&json!("Final"), &json!({"x": 0.0, "y": 0.0, "scale": 1.0}))
    );

    let mut device = Replica::new("dev1");
    device.set(&Uuid::new_v4().to_string(), json!({"kind": "image"}), 1000);
    device.sync(&alice, id).await;
    alice.delete(&path).await.expect(204);
    alice.get(&path).await.expect_error(404, "NOT_FOUND");
    alice
        .get(&format!("{path}/changes"))
        .await
        .expect_error(404, "NOT_FOUND");
    alice.delete(&path).await.expect_error(404, "NOT_FOUND");
    let ev = events.next_named("project.deleted").await;
    assert_eq!(ev.data, json!({"projectId": id}));
    // A project created again with the same id starts empty (hard delete).
    alice
        .post("/v1/projects", &json!({"id": id}))
        .await
        .expect(201);
    assert_eq!(alice.project(id).await["canvas"]["elements"], json!([]));
}

fn names(items: &[Value]) -> Vec<&str> {
    items.iter().map(|p| p["name"].as_str().unwrap()).collect()
}

async fn project_list_searches_sorts_and_pages(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    // Names that sort the same under byte order (SQLite) and any PostgreSQL collation.
    let all = [
        "Alpha",
        "Alphabet",
        "Beta",
        "Delta",
        "Gamma",
        "Gamma ray",
        "Omega 100%",
        "Under_score",
    ];
    let mut by_name = std::collections::HashMap::new();
    for name in all {
        by_name.insert(
            name,
            alice.create_project(Some(name)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut touched = Replica::new("dev1");
    touched.set(&Uuid::new_v4().to_string(), json!({"x": 1}), 1000);
    touched
        .sync(&alice, by_name["Delta"].parse().unwrap())
        .await;

    assert_eq!(
        names(&alice.list_all("/v1/projects", "sort=name").await),
        all,
        "name sorts ascending by default"
    );
    let desc = alice
        .list_all("/v1/projects", "sort=name&order=desc&limit=3")
        .await;
    assert_eq!(names(&desc), all.iter().rev().copied().collect::<Vec<_>>());
    for (query, limit) in [
        ("sort=name", 1),
        ("sort=name", 3),
        ("sort=updated", 2),
        ("sort=updated&order=asc", 3),
    ] {
        let paged = alice
            .list_all("/v1/projects", &format!("{query}&limit={limit}"))
            .await;
        let unpaged = alice
            .list_all("/v1/projects", &format!("{query}&limit=100"))
            .await;
        assert_eq!(ids(&paged), ids(&unpaged), "{query}");
        assert_eq!(paged.len(), all.len());
    }
    let updated = alice.list_all("/v1/projects", "").await;
    let stamps: Vec<&str> = updated
        .iter()
        .map(|p| p["updatedAt"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] >= w[1]),
        "most recently updated first: {stamps:?}"
    );
    assert_eq!(
        stamps[0],
        updated.iter().find(|p| p["name"] == "Delta").unwrap()["updatedAt"]
            .as_str()
            .unwrap()
    );

    for (q, want) in [
        ("alp", vec!["Alpha", "Alphabet"]),
        ("GAMMA", vec!["Gamma", "Gamma ray"]),
        ("%", vec!["Omega 100%"]),
        ("_", vec!["Under_score"]),
        ("a r", vec!["Gamma ray"]),
        ("zzz", vec![]),
        ("  ", all.to_vec()),
    ] {
        let found = alice
            .list_all(
                "/v1/projects",
                &format!("sort=name&q={}", q.replace('%', "%25")),
            )
            .await;
        assert_eq!(names(&found), want, "q={q:?}");
    }
    let first = alice.get("/v1/projects?limit=2").await.expect(200).clone();
    let cursor = first["nextCursor"].as_str().unwrap();
    for bad in [
        "sort=size",
        "order=up",
        "limit=0",
        "limit=101",
        "limit=x",
        &format!("sort=name&cursor={cursor}"),
        "cursor=abc",
    ] {
        let res = alice.get(&format!("/v1/projects?{bad}")).await;
        assert!(matches!(res.status, 400 | 422), "{bad}: {}", res.status);
        common::assert_error_shape(&res.json);
    }
}

backend_tests!(
    default_names_take_the_next_free_number,
    projects_are_created_renamed_and_deleted,
    project_list_searches_sorts_and_pages,
);
