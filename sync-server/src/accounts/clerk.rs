//! Clerk's webhook events (`{"type", "data", "timestamp", …}`), read into what Iskra acts on:
//! a user's email and name to keep in step, a deleted user, or anything else (ignored).
//!
//! Only the fields Iskra uses are read; a body that is not an event at all, or a `user.*`
//! event without the user's id, is a [`ShapeError`] (400).

use serde::Deserialize;
use serde_json::Value;

/// What an event asks Iskra to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClerkEvent {
    /// `user.created` / `user.updated`: the user's current email and name.
    UserChanged(UserProfile),
    /// `user.deleted`: remove the user and everything they own.
    UserDeleted { id: String },
    /// Any other type (sessions, organizations…): nothing to do.
    Other { event_type: String },
}

impl ClerkEvent {
    /// The event's type as Clerk names it, for logs and the delivery record.
    pub fn type_name(&self) -> &str {
        match self {
            Self::UserChanged(p) if p.created => "user.created",
            Self::UserChanged(_) => "user.updated",
            Self::UserDeleted { .. } => "user.deleted",
            Self::Other { event_type } => event_type,
        }
    }
}

/// A user as a `user.created` / `user.updated` event describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub id: String,
    /// The primary email address, if the user has one.
    pub email: Option<String>,
    /// First and last name joined by a space, if either is set.
    pub name: Option<String>,
    /// The Clerk user object's `updated_at` (ms), else the event's `timestamp`: a profile
    /// older than the one applied last is not applied.
    pub version: i64,
    /// Whether the event was `user.created`.
    pub created: bool,
}

/// A body that is not a Clerk event Iskra can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Clerk event: {0}")]
pub struct ShapeError(String);

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    event_type: String,
    data: serde_json::Map<String, Value>,
    #[serde(default)]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct EmailAddress {
    id: Option<String>,
    email_address: Option<String>,
}

#[derive(Deserialize)]
struct ClerkUser {
    id: String,
    #[serde(default)]
    email_addresses: Vec<EmailAddress>,
    #[serde(default)]
    primary_email_address_id: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct DeletedUser {
    id: String,
    #[serde(default)]
    deleted: Option<bool>,
}

impl ClerkEvent {
    /// Reads a verified body; `now_ms` versions a profile whose event carries no time.
    pub fn parse(body: &[u8], now_ms: i64) -> Result<Self, ShapeError> {
        let env: Envelope = serde_json::from_slice(body).map_err(|e| ShapeError(e.to_string()))?;
        let data = Value::Object(env.data);
        let field = |e: serde_json::Error| ShapeError(format!("data: {e}"));
        match env.event_type.as_str() {
            t @ ("user.created" | "user.updated") => {
                let user: ClerkUser = serde_json::from_value(data).map_err(field)?;
                non_empty(&user.id)?;
                Ok(Self::UserChanged(profile(
                    user,
                    env.timestamp.unwrap_or(now_ms),
                    t == "user.created",
                )))
            }
            "user.deleted" => {
                let user: DeletedUser = serde_json::from_value(data).map_err(field)?;
                non_empty(&user.id)?;
                if user.deleted == Some(false) {
                    return Err(ShapeError("user.deleted with data.deleted false".into()));
                }
                Ok(Self::UserDeleted { id: user.id })
            }
            "" => Err(ShapeError("empty type".into())),
            other => Ok(Self::Other {
                event_type: other.to_owned(),
            }),
        }
    }
}

fn non_empty(id: &str) -> Result<(), ShapeError> {
    if id.trim().is_empty() {
        return Err(ShapeError("data.id is empty".into()));
    }
    Ok(())
}

fn profile(user: ClerkUser, event_time: i64, created: bool) -> UserProfile {
    let email = user
        .primary_email_address_id
        .as_deref()
        .and_then(|primary| {
            user.email_addresses
                .iter()
                .find(|a| a.id.as_deref() == Some(primary))
                .and_then(|a| a.email_address.clone())
        });
    let name = [user.first_name, user.last_name]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    UserProfile {
        id: user.id,
        email,
        name: (!name.is_empty()).then_some(name),
        version: user.updated_at.unwrap_or(event_time),
        created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ClerkEvent, ShapeError> {
        ClerkEvent::parse(v.to_string().as_bytes(), 7)
    }

    #[test]
    fn a_user_event_keeps_the_primary_email_and_the_name() {
        let ev = parse(json!({
            "type": "user.updated", "object": "event", "timestamp": 5,
            "data": {
                "id": "user_1", "first_name": "Ada", "last_name": " Lovelace ",
                "primary_email_address_id": "idn_2", "updated_at": 9,
                "email_addresses": [
                    {"id": "idn_1", "email_address": "old@example.com"},
                    {"id": "idn_2", "email_address": "ada@example.com"}
                ]
            }
        }))
        .unwrap();
        assert_eq!(
            ev,
            ClerkEvent::UserChanged(UserProfile {
                id: "user_1".into(),
                email: Some("ada@example.com".into()),
                name: Some("Ada Lovelace".into()),
                version: 9,
                created: false,
            })
        );
        assert_eq!(ev.type_name(), "user.updated");
    }

    #[test]
    fn missing_parts_become_none_and_the_event_time_versions_it() {
        let ev = parse(json!({
            "type": "user.created", "timestamp": 5,
            "data": {"id": "user_1", "first_name": null, "primary_email_address_id": "gone",
                     "email_addresses": [{"id": "idn_1", "email_address": "a@example.com"}]}
        }))
        .unwrap();
        let ClerkEvent::UserChanged(p) = ev else {
            panic!("not a user event")
        };
        assert_eq!(
            (p.email, p.name, p.version, p.created),
            (None, None, 5, true)
        );
        let ev = parse(json!({"type": "user.created", "data": {"id": "user_2"}})).unwrap();
        let ClerkEvent::UserChanged(p) = ev else {
            panic!("not a user event")
        };
        assert_eq!(p.version, 7, "no time in the event: now");
    }

    #[test]
    fn deletions_and_other_types() {
        assert_eq!(
            parse(
                json!({"type": "user.deleted", "data": {"id": "user_1", "deleted": true, "object": "user"}})
            ),
            Ok(ClerkEvent::UserDeleted {
                id: "user_1".into()
            })
        );
        assert_eq!(
            parse(json!({"type": "session.created", "data": {"id": "sess_1"}})),
            Ok(ClerkEvent::Other {
                event_type: "session.created".into()
            })
        );
    }

    #[test]
    fn bodies_that_are_not_events_are_refused() {
        for bad in [
            json!([]),
            json!({"data": {"id": "user_1"}}),
            json!({"type": "user.deleted"}),
            json!({"type": "user.deleted", "data": "user_1"}),
            json!({"type": "user.deleted", "data": {"deleted": true}}),
            json!({"type": "user.deleted", "data": {"id": "", "deleted": true}}),
            json!({"type": "user.deleted", "data": {"id": "user_1", "deleted": false}}),
            json!({"type": "user.updated", "data": {"id": 5}}),
            json!({"type": "user.updated", "data": {"id": "u", "email_addresses": "x"}}),
            json!({"type": "", "data": {}}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert!(ClerkEvent::parse(b"not json", 0).is_err());
    }
}
