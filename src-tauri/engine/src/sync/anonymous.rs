//! The free first generation before sign-in (S6), the HTTP side: one text-to-image request a
//! day, sent without credentials (`POST /v1/generations`), its result read through the
//! capability URL the 202 carries (`GET /v1/generations/anonymous/{token}`) until the job has
//! ended, the image downloaded by its signed URL and put on the LOCAL canvas where the
//! placeholder stood ([`crate::engine`]'s `free_generation` module does the canvas part).
//!
//! The accepted request is kept in the store while it waits, so [`resume_free_generation`]
//! picks it up after a restart. A refusal — above all `429 ANONYMOUS_QUOTA_EXCEEDED` once the
//! day's image is used, with the window's numbers and when it resets — is an answer
//! ([`FreeOutcome::Refused`]), not an error: the caller shows it with the sign-in offer.

use super::api::ApiClient;
use super::{on_engine, SyncError};
use crate::engine::PendingFreeGeneration;
use crate::error::EngineError;
use crate::generation::{GenerateRequest, GenerationFailure};
use crate::Engine;
use iskra_protocol::{
    AnonymousGeneration, Element, GenerationKind, GenerationStatus, NewGeneration,
};
use reqwest::Method;
use serde::Serialize;
use std::time::Duration;

/// Time between two reads of the result while the job runs.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait after a failed read (network, 5xx) before the next one.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(15);

/// How a free generation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum FreeOutcome {
    /// The image stands on the canvas where the placeholder stood.
    #[serde(rename_all = "camelCase")]
    Completed { element: Element, asset_id: String },
    /// The server refused the request (`ANONYMOUS_QUOTA_EXCEEDED` with its `limit` once the
    /// day's image is used); nothing stays on the canvas.
    Refused { error: GenerationFailure },
    /// The job failed, or its result expired before it was read; the placeholder is gone.
    Failed { error: GenerationFailure },
}

/// The wire request of a free generation: text-to-image, one image, no project.
fn wire_request(req: &GenerateRequest) -> Result<NewGeneration, SyncError> {
    let invalid = |m: &str| SyncError::Local(EngineError::Invalid(m.to_owned()));
    if req.kind != GenerationKind::TextToImage || req.source_element_id.is_some() {
        return Err(invalid(
            "the free image before sign-in is text-to-image: sign in for the other kinds",
        ));
    }
    if req.num_images.is_some_and(|n| n > 1) {
        return Err(invalid("the free image before sign-in is one image"));
    }
    let request = NewGeneration {
        kind: req.kind,
        model: req.model.clone(),
        prompt: req.prompt.clone(),
        image_asset_id: None,
        params: req.params(),
        project_id: None,
        element_id: None,
    };
    request
        .validate()
        .map_err(|(field, message)| invalid(&format!("{field} {message}")))?;
    Ok(request)
}

/// Asks `server` for the free image of `req` (text-to-image) and puts it on `project`'s canvas:
/// the placeholder first, then the image in its place once the job completed. Waits until the
/// job has ended.
pub async fn free_generation(
    engine: &Engine,
    server: &str,
    project: uuid::Uuid,
    req: &GenerateRequest,
) -> Result<FreeOutcome, SyncError> {
    let request = wire_request(req)?;
    let api = ApiClient::anonymous(server)?;
    let (size, at) = (req.image_size.clone(), req.at);
    let placeholder = on_engine(engine, move |e| {
        e.place_free_placeholder(project, size.as_deref(), at)
    })
    .await?;
    let element = placeholder.id;
    let accepted: Result<AnonymousGeneration, SyncError> = api
        .json(api.request(Method::POST, "/v1/generations").json(&request))
        .await;
    let accepted = match accepted {
        Ok(a) => a,
        Err(e) => {
            on_engine(engine, move |en| en.drop_free_placeholder(project, element)).await?;
            return match e {
                SyncError::RateLimited { error, .. } | SyncError::Rejected { error, .. } => {
                    Ok(FreeOutcome::Refused {
                        error: GenerationFailure::from_detail(&error),
                    })
                }
                other => Err(other),
            };
        }
    };
    let pending = PendingFreeGeneration {
        project_id: project,
        element_id: element,
        prompt: request.prompt,
        access: accepted.anonymous,
    };
    let keep = pending.clone();
    on_engine(engine, move |e| e.remember_free_generation(&keep)).await?;
    finish(engine, &api, &pending).await
}

