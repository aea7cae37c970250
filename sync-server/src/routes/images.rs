//! The public images API (S9) that other apps call with `x-api-key` (a bearer token works
//! too): generate, edit with a reference image (an asset id, or an upload in
//! `multipart/form-data` that goes through the same pipeline as `PUT /v1/assets`), job status
//! and usage per key and day.
//!
//! Jobs are ordinary generations: [`crate::generation::submit`] admits them with the owner's
//! credits, storage quota and generation windows, and the workers run them. A job submitted
//! with a key is linked to it, so usage reports what each key made and was charged.

use crate::api_keys::today;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::generation;
use crate::idempotency;
use crate::state::AppState;
use crate::store::api_keys::KeySubmission;
use crate::store::assets::InsertOutcome;
use crate::upload::{self, Received};
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use futures::TryStreamExt;
use iskra_protocol::{
    AssetSource, ErrorBody, GenerationKind, GenerationParams, ImageJob, ImageJobAccepted,
    ImageRequest, KeyUsage, NewGeneration, UsageReport, UsageRow,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Most days one usage report covers.
const MAX_USAGE_DAYS: i64 = 366;
/// Days a usage report covers when `from` is not given (ending at `to`).
const DEFAULT_USAGE_DAYS: i64 = 30;
/// Largest text field of an edit form.
const MAX_FORM_TEXT: u64 = 16 * 1024;
/// Form field of an edit's uploaded reference image.
const IMAGE_FIELD: &str = "image";

/// Maps the generation request's field names (`params.imageSize`) to this API's (`imageSize`).
fn own_field_names(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation { message, fields } => ApiError::Validation {
            message: message.replace("params.", ""),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.trim_start_matches("params.").to_owned(), v))
                .collect(),
        },
        other => other,
    }
}

/// The generation request of an images API request.
fn to_generation(kind: GenerationKind, req: ImageRequest) -> NewGeneration {
    NewGeneration {
        kind,
        model: req.model,
        prompt: req.prompt,
        image_asset_id: req.image_asset_id,
        params: Some(GenerationParams {
            image_size: req.image_size,
            num_images: req.num_images,
            ..GenerationParams::default()
        }),
        project_id: None,
        element_id: None,
    }
}

/// Checks a request as far as it can be without the caller's data (prompt, counts, the model
/// and its sizes).
fn check(state: &AppState, kind: GenerationKind, req: &ImageRequest) -> ApiResult<()> {
    req.validate()
        .map_err(|(field, msg)| ApiError::field(field, msg))?;
    let params = to_generation(kind, req.clone()).params.unwrap_or_default();
    generation::check_model(state, kind, req.model.as_deref(), &params)
        .map(|_| ())
        .map_err(own_field_names)
}

/// Submits through the generation pipeline under the request's `Idempotency-Key` (as
/// `POST /v1/generations`: the same key answers the same job, another body with it is 409),
/// the job linked to the request's API key in its transaction.
async fn submit(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    route: &str,
    kind: GenerationKind,
    req: ImageRequest,
) -> ApiResult<Response> {
    let new = to_generation(kind, req);
    let day = today(&state.clock);
    let api_key = auth.key.as_ref().map(|k| KeySubmission {
        key_id: &k.id,
        day: &day,
    });
    let (row, replayed) = generation::submit_once(state, &auth.user, headers, route, &new, api_key)
        .await
        .map_err(own_field_names)?;
    let accepted = Json(ImageJobAccepted {
        job_id: Uuid::parse_str(&row.id).unwrap_or_default(),
        status: generation::status_of(row.phase()),
    });
    Ok(if replayed {
        (
            StatusCode::ACCEPTED,
            [(idempotency::REPLAYED_HEADER, "true")],
            accepted,
        )
            .into_response()
    } else {
        (StatusCode::ACCEPTED, accepted).into_response()
    })
}

