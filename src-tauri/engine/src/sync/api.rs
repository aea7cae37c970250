//! HTTP client of the sync server's API v1 (docs/api.md), typed with `iskra-protocol`. One method per
//! endpoint the engine uses; every non-2xx answer becomes a classified [`SyncError`] carrying the
//! server's `{"error":{…}}` body. Uploads stream the file from disk (never whole in memory).

use super::error::SyncError;
use crate::credits::EstimateRequest;
use futures::StreamExt;
use iskra_protocol::{
    Asset, BillingUrl, ChangesResponse, CheckoutRequest, CreditEstimate, Credits, ErrorBody,
    Generation, LedgerEntry, Me, ModelList, NewGeneration, NewProject, Page, Project, ProjectPatch,
    SyncRequest, SyncResponse, Tier,
};
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use uuid::Uuid;

/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence on an open connection; above the server's 15 s SSE heartbeat.
pub const READ_TIMEOUT: Duration = Duration::from_secs(45);
/// Whole-request limit for JSON calls (not uploads or the event stream).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Page size asked for when listing.
const PAGE_LIMIT: u32 = 100;

/// An authenticated client of one server.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    /// Shared by clones, so a refreshed token reaches every request after it.
    token: Arc<RwLock<String>>,
    /// Told (asset id, bytes sent, total bytes) while an upload streams.
    upload_progress: Option<UploadProgress>,
}

/// Callback of upload progress: (asset SHA-256, bytes sent, total bytes).
pub type UploadProgress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Reads the error body of a failed response and classifies it.
pub async fn error_from(resp: Response) -> SyncError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = resp.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ErrorBody>(&text)
        .map(|b| b.error)
        .unwrap_or_else(|_| {
            let snippet: String = text.chars().take(200).collect();
            SyncError::synthetic_detail(
                status,
                format!("HTTP {status} {snippet}").trim().to_owned(),
            )
        });
    match status {
        401 => SyncError::Unauthenticated { error: detail },
        429 => SyncError::RateLimited {
            retry_after,
            error: detail,
        },
        500..=599 => SyncError::Server {
            status,
            code: detail.code,
            message: detail.message,
        },
        _ => SyncError::Rejected {
            status,
            error: detail,
        },
    }
}

impl ApiClient {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8787`) with a bearer token.
    pub fn new(base: &str, token: &str) -> Result<Self, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("iskra-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Network(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: Arc::new(RwLock::new(token.to_owned())),
            upload_progress: None,
        })
    }

    /// A client for the server at `base` without credentials (the free generation before
    /// sign-in): its requests carry no `Authorization`.
    pub fn anonymous(base: &str) -> Result<Self, SyncError> {
        Self::new(base, "")
    }

    /// Reports the progress of every upload of this client (for progress bars).
    pub fn set_upload_progress(&mut self, progress: UploadProgress) {
        self.upload_progress = Some(progress);
    }

    /// Replaces the bearer token (after a refresh) for this client and its clones.
    pub fn set_token(&self, token: &str) {
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = token.to_owned();
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` (starting with `/`) with the bearer token (none for an
    /// [`ApiClient::anonymous`] client).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_url(method, &format!("{}{path}", self.base))
    }

    /// A request to a whole URL (one the server handed out) with the bearer token, if any.
    pub fn request_url(&self, method: Method, url: &str) -> RequestBuilder {
        let req = self.http.request(method, url);
        let token = self.token.read().unwrap_or_else(|p| p.into_inner());
        if token.is_empty() {
            req
        } else {
            req.bearer_auth(&*token)
        }
    }

