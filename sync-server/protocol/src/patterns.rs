//! Regular expressions (ECMA-262, as OpenAPI states them) of the text rules the validators in
//! this crate apply, for the OpenAPI document: a client that follows them is never refused for
//! the form of that text. Whitespace is Unicode's White_Space (what `str::trim` removes); a
//! control character is `char::is_control` (C0, DEL, C1).

/// Not blank: at least one character that is not whitespace.
pub const NOT_BLANK: &str = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// A project name ([`crate::validate_project_name`]): no control character, not blank.
pub const PROJECT_NAME: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A prompt ([`crate::NewGeneration::validate`]): no control character but tab, line feed and
/// carriage return; not blank.
pub const PROMPT: &str = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$";

/// A hybrid logical clock ([`crate::Hlc`]): millis, counter and node.
pub const CLOCK: &str = "^[0-9]{1,16}-[0-9]{1,6}-[A-Za-z0-9_-]{1,64}$";

/// A sync cursor: the change sequence number an answer gave (or empty: the beginning).
pub const SYNC_CURSOR: &str = "^[0-9]{0,18}$";

/// An asset id: the lowercase hex SHA-256 of its bytes ([`crate::is_sha256_hex`]).
pub const SHA256_HEX: &str = "^[0-9a-f]{64}$";

/// The OpenAPI schemas of these rules (`#[schema(schema_with = …)]` of the request fields).
#[cfg(feature = "openapi")]
pub mod schemas {
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    fn text(min: usize, max: usize, pattern: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length(Some(max))
            .pattern(Some(pattern))
            .build()
    }

    /// `schema`, or `null` (an optional field that may be sent as `null`).
    fn or_null(mut schema: Object) -> Object {
        schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
        schema
    }

    /// A project name: 1–200 characters ([`super::PROJECT_NAME`]).
    pub fn project_name() -> Object {
        text(1, crate::MAX_PROJECT_NAME_CHARS, super::PROJECT_NAME)
    }

    /// An optional project name (`null`: the default name).
    pub fn optional_project_name() -> Object {
        or_null(project_name())
    }

    /// A prompt: 1–4,000 characters ([`super::PROMPT`]).
    pub fn prompt() -> Object {
        text(1, crate::MAX_PROMPT_CHARS, super::PROMPT)
    }

    /// An API key's name: 1–100 characters, not blank.
    pub fn key_name() -> Object {
        text(1, crate::MAX_KEY_NAME_CHARS, super::NOT_BLANK)
    }

    /// A hybrid logical clock ([`super::CLOCK`]).
    pub fn clock() -> Object {
        text(5, 88, super::CLOCK)
    }

    /// A sync cursor ([`super::SYNC_CURSOR`]); `null`: from the beginning.
    pub fn sync_cursor() -> Object {
        or_null(text(0, 18, super::SYNC_CURSOR))
    }

    /// An API key's scopes: at least one of [`crate::SCOPES`], none twice; `null` or absent =
    /// all of them.
    pub fn key_scopes() -> utoipa::openapi::schema::Array {
        let scope = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(crate::SCOPES));
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(scope)
            .min_items(Some(1))
            .max_items(Some(crate::SCOPES.len()))
            .unique_items(true)
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .build()
    }

    /// A plan that can be bought: `pro` or `enterprise`.
    pub fn paid_plan() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["pro", "enterprise"]))
            .build()
    }

    /// An optional asset id ([`super::SHA256_HEX`]).
    pub fn optional_asset_id() -> Object {
        or_null(text(64, 64, super::SHA256_HEX))
    }
}
