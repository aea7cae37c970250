//! Headers of content that anyone can reach: user files and share responses.
//!
//! [`security_headers`] runs on every response: `X-Content-Type-Options: nosniff` everywhere;
//! on user content (`/files/…`, `/v1/assets/{id}/content`) and on `/t/…` a
//! `Content-Security-Policy` that sandboxes the document and allows nothing to load, unless
//! the handler set a policy of its own (the share page, [`page_csp`]); on user content that
//! succeeded, a `Content-Disposition` that shows images and videos inline and makes anything
//! else a download, so an upload is never rendered as a page.

use axum::extract::Request;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

/// `X-Content-Type-Options`.
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
/// The policy of user content and of share responses other than the page: no scripts, no
/// loads, a sandboxed document.
pub const CONTENT_CSP: &str = "default-src 'none'; sandbox";

/// The share page's policy: images and media from this server and the storage origin, inline
/// styles, nothing else (no scripts, forms, frames or base changes).
pub fn page_csp(storage_origin: &str) -> String {
    format!(
        "default-src 'none'; img-src 'self' {storage_origin}; media-src 'self' {storage_origin}; \
         style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an absolute URL.
pub fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..]
        .find('/')
        .map_or(url, |end| &url[..start + end])
}

/// Whether a path serves a user's bytes.
fn is_user_content(uri: &Uri) -> bool {
    let path = uri.path();
    path.starts_with("/files/") || (path.starts_with("/v1/assets/") && path.ends_with("/content"))
}

/// Sets the headers of the module notes on a response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let user_content = is_user_content(req.uri());
    let share = req.uri().path().starts_with("/t/");
    let mut res = next.run(req).await;
    let success = res.status().is_success();
    let headers = res.headers_mut();
    headers.insert("x-content-type-options", NOSNIFF);
    if user_content || share {
        headers
            .entry(CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(CONTENT_CSP));
    }
    if user_content && success && !headers.contains_key(CONTENT_DISPOSITION) {
        let media = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                (t.starts_with("image/") && !t.starts_with("image/svg")) || t.starts_with("video/")
            });
        let disposition = if media { "inline" } else { "attachment" };
        headers.insert(CONTENT_DISPOSITION, HeaderValue::from_static(disposition));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            origin("https://a.example:8443/x/y"),
            "https://a.example:8443"
        );
        assert_eq!(origin("http://127.0.0.1:80"), "http://127.0.0.1:80");
    }
}