/// Queues a text-to-image job.
#[utoipa::path(post, path = "/v1/images/generate", tag = "images", request_body = ImageRequest,
    security(("apiKey" = []), ("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry returns the first job")),
    responses((status = 202, body = ImageJobAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn generate(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ImageRequest>,
) -> ApiResult<Response> {
    if req.image_asset_id.is_some() {
        return Err(ApiError::field(
            "imageAssetId",
            "a reference image belongs to POST /v1/images/edit",
        ));
    }
    check(&state, GenerationKind::TextToImage, &req)?;
    submit(
        &state,
        &auth,
        &headers,
        "POST /v1/images/generate",
        GenerationKind::TextToImage,
        req,
    )
    .await
}

/// The form of a multipart edit (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EditForm {
    prompt: String,
    model: Option<String>,
    #[schema(rename = "imageSize")]
    image_size: Option<String>,
    #[schema(rename = "numImages")]
    num_images: Option<u32>,
    /// The reference image (PNG, JPEG, WebP or GIF), checked like `PUT /v1/assets`.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// Queues an image-to-image job from a reference image: `imageAssetId` in JSON, or the image
/// uploaded as the `image` part of a `multipart/form-data` body (stored as the owner's asset).
#[utoipa::path(post, path = "/v1/images/edit", tag = "images",
    request_body(content((ImageRequest = "application/json"), (EditForm = "multipart/form-data"))),
    security(("apiKey" = []), ("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry returns the first job")),
    responses((status = 202, body = ImageJobAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn edit(
    State(state): State<AppState>,
    auth: Auth,
    request: Request,
) -> ApiResult<Response> {
    let kind = GenerationKind::ImageToImage;
    let headers = request.headers().clone();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let req = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let (mut req, image) = read_form(&state, &auth, &content_type, request).await?;
        if req.image_asset_id.is_some() {
            return Err(ApiError::field(
                "imageAssetId",
                "send either an image part or imageAssetId, not both",
            ));
        }
        let image = image.ok_or_else(|| {
            ApiError::field(
                IMAGE_FIELD,
                "a multipart edit needs the reference image part",
            )
        })?;
        check(&state, kind, &req)?;
        req.image_asset_id = Some(store_reference(&state, auth.id(), image).await?);
        req
    } else {
        let (parts, body) = request.into_parts();
        let limit = state.config.max_json_bytes;
        let bytes =
            axum::body::to_bytes(body, limit)
                .await
                .map_err(|_| ApiError::PayloadTooLarge {
                    limit: limit as u64,
                })?;
        let request = Request::from_parts(parts, Body::from(bytes));
        let ApiJson(req) = ApiJson::<ImageRequest>::from_request(request, &state).await?;
        if req.image_asset_id.is_none() {
            return Err(ApiError::field(
                "imageAssetId",
                "an edit needs a reference image (imageAssetId, or a multipart upload)",
            ));
        }
        check(&state, kind, &req)?;
        req
    };
    submit(&state, &auth, &headers, "POST /v1/images/edit", kind, req).await
}

/// A multipart error as an API error (size limits are 413).
fn form_error(e: multer::Error, max_upload: u64) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { field_name, .. }
            if field_name.as_deref() == Some(IMAGE_FIELD) =>
        {
            ApiError::PayloadTooLarge { limit: max_upload }
        }
        multer::Error::FieldSizeExceeded { limit, .. }
        | multer::Error::StreamSizeExceeded { limit } => ApiError::PayloadTooLarge { limit },
        other => ApiError::BadRequest(format!("malformed multipart body: {other}")),
    }
}

/// Reads an edit form: its text fields and the reference image, received into a temporary
/// file with the checks of `PUT /v1/assets` (size, type from magic bytes against the part's
/// Content-Type, pixels) but not stored yet.
async fn read_form(
    state: &AppState,
    auth: &Auth,
    content_type: &str,
    request: Request,
) -> ApiResult<(ImageRequest, Option<Received>)> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ApiError::BadRequest(format!("multipart body without a boundary: {e}")))?;
    let cfg = &state.config;
    let max_upload = cfg.max_upload_bytes;
    let limits = multer::SizeLimit::new()
        .per_field(MAX_FORM_TEXT)
        .for_field(IMAGE_FIELD, max_upload + 1)
        .whole_stream(max_upload + 8 * MAX_FORM_TEXT);
    let mut form = multer::Multipart::with_constraints(
        request.into_body().into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut text: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    let mut image = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| form_error(e, max_upload))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            IMAGE_FIELD if image.is_none() => {
                let usage = state
                    .store
                    .storage_usage(auth.id(), cfg.tiers.get(auth.user.tier()))
                    .await?;
                if usage.over_limit {
                    return Err(ApiError::StorageQuota(Box::new(usage)));
                }
                let claimed = field.content_type().map(|m| m.essence_str().to_owned());
                let stream = field.map_err(move |e| form_error(e, max_upload));
                let received = upload::receive_stream(
                    stream,
                    &state.tmp_dir,
                    claimed.as_deref(),
                    upload::Limits {
                        max_bytes: max_upload,
                        max_pixels: cfg.max_image_pixels,
                    },
                )
                .await?;
                if received.info.asset_type != iskra_protocol::AssetType::Image {
                    return Err(ApiError::field(IMAGE_FIELD, "must be an image, not a video"));
                }
                image = Some(received);
            }
            "prompt" | "model" | "imageSize" | "imageAssetId" | "numImages"
                if !text.contains_key(&name) =>
            {
                let value = field.text().await.map_err(|e| form_error(e, max_upload))?;
                let value = if name == "numImages" {
                    let n: u32 = value
                        .trim()
                        .parse()
                        .map_err(|_| ApiError::field("numImages", "must be a whole number"))?;
                    serde_json::Value::from(n)
                } else {
                    serde_json::Value::String(value)
                };
                text.insert(name, value);
            }
            _ => {
                return Err(ApiError::field(
                    if name.is_empty() { "form" } else { &name },
                    "is not a part of an edit form (prompt, model, imageSize, numImages, image), or is sent twice",
                ))
            }
        }
    }
    let req: ImageRequest = serde_json::from_value(serde_json::Value::Object(text))
        .map_err(|e| ApiError::field("prompt", e.to_string()))?;
    Ok((req, image))
}

