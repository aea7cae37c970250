//! The loopback redirect listener of the browser sign-in (RFC 8252 §7.3): accepts connections
//! on `127.0.0.1:<random port>` until one asks for [`super::CALLBACK_PATH`], reads its query
//! (`code`, `state`, `error`), and answers the browser with a short page. Other paths (a
//! browser's `/favicon.ico`) get a 404 and the wait goes on. Only the request line is read.

use super::{AuthError, CALLBACK_PATH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Longest request line accepted (the query carries a code and a state).
const MAX_REQUEST_LINE: u64 = 8 * 1024;

/// What the browser brought back.
#[derive(Debug, Default)]
pub(super) struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Parses `GET /callback?x=y HTTP/1.1`; `None` for another path or method.
fn parse_request_line(line: &str) -> Option<Redirect> {
    let mut parts = line.split_whitespace();
    if parts.next()? != "GET" {
        return None;
    }
    let target = parts.next()?;
    let url = oauth2::url::Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    if url.path() != CALLBACK_PATH {
        return None;
    }
    let mut r = Redirect::default();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "code" => r.code = Some(v.into_owned()),
            "state" => r.state = Some(v.into_owned()),
            "error" => r.error = Some(v.into_owned()),
            _ => {}
        }
    }
    Some(r)
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, body: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Waits for the redirect to [`CALLBACK_PATH`].
pub(super) async fn wait_for_redirect(listener: &TcpListener) -> Result<Redirect, AuthError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| AuthError::Network(format!("loopback redirect: {e}")))?;
        let mut line = String::new();
        let read = {
            let mut reader = BufReader::new((&mut stream).take(MAX_REQUEST_LINE));
            reader.read_line(&mut line).await
        };
        if read.is_err() {
            continue;
        }
        match parse_request_line(&line) {
            Some(r) => {
                let body = "<!doctype html><title>Iskra</title><p>Signed in. You can close this \
                            tab and return to Iskra.</p>";
                respond(&mut stream, "200 OK", body).await;
                return Ok(r);
            }
            None => respond(&mut stream, "404 Not Found", "").await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_callback_query_and_ignores_other_paths() {
        let r = parse_request_line("GET /callback?code=abc&state=x%20y HTTP/1.1\r\n").unwrap();
        assert_eq!(r.code.as_deref(), Some("abc"));
        assert_eq!(r.state.as_deref(), Some("x y"));
        assert!(parse_request_line("GET /favicon.ico HTTP/1.1").is_none());
        assert!(parse_request_line("POST /callback?code=a HTTP/1.1").is_none());
        assert!(parse_request_line("garbage").is_none());
    }
}
