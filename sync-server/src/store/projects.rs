//! Projects of a user: list (search, sort, keyset pages), create with a client-chosen id,
//! rename and hard delete (elements and change log go with it by cascade).

use super::keyset::{bind_after, page_sql, split_page, Cursor, SortValue};
use super::{now_ms, rfc3339, Store};
use iskra_protocol::Project;
use sqlx::FromRow;
use uuid::Uuid;

/// A project row.
#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub seq: i64,
    pub image_count: i64,
    pub video_count: i64,
    pub thumbnail_asset_id: Option<String>,
}

impl ProjectRow {
    pub fn to_api(&self) -> Project {
        Project {
            id: Uuid::parse_str(&self.id).unwrap_or_default(),
            name: self.name.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            image_count: self.image_count,
            video_count: self.video_count,
            thumbnail_asset_id: self.thumbnail_asset_id.clone(),
        }
    }
}

/// Sort orders of the project list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectSort {
    Updated,
    Name,
}

impl ProjectSort {
    fn column(self) -> &'static str {
        match self {
            Self::Updated => "updated_at",
            Self::Name => "name",
        }
    }

    fn key(self, row: &ProjectRow) -> SortValue {
        match self {
            Self::Updated => SortValue::Int(row.updated_at),
            Self::Name => SortValue::Text(row.name.clone()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Name => "name",
        }
    }
}

/// One page request of the project list.
#[derive(Debug, Clone)]
pub struct ProjectQuery {
    pub search: Option<String>,
    pub sort: ProjectSort,
    pub descending: bool,
    pub limit: i64,
    pub after: Option<Cursor>,
}

const COLUMNS: &str =
    "id, name, created_at, updated_at, seq, image_count, video_count, thumbnail_asset_id";

/// Prefix of default project names (`Iskra 01`, `Iskra 02`, …).
pub const DEFAULT_NAME_PREFIX: &str = "Iskra ";

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The smallest number not used by a name of the form `Iskra NN`, formatted with two digits.
pub fn next_default_name<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let used: std::collections::HashSet<u32> = names
        .into_iter()
        .filter_map(|n| n.strip_prefix(DEFAULT_NAME_PREFIX))
        .filter_map(|n| n.parse().ok())
        .collect();
    let n = (1..).find(|n| !used.contains(n)).unwrap_or(1);
    format!("{DEFAULT_NAME_PREFIX}{n:02}")
}

impl Store {
    /// One page of the user's projects and the cursor of the next page.
    pub async fn list_projects(
        &self,
        user: &str,
        q: &ProjectQuery,
    ) -> Result<(Vec<ProjectRow>, Option<Cursor>), sqlx::Error> {
        let filters: &[&str] = if q.search.is_some() {
            &["LOWER(name) LIKE ? ESCAPE '\\'"]
        } else {
            &[]
        };
        let select = format!("SELECT {COLUMNS} FROM projects");
        let sql = page_sql(
            &select,
            filters,
            q.sort.column(),
            "id",
            q.descending,
            q.after.is_some(),
        );
        let mut query = sqlx::query_as::<_, ProjectRow>(&sql).bind(user);
        if let Some(s) = &q.search {
            query = query.bind(format!("%{}%", like_escape(&s.to_lowercase())));
        }
        if let Some(c) = &q.after {
            query = bind_after(query, c);
        }
        let rows = query.bind(q.limit + 1).fetch_all(self.pool()).await?;
        let sort = q.sort;
        let (rows, next) = split_page(rows, q.limit, |r| Cursor {
            s: sort.as_str().into(),
            v: sort.key(r),
            id: r.id.clone(),
        });
        Ok((rows, next))
    }

    pub async fn project(&self, user: &str, id: Uuid) -> Result<Option<ProjectRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM projects WHERE user_id = $1 AND id = $2"
        ))
        .bind(user)
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
    }

    /// Creates a project; `Ok((row, false))` when this user already has one with that id.
    pub async fn create_project(
        &self,
        user: &str,
        id: Uuid,
        name: Option<&str>,
    ) -> Result<(ProjectRow, bool), sqlx::Error> {
        if let Some(existing) = self.project(user, id).await? {
            return Ok((existing, false));
        }
        let name = match name {
            Some(n) => n.trim().to_owned(),
            None => {
                let names: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM projects WHERE user_id = $1 AND name LIKE 'Iskra %'",
                )
                .bind(user)
                .fetch_all(self.pool())
                .await?;
                next_default_name(names.iter().map(|(n,)| n.as_str()))
            }
        };
        let now = now_ms();
        let created = sqlx::query(
            "INSERT INTO projects (user_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (user_id, id) DO NOTHING",
        )
        .bind(user)
        .bind(id.to_string())
        .bind(name)
        .bind(now)
        .execute(self.writer())
        .await?
        .rows_affected()
            == 1;
        let row = self
            .project(user, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok((row, created))
    }

    /// Renames a project; `None` when the user has no such project.
    pub async fn rename_project(
        &self,
        user: &str,
        id: Uuid,
        name: &str,
    ) -> Result<Option<ProjectRow>, sqlx::Error> {
        let changed = sqlx::query(
            "UPDATE projects SET name = $1, updated_at = $2 WHERE user_id = $3 AND id = $4",
        )
        .bind(name.trim())
        .bind(now_ms())
        .bind(user)
        .bind(id.to_string())
        .execute(self.writer())
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        self.project(user, id).await
    }

    /// Hard-deletes a project with its canvas and history; false when it did not exist.
    pub async fn delete_project(&self, user: &str, id: Uuid) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let id = id.to_string();
        let n = sqlx::query("DELETE FROM projects WHERE user_id = $1 AND id = $2")
            .bind(user)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["elements", "changes"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE user_id = $1 AND project_id = $2"
            ))
            .bind(user)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_take_the_next_free_number() {
        assert_eq!(next_default_name([]), "Iskra 01");
        assert_eq!(
            next_default_name(["Iskra 01", "Iskra 03", "Other"]),
            "Iskra 02"
        );
        assert_eq!(next_default_name(["Iskra 01", "Iskra 02"]), "Iskra 03");
        assert_eq!(like_escape("a%b_c\\"), "a\\%b\\_c\\\\");
    }
}
