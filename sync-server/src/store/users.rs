//! Users: created on first authenticated request, with their tier and storage counters.
//!
//! `used_bytes`, `image_count` and `video_count` are the quota counters; they change only
//! together with the asset rows they count (see `assets`), so they are always exact.

use super::{now_ms, Store};
use iskra_protocol::{BillingStatus, Tier};
use sqlx::FromRow;
use std::sync::LazyLock;

/// A user row.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
    pub tier: String,
    pub created_at: i64,
    pub used_bytes: i64,
    pub image_count: i64,
    pub video_count: i64,
    /// `none`, `active`, `payment_failed` or `canceled` (set by Stripe's events).
    pub billing_status: String,
    /// 1 while a Stripe subscription of the user is in force (set with the tier).
    pub subscribed: i64,
}

impl UserRow {
    /// The tier; an unknown stored value counts as free.
    pub fn tier(&self) -> Tier {
        self.tier.parse().unwrap_or(Tier::Free)
    }

    /// Whether the user's plan comes from a Stripe subscription (its invoices allocate the
    /// plan's credits).
    pub fn subscribed(&self) -> bool {
        self.subscribed != 0
    }

    /// The state of the user's subscription payments.
    pub fn billing_status(&self) -> BillingStatus {
        BillingStatus::parse(&self.billing_status)
    }
}

/// The columns of a [`UserRow`], in its order.
pub(super) const COLUMNS: &str =
    "id, email, tier, created_at, used_bytes, image_count, video_count, billing_status, subscribed";

/// [`COLUMNS`] of the table aliased `u` in a join (built once: it is in hot-path statements).
pub(super) static U_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
});

/// The statement of [`Store::admit`], built once.
static ADMIT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT (SELECT d.phase FROM user_deletions d WHERE d.user_id = u.id) AS deletion, \
         {} FROM users u WHERE u.id = $1",
        *U_COLUMNS
    )
});

/// A user row with the phase of the account's deletion, if any.
#[derive(FromRow)]
struct AdmissionRow {
    deletion: Option<String>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Who a verified token's subject is to the server.
#[derive(Debug)]
pub enum Admission {
    /// A live account (created now when this is its first request).
    User(UserRow),
    /// An account that was deleted or is being deleted: refused.
    Deleted,
}

impl Store {
    /// The account of a verified token's subject in one read (a request's hot path): refused
    /// when it was deleted, created on its first request, its email kept in step with the token.
    pub async fn admit(&self, id: &str, email: Option<&str>) -> Result<Admission, sqlx::Error> {
        let row: Option<AdmissionRow> = sqlx::query_as(ADMIT_SQL.as_str())
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(AdmissionRow {
                deletion: Some(_), ..
            }) => Ok(Admission::Deleted),
            Some(AdmissionRow { user, .. }) => {
                self.keep_email(&user, email).await?;
                Ok(Admission::User(user))
            }
            // First request, or an account whose row the deletion already removed.
            None if self.deletion_phase(id).await?.is_some() => Ok(Admission::Deleted),
            None => self.ensure_user(id, email).await.map(Admission::User),
        }
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// The user, created (free tier) when this is its first request.
    pub async fn ensure_user(&self, id: &str, email: Option<&str>) -> Result<UserRow, sqlx::Error> {
        if let Some(user) = self.user(id).await? {
            self.keep_email(&user, email).await?;
            return Ok(user);
        }
        sqlx::query(
            "INSERT INTO users (id, email, tier, created_at) VALUES ($1, $2, 'free', $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(email.map(str::to_owned))
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.user(id).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Records the token's email when it differs from the stored one (a token without one
    /// changes nothing).
    async fn keep_email(&self, user: &UserRow, email: Option<&str>) -> Result<(), sqlx::Error> {
        if email.is_some() && user.email.as_deref() != email {
            self.set_email(&user.id, email).await?;
        }
        Ok(())
    }

    pub async fn set_email(&self, id: &str, email: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email.map(str::to_owned))
            .bind(id)
            .execute(self.writer())
            .await
            .map(|_| ())
    }

    /// Sets a user's tier, creating the user when absent.
    pub async fn set_tier(&self, id: &str, tier: Tier) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO users (id, tier, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET tier = $2",
        )
        .bind(id)
        .bind(tier.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map(|_| ())
    }
}
