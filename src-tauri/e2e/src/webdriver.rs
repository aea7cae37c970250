//! A small W3C WebDriver client: sessions, script execution, element lookup, clicks and
//! keys, pointer and key actions, screenshots. Enough to drive the app the way a user does;
//! errors keep the driver's own `error` code and message.

use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;

/// What a WebDriver command answered when it failed.
#[derive(Debug, thiserror::Error)]
pub enum WebDriverError {
    /// The driver could not be reached or answered something that is not WebDriver JSON.
    #[error("webdriver transport: {0}")]
    Transport(String),
    /// The driver answered a WebDriver error (`no such element`, `javascript error`, …).
    #[error("webdriver {error}: {message}")]
    Command { error: String, message: String },
}

pub type Result<T> = std::result::Result<T, WebDriverError>;

/// The key codes of the WebDriver spec this crate uses.
pub mod keys {
    pub const CONTROL: &str = "\u{E009}";
    pub const SHIFT: &str = "\u{E008}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ENTER: &str = "\u{E007}";
    pub const DELETE: &str = "\u{E017}";
    pub const ARROW_RIGHT: &str = "\u{E014}";
}

/// One WebDriver session.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element reference.
#[derive(Debug, Clone)]
pub struct Element(String);

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

async fn send(req: reqwest::RequestBuilder) -> Result<Value> {
    let resp = req
        .send()
        .await
        .map_err(|e| WebDriverError::Transport(e.to_string()))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| WebDriverError::Transport(format!("{status}: {e}")))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let text = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Err(WebDriverError::Command {
        error: text("error"),
        message: text("message"),
    })
}

impl Session {
    /// Opens a session on the driver at `driver_url` with `capabilities` (`alwaysMatch`).
    pub async fn start(driver_url: &str, capabilities: Value) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| WebDriverError::Transport(e.to_string()))?;
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let value = send(http.post(format!("{driver_url}/session")).json(&body)).await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| WebDriverError::Transport(format!("no session id in {value}")))?;
        Ok(Self {
            base: format!("{driver_url}/session/{id}"),
            http,
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let req = self.http.post(format!("{}{path}", self.base)).json(&body);
        send(req).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let req = self.http.get(format!("{}{path}", self.base));
        send(req).await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs `script` with a callback as its last argument; resolves with what it passes.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// Sets the script timeout (ms).
    pub async fn set_script_timeout(&self, ms: u64) -> Result<()> {
        self.post("/timeouts", json!({ "script": ms }))
            .await
            .map(drop)
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.find_by("css selector", css).await
    }

    /// The first element matching an XPath expression (to find a button by its text).
    pub async fn find_xpath(&self, xpath: &str) -> Result<Element> {
        self.find_by("xpath", xpath).await
    }

    async fn find_by(&self, using: &str, value: &str) -> Result<Element> {
        let v = self
            .post("/element", json!({ "using": using, "value": value }))
            .await?;
        v.get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(|id| Element(id.to_string()))
            .ok_or_else(|| WebDriverError::Transport(format!("no element reference in {v}")))
    }

    /// Clicks an element (scrolled into view, at its centre).
    pub async fn click(&self, el: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", el.0), json!({}))
            .await
            .map(drop)
    }

    /// Empties a text field.
    pub async fn clear(&self, el: &Element) -> Result<()> {
        self.post(&format!("/element/{}/clear", el.0), json!({}))
            .await
            .map(drop)
    }

    /// Types into an element; for `<input type=file>` the text is a path to choose.
    pub async fn send_keys(&self, el: &Element, text: &str) -> Result<()> {
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// Performs input source actions (W3C `actions`), then releases everything held.
    pub async fn actions(&self, sources: Value) -> Result<()> {
        self.post("/actions", json!({ "actions": sources })).await?;
        self.http
            .delete(format!("{}/actions", self.base))
            .send()
            .await
            .map_err(|e| WebDriverError::Transport(e.to_string()))?;
        Ok(())
    }

    /// A mouse drag from `from` to `to` (viewport CSS pixels) in `steps` moves.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64), steps: u32) -> Result<()> {
        let mut seq = vec![
            json!({ "type": "pointerMove", "duration": 0, "x": from.0.round() as i64, "y": from.1.round() as i64 }),
            json!({ "type": "pointerDown", "button": 0 }),
        ];
        for i in 1..=steps.max(1) {
            let t = f64::from(i) / f64::from(steps.max(1));
            let x = from.0 + (to.0 - from.0) * t;
            let y = from.1 + (to.1 - from.1) * t;
            seq.push(json!({ "type": "pointerMove", "duration": 16, "x": x.round() as i64, "y": y.round() as i64 }));
        }
        seq.push(json!({ "type": "pointerUp", "button": 0 }));
        self.actions(json!([{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": seq
        }]))
        .await
    }

    /// A mouse click at a viewport point.
    pub async fn click_at(&self, at: (f64, f64)) -> Result<()> {
        self.drag(at, at, 0).await
    }

    /// Presses a chord: every key in `keys` down in order, then up in reverse.
    pub async fn chord(&self, keys: &[&str]) -> Result<()> {
        let mut seq: Vec<Value> = keys
            .iter()
            .map(|k| json!({ "type": "keyDown", "value": k }))
            .collect();
        seq.extend(
            keys.iter()
                .rev()
                .map(|k| json!({ "type": "keyUp", "value": k })),
        );
        self.actions(json!([{ "type": "key", "id": "keyboard", "actions": seq }]))
            .await
    }

    /// Types `text` into whatever has focus, key by key.
    pub async fn type_text(&self, text: &str) -> Result<()> {
        let seq: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let k = c.to_string();
                [
                    json!({ "type": "keyDown", "value": k }),
                    json!({ "type": "keyUp", "value": k }),
                ]
            })
            .collect();
        self.actions(json!([{ "type": "key", "id": "keyboard", "actions": seq }]))
            .await
    }

    /// A PNG of the window's viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.get("/screenshot").await?;
        let b64 = v.as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| WebDriverError::Transport(format!("screenshot: {e}")))
    }

    /// Ends the session (the driver closes the app).
    pub async fn end(&self) -> Result<()> {
        self.http
            .delete(&self.base)
            .send()
            .await
            .map_err(|e| WebDriverError::Transport(e.to_string()))?;
        Ok(())
    }
}
