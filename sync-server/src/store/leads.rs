//! Leads (seed job 5): email addresses left to download a shared image, one row per share and
//! (lower-cased) address however often it is sent.

use super::{now_ms, Store};

impl Store {
    /// Records `email` for share `short_id`; false when it was recorded before.
    pub async fn insert_lead(&self, short_id: &str, email: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO leads (short_id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (short_id, email) DO NOTHING",
        )
        .bind(short_id)
        .bind(email)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The addresses left for a share, oldest first.
    pub async fn leads_of_share(&self, short_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT email FROM leads WHERE short_id = $1 ORDER BY created_at, email",
        )
        .bind(short_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }
}
