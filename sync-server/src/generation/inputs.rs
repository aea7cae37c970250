//! fal's input for a job: the model's input mapping applied to the request, and the source
//! image of image-to-image / image-to-video handed over the way fal can read it — a signed URL
//! of this server when it has a public URL, else a `data:` URI up to the inline limit, else an
//! upload to fal's storage.

use crate::blobs::asset_key;
use crate::config::generation::ModelConfig;
use crate::fal::FalError;
use crate::signing::FileGrant;
use crate::state::AppState;
use crate::store::generations::GenRow;
use base64::Engine;
use futures::TryStreamExt;
use iskra_protocol::GenerationParams;
use serde_json::{Map, Value};

/// How long a signed URL given to fal for an input stays valid.
const INPUT_URL_TTL_SECS: i64 = 3_600;

/// Why a job's input could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The job names a model the catalogue no longer has, or its source image is gone.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Fal(#[from] FalError),
    #[error("storage: {0}")]
    Storage(String),
}

/// The JSON input fal's model receives for `row`.
pub async fn build(
    state: &AppState,
    row: &GenRow,
    model: &ModelConfig,
) -> Result<Value, InputError> {
    let params: GenerationParams = serde_json::from_str(&row.params).unwrap_or_default();
    let map = &model.input;
    let mut input = Map::new();
    input.insert(map.prompt.clone(), Value::String(row.prompt.clone()));
    if let (Some(key), Some(size)) = (&map.image_size, &params.image_size) {
        input.insert(key.clone(), Value::String(size.clone()));
    }
    if let (Some(key), Some(n)) = (&map.num_images, params.num_images) {
        input.insert(key.clone(), Value::from(n));
    }
    if let (Some(key), Some(seed)) = (&map.seed, params.seed) {
        input.insert(key.clone(), Value::from(seed));
    }
    if let (Some(key), Some(d)) = (&map.duration, params.duration_s) {
        input.insert(key.clone(), Value::String(d.to_string()));
    }
    if let Some(sha) = &row.image_asset_id {
        let key = map
            .image_url
            .clone()
            .ok_or_else(|| InputError::Invalid(format!("{} takes no input image", model.id)))?;
        input.insert(key, Value::String(image_url(state, row, sha).await?));
    }
    Ok(Value::Object(input))
}

/// A URL fal can read the user's image from.
async fn image_url(state: &AppState, row: &GenRow, sha: &str) -> Result<String, InputError> {
    let user = &row.user_id;
    let asset = state
        .store
        .asset(user, sha)
        .await
        .map_err(|e| InputError::Storage(e.to_string()))?
        .ok_or_else(|| InputError::Invalid("the source image was deleted".into()))?;
    if state.config.public_url.is_some() {
        let token = state.signer.sign(&FileGrant {
            user: user.clone(),
            sha256: sha.to_owned(),
            expires: chrono::Utc::now().timestamp() + INPUT_URL_TTL_SECS,
        });
        return Ok(format!("{}/files/{token}", state.public_base));
    }
    let (len, stream) = state
        .blobs
        .get(&asset_key(user, sha))
        .await
        .map_err(|e| InputError::Storage(e.to_string()))?;
    let bytes = stream
        .try_fold(
            Vec::with_capacity(len as usize),
            |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            },
        )
        .await
        .map_err(|e| InputError::Storage(e.to_string()))?;
    if bytes.len() as u64 <= state.config.generation.max_inline_input_bytes {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        return Ok(format!("data:{};base64,{b64}", asset.mime));
    }
    let fal = state
        .gen
        .fal
        .as_ref()
        .ok_or_else(|| InputError::Invalid("generation is not configured".into()))?;
    let ext = asset.mime.rsplit('/').next().unwrap_or("bin");
    Ok(fal
        .upload(bytes.into(), &asset.mime, &format!("{sha}.{ext}"))
        .await?)
}
