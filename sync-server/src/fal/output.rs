//! The files and the seed in a fal result, whatever model made it.
//!
//! Each fal model has its own output schema, but the files sit under a handful of common keys:
//! `images` (a list of `{url, content_type, width, height}`), `image`, `video`, `audio`, and a
//! few more, each a file object, a bare URL or a list of either. The job worker stores every
//! file it finds here as an asset, so the lookup is lenient about shape and never fails: a
//! result with nothing recognisable gives an empty list.

use serde_json::Value;

/// The keys looked at, in order (outputs come back in this order, each URL once).
const FILE_KEYS: &[&str] = &[
    "images",
    "image",
    "video",
    "videos",
    "audio",
    "audios",
    "audio_file",
    "audio_url",
    "file",
    "files",
    "model_mesh",
    "mesh",
    "output",
    "outputs",
];

/// One output file of a result: where it is and, when fal says, its type.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRef {
    pub url: String,
    pub content_type: Option<String>,
}

/// The output files of a result: `images[]` (url, content_type, width, height), `image`,
/// `video`, or a file or a list under other common keys. URLs must be http(s) or data URLs.
pub fn output_refs(result: &Value) -> Vec<OutputRef> {
    let mut out: Vec<OutputRef> = Vec::new();
    let Some(obj) = result.as_object() else {
        return out;
    };
    for key in FILE_KEYS {
        let Some(value) = obj.get(*key) else {
            continue;
        };
        match value {
            Value::Array(items) => items.iter().for_each(|item| push(&mut out, item)),
            other => push(&mut out, other),
        }
    }
    out
}

/// Adds `value` to `out` when it is a file (a URL or an object with `url`) not seen yet.
fn push(out: &mut Vec<OutputRef>, value: &Value) {
    let (url, content_type) = match value {
        Value::String(url) => (url.as_str(), None),
        Value::Object(o) => {
            let Some(url) = o.get("url").and_then(Value::as_str) else {
                return;
            };
            let content_type = o
                .get("content_type")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            (url, content_type)
        }
        _ => return,
    };
    let url = url.trim();
    if !is_file_url(url) || out.iter().any(|r| r.url == url) {
        return;
    }
    out.push(OutputRef {
        url: url.to_owned(),
        content_type,
    });
}

fn is_file_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("data:")
}

/// The seed the run used, when the result says (`seed` as a number or a string of digits).
pub fn result_seed(result: &Value) -> Option<u64> {
    match result.get("seed")? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_list() {
        let result = json!({
            "images": [
                {"url": "https://v3.fal.media/a.png", "content_type": "image/png", "width": 1024, "height": 768},
                {"url": "https://v3.fal.media/b.jpg", "width": 512, "height": 512}
            ],
            "seed": 42,
            "has_nsfw_concepts": [false, false]
        });
        assert_eq!(
            output_refs(&result),
            vec![
                OutputRef {
                    url: "https://v3.fal.media/a.png".into(),
                    content_type: Some("image/png".into())
                },
                OutputRef {
                    url: "https://v3.fal.media/b.jpg".into(),
                    content_type: None
                },
            ]
        );
        assert_eq!(result_seed(&result), Some(42));
    }

    #[test]
    fn single_image() {
        let result =
            json!({"image": {"url": "https://v3.fal.media/x.webp", "content_type": "image/webp"}});
        assert_eq!(
            output_refs(&result),
            vec![OutputRef {
                url: "https://v3.fal.media/x.webp".into(),
                content_type: Some("image/webp".into())
            }]
        );
    }

    #[test]
    fn video_object_and_bare_url() {
        let result = json!({"video": {"url": "https://v3.fal.media/v.mp4", "content_type": "video/mp4", "file_size": 123}});
        assert_eq!(
            output_refs(&result),
            vec![OutputRef {
                url: "https://v3.fal.media/v.mp4".into(),
                content_type: Some("video/mp4".into())
            }]
        );
        let result = json!({"video": "https://v3.fal.media/w.mp4"});
        assert_eq!(output_refs(&result)[0].url, "https://v3.fal.media/w.mp4");
    }

    #[test]
    fn other_keys_duplicates_and_junk() {
        let result = json!({
            "audio": {"url": "https://v3.fal.media/s.wav"},
            "files": ["https://v3.fal.media/s.wav", {"url": "data:text/plain;base64,aGk="}],
            "image": {"no_url": true},
            "images": [null, 3, {"url": 7}, {"url": "javascript:alert(1)"}]
        });
        let urls: Vec<_> = output_refs(&result).into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            vec!["https://v3.fal.media/s.wav", "data:text/plain;base64,aGk="]
        );
        assert!(output_refs(&json!([1, 2])).is_empty());
        assert!(output_refs(&json!(null)).is_empty());
    }

    #[test]
    fn seeds() {
        assert_eq!(result_seed(&json!({"seed": "123"})), Some(123));
        assert_eq!(result_seed(&json!({"seed": 7.0})), Some(7));
        assert_eq!(result_seed(&json!({"seed": -1})), None);
        assert_eq!(result_seed(&json!({"seed": 1.5})), None);
        assert_eq!(result_seed(&json!({})), None);
        assert_eq!(result_seed(&json!("seed")), None);
    }
}
