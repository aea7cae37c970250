//! Files: fal's storage upload (`initiate` then `PUT upload_url`), the files it serves back, the
//! outputs of completed jobs (good and deliberately bad), and the JWKS document.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::outputs::{job_png, video_bytes};
use crate::queue::{auth_error, detail};
use crate::state::{lock, Shared, Upload, UploadRecord};

type S = State<Arc<Shared>>;

/// Size of the "huge" bad output.
pub const HUGE_LEN: u64 = 200 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

pub(crate) async fn jwks(State(s): S) -> Response {
    Json(s.signer.jwks()).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Initiate {
    content_type: Option<String>,
    file_name: Option<String>,
}

/// Keeps `[A-Za-z0-9._-]` of a file name so it can sit in a URL path.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "file".into()
    } else {
        s
    }
}

/// `POST {rest}/storage/upload/initiate` `{"content_type","file_name"}` → `{"upload_url","file_url"}`.
pub(crate) async fn initiate(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = auth_error(&s, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Initiate>(&body) else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid body");
    };
    let token = uuid::Uuid::new_v4().simple().to_string();
    let file_name = safe_name(req.file_name.as_deref().unwrap_or("file"));
    let content_type = req
        .content_type
        .unwrap_or_else(|| "application/octet-stream".into());
    let file_url = format!("{}/files/u/{token}/{file_name}", s.base);
    let upload_url = format!("{}/upload/{token}", s.base);
    s.uploads.insert(
        token,
        Upload {
            file_name,
            content_type,
            file_url: file_url.clone(),
            bytes: None,
        },
    );
    Json(json!({ "upload_url": upload_url, "file_url": file_url })).into_response()
}

/// `PUT {upload_url}`: stores the bytes.
pub(crate) async fn upload(
    State(s): S,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let record = match s.uploads.get_mut(&token) {
        Some(mut u) => {
            if let Some(ct) = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
            {
                u.content_type = ct.to_string();
            }
            u.bytes = Some(body.clone());
            UploadRecord {
                file_name: u.file_name.clone(),
                content_type: u.content_type.clone(),
                file_url: u.file_url.clone(),
                len: body.len(),
            }
        }
        None => return detail(StatusCode::NOT_FOUND, "Unknown upload"),
    };
    lock(&s.counters.uploads).push(record);
    s.touch();
    StatusCode::OK.into_response()
}

/// `GET /files/{kind}/{name}`: uploads (`u/{token}/{name}`) and job outputs.
pub(crate) async fn files(State(s): S, Path(path): Path<String>) -> Response {
    let (kind, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
    match kind {
        "u" => uploaded(&s, rest),
        "out" => output(&s, rest),
        "huge" => huge(true),
        "huge-chunked" => huge(false),
        "html" => (
            [(header::CONTENT_TYPE, "image/png")],
            "<!doctype html><html><head><title>Error</title></head><body>Oops</body></html>",
        )
            .into_response(),
        "broken" => detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn uploaded(s: &Shared, rest: &str) -> Response {
    let token = rest.split('/').next().unwrap_or("");
    match s.uploads.get(token) {
        Some(u) if u.bytes.is_some() => {
            let bytes = u.bytes.clone().unwrap_or_default();
            ([(header::CONTENT_TYPE, u.content_type.clone())], bytes).into_response()
        }
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `{request_id}-{index}.png|mp4`.
fn output(s: &Shared, name: &str) -> Response {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some((id, index)) = stem.rsplit_once('-') else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let (Some(job), Ok(index)) = (s.jobs.get(id), index.parse::<usize>()) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    match ext {
        "mp4" => ([(header::CONTENT_TYPE, "video/mp4")], video_bytes()).into_response(),
        "png" => ([(header::CONTENT_TYPE, "image/png")], job_png(&job, index)).into_response(),
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// 200 MB: a PNG signature then zeros, produced chunk by chunk as the client reads.
fn huge(with_length: bool) -> Response {
    let chunks = HUGE_LEN.div_ceil(CHUNK as u64);
    let body = stream::iter(0..chunks).map(|i| {
        let len = (HUGE_LEN - i * CHUNK as u64).min(CHUNK as u64) as usize;
        let chunk = if i == 0 {
            let mut first = b"\x89PNG\r\n\x1a\n".to_vec();
            first.resize(len, 0);
            Bytes::from(first)
        } else {
            Bytes::from_static(&ZEROS[..len])
        };
        Ok::<_, std::io::Error>(chunk)
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
    if with_length {
        h.insert(header::CONTENT_LENGTH, HUGE_LEN.into());
    }
    resp
}
