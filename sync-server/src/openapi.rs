//! Completes the OpenAPI document with the answers every operation shares, so `/openapi.json`
//! lists every status an operation can send: the handlers' `#[utoipa::path]` name what is
//! particular to each route; the layers and extractors they all go through add the rest here,
//! in one place:
//! - every route passes the per-IP limit: 429 `RATE_LIMITED` with its headers;
//! - a route with credentials (`security`): 401 `UNAUTHENTICATED`;
//! - a JSON request body ([`crate::extract::ApiJson`]): 400 (malformed), 413 (over the JSON
//!   limit), 415 (not `application/json`), 422 (invalid data);
//! - query parameters ([`crate::extract::ApiQuery`]): 400 (unparsable) and 422 (out of range);
//! - a path parameter of a constrained form (uuid, sha256…): 400;
//! - an `Idempotency-Key` header: 400 (malformed) and 409 `CONFLICT` (reused for another request);
//! - a success answer of `application/octet-stream` (the bytes of a stored asset): served with
//!   the type sniffed at upload, so it lists every accepted type ([`iskra_media::ACCEPTED_MIME`]).
//!
//! Each shared answer is one entry of `components.responses`, referenced by the operations.

use serde_json::{json, Map, Value};

/// The shared answers: (component name, status, description).
const SHARED: [(&str, &str, &str); 7] = [
    (
        "BadRequest",
        "400",
        "`BAD_REQUEST`: malformed JSON, path, query or header",
    ),
    (
        "Unauthenticated",
        "401",
        "`UNAUTHENTICATED`: missing or invalid credentials",
    ),
    (
        "Conflict",
        "409",
        "`CONFLICT`: the Idempotency-Key was used for another request",
    ),
    (
        "PayloadTooLarge",
        "413",
        "`PAYLOAD_TOO_LARGE`: the body is over the limit (`limitBytes`)",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "`UNSUPPORTED_MEDIA_TYPE`: the body is not of the documented type",
    ),
    (
        "ValidationFailed",
        "422",
        "`VALIDATION_FAILED`: `fields` names each invalid field",
    ),
    (
        "RateLimited",
        "429",
        "`RATE_LIMITED`: a request limit (per client address, user or key) was reached",
    ),
];

/// HTTP methods of a path item.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document with every operation's shared answers added (see the module docs).
pub fn complete(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    add_components(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    complete_operation(op);
                }
            }
        }
    }
    doc
}

fn error_response(description: &str, headers: Option<Value>) -> Value {
    let mut response = json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    if let Some(headers) = headers {
        response["headers"] = headers;
    }
    response
}

fn add_components(doc: &mut Value) {
    let int =
        |description: &str| json!({"description": description, "schema": {"type": "integer"}});
    let limit_headers = json!({
        "Retry-After": int("seconds until a request may succeed"),
        "RateLimit-Limit": int("the window's limit"),
        "RateLimit-Remaining": int("requests left in the window (0)"),
        "RateLimit-Reset": int("seconds until the window resets"),
    });
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    let Some(components) = components.and_then(Value::as_object_mut) else {
        return;
    };
    let responses = components
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    for (name, status, description) in SHARED {
        let headers = (status == "429").then(|| limit_headers.clone());
        responses[name] = error_response(description, headers);
    }
}

fn add(op: &mut Value, status: &str) {
    let Some((name, _, _)) = SHARED.iter().find(|(_, s, _)| *s == status) else {
        return;
    };
    let responses = op
        .as_object_mut()
        .map(|o| o.entry("responses").or_insert_with(|| json!({})));
    if let Some(responses) = responses.and_then(Value::as_object_mut) {
        responses
            .entry(status)
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
    }
}

/// Lists every accepted media type on the success answers documented as raw bytes.
fn type_stored_bytes(op: &mut Value) {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if !status.starts_with('2') {
            continue;
        }
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        if content.remove("application/octet-stream").is_some() {
            for mime in iskra_media::ACCEPTED_MIME {
                content.insert(
                    (*mime).to_owned(),
                    json!({"schema": {"type": "string", "format": "binary"}}),
                );
            }
        }
    }
}

fn complete_operation(op: &mut Value) {
    type_stored_bytes(op);
    add(op, "429");
    if op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty())
    {
        add(op, "401");
    }
    let json_body = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    if json_body {
        for status in ["400", "413", "415", "422"] {
            add(op, status);
        }
    }
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            if p["in"] == "header" && p["name"] == "Idempotency-Key" {
                p["schema"] = json!({"type": "string", "pattern": crate::idempotency::KEY_PATTERN});
            }
        }
    }
    let params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in &params {
        let constrained = |s: &Value| {
            ["format", "pattern", "minLength", "maxLength", "enum"]
                .iter()
                .any(|k| s.get(k).is_some())
        };
        match p["in"].as_str() {
            Some("query") => {
                add(op, "400");
                add(op, "422");
            }
            Some("path") if p.get("schema").is_some_and(constrained) => add(op, "400"),
            Some("header") if p["name"].as_str() == Some("Idempotency-Key") => {
                add(op, "400");
                add(op, "409");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_write_with_a_key_gets_every_shared_answer() {
        let mut op = json!({
            "security": [{"bearer": []}],
            "requestBody": {"content": {"application/json": {}}},
            "parameters": [{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}],
            "responses": {"201": {"description": "created"}, "422": {"description": "own"}}
        });
        complete_operation(&mut op);
        let statuses: Vec<&str> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            statuses,
            ["201", "400", "401", "409", "413", "415", "422", "429"]
        );
        assert_eq!(op["responses"]["422"]["description"], "own", "kept");
    }

    #[test]
    fn a_public_read_gets_only_the_ip_limit() {
        let mut op = json!({"parameters": [{"in": "path", "name": "token", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}});
        complete_operation(&mut op);
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["200", "429"]);
    }

    #[test]
    fn stored_bytes_are_documented_as_every_accepted_type() {
        let mut op = json!({
            "requestBody": {"content": {"application/octet-stream": {}}},
            "responses": {"200": {"content": {"application/octet-stream": {}}}}
        });
        complete_operation(&mut op);
        let types: Vec<&String> = op["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(types.len(), iskra_media::ACCEPTED_MIME.len());
        assert!(iskra_media::ACCEPTED_MIME
            .iter()
            .all(|m| types.iter().any(|t| t == m)));
        assert!(
            op["requestBody"]["content"]["application/octet-stream"].is_object(),
            "an upload still takes raw bytes"
        );
    }
}