    /// Sends a request; a non-2xx answer becomes an error.
    pub async fn send(&self, req: RequestBuilder) -> Result<Response, SyncError> {
        let resp = req.send().await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from(resp).await)
        }
    }

    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<T, SyncError> {
        let resp = self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))
    }

    /// `GET /v1/me`: checks the session.
    pub async fn me(&self) -> Result<Me, SyncError> {
        self.json(self.request(Method::GET, "/v1/me")).await
    }

    /// `POST /v1/projects` with the client-chosen id (idempotent: 200 when it exists).
    pub async fn create_project(
        &self,
        id: Uuid,
        name: &str,
        op: Uuid,
    ) -> Result<Project, SyncError> {
        let body = NewProject {
            id: Some(id),
            name: Some(name.to_owned()),
        };
        let req = self
            .request(Method::POST, "/v1/projects")
            .header("Idempotency-Key", op.to_string());
        self.json(req.json(&body)).await
    }

    /// `PATCH /v1/projects/{id}`.
    pub async fn rename_project(&self, id: Uuid, name: &str) -> Result<Project, SyncError> {
        let req = self.request(Method::PATCH, &format!("/v1/projects/{id}"));
        self.json(req.json(&ProjectPatch {
            name: name.to_owned(),
        }))
        .await
    }

    /// `DELETE /v1/projects/{id}`; a project the server does not have counts as deleted.
    pub async fn delete_project(&self, id: Uuid) -> Result<(), SyncError> {
        let req = self.request(Method::DELETE, &format!("/v1/projects/{id}"));
        ok_or_gone(self.send(req.timeout(REQUEST_TIMEOUT)).await)
    }

    /// `GET /v1/projects`, every page.
    pub async fn list_projects(&self) -> Result<Vec<Project>, SyncError> {
        self.list_all("/v1/projects").await
    }

    /// `POST /v1/projects/{id}/sync`: push changes, pull what others changed since `since`.
    pub async fn sync(&self, project: Uuid, req: &SyncRequest) -> Result<SyncResponse, SyncError> {
        let r = self.request(Method::POST, &format!("/v1/projects/{project}/sync"));
        self.json(r.json(req)).await
    }

    /// `GET /v1/projects/{id}/changes?since=`.
    pub async fn changes(
        &self,
        project: Uuid,
        since: Option<&str>,
    ) -> Result<ChangesResponse, SyncError> {
        let mut r = self.request(Method::GET, &format!("/v1/projects/{project}/changes"));
        if let Some(since) = since {
            r = r.query(&[("since", since)]);
        }
        self.json(r).await
    }

    /// `HEAD /v1/assets/{sha256}`: true when the server has it for this user.
    pub async fn has_asset(&self, sha256: &str) -> Result<bool, SyncError> {
        let req = self.request(Method::HEAD, &format!("/v1/assets/{sha256}"));
        match self.send(req.timeout(REQUEST_TIMEOUT)).await {
            Ok(_) => Ok(true),
            Err(SyncError::Rejected { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `PUT /v1/assets/{sha256}`, streaming the file with its MIME type.
    pub async fn upload_asset(
        &self,
        sha256: &str,
        file: &Path,
        mime: &str,
    ) -> Result<Asset, SyncError> {
        let f = tokio::fs::File::open(file).await.map_err(|e| {
            SyncError::Local(crate::EngineError::io(
                format!("opening {}", file.display()),
                e,
            ))
        })?;
        let len = f.metadata().await.map(|m| m.len()).ok();
        let progress = self.upload_progress.clone();
        let (id, total) = (sha256.to_owned(), len.unwrap_or(0));
        let mut sent = 0u64;
        let stream = tokio_util::io::ReaderStream::new(f).inspect(move |chunk| {
            if let (Some(report), Ok(chunk)) = (&progress, chunk) {
                sent += chunk.len() as u64;
                report(&id, sent, total);
            }
        });
        let body = reqwest::Body::wrap_stream(stream);
        let mut req = self
            .request(Method::PUT, &format!("/v1/assets/{sha256}"))
            .header(header::CONTENT_TYPE, mime)
            .body(body);
        if let Some(len) = len {
            req = req.header(header::CONTENT_LENGTH, len);
        }
        let resp = self.send(req).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))
    }

    /// `GET /v1/assets/{sha256}/content`, streamed into the new file `dest` (never whole in
    /// memory). The caller verifies the bytes against the hash.
    pub async fn download_asset(&self, sha256: &str, dest: &Path) -> Result<u64, SyncError> {
        let req = self.request(Method::GET, &format!("/v1/assets/{sha256}/content"));
        self.download(req, dest).await
    }

    /// Streams the body of `req` into the new file `dest` (never whole in memory).
    pub async fn download(&self, req: RequestBuilder, dest: &Path) -> Result<u64, SyncError> {
        use tokio::io::AsyncWriteExt;
        let local = |what: &str, e| {
            SyncError::Local(crate::EngineError::io(
                format!("{what} {}", dest.display()),
                e,
            ))
        };
        let resp = self.send(req).await?;
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|e| local("creating", e))?;
        let mut body = resp.bytes_stream();
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| local("writing", e))?;
        }
        out.sync_all().await.map_err(|e| local("syncing", e))?;
        Ok(written)
    }

    /// `DELETE /v1/assets/{id}`; an asset the server does not have counts as deleted.
    pub async fn delete_asset(&self, sha256: &str) -> Result<(), SyncError> {
        let req = self.request(Method::DELETE, &format!("/v1/assets/{sha256}"));
        ok_or_gone(self.send(req.timeout(REQUEST_TIMEOUT)).await)
    }

    /// `GET /v1/assets`, every page.
    pub async fn list_assets(&self) -> Result<Vec<Asset>, SyncError> {
        self.list_all("/v1/assets").await
    }

    /// `GET /v1/models`: the generation model catalogue.
    pub async fn models(&self) -> Result<ModelList, SyncError> {
        self.json(self.request(Method::GET, "/v1/models")).await
    }

    /// `GET /v1/credits`: the balance now.
    pub async fn credits(&self) -> Result<Credits, SyncError> {
        self.json(self.request(Method::GET, "/v1/credits")).await
    }

    /// `GET /v1/credits/history`: one page of the ledger, newest first.
    pub async fn credit_history(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<LedgerEntry>, SyncError> {
        let mut req = self.request(Method::GET, "/v1/credits/history");
        if let Some(c) = cursor {
            req = req.query(&[("cursor", c)]);
        }
        if let Some(l) = limit {
            req = req.query(&[("limit", l)]);
        }
        self.json(req).await
    }

    /// `GET /v1/credits/estimate`: the price of a generation before it is asked for.
    pub async fn estimate(&self, req: &EstimateRequest) -> Result<CreditEstimate, SyncError> {
        let r = self
            .request(Method::GET, "/v1/credits/estimate")
            .query(&req.query());
        self.json(r).await
    }

    /// `POST /v1/billing/checkout`: a Stripe Checkout page for `plan`.
    pub async fn checkout(&self, plan: Tier) -> Result<BillingUrl, SyncError> {
        let r = self.request(Method::POST, "/v1/billing/checkout");
        self.json(r.json(&CheckoutRequest { plan })).await
    }

    /// `POST /v1/billing/portal`: the Stripe customer portal of the account.
    pub async fn billing_portal(&self) -> Result<BillingUrl, SyncError> {
        self.json(self.request(Method::POST, "/v1/billing/portal"))
            .await
    }

    /// `POST /v1/generations` (202); `key` is the `Idempotency-Key`, so a repeat answers the
    /// same generation.
    pub async fn create_generation(
        &self,
        req: &NewGeneration,
        key: Uuid,
    ) -> Result<Generation, SyncError> {
        let r = self
            .request(Method::POST, "/v1/generations")
            .header("Idempotency-Key", key.to_string());
        self.json(r.json(req)).await
    }

    /// `GET /v1/generations/{id}`.
    pub async fn generation(&self, id: Uuid) -> Result<Generation, SyncError> {
        self.json(self.request(Method::GET, &format!("/v1/generations/{id}")))
            .await
    }

    /// `DELETE /v1/generations/{id}`: the canceled generation (409 when it already ended).
    pub async fn cancel_generation(&self, id: Uuid) -> Result<Generation, SyncError> {
        self.json(self.request(Method::DELETE, &format!("/v1/generations/{id}")))
            .await
    }

    pub(super) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, SyncError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut req = self
                .request(Method::GET, path)
                .query(&[("limit", PAGE_LIMIT)]);
            if let Some(c) = &cursor {
                req = req.query(&[("cursor", c)]);
            }
            let page: Page<T> = self.json(req).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

fn ok_or_gone(r: Result<Response, SyncError>) -> Result<(), SyncError> {
    match r {
        Ok(_) => Ok(()),
        Err(SyncError::Rejected { status, .. }) if status == StatusCode::NOT_FOUND.as_u16() => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
