//! Requests as a user and their responses: every response read here must carry `x-request-id`,
//! and error responses are checked against the docs/api.md shape.

use super::media::sha256_hex;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use uuid::Uuid;

/// A read response: status, headers, raw body and the body as JSON (`Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: bytes::Bytes,
    pub json: Value,
}

impl Resp {
    /// Reads a whole response; fails the test when it has no `x-request-id`.
    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("response body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let resp = Resp {
            status,
            headers,
            bytes,
            json,
        };
        assert!(
            resp.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "no x-request-id: {resp:?}"
        );
        resp
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        &self.json
    }

    /// Asserts an docs/api.md error with this status and code; returns the `error` object.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        self.expect(status);
        assert_error_shape(&self.json);
        assert_eq!(self.json["error"]["code"], code, "{}", self.json);
        &self.json["error"]
    }
}

/// Asserts `{"error": {"code": "UPPER_SNAKE", "message": "…", …}}`.
#[track_caller]
pub fn assert_error_shape(body: &Value) {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"));
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "code {code:?}"
    );
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {body}"));
    assert!(!message.is_empty(), "empty error message in {body}");
}

/// Sends a request and reads the response.
pub async fn send(req: RequestBuilder) -> Resp {
    Resp::read(req.send().await.expect("request failed")).await
}

/// Status and JSON body of a response; an event stream is not read (dropping it closes it).
pub async fn status_of(req: RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request failed");
    assert!(
        res.headers().contains_key("x-request-id"),
        "no x-request-id"
    );
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("text/event-stream") {
        return (status, Value::Null);
    }
    let bytes = res.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A caller of the API: a user with a bearer token, or anonymous.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
    pub base: String,
}

impl User {
    pub fn new(http: reqwest::Client, base: &str, id: &str, token: Option<String>) -> User {
        User {
            id: id.to_owned(),
            token,
            http,
            base: base.to_owned(),
        }
    }

    /// A request to `path` with this user's bearer token (if any).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        send(self.request(Method::GET, path)).await
    }

    pub async fn head(&self, path: &str) -> Resp {
        send(self.request(Method::HEAD, path)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        send(self.request(Method::PATCH, path).json(body)).await
    }

    /// `PUT /v1/assets/{sha256 of bytes}` with this Content-Type.
    pub async fn upload(&self, bytes: &[u8], content_type: &str) -> Resp {
        self.upload_as(&sha256_hex(bytes), bytes.to_vec(), content_type)
            .await
    }

    /// `PUT /v1/assets/{sha}` with any body.
    pub async fn upload_as(&self, sha: &str, bytes: Vec<u8>, content_type: &str) -> Resp {
        let req = self
            .request(Method::PUT, &format!("/v1/assets/{sha}"))
            .header("content-type", content_type);
        send(req.body(bytes)).await
    }

    /// Creates a project (201) and returns it.
    pub async fn create_project(&self, name: Option<&str>) -> Value {
        let body = match name {
            Some(n) => json!({ "name": n }),
            None => json!({}),
        };
        self.post("/v1/projects", &body).await.expect(201).clone()
    }

    /// Creates a project and returns its id.
    pub async fn new_project(&self) -> Uuid {
        let p = self.create_project(None).await;
        p["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("project id")
    }

    /// `GET /v1/projects/{id}` (200) as JSON.
    pub async fn project(&self, id: Uuid) -> Value {
        self.get(&format!("/v1/projects/{id}"))
            .await
            .expect(200)
            .clone()
    }

    /// The storage object of `GET /v1/quota`.
    pub async fn storage(&self) -> Value {
        self.get("/v1/quota").await.expect(200)["storage"].clone()
    }

    /// Every page of a list, following `nextCursor`; `query` is appended to each request.
    pub async fn list_all(&self, path: &str, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let sep = if query.is_empty() { "" } else { "&" };
            let url = match &cursor {
                Some(c) => format!("{path}?{query}{sep}cursor={c}"),
                None => format!("{path}?{query}"),
            };
            let page = self.get(&url).await.expect(200).clone();
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("list {path} never ended");
    }
}

/// The `id` fields of list items, as strings.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}
