//! SQL for access control: users and their tokens (only a token's SHA-256 is stored), and the
//! permission rules on records (record 0 is the app root).

use std::collections::HashMap;

use sqlx::AnyConnection;
use stowage_protocol::FilePath;

use super::rows::to_json;
use super::Tx;
use crate::error::{AppError, AppResult};
use crate::model::{Op, Rule, Subject, User};

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    roles: String,
    created_ms: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            name: r.name,
            roles: serde_json::from_str(&r.roles).unwrap_or_default(),
            created_ms: r.created_ms,
        }
    }
}

const USER_COLUMNS: &str = "id, email, name, roles, created_ms";

/// A user from the [`USER_COLUMNS`] of a row that also carries something else.
fn user_of(
    (id, email, name, roles, created_ms): (String, String, Option<String>, String, i64),
) -> User {
    UserRow {
        id,
        email,
        name,
        roles,
        created_ms,
    }
    .into()
}

/// Inserts a user; answers false when the email is taken.
pub async fn insert_user(tx: &mut Tx, app: &str, user: &User, hash: &str) -> AppResult<bool> {
    let result = sqlx::query(
        "INSERT INTO users (app_id, id, email, name, password_hash, roles, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(app)
    .bind(&user.id)
    .bind(&user.email)
    .bind(user.name.clone())
    .bind(hash)
    .bind(to_json(&user.roles))
    .bind(user.created_ms)
    .execute(tx.conn())
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
        Err(e) => Err(AppError::from(e)),
    }
}

/// The user with this email or objectId, and their password hash.
pub async fn user_by_login(
    conn: &mut AnyConnection,
    app: &str,
    login: &str,
) -> AppResult<Option<(User, String)>> {
    let row: Option<(String, String, Option<String>, String, i64, String)> = sqlx::query_as(
        "SELECT id, email, name, roles, created_ms, password_hash FROM users \
         WHERE app_id = $1 AND (email = $2 OR id = $3)",
    )
    .bind(app)
    .bind(login.to_lowercase())
    .bind(login)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, email, name, roles, created_ms, hash)| {
        (user_of((id, email, name, roles, created_ms)), hash)
    }))
}

/// The user with this objectId.
pub async fn user_by_id(conn: &mut AnyConnection, app: &str, id: &str) -> AppResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND id = $2"
    ))
    .bind(app)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Replaces a user's assigned roles.
pub async fn set_roles(tx: &mut Tx, app: &str, id: &str, roles: &[String]) -> AppResult<()> {
    sqlx::query("UPDATE users SET roles = $3 WHERE app_id = $1 AND id = $2")
        .bind(app)
        .bind(id)
        .bind(to_json(&roles))
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Stores a token's hash.
pub async fn insert_token(
    tx: &mut Tx,
    app: &str,
    user: &str,
    hash: &str,
    now: i64,
    expires_ms: i64,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO tokens (hash, app_id, user_id, created_ms, expires_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(app)
    .bind(user)
    .bind(now)
    .bind(expires_ms)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The user a token hash names and when it expires.
pub async fn token(
    conn: &mut AnyConnection,
    app: &str,
    hash: &str,
) -> AppResult<Option<(User, i64)>> {
    let row: Option<(String, String, Option<String>, String, i64, i64)> = sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.roles, u.created_ms, t.expires_ms FROM tokens t \
         JOIN users u ON u.app_id = t.app_id AND u.id = t.user_id \
         WHERE t.hash = $1 AND t.app_id = $2",
    )
    .bind(hash)
    .bind(app)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, email, name, roles, created_ms, expires)| {
        (user_of((id, email, name, roles, created_ms)), expires)
    }))
}

/// Forgets a token; answers whether it existed.
pub async fn delete_token(tx: &mut Tx, app: &str, hash: &str) -> AppResult<bool> {
    let done = sqlx::query("DELETE FROM tokens WHERE hash = $1 AND app_id = $2")
        .bind(hash)
        .bind(app)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets the tokens that expired before `now`.
pub async fn delete_expired_tokens(tx: &mut Tx, now: i64) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM tokens WHERE expires_ms < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected())
}

