//! Sharing (S10) over real HTTP on both backends: links made once per asset, the Open Graph
//! page for every named crawler (tags with absolute URLs, a structurally valid HTML5 page), the
//! viewer for people, the preview rendition, escaping of a hostile prompt in every place, the
//! headers of public content, revocation and deletion (asset, owner) ending every URL, exact
//! counts under 100 parallel downloads, and the gallery's sorts and pages.

#[macro_use]
mod common;
mod sharing {
    pub mod html5;
}

use common::media::{decodable_mp4, mp4, png, sha256_hex};
use common::svix::{new_secret, user_deleted, ClerkSender};
use common::{send, Backend, TestServer, User};
use serde_json::{json, Value};
use sharing::html5::{meta, validate};

/// A prompt that would run or break out of an attribute if it were not escaped.
const HOSTILE: &str = r#"<script>alert("x")</script> a 'quoted' & "double" <b>bold</b>"#;

/// The link-preview crawlers the page must serve.
const CRAWLERS: &[&str] = &[
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; ExampleSpider/1.0)",
];

const PERSON: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A client that does not follow redirects.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Uploads `bytes` and records it as generated from `prompt` (as the generation pipeline
/// stores its outputs); returns the asset id.
async fn generated(
    srv: &TestServer,
    user: &User,
    bytes: &[u8],
    mime: &str,
    prompt: &str,
) -> String {
    user.upload(bytes, mime).await.expect(201);
    let id = sha256_hex(bytes);
    let made = json!({"generationId": uuid::Uuid::new_v4(), "prompt": prompt,
        "model": "fal-ai/flux/schnell", "seed": 7});
    sqlx::query(
        "UPDATE assets SET source = 'generation', generation = $1 WHERE user_id = $2 AND sha256 = $3",
    )
    .bind(made.to_string())
    .bind(&user.id)
    .bind(&id)
    .execute(srv.state.store.writer())
    .await
    .expect("mark generated");
    id
}

async fn get_as(srv: &TestServer, path: &str, ua: &str) -> common::Resp {
    send(no_redirects().get(srv.url(path)).header("user-agent", ua)).await
}

/// The headers every public file and share response carries.
#[track_caller]
fn assert_public_headers(res: &common::Resp, what: &str) {
    assert_eq!(
        res.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    let csp = res.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert!(
        res.header("access-control-allow-origin").is_none(),
        "{what}"
    );
}

/// The four public URLs of a link: all served (`live`), or all 404 with the public headers —
/// the page, to a person's browser, as the small HTML page of a dead link; to crawlers and
/// programs (no browser user agent) as the API's error.
async fn assert_all(srv: &TestServer, short: &str, live: bool) {
    for (path, ua, served) in [
        (format!("/t/{short}"), CRAWLERS[0], 200),
        (format!("/t/{short}"), PERSON, 200),
        (format!("/t/{short}"), PROGRAM, 200),
        (format!("/t/{short}/image"), PERSON, 302),
        (format!("/t/{short}/og.jpg"), CRAWLERS[1], 200),
    ] {
        let res = get_as(srv, &path, ua).await;
        if live {
            assert_eq!(res.status, served, "{path} as {ua}");
        } else if ua == PERSON && !path.contains("/image") {
            assert_dead_page(&res, &path);
        } else {
            res.expect_error(404, "NOT_FOUND");
        }
        assert_public_headers(&res, &path);
    }
}

/// A program's user agent (not a browser).
const PROGRAM: &str = "curl/8.5.0";

/// The page a person's browser gets for a dead link: status 404, a small styled HTML page
/// saying so, in the page's headers (no script, nothing cached).
#[track_caller]
fn assert_dead_page(res: &common::Resp, what: &str) {
    assert_eq!(res.status, 404, "{what}");
    assert_eq!(
        res.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{what}"
    );
    assert_eq!(res.header("cache-control"), Some("no-store"), "{what}");
    let body = String::from_utf8_lossy(&res.bytes);
    assert!(body.starts_with("<!DOCTYPE html>"), "{what}: {body}");
    assert!(body.contains("This link is no longer available"), "{body}");
    assert!(
        body.contains("<style>") && !body.contains("<script"),
        "{body}"
    );
    validate(&body).unwrap_or_else(|e| panic!("{what}: {e}\n{body}"));
}

async fn links_previews_and_the_viewer(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let bob = srv.user("bob");
    let original = png(1_600, 900, 1);
    let id = generated(&srv, &alice, &original, "image/png", HOSTILE).await;

    // One link per asset: made once (201), then found (200).
    let path = format!("/v1/assets/{id}/share");
    let link = alice.post(&path, &json!({})).await.expect(201).clone();
    let short = link["shortId"].as_str().unwrap().to_owned();
    assert_eq!(short.len(), 8);
    assert!(short
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
    assert_eq!(link["url"], format!("{}/t/{short}", srv.base));
    assert_eq!(alice.post(&path, &json!({})).await.expect(200), &link);
    // Other users' assets are unknown; a malformed id is bad input.
    bob.post(&path, &json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
    bob.delete(&path).await.expect_error(404, "NOT_FOUND");
    alice
        .post("/v1/assets/zz/share", &json!({}))
        .await
        .expect_error(400, "BAD_REQUEST");

    // Every crawler gets the Open Graph page with absolute URLs.
    let page_url = format!("{}/t/{short}", srv.base);
    for ua in CRAWLERS {
        let res = get_as(&srv, &format!("/t/{short}"), ua).await;
        res.expect(200);
        assert!(res.header("content-type").unwrap().starts_with("text/html"));
        assert_public_headers(&res, ua);
        let html = String::from_utf8(res.bytes.to_vec()).unwrap();
        let tags = validate(&html).unwrap_or_else(|e| panic!("{ua}: {e}\n{html}"));
        assert_eq!(meta(&tags, "og:title"), "AI-generated image | Iskra");
        assert_eq!(meta(&tags, "og:type"), "website");
        assert_eq!(meta(&tags, "og:url"), page_url);
        assert_eq!(meta(&tags, "og:image"), format!("{page_url}/og.jpg"));
        assert_eq!(meta(&tags, "twitter:card"), "summary_large_image");
        assert_eq!(meta(&tags, "twitter:image"), format!("{page_url}/og.jpg"));
        assert_eq!(meta(&tags, "og:image:width"), "1200");
        assert_eq!(meta(&tags, "og:image:height"), "675");
        let description = meta(&tags, "og:description");
        assert_eq!(
            description, HOSTILE,
            "the whole prompt (under 150 characters)"
        );
        assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
        assert!(!tags.iter().any(|t| t.name == "script"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("&#39;quoted&#39; &amp; &quot;double&quot;"));
    }

    // The rendition: a JPEG of the announced size, at most 1,200 px wide, under 5 MB.
    let og = get_as(&srv, &format!("/t/{short}/og.jpg"), CRAWLERS[0]).await;
    og.expect(200);
    assert_eq!(og.header("content-type"), Some("image/jpeg"));
    assert_public_headers(&og, "og.jpg");
    let img = image::load_from_memory_with_format(&og.bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (1_200, 675));
    assert!(og.bytes.len() < 5_000_000);

    // A person gets the viewer: the image, its prompt (escaped), download and Open in Iskra.
    let res = get_as(&srv, &format!("/t/{short}"), PERSON).await;
    res.expect(200);
    assert_public_headers(&res, "viewer");
    let csp = res.header("content-security-policy").unwrap();
    assert!(
        csp.contains("img-src 'self'") && csp.contains("style-src 'unsafe-inline'"),
        "{csp}"
    );
    let html = String::from_utf8(res.bytes.to_vec()).unwrap();
    let tags = validate(&html).unwrap_or_else(|e| panic!("viewer: {e}\n{html}"));
    let img = tags.iter().find(|t| t.name == "img").expect("the image");
    assert!(img.attrs["src"].starts_with(&format!("{}/files/", srv.base)));
    assert_eq!(img.attrs["alt"], HOSTILE);
    let links: Vec<&str> = tags
        .iter()
        .filter(|t| t.name == "a")
        .map(|t| t.attrs["href"].as_str())
        .collect();
    assert_eq!(
        links,
        [
            format!("{page_url}/image"),
            format!("iskra://share/{short}")
        ]
    );
    assert!(html.contains("Download") && html.contains("Open in Iskra"));
    assert!(html.contains("<figcaption>&lt;script&gt;"));
    assert!(!html.contains("<script") && !html.contains("http-equiv"));
    // The viewer's image is served, with the headers of user content.
    let file = send(srv.http.get(&img.attrs["src"])).await;
    file.expect(200);
    assert_public_headers(&file, "file");
    assert!(file
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert_eq!(file.header("content-disposition"), Some("inline"));
    assert_eq!(file.bytes.as_ref(), original.as_slice());
    let content = alice.get(&format!("/v1/assets/{id}/content")).await;
    content.expect(200);
    assert_public_headers(&content, "content");
    assert_eq!(content.header("content-disposition"), Some("inline"));

    // The download: a redirect to a fresh signed URL of the bytes.
    let res = get_as(&srv, &format!("/t/{short}/image"), PERSON).await;
    assert_eq!(res.status, 302);
    assert_public_headers(&res, "image redirect");
    let location = res.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/files/", srv.base)),
        "{location}"
    );
    let file = send(srv.http.get(&location)).await;
    assert_eq!(file.bytes.as_ref(), original.as_slice());
    // A HEAD counts nothing.
    send(no_redirects().head(srv.url(&format!("/t/{short}"))))
        .await
        .expect(200);

    // Counts: one person's view (crawlers are not people), one download.
    let shares = alice.get("/v1/shares").await.expect(200).clone();
    assert_eq!(
        shares["items"],
        json!([{"shortId": short, "url": page_url, "createdAt": link["createdAt"],
            "assetId": id, "views": 1, "downloads": 1}])
    );
    assert_eq!(bob.get("/v1/shares").await.expect(200)["items"], json!([]));
    let robots = send(srv.http.get(srv.url("/robots.txt"))).await;
    assert_eq!(
        std::str::from_utf8(&robots.bytes).unwrap(),
        "User-agent: *\nAllow: /t/\nDisallow: /\n"
    );

    // A video whose frame cannot be taken (this one has no decodable frame) gets the
    // placeholder preview, and people a video element.
    let video = mp4(64, 48);
    alice.upload(&video, "video/mp4").await.expect(201);
    let vid = sha256_hex(&video);
    let vlink = alice
        .post(&format!("/v1/assets/{vid}/share"), &json!({}))
        .await
        .expect(201)
        .clone();
    let vshort = vlink["shortId"].as_str().unwrap();
    let res = get_as(&srv, &format!("/t/{vshort}"), CRAWLERS[2]).await;
    let tags = validate(std::str::from_utf8(&res.bytes).unwrap()).unwrap();
    assert_eq!(meta(&tags, "og:title"), "Shared video | Iskra");
    assert_eq!(
        (
            meta(&tags, "og:image:width"),
            meta(&tags, "og:image:height")
        ),
        ("1200".to_owned(), "630".to_owned())
    );
    let og = get_as(&srv, &format!("/t/{vshort}/og.jpg"), CRAWLERS[2]).await;
    let img = image::load_from_memory(&og.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1_200, 630));
    let res = get_as(&srv, &format!("/t/{vshort}"), PERSON).await;
    let tags = validate(std::str::from_utf8(&res.bytes).unwrap()).unwrap();
    assert!(tags.iter().any(|t| t.name == "video"));

    // A decodable video's preview is its first frame, at the video's size.
    let real = decodable_mp4(320, 240);
    alice.upload(&real, "video/mp4").await.expect(201);
    let rlink = alice
        .post(
            &format!("/v1/assets/{}/share", sha256_hex(&real)),
            &json!({}),
        )
        .await
        .expect(201)
        .clone();
    let rshort = rlink["shortId"].as_str().unwrap();
    let res = get_as(&srv, &format!("/t/{rshort}"), CRAWLERS[0]).await;
    let tags = validate(std::str::from_utf8(&res.bytes).unwrap()).unwrap();
    assert_eq!(
        (
            meta(&tags, "og:image:width"),
            meta(&tags, "og:image:height")
        ),
        ("320".to_owned(), "240".to_owned())
    );
    let og = get_as(&srv, &format!("/t/{rshort}/og.jpg"), CRAWLERS[0]).await;
    og.expect(200);
    let frame = image::load_from_memory_with_format(&og.bytes, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8();
    assert_eq!(frame.dimensions(), (320, 240));
    // ffmpeg's test pattern is colour bars, not the placeholder's single tone.
    let (first, mid) = (frame.get_pixel(10, 10), frame.get_pixel(160, 10));
    assert_ne!(first, mid, "the preview is not the video's frame");

    // Revoked: every URL answers 404; a second revoke too; sharing again makes a new link.
    alice.delete(&path).await.expect(204);
    assert_all(&srv, &short, false).await;
    alice.delete(&path).await.expect_error(404, "NOT_FOUND");
    let again = alice.post(&path, &json!({})).await.expect(201).clone();
    let again = again["shortId"].as_str().unwrap().to_owned();
    assert_ne!(again, short);
    assert_all(&srv, &again, true).await;
    // Deleting the asset ends its link and its rendition.
    alice.delete(&format!("/v1/assets/{id}")).await.expect(204);
    assert_all(&srv, &again, false).await;
    let blobs = srv.blobs().await;
    assert!(
        !blobs.iter().any(|k| k.contains(&id)),
        "no blob of the deleted asset is left: {blobs:?}"
    );
    // Ids that are not short ids, and unknown ones.
    for path in [
        "/t/short",
        "/t/AAAAAAAA",
        "/t/AAAAAAAA/image",
        "/t/%3Cscript%3E/og.jpg",
    ] {
        for ua in [PERSON, PROGRAM, CRAWLERS[0]] {
            let res = get_as(&srv, path, ua).await;
            // The page itself (not the image or preview) to a person.
            if ua == PERSON && !path["/t/".len()..].contains('/') {
                assert_dead_page(&res, path);
            } else {
                res.expect_error(404, "NOT_FOUND");
            }
            assert_public_headers(&res, path);
        }
    }
}

async fn downloads_are_counted_exactly(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let id = generated(&srv, &alice, &png(40, 30, 2), "image/png", "a lighthouse").await;
    let link = alice
        .post(&format!("/v1/assets/{id}/share"), &json!({}))
        .await
        .expect(201)
        .clone();
    let short = link["shortId"].as_str().unwrap().to_owned();
    let http = no_redirects();
    let downloads = (0..100).map(|_| {
        let req = http.get(srv.url(&format!("/t/{short}/image")));
        async move { send(req).await.status }
    });
    let statuses = futures::future::join_all(downloads).await;
    assert_eq!(statuses.iter().filter(|s| **s == 302).count(), 100);
    let page = format!("/t/{short}");
    let views = (0..20).map(|_| get_as(&srv, &page, PERSON));
    let views = futures::future::join_all(views).await;
    assert!(views.iter().all(|r| r.status == 200));
    let shares = alice.get("/v1/shares").await;
    let item = &shares.expect(200)["items"][0];
    assert_eq!(
        (item["downloads"].as_i64(), item["views"].as_i64()),
        (Some(100), Some(20))
    );
}

async fn deleting_the_owner_ends_every_link(b: Backend) {
    let secret = new_secret();
    let srv = TestServer::start(b, |cfg| {
        cfg.clerk_webhook_secret = Some(secret.clone());
        cfg.accounts.deletion_settle_secs = 0;
    })
    .await;
    let alice = srv.user("alice");
    let carol = srv.user("carol");
    let id = generated(&srv, &alice, &png(300, 200, 3), "image/png", "a fox").await;
    let short = alice
        .post(&format!("/v1/assets/{id}/share"), &json!({}))
        .await
        .expect(201)["shortId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cid = generated(&srv, &carol, &png(300, 200, 4), "image/png", "a cat").await;
    let kept = carol
        .post(&format!("/v1/assets/{cid}/share"), &json!({}))
        .await
        .expect(201)["shortId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_all(&srv, &short, true).await;

    ClerkSender::new(&srv.base, &secret)
        .deliver("msg_share_1", &user_deleted("alice"))
        .await
        .expect(200);
    // From the moment the deletion is recorded, before the rows are gone.
    assert_all(&srv, &short, false).await;
    common::poll_until("the owner's rows are deleted", || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE id = 'alice'")
            .fetch_one(srv.state.store.pool())
            .await
            .unwrap();
        n == 0
    })
    .await;
    let (links,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shares WHERE user_id = 'alice'")
        .fetch_one(srv.state.store.pool())
        .await
        .unwrap();
    assert_eq!(links, 0);
    assert_all(&srv, &short, false).await;
    let rendition = iskra_server::sharing::rendition_key("alice", &id);
    assert!(matches!(
        srv.state.blobs.get(&rendition).await,
        Err(iskra_server::blobs::BlobError::NotFound)
    ));
    // Another user's link is untouched.
    assert_all(&srv, &kept, true).await;
}

async fn the_gallery_sorts_and_pages(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let mut ids = Vec::new();
    for seed in 0..3 {
        let prompt = format!("prompt {seed}");
        ids.push(generated(&srv, &alice, &png(64, 48, 10 + seed), "image/png", &prompt).await);
    }
    // An upload and a generated video are not in the gallery.
    alice
        .upload(&png(20, 20, 99), "image/png")
        .await
        .expect(201);
    let http = no_redirects();
    for (n, id) in ids.iter().enumerate().take(2) {
        let link = alice
            .post(&format!("/v1/assets/{id}/share"), &json!({}))
            .await
            .expect(201)
            .clone();
        for _ in 0..(n + 1) * 2 {
            let short = link["shortId"].as_str().unwrap();
            send(http.get(srv.url(&format!("/t/{short}/image")))).await;
        }
    }
    let all = alice.list_all("/v1/gallery", "limit=2").await;
    assert_eq!(all.len(), 3);
    let order: Vec<&str> = all.iter().map(|i| i["assetId"].as_str().unwrap()).collect();
    assert_eq!(order, [&ids[2], &ids[1], &ids[0]], "newest first");
    let first = &all[2];
    assert_eq!(first["prompt"], "prompt 0");
    assert_eq!(first["model"], "fal-ai/flux/schnell");
    assert_eq!(first["size"], "64x48");
    assert_eq!(first["downloads"], 2);
    assert!(first["share"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&srv.base));
    assert_eq!(all[0]["share"], Value::Null);
    let by_downloads = alice
        .list_all("/v1/gallery", "sort=downloads&order=desc&limit=1")
        .await;
    let counts: Vec<i64> = by_downloads
        .iter()
        .map(|i| i["downloads"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [4, 2, 0]);
    let asc = alice
        .list_all("/v1/gallery", "sort=downloads&order=asc&limit=2")
        .await;
    assert_eq!(asc[0]["assetId"], ids[2].as_str());
    alice
        .get("/v1/gallery?sort=size")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    alice
        .get("/v1/gallery?order=up")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    alice
        .get("/v1/gallery?cursor=zz")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    alice
        .get("/v1/shares?limit=0")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    assert_eq!(
        srv.user("bob").get("/v1/gallery").await.expect(200)["items"],
        json!([])
    );
    srv.anonymous()
        .get("/v1/gallery")
        .await
        .expect_error(401, "UNAUTHENTICATED");
}

backend_tests!(
    links_previews_and_the_viewer,
    downloads_are_counted_exactly,
    deleting_the_owner_ends_every_link,
    the_gallery_sorts_and_pages,
);
