//! The `iskra-asset` URI scheme: asset bytes for the webview straight from the engine's cache,
//! without base64 over IPC. Paths: `full/<sha256>` (the file, with HTTP ranges so videos seek),
//! `thumb/<sha256>` (the engine's cached PNG thumbnail, images only) and
//! `project-thumb/<projectId>` (the UI's last rendering of the canvas, else the engine's).
//! An asset only the server has (made on another device, or by a generation) is downloaded
//! into the cache on first use when signed in — the engine's lazy download.

use crate::commands::projects::ui_thumbnail_path;
use crate::state::AppState;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use tauri::http::{header, Request, Response, StatusCode};
use uuid::Uuid;

/// The scheme name (`ASSET_PROTOCOL` in `ui/src/backend/tauri.ts`).
pub const SCHEME: &str = "iskra-asset";
/// Content-addressed answers never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn plain(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(message.as_bytes().to_vec())
        .unwrap_or_default()
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a length into an inclusive range.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => (len.saturating_sub(n.parse().ok()?), len - 1),
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

/// A file as the answer, honouring a `Range` header.
fn file(path: &Path, mime: &str, cache: &str, range: Option<&str>) -> Response<Vec<u8>> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return plain(StatusCode::NOT_FOUND, "file missing from the cache");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, cache)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    let (builder, start, count) = match range {
        Some(r) => match parse_range(r, len) {
            Some((start, end)) => (
                builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
                start,
                end - start + 1,
            ),
            None => {
                return Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                    .body(Vec::new())
                    .unwrap_or_default()
            }
        },
        None => (builder.status(StatusCode::OK), 0, len),
    };
    let mut body = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let read = f
        .seek(SeekFrom::Start(start))
        .and_then(|_| f.take(count).read_to_end(&mut body));
    match read {
        Ok(_) => builder.body(body).unwrap_or_default(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("reading: {e}")),
    }
}

/// How long a request waits for an asset to download.
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Downloads an asset the server has into the cache (signed in only; failures are logged and
/// the request answers 404 as before).
fn download(state: &AppState, sha256: &str) {
    if !state.signed_in() || !iskra_protocol::is_sha256_hex(sha256) {
        return;
    }
    let fetched = state.sync_client().map(|client| {
        tauri::async_runtime::block_on(async {
            tokio::time::timeout(DOWNLOAD_TIMEOUT, client.fetch_asset(sha256)).await
        })
    });
    match fetched {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(e))) => tracing::info!(asset = sha256, error = %e, "asset not downloaded"),
        Ok(Err(_)) => tracing::info!(asset = sha256, "asset download timed out"),
        Err(e) => tracing::info!(asset = sha256, error = %e, "asset not downloaded"),
    }
}

/// Answers one request (runs on the blocking pool: it reads files and may make thumbnails).
pub fn respond(state: &AppState, req: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    // `convertFileSrc` percent-encodes the whole path (`thumb%2F<id>`).
    let decoded = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    let path = decoded.trim_start_matches('/');
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let Some((kind, id)) = path.split_once('/') else {
        return plain(
            StatusCode::NOT_FOUND,
            "expected full/, thumb/ or project-thumb/",
        );
    };
    let engine = &state.engine;
    if matches!(kind, "full" | "thumb") && matches!(engine.asset(id), Ok(None)) {
        download(state, id);
    }
    match kind {
        "full" => match engine.asset(id) {
            Ok(Some(rec)) => file(&engine.asset_path(&rec), &rec.mime, IMMUTABLE, range),
            Ok(None) => plain(StatusCode::NOT_FOUND, "no such asset on this device"),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        "thumb" => match engine.asset(id) {
            Ok(Some(_)) => match engine.asset_thumbnail(id) {
                Ok(Some(p)) => file(&p, "image/png", IMMUTABLE, range),
                Ok(None) => plain(StatusCode::NOT_FOUND, "videos have no thumbnail"),
                Err(e) => plain(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
            },
            Ok(None) => plain(StatusCode::NOT_FOUND, "no such asset on this device"),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        "project-thumb" => {
            let Ok(project) = Uuid::parse_str(id) else {
                return plain(StatusCode::NOT_FOUND, "not a project id");
            };
            let ui = ui_thumbnail_path(state, project);
            if ui.is_file() {
                return file(&ui, "image/png", "no-cache", range);
            }
            match engine.project_thumbnail(project) {
                Ok(Some(p)) => file(&p, "image/png", "no-cache", range),
                Ok(None) => plain(StatusCode::NOT_FOUND, "empty canvas"),
                Err(e) => plain(StatusCode::NOT_FOUND, &e.to_string()),
            }
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            "expected full/, thumb/ or project-thumb/",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn serves_files_whole_and_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        std::fs::write(&p, b"0123456789").unwrap();
        let r = file(&p, "video/mp4", IMMUTABLE, None);
        assert_eq!((r.status(), r.body().len()), (StatusCode::OK, 10));
        let r = file(&p, "video/mp4", IMMUTABLE, Some("bytes=2-4"));
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.body().as_slice(), b"234");
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 2-4/10");
        let r = file(&p, "video/mp4", IMMUTABLE, Some("bytes=20-"));
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }
}
