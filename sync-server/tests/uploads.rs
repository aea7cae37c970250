//! Upload refusals (S4, X3): too large, forged or mismatched type, undecodable, over the pixel
//! limit, wrong hash, cut off mid-body. Each gets its status and docs/api.md error, and afterwards
//! the quota is unchanged and no file is left in the temp dir or the blob store (the blob
//! directory, or the S3 bucket listed under the server's prefix).

#[macro_use]
mod common;

use common::media::{forged_png, jpeg, noise, png, png_header, sha256_hex};
use common::{poll_until, Backend, Resp, TestServer, User};
use iskra_server::config::DEFAULT_MAX_UPLOAD_BYTES;
use reqwest::Method;
use tokio::io::AsyncWriteExt;

/// Asserts that nothing of a refused upload remains: quota as `before`, no temp file, no blob.
async fn assert_nothing_stored(
    srv: &TestServer,
    user: &User,
    before: &serde_json::Value,
    sha: &str,
) {
    assert_eq!(
        &user.storage().await,
        before,
        "quota changed by a refused upload"
    );
    assert_eq!(
        srv.tmp_files(),
        Vec::<std::path::PathBuf>::new(),
        "temp files left behind"
    );
    let blobs = srv.blobs().await;
    assert!(blobs.is_empty(), "blobs left behind: {blobs:?}");
    assert!(
        user.list_all("/v1/assets", "").await.is_empty(),
        "an asset was listed"
    );
    user.head(&format!("/v1/assets/{sha}")).await.expect(404);
}

/// A user that exists (first request made) with an empty quota.
async fn fresh_user(srv: &TestServer) -> (User, serde_json::Value) {
    let alice = srv.user("alice");
    let before = alice.storage().await;
    assert_eq!(before["usedBytes"], 0);
    (alice, before)
}

async fn refused_uploads_leave_nothing_behind(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, before) = fresh_user(&srv).await;
    let text = b"just some notes, not an image at all\n".repeat(40);
    let (png_bytes, jpeg_bytes) = (png(32, 32, 7), jpeg(32, 32, 7));
    let mut garbage = png_header(16, 16);
    garbage.extend(noise(3, 2000));
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "PNG header on random bytes",
            garbage,
            "image/png",
            422,
            "INVALID_MEDIA",
        ),
        (
            "text named .png",
            text.clone(),
            "image/png",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "text without a claim",
            text,
            "application/octet-stream",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "JPEG bytes claimed as PNG",
            jpeg_bytes,
            "image/png",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "PNG claimed as video",
            png_bytes,
            "video/mp4",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "30000x30000 PNG",
            forged_png(30_000, 30_000),
            "image/png",
            422,
            "INVALID_MEDIA",
        ),
    ];
    for (what, bytes, content_type, status, code) in cases {
        let sha = sha256_hex(&bytes);
        let res = alice.upload(&bytes, content_type).await;
        assert_eq!(res.status, status, "{what}: {}", res.json);
        res.expect_error(status, code);
        assert_nothing_stored(&srv, &alice, &before, &sha).await;
    }
    // The hash in the path must be the hash of the body.
    let bytes = png(8, 8, 1);
    let wrong = sha256_hex(b"other bytes");
    alice
        .upload_as(&wrong, bytes.clone(), "image/png")
        .await
        .expect_error(422, "INVALID_MEDIA");
    assert_nothing_stored(&srv, &alice, &before, &wrong).await;
    alice
        .head(&format!("/v1/assets/{}", sha256_hex(&bytes)))
        .await
        .expect(404);
    alice
        .upload_as("not-a-hash", bytes, "image/png")
        .await
        .expect_error(400, "BAD_REQUEST");
    // The server is still fine and takes a valid upload afterwards.
    srv.anonymous().get("/health").await.expect(200);
    alice.upload(&png(8, 8, 2), "image/png").await.expect(201);
}

async fn one_byte_over_the_limit_is_413(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, before) = fresh_user(&srv).await;
    let mut bytes = png_header(64, 64);
    bytes.resize(DEFAULT_MAX_UPLOAD_BYTES as usize + 1, 0);
    let sha = sha256_hex(&bytes);
    let err = alice.upload(&bytes, "image/png").await;
    assert_eq!(
        err.expect_error(413, "PAYLOAD_TOO_LARGE")["limitBytes"],
        DEFAULT_MAX_UPLOAD_BYTES
    );
    assert_nothing_stored(&srv, &alice, &before, &sha).await;
    // Without a Content-Length (chunked), the stream is cut at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let req = alice
        .request(Method::PUT, &format!("/v1/assets/{sha}"))
        .header("content-type", "image/png");
    let res = common::send(req.body(body)).await;
    res.expect_error(413, "PAYLOAD_TOO_LARGE");
    assert_nothing_stored(&srv, &alice, &before, &sha).await;
}

/// Sends a PUT announcing `declared` bytes but writes only `bytes`, over a raw socket.
async fn partial_upload(
    srv: &TestServer,
    user: &User,
    sha: &str,
    declared: usize,
    bytes: &[u8],
) -> tokio::net::TcpStream {
    let mut sock = tokio::net::TcpStream::connect(srv.addr)
        .await
        .expect("connect");
    let head = format!(
        "PUT /v1/assets/{sha} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nContent-Length: {declared}\r\n\r\n",
        srv.addr,
        user.token.as_deref().unwrap()
    );
    sock.write_all(head.as_bytes()).await.expect("write head");
    sock.write_all(bytes).await.expect("write body");
    sock.flush().await.expect("flush");
    sock
}

async fn upload_cut_off_mid_body_leaves_nothing_behind(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, before) = fresh_user(&srv).await;
    let mut full = png_header(500, 500);
    full.extend(noise(9, 1_000_000 - full.len()));
    let sha = sha256_hex(&full);
    let sock = partial_upload(&srv, &alice, &sha, full.len(), &full[..1000]).await;
    poll_until("the upload is being received into the temp dir", || async {
        !srv.tmp_files().is_empty()
    })
    .await;
    drop(sock);
    poll_until("the cut-off upload's temp file is gone", || async {
        srv.tmp_files().is_empty()
    })
    .await;
    assert_nothing_stored(&srv, &alice, &before, &sha).await;
    let ok: Resp = alice.get("/v1/me").await;
    ok.expect(200);
}

backend_tests!(
    refused_uploads_leave_nothing_behind,
    one_byte_over_the_limit_is_413,
    upload_cut_off_mid_body_leaves_nothing_behind,
);
