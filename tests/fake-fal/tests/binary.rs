//! The `iskra-fake-fal` binary: prints its URLs and key as one JSON line, then serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Child, Value) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_iskra-fake-fal"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

#[tokio::test]
async fn prints_its_urls_and_serves() {
    let (_child, info) = start(&["--delay-ms", "1"]);
    let queue = info["queueUrl"].as_str().unwrap();
    let rest = info["restUrl"].as_str().unwrap();
    assert_eq!(info["jwksUrl"], format!("{rest}/.well-known/jwks.json"));
    let key = info["key"].as_str().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let jwks: Value = http
        .get(info["jwksUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let sub: Value = http
        .post(format!("{queue}/fal-ai/flux/dev"))
        .header("authorization", format!("Key {key}"))
        .json(&json!({"prompt": "from the binary"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status_url = sub["status_url"].as_str().unwrap();
    let mut last = String::new();
    for _ in 0..10_000 {
        let s: Value = http
            .get(status_url)
            .header("authorization", format!("Key {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        last = s["status"].as_str().unwrap().to_string();
        if last == "COMPLETED" {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(last, "COMPLETED");
}

#[tokio::test]
async fn hold_keeps_jobs_running_and_key_can_be_fixed() {
    let (_child, info) = start(&["--hold", "--key", "test-key:123"]);
    assert_eq!(info["key"], "test-key:123");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let sub: Value = http
        .post(format!(
            "{}/fal-ai/flux/dev",
            info["queueUrl"].as_str().unwrap()
        ))
        .header("authorization", "Key test-key:123")
        .json(&json!({"prompt": "held"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for expected in ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS"] {
        let s: Value = http
            .get(sub["status_url"].as_str().unwrap())
            .header("authorization", "Key test-key:123")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["status"], expected);
    }
    let queue = info["queueUrl"].as_str().unwrap();
    let counters: Value = http
        .get(format!("{queue}/_fake/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            counters["submits"].as_u64(),
            counters["pending_jobs"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let subs: Value = http
        .get(format!("{queue}/_fake/submissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subs[0]["input"]["prompt"], "held");
    let released: Value = http
        .post(format!("{queue}/_fake/release-all"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(released["released"], 1);
    let s: Value = http
        .get(sub["status_url"].as_str().unwrap())
        .header("authorization", "Key test-key:123")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "COMPLETED");
}
