//! A [`FileQuery`] as one SQL statement: every filter in the WHERE clause (metadata, assets,
//! labels and tags as EXISTS lookups on `record_terms`), keyset paging on an indexed order
//! (`(key, id) > (after)`), and a LIMIT one past the page to know whether another follows.

use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments};

use super::records::subtree_bounds;
use super::rows::{Row, COLUMNS};
use super::Dialect;
use crate::error::AppResult;
use crate::model::{After, Direction, FileQuery, FileRecord, Filter, Order, Page, Span};

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Text(String),
}

/// SQL text and its bound values, numbered `$1…` in order.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Binds a value and answers its placeholder number.
    fn bind(&mut self, v: Value) -> usize {
        self.values.push(v);
        self.values.len()
    }

    fn and(&mut self, condition: &str) {
        self.text.push_str(" AND ");
        self.text.push_str(condition);
    }

    fn arguments(&self) -> AppResult<AnyArguments<'static>> {
        let mut args = AnyArguments::default();
        for v in &self.values {
            match v {
                Value::Int(i) => args.add(*i),
                Value::Text(t) => args.add(t.clone()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(args)
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn span(sql: &mut Sql, column: &str, s: Span) {
    if let Some(min) = s.min {
        let n = sql.bind(Value::Int(min));
        sql.and(&format!("{column} >= ${n}"));
    }
    if let Some(max) = s.max {
        let n = sql.bind(Value::Int(max));
        sql.and(&format!("{column} <= ${n}"));
    }
}

fn term(sql: &mut Sql, kind: &str, key: &str, values: &[String], all: bool) {
    if values.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    for v in values {
        let k = sql.bind(text(kind));
        let key = sql.bind(text(key));
        let t = sql.bind(text(v));
        parts.push(format!(
            "EXISTS (SELECT 1 FROM record_terms t WHERE t.app_id = r.app_id AND \
             t.record_id = r.id AND t.kind = ${k} AND t.term_key = ${key} AND t.term = ${t})"
        ));
    }
    let joined = parts.join(if all { " AND " } else { " OR " });
    sql.and(&format!("({joined})"));
}

/// Writes the WHERE conditions of `f` (after `app_id = $1`).
fn conditions(sql: &mut Sql, dialect: Dialect, f: &Filter) {
    match &f.within {
        Some((dir, true)) => {
            let (low, high) = subtree_bounds(dir);
            let l = sql.bind(Value::Text(low));
            let h = sql.bind(Value::Text(high));
            sql.and(&format!("r.path > ${l} AND r.path < ${h}"));
        }
        Some((dir, false)) => {
            let n = sql.bind(text(dir.as_str()));
            sql.and(&format!("r.parent = ${n}"));
        }
        None => {}
    }
    if !f.include_dirs {
        sql.and("r.is_dir = 0");
    }
    let exact = [
        ("r.name", &f.name),
        ("r.mime_type", &f.mime_type),
        ("r.source", &f.source),
        ("r.category", &f.category),
    ];
    for (column, value) in exact {
        if let Some(v) = value {
            let n = sql.bind(text(v));
            sql.and(&format!("{column} = ${n}"));
        }
    }
    if let Some(v) = &f.name_contains {
        let n = sql.bind(text(v));
        sql.and(&dialect.contains("r.name", n));
    }
    for word in &f.name_words {
        let n = sql.bind(Value::Text(word.to_ascii_lowercase()));
        sql.and(&dialect.contains("lower(r.name)", n));
    }
    if let Some((count, index)) = f.partition {
        let c = sql.bind(Value::Int(i64::from(count.max(1))));
        let i = sql.bind(Value::Int(i64::from(index)));
        sql.and(&format!("(r.id % ${c}) = ${i}"));
    }
    if let Some(g) = &f.name_glob {
        let n = sql.bind(Value::Text(dialect.glob_value(g)));
        sql.and(&dialect.glob("r.name", n));
    }
    let prefixes = [
        ("r.directory", &f.directory_prefix),
        ("r.external_id", &f.external_id_prefix),
    ];
    for (column, prefix) in prefixes {
        if let Some(p) = prefix {
            let len = sql.bind(Value::Int(i64::try_from(p.chars().count()).unwrap_or(0)));
            let n = sql.bind(text(p));
            sql.and(&format!(
                "substr({column}, 1, CAST(${len} AS INTEGER)) = ${n}"
            ));
        }
    }
    for (key, value) in &f.metadata {
        term(sql, "m", key, std::slice::from_ref(value), true);
    }
    let assets: Vec<String> = f.asset_ids_any.iter().map(i64::to_string).collect();
    term(sql, "a", "", &assets, false);
    term(sql, "l", "", &f.labels_any, false);
    term(sql, "l", "", &f.labels_all, true);
    term(sql, "t", "", &f.tags_any, false);
    if !f.data_set_ids.is_empty() {
        let list: Vec<String> = f
            .data_set_ids
            .iter()
            .map(|id| format!("${}", sql.bind(Value::Int(*id))))
            .collect();
        sql.and(&format!("r.data_set_id IN ({})", list.join(", ")));
    }
    match f.uploaded {
        Some(true) => sql.and("r.blob_id IS NOT NULL"),
        Some(false) => sql.and("r.blob_id IS NULL"),
        None => {}
    }
    span(sql, "r.created_ms", f.created);
    span(sql, "r.updated_ms", f.updated);
    span(sql, "r.uploaded_ms", f.uploaded_time);
    span(sql, "r.source_created_ms", f.source_created);
    span(sql, "r.source_modified_ms", f.source_modified);
    span(sql, "r.size", f.size);
}

/// The sort column of an order, whether it holds text, and its direction.
fn key(order: Order) -> (&'static str, bool, Direction) {
    match order {
        Order::Id => ("r.id", false, Direction::Asc),
        Order::Path => ("r.path", true, Direction::Asc),
        Order::Name(d) => ("r.name", true, d),
        Order::Size(d) => ("r.size", false, d),
        Order::Created(d) => ("r.created_ms", false, d),
    }
}

/// One page of `q` in `app`.
pub(super) async fn page(
    conn: &mut AnyConnection,
    dialect: Dialect,
    app: &str,
    q: &FileQuery,
) -> AppResult<Page> {
    let mut sql = Sql::default();
    sql.bind(text(app));
    sql.text = format!("SELECT {} FROM records r WHERE r.app_id = $1", prefixed());
    conditions(&mut sql, dialect, &q.filter);
    let (column, is_text, direction) = key(q.order);
    let (cmp, dir) = match direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    if let Some(after) = &q.after {
        let (k, id) = match after {
            After::Number(k, id) => (Value::Int(*k), *id),
            After::Text(k, id) => (Value::Text(k.clone()), *id),
        };
        let k = sql.bind(k);
        if column == "r.id" {
            sql.and(&format!("r.id {cmp} ${k}"));
        } else if column == "r.path" {
            // Paths are unique: the path alone is the place.
            sql.and(&format!("r.path {cmp} ${k}"));
        } else {
            let i = sql.bind(Value::Int(id));
            sql.and(&format!(
                "({column} {cmp} ${k} OR ({column} = ${k} AND r.id {cmp} ${i}))"
            ));
        }
    }
    let order_by = if column == "r.id" || column == "r.path" {
        format!(" ORDER BY {column} {dir}")
    } else {
        format!(" ORDER BY {column} {dir}, r.id {dir}")
    };
    sql.text.push_str(&order_by);
    let limit = i64::from(q.limit.max(1));
    let l = sql.bind(Value::Int(limit + 1));
    sql.text.push_str(&format!(" LIMIT ${l}"));
    if q.offset > 0 {
        let o = sql.bind(Value::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
        sql.text.push_str(&format!(" OFFSET ${o}"));
    }
    let args = sql.arguments()?;
    let rows: Vec<Row> = sqlx::query_as_with(&sql.text, args).fetch_all(conn).await?;
    let mut items: Vec<FileRecord> = rows.into_iter().map(Into::into).collect();
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = match items.last() {
        Some(last) if more => Some(place_of(last, q.order, is_text)),
        _ => None,
    };
    Ok(Page { items, next })
}

/// The place of `r` in `order`, for a cursor that continues after it.
#[must_use]
pub fn place(r: &FileRecord, order: Order) -> After {
    let is_text = matches!(order, Order::Path | Order::Name(_));
    place_of(r, order, is_text)
}

/// The place of `r` in `order`, for a cursor.
fn place_of(r: &FileRecord, order: Order, is_text: bool) -> After {
    let number = match order {
        Order::Size(_) => i64::try_from(r.size()).unwrap_or(i64::MAX),
        Order::Created(_) => r.created_ms,
        _ => r.id,
    };
    if is_text {
        let key = match order {
            Order::Path => r
                .path
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            _ => r.name.clone(),
        };
        After::Text(key, r.id)
    } else {
        After::Number(number, r.id)
    }
}

/// How many records match `f` in `app`.
pub(super) async fn count(
    conn: &mut AnyConnection,
    dialect: Dialect,
    app: &str,
    f: &Filter,
) -> AppResult<u64> {
    let mut sql = Sql::default();
    sql.bind(text(app));
    sql.text = "SELECT COUNT(*) FROM records r WHERE r.app_id = $1".to_owned();
    conditions(&mut sql, dialect, f);
    let args = sql.arguments()?;
    let (n,): (i64,) = sqlx::query_as_with(&sql.text, args).fetch_one(conn).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// [`COLUMNS`] with the table alias.
fn prefixed() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl super::Catalog {
    /// One page of a query.
    pub async fn query(&self, app: &str, q: &FileQuery) -> AppResult<Page> {
        let mut conn = self.read().await?;
        page(&mut conn, self.dialect, app, q).await
    }

    /// One page of a query, on a connection the caller holds.
    pub async fn query_on(
        &self,
        conn: &mut AnyConnection,
        app: &str,
        q: &FileQuery,
    ) -> AppResult<Page> {
        page(conn, self.dialect, app, q).await
    }

    /// How many records match.
    pub async fn count(&self, app: &str, f: &Filter) -> AppResult<u64> {
        let mut conn = self.read().await?;
        count(&mut conn, self.dialect, app, f).await
    }
}
