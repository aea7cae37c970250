//! A small structural HTML5 check of the share page and a reader of its tags: the doctype, one
//! `html`, `head` and `body` in that order, every opened element closed in order (void elements
//! excepted), every attribute value double-quoted, no raw `<` or stray `&` in text.

use std::collections::BTreeMap;

/// Elements that have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// A start tag: its name and attributes (values unescaped).
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
}

/// Undoes the escaping of text and attribute values.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        rest = &rest[i + 1..];
        let end = rest
            .find(';')
            .ok_or_else(|| format!("stray & in {text:?}"))?;
        let name = &rest[..end];
        let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "#39");
        if !ok {
            return Err(format!("unknown character reference &{name}; in {text:?}"));
        }
    }
    Ok(())
}

fn parse_attrs(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("attribute without a value: {rest:?}"))?;
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("attribute without a value near {rest:?}"));
        }
        let after = &rest[eq + 1..];
        let value = after
            .strip_prefix('"')
            .ok_or_else(|| format!("unquoted value of {name}"))?;
        let close = value
            .find('"')
            .ok_or_else(|| format!("unterminated value of {name}"))?;
        check_text(&value[..close])?;
        if value[..close].contains('<') {
            return Err(format!("raw < in the value of {name}"));
        }
        if attrs
            .insert(name.to_ascii_lowercase(), unescape(&value[..close]))
            .is_some()
        {
            return Err(format!("duplicate attribute {name}"));
        }
        rest = value[close + 1..].trim_start();
    }
    Ok(attrs)
}

/// Checks the structure and returns every start tag in document order.
pub fn validate(html: &str) -> Result<Vec<Tag>, String> {
    let rest = html
        .strip_prefix("<!DOCTYPE html>")
        .ok_or("no <!DOCTYPE html> first")?;
    let mut tags = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = rest;
    loop {
        let Some(lt) = rest.find('<') else {
            check_text(rest)?;
            break;
        };
        check_text(&rest[..lt])?;
        rest = &rest[lt + 1..];
        let gt = rest.find('>').ok_or("unterminated tag")?;
        let inner = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        let (name, attrs) = inner.split_once(' ').unwrap_or((inner, ""));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad tag <{inner}>"));
        }
        let tag = Tag {
            name: name.to_ascii_lowercase(),
            attrs: parse_attrs(attrs)?,
        };
        if tag.name == "style" {
            let end = rest.find("</style>").ok_or("unterminated <style>")?;
            rest = &rest[end + "</style>".len()..];
        } else if !VOID.contains(&tag.name.as_str()) {
            stack.push(tag.name.clone());
        }
        tags.push(tag);
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    let order: Vec<&str> = tags
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| matches!(*n, "html" | "head" | "body"))
        .collect();
    if order != ["html", "head", "body"] {
        return Err(format!("html/head/body: {order:?}"));
    }
    if tags.first().map(|t| t.name.as_str()) != Some("html") {
        return Err("the document does not start with <html>".into());
    }
    Ok(tags)
}

/// The `content` of `<meta property|name="key">` (exactly one such tag).
pub fn meta(tags: &[Tag], key: &str) -> String {
    let found: Vec<&Tag> = tags
        .iter()
        .filter(|t| {
            t.name == "meta"
                && (t.attrs.get("property").map(String::as_str) == Some(key)
                    || t.attrs.get("name").map(String::as_str) == Some(key))
        })
        .collect();
    assert_eq!(found.len(), 1, "one meta {key}");
    found[0].attrs["content"].clone()
}

#[test]
fn the_checker_refuses_broken_documents() {
    let ok = "<!DOCTYPE html><html><head><title>a &amp; b</title></head><body><img src=\"x\"></body></html>";
    assert!(validate(ok).is_ok());
    for bad in [
        "<html><head></head><body></body></html>",
        "<!DOCTYPE html><html><head></head><body><p></body></html>",
        "<!DOCTYPE html><html><head></head><body><img src=x></body></html>",
        "<!DOCTYPE html><html><head></head><body><p a=\"<\"></p></body></html>",
        "<!DOCTYPE html><html><head></head><body>a & b</body></html>",
        "<!DOCTYPE html><html><body></body><head></head></html>",
    ] {
        assert!(validate(bad).is_err(), "{bad}");
    }
}
