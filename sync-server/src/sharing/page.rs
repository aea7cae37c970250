//! The share page `/t/{shortId}`: one document for crawlers and people. Its head carries the
//! Open Graph and Twitter card tags; people also get the viewer (the image or video, its
//! prompt, a download button and "Open in Iskra"). Inline CSS only: no scripts, no external
//! resources (see [`super::headers::page_csp`]). A person opening a dead link gets
//! [`render_gone`] instead.

use super::html::{truncate, Html};

/// Longest `og:description` (the prompt).
pub const DESCRIPTION_CHARS: usize = 150;

/// What the page shows; every URL is absolute.
pub struct SharePage<'a> {
    /// The prompt of a generated asset (none for an upload).
    pub prompt: Option<&'a str>,
    pub video: bool,
    /// `{base}/t/{shortId}`.
    pub page_url: &'a str,
    /// The preview rendition (`{base}/t/{shortId}/og.jpg`) and its size.
    pub og_image: &'a str,
    pub og_width: i64,
    pub og_height: i64,
    /// The media itself (a fresh signed URL).
    pub media_url: &'a str,
    pub mime: &'a str,
    /// `{base}/t/{shortId}/image`.
    pub download_url: &'a str,
    /// `iskra://share/{shortId}`.
    pub app_url: &'a str,
}

impl SharePage<'_> {
    pub fn title(&self) -> &'static str {
        match (self.prompt.is_some(), self.video) {
            (true, false) => "AI-generated image | Iskra",
            (true, true) => "AI-generated video | Iskra",
            (false, false) => "Shared image | Iskra",
            (false, true) => "Shared video | Iskra",
        }
    }

    /// The prompt cut to [`DESCRIPTION_CHARS`], or a neutral line.
    pub fn description(&self) -> String {
        match self.prompt.filter(|p| !p.trim().is_empty()) {
            Some(p) => truncate(p.trim(), DESCRIPTION_CHARS),
            None if self.video => "A video shared from Iskra.".to_owned(),
            None => "An image shared from Iskra.".to_owned(),
        }
    }
}

const STYLE: &str = "<style>\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
background:#0f1115;color:#e8e8ea;min-height:100vh;display:flex;flex-direction:column;align-items:center}\
header{width:100%;max-width:960px;padding:20px 24px;font-weight:600;letter-spacing:.02em;color:#f6a23a}\
main{width:100%;max-width:960px;padding:0 24px 48px}\
figure{margin:0;background:#181b22;border-radius:14px;overflow:hidden;box-shadow:0 10px 40px rgba(0,0,0,.45)}\
img,video{display:block;width:100%;height:auto;max-height:75vh;object-fit:contain;background:#0b0c10}\
figcaption{padding:18px 22px;color:#c9cad1;white-space:pre-wrap;overflow-wrap:anywhere}\
nav{display:flex;gap:12px;flex-wrap:wrap;margin-top:20px}\
a.button{display:inline-block;padding:11px 20px;border-radius:10px;text-decoration:none;font-weight:600}\
a.primary{background:#f6a23a;color:#14161b}\
a.secondary{border:1px solid #3a3f4b;color:#e8e8ea}\
a.button:hover{filter:brightness(1.1)}\
footer{margin-top:auto;padding:16px;color:#6f7380;font-size:13px}\
</style>";

/// What a person opening a dead link (revoked, its file or owner deleted, never made) reads:
/// a small page in the viewer's style, served with status 404.
pub fn render_gone() -> String {
    let mut html = Html::new();
    html.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .raw("<meta name=\"robots\" content=\"noindex\">\n")
        .element("title", &[], "Link not available | Iskra")
        .raw("\n")
        .raw(STYLE)
        .raw(GONE_STYLE)
        .raw("\n</head>\n<body>\n<header>Iskra</header>\n<main>\n<section class=\"gone\">\n")
        .element("p", &[("class", "code")], "404")
        .raw("\n")
        .element("h1", &[], "This link is no longer available")
        .raw("\n")
        .element(
            "p",
            &[],
            "The image or video was removed, or its owner stopped sharing it.",
        )
        .raw("\n</section>\n</main>\n<footer>Made with Iskra</footer>\n</body>\n</html>\n");
    html.finish()
}

/// The dead-link page's own rules, on top of [`STYLE`].
const GONE_STYLE: &str = "<style>\
.gone{margin:12vh auto 0;max-width:480px;padding:40px 32px;text-align:center;background:#181b22;\
border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.45)}\
.gone .code{margin:0;font-size:44px;font-weight:700;letter-spacing:.04em;color:#f6a23a}\
.gone h1{margin:8px 0 10px;font-size:22px;line-height:1.3}\
.gone p{margin:0;color:#9a9dab}\
</style>";

/// The whole document; `viewer` adds the viewer for people (crawlers get the tags and a plain
/// body).
pub fn render(p: &SharePage<'_>, viewer: bool) -> String {
    let title = p.title();
    let description = p.description();
    let (w, h) = (p.og_width.to_string(), p.og_height.to_string());
    let mut html = Html::new();
    html.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .raw("<meta name=\"robots\" content=\"noindex\">\n")
        .element("title", &[], title)
        .raw("\n");
    let metas: [(&'static str, &'static str, &str); 15] = [
        ("name", "description", &description),
        ("property", "og:type", "website"),
        ("property", "og:site_name", "Iskra"),
        ("property", "og:title", title),
        ("property", "og:description", &description),
        ("property", "og:url", p.page_url),
        ("property", "og:image", p.og_image),
        ("property", "og:image:type", "image/jpeg"),
        ("property", "og:image:width", &w),
        ("property", "og:image:height", &h),
        ("property", "og:image:alt", &description),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", title),
        ("name", "twitter:description", &description),
        ("name", "twitter:image", p.og_image),
    ];
    for (attr, key, value) in metas {
        html.open("meta", &[(attr, key), ("content", value)])
            .raw("\n");
    }
    html.open("link", &[("rel", "canonical"), ("href", p.page_url)])
        .raw("\n");
    if viewer {
        html.raw(STYLE).raw("\n");
    }
    html.raw("</head>\n<body>\n");
    if viewer {
        html.raw("<header>Iskra</header>\n<main>\n<figure>\n");
        if p.video {
            html.open(
                "video",
                &[
                    ("src", p.media_url),
                    ("poster", p.og_image),
                    ("controls", "controls"),
                    ("playsinline", "playsinline"),
                    ("preload", "metadata"),
                ],
            )
            .raw("</video>\n");
        } else {
            html.open("img", &[("src", p.media_url), ("alt", &description)])
                .raw("\n");
        }
        if let Some(prompt) = p.prompt.filter(|p| !p.trim().is_empty()) {
            html.element("figcaption", &[], prompt.trim()).raw("\n");
        }
        html.raw("</figure>\n<nav>\n")
            .element(
                "a",
                &[
                    ("class", "button primary"),
                    ("href", p.download_url),
                    ("download", ""),
                    ("type", p.mime),
                ],
                "Download",
            )
            .raw("\n")
            .element(
                "a",
                &[("class", "button secondary"), ("href", p.app_url)],
                "Open in Iskra",
            )
            .raw("\n</nav>\n</main>\n<footer>Made with Iskra</footer>\n");
    } else {
        html.element("h1", &[], title).raw("\n");
        html.element("p", &[], &description).raw("\n");
        html.open(
            "img",
            &[
                ("src", p.og_image),
                ("width", &w),
                ("height", &h),
                ("alt", &description),
            ],
        )
        .raw("\n");
    }
    html.raw("</body>\n</html>\n");
    html.finish()
}