/// Sets one rule on a record (0: the app root), replacing the rule for the same operation and
/// subject.
pub async fn put_rule(tx: &mut Tx, app: &str, record: i64, rule: &Rule) -> AppResult<()> {
    let (kind, subject) = rule.subject.parts();
    sqlx::query(
        "INSERT INTO permissions (app_id, record_id, op, subject_kind, subject, allow) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (app_id, record_id, op, subject_kind, subject) DO UPDATE SET allow = $6",
    )
    .bind(app)
    .bind(record)
    .bind(rule.op.as_str())
    .bind(kind)
    .bind(subject)
    .bind(i64::from(rule.allow))
    .execute(tx.conn())
    .await?;
    Ok(())
}

type RuleRow = (i64, Option<String>, String, String, String, i64);

fn rule_of(op: &str, kind: &str, subject: &str, allow: i64) -> Option<Rule> {
    Some(Rule {
        op: Op::parse(op)?,
        subject: Subject::from_parts(kind, subject)?,
        allow: allow != 0,
    })
}

/// The rules that can decide for records: those on the records `ids` (0 for the app root),
/// keyed by id, and those on the directories at `dirs`, keyed by path. One statement per 500
/// names; on an app without rules it finds nothing at once.
pub async fn rules(
    conn: &mut AnyConnection,
    app: &str,
    ids: &[i64],
    dirs: &[FilePath],
) -> AppResult<Rules> {
    let mut out = Rules::default();
    let (mut ids, mut dirs) = (ids, dirs);
    while !ids.is_empty() || !dirs.is_empty() {
        let (id_part, id_rest) = ids.split_at(ids.len().min(500));
        let (dir_part, dir_rest) = dirs.split_at(dirs.len().min(500));
        (ids, dirs) = (id_rest, dir_rest);
        let mut n = 1;
        let mut marks = |count: usize| {
            let list: Vec<String> = (0..count).map(|i| format!("${}", n + 1 + i)).collect();
            n += count;
            if list.is_empty() {
                "NULL".to_owned()
            } else {
                list.join(", ")
            }
        };
        let id_marks = marks(id_part.len());
        let dir_marks = marks(dir_part.len());
        let sql = format!(
            "SELECT p.record_id, r.path, p.op, p.subject_kind, p.subject, p.allow \
             FROM permissions p LEFT JOIN records r ON r.app_id = p.app_id AND r.id = p.record_id \
             WHERE p.app_id = $1 AND (p.record_id IN ({id_marks}) OR p.record_id IN \
             (SELECT id FROM records WHERE app_id = $1 AND path IN ({dir_marks})))"
        );
        let mut q = sqlx::query_as::<_, RuleRow>(&sql).bind(app);
        for id in id_part {
            q = q.bind(*id);
        }
        for dir in dir_part {
            q = q.bind(dir.as_str().to_owned());
        }
        for (id, path, op, kind, subject, allow) in q.fetch_all(&mut *conn).await? {
            let Some(rule) = rule_of(&op, &kind, &subject, allow) else {
                continue;
            };
            let on_dir = path
                .as_deref()
                .is_some_and(|p| dir_part.iter().any(|d| d.as_str() == p));
            if on_dir {
                if let Some(p) = &path {
                    out.by_path.entry(p.clone()).or_default().push(rule.clone());
                }
            }
            if id_part.contains(&id) {
                out.by_id.entry(id).or_default().push(rule);
            }
        }
    }
    Ok(out)
}

/// Rules looked up for one decision (or one page of them).
#[derive(Debug, Default, Clone)]
pub struct Rules {
    /// Rules on records, by record id (0: the app root).
    pub by_id: HashMap<i64, Vec<Rule>>,
    /// Rules on directories, by canonical path.
    pub by_path: HashMap<String, Vec<Rule>>,
}

/// Whether the app has no rule at all and no record that a visibility or a security category
/// could hide: then, under open defaults, everyone reads everything.
pub async fn unrestricted(conn: &mut AnyConnection, app: &str) -> AppResult<bool> {
    let (restricted,): (i64,) = sqlx::query_as(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM permissions WHERE app_id = $1) \
         OR EXISTS (SELECT 1 FROM records WHERE app_id = $1 \
         AND (visibility IS NOT NULL OR security_categories <> '[]')) THEN 1 ELSE 0 END",
    )
    .bind(app)
    .fetch_one(conn)
    .await?;
    Ok(restricted == 0)
}
