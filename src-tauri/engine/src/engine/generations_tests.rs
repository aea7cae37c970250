//! Tests of generation requests on the engine alone (no server): validation, the placeholder,
//! the outbox order, cancel before sending, retry, refusals and the model cache.

use crate::engine::tests::engine;
use crate::error::EngineError;
use crate::generation::{GenerateRequest, GenerationState, Point};
use crate::media::tests::PNG_1X1;
use crate::store::outbox::{OpError, OpPayload, OpState};
use crate::Engine;
use iskra_protocol::{ElementKind, ErrorCode, ErrorDetail, GenerationKind};
use serde_json::json;
use uuid::Uuid;

fn kinds(e: &Engine) -> Vec<String> {
    e.outbox()
        .unwrap()
        .iter()
        .map(|o| o.payload.kind().to_owned())
        .collect()
}

#[test]
fn generate_places_a_placeholder_then_queues_the_submit_in_one_go() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let mut req = GenerateRequest::text_to_image("a red fox in snow");
    req.image_size = Some("landscape_16_9".into());
    req.num_images = Some(2);
    req.at = Some(Point { x: 100.0, y: 50.0 });
    let g = e.generate(p, &req).unwrap();
    let ph = &g.placeholder;
    assert_eq!(ph.kind, ElementKind::Generation);
    assert_eq!(
        (ph.x, ph.y, ph.width, ph.height),
        (-412.0, -238.0, 1024.0, 576.0)
    );
    assert_eq!(ph.generation_id, None);
    assert_eq!(g.generation.status, GenerationState::Waiting);
    assert_eq!(g.generation.element_id, ph.id);
    assert_eq!(g.generation.params.num_images, Some(2));
    assert_eq!(
        kinds(&e),
        ["project.create", "canvas.change", "generation.submit"]
    );
    let ops = e.outbox().unwrap();
    assert_eq!(
        ops[2].op_id, g.generation.id,
        "the local id is the submit's op id"
    );
    match &ops[2].payload {
        OpPayload::GenerationSubmit { request } => {
            assert_eq!(request.element_id, Some(ph.id));
            assert_eq!(request.project_id, Some(p));
            assert_eq!(request.model, None, "the server picks the default");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.generations(Some(p)).unwrap(),
        std::slice::from_ref(&g.generation)
    );
    assert!(
        !e.open_project(p).unwrap().can_undo,
        "the placeholder is not an undo step"
    );
}

