//! Credits (S8): the caller's balance, ledger history and the price of a generation before it
//! is submitted.

use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::generation;
use crate::state::AppState;
use crate::store::keyset::{page_limit, Cursor, SortValue};
use axum::extract::State;
use axum::Json;
use iskra_protocol::{
    CreditEstimate, Credits, ErrorBody, GenerationKind, GenerationParams, LedgerEntry, Page,
};
use serde::Deserialize;

/// The caller's credits.
#[utoipa::path(get, path = "/v1/credits", tag = "credits", security(("bearer" = [])),
    responses((status = 200, body = Credits), (status = 401, body = ErrorBody)))]
pub async fn get_credits(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Credits>> {
    Ok(Json(credits::balance(&state, &auth.user).await?))
}

/// Query of `GET /v1/credits/history`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Sort key of ledger cursors.
const SORT: &str = "ledger";

/// The caller's ledger, newest first.
#[utoipa::path(get, path = "/v1/credits/history", tag = "credits", params(HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<LedgerEntry>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> ApiResult<Json<Page<LedgerEntry>>> {
    let limit =
        page_limit(p.limit).ok_or_else(|| ApiError::field("limit", "must be between 1 and 100"))?;
    let before = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => match Cursor::decode(raw, SORT) {
            Some(Cursor {
                v: SortValue::Int(id),
                ..
            }) => Some(id),
            _ => return Err(ApiError::field("cursor", "is not a cursor of this list")),
        },
    };
    credits::refresh_period(&state.store, &state.config.credits, &auth.user).await?;
    let mut rows = state
        .store
        .ledger_page(auth.id(), before, limit + 1)
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            Cursor {
                s: SORT.into(),
                v: SortValue::Int(r.id),
                id: String::new(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Json(Page {
        items: rows.iter().map(credits::entry).collect(),
        next_cursor: next,
    }))
}

/// Query of `GET /v1/credits/estimate`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(rename_all = "camelCase", parameter_in = Query)]
pub struct EstimateParams {
    /// `text-to-image` (default), `image-to-image` or `image-to-video`.
    #[param(value_type = Option<GenerationKind>)]
    pub kind: Option<String>,
    /// A model id of `GET /v1/models` for the kind (its default when absent).
    pub model: Option<String>,
    /// 1–4 (images).
    #[param(minimum = 1, maximum = 4)]
    pub num_images: Option<u32>,
    /// One of the model's sizes.
    pub image_size: Option<String>,
    /// 1–10 seconds (videos).
    #[param(minimum = 1, maximum = 10)]
    pub duration_s: Option<u32>,
}

/// The price of a generation before it is submitted, and the caller's balance.
#[utoipa::path(get, path = "/v1/credits/estimate", tag = "credits", params(EstimateParams),
    security(("bearer" = [])),
    responses((status = 200, body = CreditEstimate), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn estimate(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(p): ApiQuery<EstimateParams>,
) -> ApiResult<Json<CreditEstimate>> {
    let kind: GenerationKind = match p.kind.as_deref() {
        None => GenerationKind::TextToImage,
        Some(k) => k.parse().map_err(|m| ApiError::field("kind", m))?,
    };
    let params = GenerationParams {
        image_size: p.image_size,
        num_images: p.num_images,
        seed: None,
        duration_s: p.duration_s,
    };
    params
        .validate()
        .map_err(|(field, m)| ApiError::field(field.strip_prefix("params.").unwrap_or(field), m))?;
    let model = generation::check_model(&state, kind, p.model.as_deref(), &params)?;
    let price = generation::price(model, kind, &params, &state);
    let balance = credits::balance(&state, &auth.user).await?;
    Ok(Json(CreditEstimate {
        credits: price,
        available: balance.available,
        model: model.id.clone(),
    }))
}
