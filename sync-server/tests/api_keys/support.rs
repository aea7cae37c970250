//! Shared helpers of the API key tests: creating keys, requests made with a key, and the log
//! capture the secrecy checks grep.

pub use crate::common::logs::{capture_logs, logs};
use crate::common::{send, Resp, TestServer, User};
use reqwest::Method;
use serde_json::{json, Value};

/// A caller that presents an API key (`x-api-key`).
#[derive(Clone)]
pub struct KeyClient {
    pub key: String,
    pub http: reqwest::Client,
    pub base: String,
}

impl KeyClient {
    pub fn new(srv: &TestServer, key: &str) -> KeyClient {
        KeyClient {
            key: key.to_owned(),
            http: srv.http.clone(),
            base: srv.base.clone(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
    }

    pub async fn get(&self, path: &str) -> Resp {
        send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        send(self.request(Method::POST, path).json(body)).await
    }
}

/// Creates a key named `name` with `scopes` (all when `None`); returns the whole answer.
pub async fn create_key(user: &User, name: &str, scopes: Option<&[&str]>) -> Value {
    let body = match scopes {
        Some(s) => json!({ "name": name, "scopes": s }),
        None => json!({ "name": name }),
    };
    user.post("/v1/api-keys", &body).await.expect(201).clone()
}

/// The usage total of one key over the default range (the last 30 days) (read with the bearer token, which counts nothing).
pub async fn usage_of(user: &User, key_id: &str) -> Value {
    let res = user.get(&format!("/v1/images/usage?keyId={key_id}")).await;
    res.expect(200)["total"].clone()
}

/// A `multipart/form-data` body built by hand (the test client has no multipart feature).
#[derive(Default)]
pub struct Form {
    body: Vec<u8>,
}

/// The boundary of [`Form`] bodies.
const BOUNDARY: &str = "iskra-test-boundary-7d1f";

impl Form {
    /// Adds a text part.
    pub fn text(mut self, name: &str, value: &str) -> Form {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
        self.body.extend_from_slice(head.as_bytes());
        self
    }

    /// Adds a file part with this Content-Type.
    pub fn file(mut self, name: &str, content_type: &str, bytes: &[u8]) -> Form {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
             filename=\"upload\"\r\nContent-Type: {content_type}\r\n\r\n"
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The finished body on `req`, with its Content-Type.
    pub fn attach(mut self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        self.body
            .extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        req.header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(self.body)
    }
}