#[test]
fn bad_requests_are_refused_with_the_protocol_words_and_nothing_written() {
    let (e, dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let before = e.outbox().unwrap().len();
    let err = e
        .generate(p, &GenerateRequest::text_to_image("  "))
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid input: prompt must not be empty");
    let mut i2i = GenerateRequest::text_to_image("make it blue");
    i2i.kind = GenerationKind::ImageToImage;
    assert!(e
        .generate(p, &i2i)
        .unwrap_err()
        .to_string()
        .contains("select an image"));
    i2i.source_element_id = Some(Uuid::new_v4());
    assert!(matches!(
        e.generate(p, &i2i),
        Err(EngineError::ElementNotFound(_))
    ));
    let mut many = GenerateRequest::text_to_image("x");
    many.num_images = Some(9);
    assert!(e
        .generate(p, &many)
        .unwrap_err()
        .to_string()
        .contains("params.numImages"));
    e.set_models(&crate::sync::fake_generations::models())
        .unwrap();
    let mut unknown = GenerateRequest::text_to_image("x");
    unknown.model = Some("nope/model".into());
    assert!(e
        .generate(p, &unknown)
        .unwrap_err()
        .to_string()
        .contains("nope/model"));
    assert_eq!(e.outbox().unwrap().len(), before);
    assert!(e.open_project(p).unwrap().canvas.elements.is_empty());

    e.set_signed_in(false);
    let err = e
        .generate(p, &GenerateRequest::text_to_image("x"))
        .unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert!(err.to_string().starts_with("Sign in to generate"));
    let kept = e.create_project(Some("Kept")).unwrap().id;
    e.set_signed_in(true);
    assert!(e
        .generate(kept, &GenerateRequest::text_to_image("x"))
        .unwrap_err()
        .to_string()
        .contains("add it to your account"));
    drop(dir);
}

#[test]
fn image_to_image_starts_from_the_selected_image_beside_it_with_its_upload_first() {
    let (e, dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let file = dir.path().join("a.png");
    std::fs::write(&file, PNG_1X1).unwrap();
    let src = e.add_media(p, &file, 10.0, 20.0).unwrap();
    let sha = src.asset_id.clone().unwrap();
    // The upload was refused and dropped: generating queues it again.
    let upload = e
        .outbox()
        .unwrap()
        .into_iter()
        .find(|o| o.payload.kind() == "asset.upload");
    let upload = upload.unwrap().op_id;
    let refused = OpError::Rejected {
        status: 415,
        error: ErrorDetail::new(ErrorCode::UnsupportedMediaType, "not an image"),
    };
    e.ops_reject(&[upload], &refused).unwrap();
    e.outbox_discard(upload).unwrap();
    e.set_models(&crate::sync::fake_generations::models())
        .unwrap();
    let mut req = GenerateRequest::text_to_image("make it blue");
    req.kind = GenerationKind::ImageToImage;
    req.source_element_id = Some(src.id);
    let g = e.generate(p, &req).unwrap();
    assert_eq!(
        g.generation.model, "test/image-to-image",
        "the catalogue's default"
    );
    let ph = &g.placeholder;
    assert_eq!((ph.width, ph.height), (1.0, 1.0), "the source's size");
    assert_eq!((ph.x, ph.y), (src.x + 1.0 + crate::layout::GAP, src.y));
    assert!(ph.z > src.z);
    // A second one from the same image goes past the first instead of covering it.
    let second = e.generate(p, &req).unwrap().placeholder;
    assert_eq!(second.x, ph.x + 1.0 + crate::layout::GAP);
    let kinds = kinds(&e);
    assert!(kinds.contains(&"asset.upload".to_owned()), "{kinds:?}");
    let submit = e.outbox().unwrap().into_iter().last().unwrap();
    match submit.payload {
        OpPayload::GenerationSubmit { request } => {
            assert_eq!(request.image_asset_id.as_deref(), Some(sha.as_str()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_before_sending_withdraws_the_request_and_the_placeholder() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("fox"))
        .unwrap();
    let canceled = e.cancel_generation(g.generation.id).unwrap();
    assert_eq!(canceled.status, GenerationState::Canceled);
    assert!(!kinds(&e).contains(&"generation.submit".to_owned()));
    assert!(e.open_project(p).unwrap().canvas.elements.is_empty());
    assert!(
        e.cancel_generation(g.generation.id).is_err(),
        "already canceled"
    );
    assert!(matches!(
        e.cancel_generation(Uuid::new_v4()),
        Err(EngineError::GenerationNotFound(_))
    ));
}

#[test]
fn a_refused_request_fails_with_its_limit_and_a_retry_is_a_new_request_for_the_same_placeholder() {
    let (e, _dir) = engine();
    let p = e.create_project(None).unwrap().id;
    let g = e
        .generate(p, &GenerateRequest::text_to_image("fox"))
        .unwrap();
    let id = g.generation.id;
    assert!(
        e.retry_generation(id).is_err(),
        "only failed ones are retried"
    );
    let body: OpError = serde_json::from_value(json!({"kind": "rejected", "status": 429,
        "error": {"code": "RATE_LIMITED", "message": "10 a day",
        "window": "day", "limit": 10, "used": 10, "remaining": 0,
        "resetsAt": "2026-12-01T00:00:00.000Z", "tier": "free", "upgradeUrl": "u"}}))
    .unwrap();
    e.ops_reject(&[id], &body).unwrap();
    let failed = e.generation(id).unwrap();
    assert_eq!(failed.status, GenerationState::Failed);
    let limit = failed.error.unwrap().limit.unwrap();
    assert_eq!(
        (limit.window.as_str(), limit.limit, limit.remaining),
        ("day", 10, 0)
    );
    assert_eq!(e.outbox().unwrap().last().unwrap().state, OpState::Rejected);

    // Retrying the kept operation from the outbox makes the generation wait again.
    e.outbox_retry(id).unwrap();
    assert_eq!(e.generation(id).unwrap().status, GenerationState::Waiting);
    e.ops_reject(&[id], &body).unwrap();

    let retried = e.retry_generation(id).unwrap();
    assert_eq!(retried.id, id, "the local id stays");
    assert_eq!(
        (retried.status, &retried.error),
        (GenerationState::Waiting, &None)
    );
    assert_eq!(retried.element_id, g.generation.element_id);
    let ops = e.outbox().unwrap();
    assert!(ops.iter().all(|o| o.op_id != id), "the refused op is gone");
    let submit = ops.last().unwrap();
    assert_eq!(submit.payload.kind(), "generation.submit");
    assert_eq!(submit.state, OpState::Pending);
    let listed: Vec<Uuid> = e.generations(None).unwrap().iter().map(|g| g.id).collect();
    assert_eq!(listed, [id]);
    assert!(e.retry_generation(id).is_err(), "it waits again");

    // A canceled one comes back with its placeholder.
    e.cancel_generation(retried.id).unwrap();
    assert!(e.open_project(p).unwrap().canvas.elements.is_empty());
    let again = e.retry_generation(retried.id).unwrap();
    let canvas = e.open_project(p).unwrap().canvas;
    assert_eq!(canvas.elements.len(), 1);
    assert_eq!(canvas.elements[0].id, again.element_id);
    assert_eq!(again.id, id);
}

#[test]
fn the_model_catalogue_is_kept_and_only_rewritten_when_it_changes() {
    let (e, _dir) = engine();
    assert!(e.models().unwrap().is_empty());
    let list = crate::sync::fake_generations::models();
    e.set_models(&list).unwrap();
    let mut changes = e.changes();
    changes.borrow_and_update();
    e.set_models(&list).unwrap();
    assert!(!changes.has_changed().unwrap());
    assert_eq!(e.models().unwrap(), list);
}
