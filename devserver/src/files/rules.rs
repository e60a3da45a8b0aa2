//! Changing who may see a file: Backendless grant/deny rules on a file, a folder or the app
//! root, and bkend visibility and sharing. Each change moves the file's access epoch on, so
//! presigned URLs signed before it stop working.

use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::access::Target;
use super::Files;
use crate::catalog::{access, records};
use crate::error::{AppError, AppResult};
use crate::model::{FileRecord, Op, Principal, Rule, Visibility};

/// What a rule is set on.
#[derive(Debug, Clone)]
pub enum RuleTarget {
    /// A file or directory of the path-based routes (the root: the app's own rules).
    Path(FilePath),
    /// A record by id.
    Id(i64),
}

/// A change of visibility and sharing.
#[derive(Debug, Clone, Default)]
pub struct AccessChange {
    /// New visibility (`Some(None)` clears it, so the rules decide again).
    pub visibility: Option<Option<Visibility>>,
    /// New list of users a `shared` file is shared with.
    pub shared_with: Option<Vec<String>>,
}

/// Most users one file is shared with.
const MAX_SHARED: usize = 100;

fn only_owner(record: &FileRecord) -> AppError {
    AppError::api(
        ErrorCode::NoPermission,
        format!(
            "Only the owner or the admin may change who sees {}",
            record
                .path
                .as_ref()
                .map_or_else(|| record.id.to_string(), FilePath::to_absolute)
        ),
    )
}

impl Files {
    async fn rule_record(
        &self,
        conn: &mut sqlx::AnyConnection,
        who: &Principal,
        target: &RuleTarget,
    ) -> AppResult<Option<FileRecord>> {
        let found = match target {
            RuleTarget::Path(p) if p.is_root() => return Ok(None),
            RuleTarget::Path(p) => records::by_path(conn, &who.app, p).await?,
            RuleTarget::Id(id) => records::by_id(conn, &who.app, *id).await?,
        };
        found.map(Some).ok_or_else(|| ApiError::not_found().into())
    }

    /// Grants or denies an operation on a file or folder. The caller needs that permission on
    /// the item (rules on the app root: the admin only).
    pub async fn set_rule(
        &self,
        who: &Principal,
        target: &RuleTarget,
        rule: &Rule,
    ) -> AppResult<()> {
        let mut tx = self.catalog().begin().await?;
        let record = self.rule_record(tx.conn(), who, target).await?;
        match &record {
            Some(r) => {
                self.authorize(tx.conn(), who, rule.op, Target::File(r))
                    .await?;
            }
            None if who.is_admin() => {}
            None => {
                return Err(AppError::api(
                    ErrorCode::NoPermission,
                    "Only the admin may set rules on the root directory",
                ))
            }
        }
        let id = record.as_ref().map_or(0, |r| r.id);
        access::put_rule(&mut tx, &who.app, id, rule).await?;
        if id != 0 {
            records::bump_epoch(&mut tx, &who.app, id).await?;
        }
        tx.commit().await
    }

    /// The rules set on a file or folder (not the inherited ones); needs READ on it.
    pub async fn rules_on(&self, who: &Principal, target: &RuleTarget) -> AppResult<Vec<Rule>> {
        let mut conn = self.catalog().read().await?;
        let record = self.rule_record(&mut conn, who, target).await?;
        if let Some(r) = &record {
            self.authorize(&mut conn, who, Op::Read, Target::File(r))
                .await?;
        }
        let id = record.as_ref().map_or(0, |r| r.id);
        let mut rules = access::rules(&mut conn, &who.app, &[id], &[]).await?;
        Ok(rules.by_id.remove(&id).unwrap_or_default())
    }

    /// Changes a file's visibility or sharing: its owner or the admin only. Answers the record.
    pub async fn set_access(
        &self,
        who: &Principal,
        target: &RuleTarget,
        change: AccessChange,
    ) -> AppResult<FileRecord> {
        let mut tx = self.catalog().begin().await?;
        let Some(record) = self.rule_record(tx.conn(), who, target).await? else {
            return Err(AppError::api(
                ErrorCode::RootNotAllowed,
                "The root directory has no visibility: set rules on it instead",
            ));
        };
        // Someone who may not read the file learns nothing about it.
        self.authorize(tx.conn(), who, Op::Read, Target::File(&record))
            .await?;
        let owns = record.access.owner.is_some() && record.access.owner.as_deref() == who.user_id();
        if !owns && !who.is_admin() {
            return Err(only_owner(&record));
        }
        let mut next = record.access.clone();
        if let Some(v) = change.visibility {
            next.visibility = v;
        }
        if let Some(users) = change.shared_with {
            if users.len() > MAX_SHARED || users.iter().any(|u| u.is_empty() || u.len() > 64) {
                return Err(AppError::api(
                    ErrorCode::InvalidParameter,
                    format!("sharedWith takes at most {MAX_SHARED} user ids of 1 to 64 characters"),
                ));
            }
            next.shared_with = users;
        }
        records::set_access(&mut tx, &who.app, record.id, &next).await?;
        let record = records::by_id(tx.conn(), &who.app, record.id)
            .await?
            .ok_or_else(ApiError::internal)?;
        tx.commit().await?;
        Ok(record)
    }
}
