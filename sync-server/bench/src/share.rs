//! `/t/{shortId}` as link-preview crawlers read it: one shared 1600×900 PNG (its preview
//! rendition made when it is shared), then 50 crawlers (`Twitterbot`) fetching the page back
//! to back. Each answer must be the Open Graph page (200 with `og:image`). The figures: pages
//! per second, and the latency of one page.

use crate::load::{self, Client, Span};
use crate::report::{Bound, Row};
use crate::server::Server;
use anyhow::{ensure, Context, Result};
use image::{ImageFormat, Rgb, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Crawlers fetching at once.
const CRAWLERS: usize = 50;
/// Untimed pages per crawler first.
const WARMUP: usize = 5;

/// A crawler fetching one share page.
struct Crawler {
    http: reqwest::Client,
    url: String,
}

impl Client for Crawler {
    async fn once(&mut self) -> Result<u64> {
        let res = self
            .http
            .get(&self.url)
            .header("user-agent", "Twitterbot/1.0")
            .send()
            .await?;
        ensure!(res.status() == 200, "share page: {}", res.status());
        let html = res.text().await?;
        ensure!(html.contains("og:image"), "not the Open Graph page");
        Ok(1)
    }
}

/// Shares one image and returns its page URL.
async fn shared_page(server: &Server) -> Result<String> {
    let token = server.token("share-bench").await?;
    let img = RgbImage::from_fn(1_600, 900, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, ImageFormat::Png)?;
    let png = png.into_inner();
    let sha = hex::encode(Sha256::digest(&png));
    let http = reqwest::Client::new();
    let put = http
        .put(server.url(&format!("/v1/assets/{sha}")))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await?;
    ensure!(put.status().is_success(), "upload: {}", put.status());
    let share = http
        .post(server.url(&format!("/v1/assets/{sha}/share")))
        .bearer_auth(&token)
        .send()
        .await?;
    ensure!(share.status() == 201, "share: {}", share.status());
    let link: serde_json::Value = share.json().await?;
    link["url"]
        .as_str()
        .map(str::to_owned)
        .context("no url in the share answer")
}

/// The crawler page figures.
pub async fn run(server: &Server, span: Span) -> Result<Vec<Row>> {
    let url = shared_page(server).await?;
    let http = reqwest::Client::new();
    let crawlers = (0..CRAWLERS)
        .map(|_| Crawler {
            http: http.clone(),
            url: url.clone(),
        })
        .collect();
    let out = load::drive(crawlers, WARMUP, span, None).await?;
    let name = |what: &str| {
        format!("GET /t/{{id}} crawler page, {CRAWLERS} crawlers back to back: {what}")
    };
    Ok(vec![
        Row::new(name("throughput"), out.rate(), "pages/s", Bound::Info),
        Row::new(name("p50"), out.percentile_ms(0.50), "ms", Bound::Info),
        Row::new(name("p99"), out.percentile_ms(0.99), "ms", Bound::Info),
    ])
}