/// Picks up the free generation a restart interrupted (its capability kept in the store);
/// `None` when none was waiting.
pub async fn resume_free_generation(
    engine: &Engine,
    server: &str,
) -> Result<Option<FreeOutcome>, SyncError> {
    let Some(pending) = on_engine(engine, |e| e.pending_free_generation()).await? else {
        return Ok(None);
    };
    let api = ApiClient::anonymous(server)?;
    finish(engine, &api, &pending).await.map(Some)
}

/// Reads the result until the job ended, then lands it (or removes the placeholder).
async fn finish(
    engine: &Engine,
    api: &ApiClient,
    pending: &PendingFreeGeneration,
) -> Result<FreeOutcome, SyncError> {
    let (project, element) = (pending.project_id, pending.element_id);
    let drop_placeholder = || on_engine(engine, move |e| e.drop_free_placeholder(project, element));
    let ended = match wait_until_ended(api, &pending.access.url).await {
        Ok(g) => g,
        Err(SyncError::Rejected { status: 404, .. }) => {
            drop_placeholder().await?;
            return Ok(FreeOutcome::Failed {
                error: GenerationFailure::plain(
                    "NOT_FOUND",
                    "The free image is no longer on the server (results are kept for 24 hours)",
                ),
            });
        }
        Err(e) => return Err(e),
    };
    let output = match (&ended.generation.status, ended.generation.outputs.first()) {
        (GenerationStatus::Completed, Some(output)) => output.clone(),
        _ => {
            drop_placeholder().await?;
            let error = match &ended.generation.error {
                Some(e) => GenerationFailure::from_job(e),
                None => GenerationFailure::plain("FAILED", "The free image was not made"),
            };
            return Ok(FreeOutcome::Failed { error });
        }
    };
    let dir = engine.data_dir().join(crate::engine::ASSETS_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| SyncError::Local(EngineError::io("creating the asset cache", e)))?;
    let tmp = dir.join(format!(".free-{}", uuid::Uuid::new_v4().simple()));
    let url = absolute(api.base(), &output.url);
    let downloaded = api.download(api.request_url(Method::GET, &url), &tmp).await;
    let landed = match downloaded {
        Ok(_) => {
            let file = tmp.clone();
            on_engine(engine, move |e| {
                e.land_free_generation(project, element, &file)
            })
            .await
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&tmp);
    let element = landed?;
    Ok(FreeOutcome::Completed {
        asset_id: element.asset_id.clone().unwrap_or(output.id),
        element,
    })
}

/// Reads the capability URL until the job has ended; failed reads (network, 5xx, 429) are
/// retried with growing waits, a refusal (404: unknown or expired) is returned.
async fn wait_until_ended(api: &ApiClient, url: &str) -> Result<AnonymousGeneration, SyncError> {
    let mut failures = 0u32;
    loop {
        let wait = match api
            .json::<AnonymousGeneration>(api.request_url(Method::GET, url))
            .await
        {
            Ok(g) if g.generation.status.is_terminal() => return Ok(g),
            Ok(_) => {
                failures = 0;
                POLL_INTERVAL
            }
            Err(e) if e.is_retryable() => {
                failures += 1;
                tracing::info!(error = %e, "free image result not read; trying again");
                e.retry_after()
                    .unwrap_or(POLL_INTERVAL * 2u32.saturating_pow(failures.min(4)))
                    .min(MAX_RETRY_WAIT)
            }
            Err(e) => return Err(e),
        };
        tokio::time::sleep(wait).await;
    }
}

/// A URL the server handed out, made absolute against its base when it is a path.
fn absolute(base: &str, url: &str) -> String {
    if url.starts_with('/') {
        format!("{base}{url}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_text_to_image_is_free() {
        let ok = wire_request(&GenerateRequest::text_to_image("a fox")).unwrap();
        assert_eq!(ok.kind, GenerationKind::TextToImage);
        assert_eq!((ok.project_id, ok.element_id), (None, None));
        let mut four = GenerateRequest::text_to_image("foxes");
        four.num_images = Some(4);
        assert!(wire_request(&four).is_err());
        let mut video = GenerateRequest::text_to_image("a fox");
        video.kind = GenerationKind::ImageToVideo;
        assert!(wire_request(&video).is_err());
        assert!(wire_request(&GenerateRequest::text_to_image("  ")).is_err());
        assert_eq!(absolute("http://s", "/v1/x"), "http://s/v1/x");
        assert_eq!(absolute("http://s", "https://cdn/x"), "https://cdn/x");
    }
}