/// Stores an edit's uploaded reference image as the user's asset (deduplicated like any
/// upload); returns its id.
async fn store_reference(state: &AppState, user: &str, image: Received) -> ApiResult<String> {
    match crate::services::assets::store_received(state, user, image, AssetSource::Upload, None)
        .await?
    {
        InsertOutcome::Created(row) | InsertOutcome::Existing(row) => Ok(row.sha256),
        InsertOutcome::QuotaExceeded(quota) => Err(ApiError::StorageQuota(Box::new(quota))),
    }
}

/// A job's status and, once completed, its images with signed URLs.
#[utoipa::path(get, path = "/v1/images/job/{jobId}", tag = "images",
    security(("apiKey" = []), ("bearer" = [])), params(("jobId" = Uuid, Path)),
    responses((status = 200, body = ImageJob), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn job(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ImageJob>> {
    let row = state
        .store
        .generation(auth.id(), &id.to_string())
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    let g = generation::to_api(&state, &row).await?;
    Ok(Json(ImageJob {
        job_id: g.id,
        status: g.status,
        prompt: g.prompt,
        model: g.model,
        created_at: g.created_at,
        completed_at: g.completed_at,
        error: g.error,
        outputs: g.outputs,
        credits_charged: g.credits.and_then(|c| c.charged),
    }))
}

/// Query of `GET /v1/images/usage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// First day (`YYYY-MM-DD`, UTC, inclusive); 29 days before `to` when absent.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC, inclusive); today when absent.
    #[param(format = Date)]
    pub to: Option<String>,
    /// One of the owner's keys (revoked ones too); all of them when absent.
    #[serde(rename = "keyId")]
    #[param(rename = "keyId")]
    pub key_id: Option<Uuid>,
}

fn day(field: &str, raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::field(field, "must be a date as YYYY-MM-DD"))
}

/// Use per key and UTC day of the owner's keys: requests, generations, images, credits.
#[utoipa::path(get, path = "/v1/images/usage", tag = "images", params(UsageParams),
    security(("apiKey" = []), ("bearer" = [])),
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn usage(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<UsageParams>,
) -> ApiResult<Json<UsageReport>> {
    let to = match p.to.as_deref() {
        Some(raw) => day("to", raw)?,
        None => state.clock.now().date_naive(),
    };
    let from = match p.from.as_deref() {
        Some(raw) => day("from", raw)?,
        None => to - chrono::Duration::days(DEFAULT_USAGE_DAYS - 1),
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    if (to - from).num_days() >= MAX_USAGE_DAYS {
        return Err(ApiError::field(
            "from",
            format!("a report covers at most {MAX_USAGE_DAYS} days"),
        ));
    }
    let key = p.key_id.map(|k| k.to_string());
    if let Some(k) = &key {
        if !state.store.owns_api_key(auth.id(), k).await? {
            return Err(ApiError::NotFound("API key"));
        }
    }
    let (from, to) = (from.to_string(), to.to_string());
    let items = usage_by_key(&state, auth.id(), key.as_deref(), &from, &to).await?;
    let mut total = KeyUsage::default();
    for row in &items {
        add(&mut total, &row.usage);
    }
    Ok(Json(UsageReport {
        from,
        to,
        items,
        total,
    }))
}

fn add(sum: &mut KeyUsage, u: &KeyUsage) {
    sum.requests += u.requests;
    sum.generations += u.generations;
    sum.images += u.images;
    sum.credits_charged += u.credits_charged;
}

/// Use of `user`'s keys (or of `key`) per key and day from `from` to `to` (inclusive
/// `YYYY-MM-DD`), ordered by day then key: requests from the counter, generations, images and
/// credits from the jobs the keys submitted.
pub async fn usage_by_key(
    state: &AppState,
    user: &str,
    key: Option<&str>,
    from: &str,
    to: &str,
) -> ApiResult<Vec<UsageRow>> {
    let mut rows: BTreeMap<(String, String), KeyUsage> = BTreeMap::new();
    for r in state.store.key_requests(user, key, from, to).await? {
        rows.entry((r.day, r.key_id)).or_default().requests += r.requests;
    }
    for j in state.store.key_jobs(user, key, from, to).await? {
        let images = j
            .outputs
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
            .map_or(0, |v| v.len() as i64);
        let u = rows.entry((j.day, j.key_id)).or_default();
        u.generations += 1;
        u.images += images;
        u.credits_charged += j.credits_charged.unwrap_or(0);
    }
    Ok(rows
        .into_iter()
        .map(|((day, key_id), usage)| UsageRow {
            key_id: Uuid::parse_str(&key_id).unwrap_or_default(),
            day,
            usage,
        })
        .collect())
}
