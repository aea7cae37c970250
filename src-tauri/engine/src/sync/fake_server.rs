//! A tiny HTTP/1.1 server for the sync client's tests: answers each request with what a
//! closure returns and records every request. Enough HTTP for reqwest (Content-Length and
//! chunked request bodies, one request per connection); not a server for anything else.
//! [`healthy`] answers the sync routes like a server with no other devices.
//!
//! Free of `crate::` paths, so the CLI tests include this file too.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path with query string.
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// A canned response.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"error": {"code": code, "message": message}}),
        )
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A project as `POST /v1/projects` answers it.
pub fn project_json(id: &serde_json::Value, name: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"id": id, "name": name, "createdAt": "2025-01-01T00:00:00.000Z",
           "updatedAt": "2025-01-01T00:00:00.000Z", "imageCount": 0, "videoCount": 0,
           "thumbnailAssetId": null})
}

/// Answers like a healthy server with no other devices (404 for what it does not know).
pub fn healthy(req: &Req) -> Resp {
    use serde_json::json;
    let path = req.path.split('?').next().unwrap_or("");
    match (req.method.as_str(), path) {
        ("POST", "/v1/projects") => {
            let b = req.json();
            Resp::json(201, project_json(&b["id"], &b["name"]))
        }
        ("PATCH", _) => Resp::json(200, project_json(&json!(uuid::Uuid::nil()), &json!("x"))),
        ("POST", p) if p.ends_with("/sync") => {
            Resp::json(200, json!({"cursor": "c1", "changes": [], "rejected": []}))
        }
        ("GET", "/v1/projects") => Resp::json(200, json!({"items": [], "nextCursor": null})),
        ("GET", p) if p.ends_with("/changes") => {
            Resp::json(200, json!({"cursor": "c1", "changes": []}))
        }
        _ => Resp::error(404, "NOT_FOUND", "not found"),
    }
}

type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

/// A running fake server.
pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Req>>>,
}

impl FakeServer {
    /// Binds 127.0.0.1:0 (bound before this returns, so no race) and serves `handler`.
    pub async fn start(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                tokio::spawn(async move {
                    let _ = serve_one(stream, handler, log).await;
                });
            }
        });
        Self { url, requests }
    }

    /// `METHOD path` of every request so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    handler: Handler,
    log: Arc<Mutex<Vec<Req>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).await?;
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let req = Req {
        method,
        path,
        headers,
        body,
    };
    let resp = handler(&req);
    log.lock().unwrap().push(req);
    let mut out = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&resp.body);
    let mut stream = reader.into_inner();
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// A server address nothing listens on: every connection is refused (a server that is down).
pub fn unreachable_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}
