//! The one decision: [`decide`] answers whether a principal may do an operation on a file (or
//! create one at a path), from the file's owner, visibility and security categories, the rules
//! on it and on each folder above it, and the app's defaults. Every method of the service calls
//! [`Files::authorize`] (or the listing filter built on it) in the transaction or on the
//! connection that read the record. docs/access.md explains the model.

use std::collections::HashMap;

use sqlx::AnyConnection;
use stowage_protocol::{ErrorCode, FilePath};

use super::Files;
use crate::catalog::access::{self, Rules};
use crate::error::{AppError, AppResult};
use crate::model::{
    AppDefaults, FileRecord, Op, Principal, Rule, Subject, Visibility, CATEGORY_ROLE_PREFIX,
};

/// What an operation is about: an existing file, or a path where a file would be created.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    /// An existing record.
    File(&'a FileRecord),
    /// A file to create at this path (its folders decide).
    New(&'a FilePath),
}

/// Why a decision refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The principal lacks one of the file's security categories.
    Category,
    /// A rule, the visibility or the app's defaults refused.
    Rule,
}

/// The rules a file's visibility stands for, at the file's own level.
fn visibility_rules(record: &FileRecord) -> Vec<Rule> {
    let rule = |op, subject, allow| Rule { op, subject, allow };
    let Some(v) = record.access.visibility else {
        return Vec::new();
    };
    let mut rules = vec![
        rule(Op::Write, Subject::AnyUser, false),
        rule(Op::Delete, Subject::AnyUser, false),
    ];
    match v {
        Visibility::Public => rules.push(rule(Op::Read, Subject::AnyUser, true)),
        Visibility::Private => rules.push(rule(Op::Read, Subject::AnyUser, false)),
        Visibility::Protected => {
            rules.push(rule(
                Op::Read,
                Subject::Role(crate::model::AUTHENTICATED.into()),
                true,
            ));
            rules.push(rule(Op::Read, Subject::AnyRole, false));
        }
        Visibility::Shared => {
            for user in &record.access.shared_with {
                rules.push(rule(Op::Read, Subject::User(user.clone()), true));
            }
            rules.push(rule(Op::Read, Subject::AnyRole, false));
        }
    }
    rules
}

/// The decision of one level: the first class (this user, user `*`, one of the roles,
/// role `*`) with a rule for `op` decides, a deny beating a grant within it.
fn decide_level<'r>(
    rules: impl Iterator<Item = &'r Rule> + Clone,
    who: &Principal,
    op: Op,
) -> Option<bool> {
    let class = |s: &Subject| match s {
        Subject::User(id) => (who.user_id() == Some(id.as_str())).then_some(0),
        Subject::AnyUser => Some(1),
        Subject::Role(r) => who.has_role(r).then_some(2),
        Subject::AnyRole => Some(3),
    };
    let mut best: Option<(u8, bool)> = None;
    for rule in rules.filter(|r| r.op == op) {
        let Some(c) = class(&rule.subject) else {
            continue;
        };
        best = match best {
            None => Some((c, rule.allow)),
            Some((b, _)) if c < b => Some((c, rule.allow)),
            Some((b, allow)) if c == b => Some((b, allow && rule.allow)),
            keep => keep,
        };
    }
    best.map(|(_, allow)| allow)
}

/// What the app's defaults answer where no rule decided.
fn default_decision(defaults: AppDefaults, who: &Principal, op: Op, target: Target<'_>) -> bool {
    match defaults {
        AppDefaults::Open => true,
        AppDefaults::Private => {
            op == Op::Write && matches!(target, Target::New(_)) && who.user_id().is_some()
        }
    }
}

/// Whether `who` may do `op` on `target`, given the rules looked up for it.
pub(super) fn decide(
    who: &Principal,
    op: Op,
    target: Target<'_>,
    rules: &Rules,
    defaults: AppDefaults,
) -> Result<(), Refusal> {
    if who.is_admin() {
        return Ok(());
    }
    let folders_of = |path: Option<&FilePath>, include_self: bool| -> Vec<String> {
        let Some(path) = path else { return Vec::new() };
        let mut dirs: Vec<String> = path
            .ancestors()
            .iter()
            .map(|d| d.as_str().to_owned())
            .collect();
        if include_self && !path.is_root() {
            dirs.push(path.as_str().to_owned());
        }
        dirs.reverse();
        dirs
    };
    let none: Vec<Rule> = Vec::new();
    let root = rules.by_id.get(&0).unwrap_or(&none);
    let folder_rules = |dirs: &[String]| -> Option<bool> {
        for dir in dirs {
            if let Some(rs) = rules.by_path.get(dir) {
                if let Some(d) = decide_level(rs.iter(), who, op) {
                    return Some(d);
                }
            }
        }
        decide_level(root.iter(), who, op)
    };
    let decided = match target {
        Target::File(record) => {
            let held = |c: &i64| who.has_role(&format!("{CATEGORY_ROLE_PREFIX}{c}"));
            if !record.fields.security_categories.iter().all(held) {
                return Err(Refusal::Category);
            }
            if record.access.owner.is_some() && record.access.owner.as_deref() == who.user_id() {
                return Ok(());
            }
            let own = rules.by_id.get(&record.id).unwrap_or(&none);
            let derived = visibility_rules(record);
            decide_level(own.iter().chain(derived.iter()), who, op)
                .or_else(|| folder_rules(&folders_of(record.path.as_ref(), false)))
        }
        Target::New(path) => folder_rules(&folders_of(Some(path), false)),
    };
    let defaults_of = || default_decision(defaults, who, op, target);
    if decided.unwrap_or_else(defaults_of) {
        Ok(())
    } else {
        Err(Refusal::Rule)
    }
}

/// The error a refusal answers.
#[must_use]
pub(super) fn refused(refusal: Refusal, what: &str) -> AppError {
    match refusal {
        Refusal::Category => AppError::api(
            ErrorCode::NoPermission,
            "Resource not found. This may also be due to insufficient access rights.",
        ),
        Refusal::Rule => AppError::api(
            ErrorCode::NoPermission,
            format!(
                "User has no permissions to specified resource: {}",
                crate::error::shorten(what)
            ),
        ),
    }
}

/// The name an error gives a record.
fn label(record: &FileRecord) -> String {
    record
        .path
        .as_ref()
        .map_or_else(|| record.id.to_string(), FilePath::to_absolute)
}

impl Files {
    /// The app's defaults.
    pub(super) fn defaults(&self, app: &str) -> AppDefaults {
        self.inner.defaults.get(app).copied().unwrap_or_default()
    }

    /// Looks up the rules that can decide for `records` and for new files at `new`.
    pub(super) async fn rules_for(
        conn: &mut AnyConnection,
        who: &Principal,
        records: &[&FileRecord],
        new: &[&FilePath],
    ) -> AppResult<Rules> {
        if who.is_admin() {
            return Ok(Rules::default());
        }
        let mut ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        ids.push(0);
        let mut dirs: HashMap<String, FilePath> = HashMap::new();
        let paths = records
            .iter()
            .filter_map(|r| r.path.as_ref())
            .chain(new.iter().copied());
        for path in paths {
            for dir in path.ancestors() {
                dirs.entry(dir.as_str().to_owned()).or_insert(dir);
            }
        }
        let dirs: Vec<FilePath> = dirs.into_values().collect();
        access::rules(conn, &who.app, &ids, &dirs).await
    }

    /// Refuses unless `who` may do `op` on `target`; reads the rules on `conn` (the connection
    /// or transaction that read the record).
    pub(super) async fn authorize(
        &self,
        conn: &mut AnyConnection,
        who: &Principal,
        op: Op,
        target: Target<'_>,
    ) -> AppResult<()> {
        authorize_on(conn, who, self.defaults(&who.app), op, target).await
    }

    /// Whether `who` may read every record of its app: the admin, or anyone in an app with open
    /// defaults, no rule and no record a visibility or category hides. Listings and counts then
    /// page and count in SQL alone.
    pub(super) async fn sees_all(
        &self,
        conn: &mut AnyConnection,
        who: &Principal,
    ) -> AppResult<bool> {
        if who.is_admin() {
            return Ok(true);
        }
        if self.defaults(&who.app) != AppDefaults::Open {
            return Ok(false);
        }
        access::unrestricted(conn, &who.app).await
    }

    /// Keeps the records `who` may read, in order (a listing filters before it pages).
    pub(super) async fn readable(
        &self,
        conn: &mut AnyConnection,
        who: &Principal,
        records: Vec<FileRecord>,
    ) -> AppResult<Vec<FileRecord>> {
        if who.is_admin() || records.is_empty() {
            return Ok(records);
        }
        let refs: Vec<&FileRecord> = records.iter().collect();
        let rules = Self::rules_for(conn, who, &refs, &[]).await?;
        let defaults = self.defaults(&who.app);
        Ok(records
            .into_iter()
            .filter(|r| decide(who, Op::Read, Target::File(r), &rules, defaults).is_ok())
            .collect())
    }

    /// Refuses a whole subtree operation unless `who` may do `op` on every entry, naming the
    /// first entry that blocks it.
    pub(super) async fn authorize_all(
        &self,
        conn: &mut AnyConnection,
        who: &Principal,
        op: Op,
        entries: &[FileRecord],
    ) -> AppResult<()> {
        if who.is_admin() {
            return Ok(());
        }
        let refs: Vec<&FileRecord> = entries.iter().collect();
        let rules = Self::rules_for(conn, who, &refs, &[]).await?;
        let defaults = self.defaults(&who.app);
        for (i, entry) in entries.iter().enumerate() {
            if let Err(r) = decide(who, op, Target::File(entry), &rules, defaults) {
                if i == 0 {
                    return Err(refused(r, &label(entry)));
                }
                return Err(AppError::api(
                    ErrorCode::BlockedEntry,
                    format!(
                        "No {} permission on {}, inside {}: nothing was changed",
                        op.as_str(),
                        crate::error::shorten(&label(entry)),
                        crate::error::shorten(&label(&entries[0]))
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// [`Files::authorize`] for code that holds only a connection (the group commit).
pub(super) async fn authorize_on(
    conn: &mut AnyConnection,
    who: &Principal,
    defaults: AppDefaults,
    op: Op,
    target: Target<'_>,
) -> AppResult<()> {
    if who.is_admin() {
        return Ok(());
    }
    let rules = match target {
        Target::File(r) => Files::rules_for(conn, who, &[r], &[]).await?,
        Target::New(p) => Files::rules_for(conn, who, &[], &[p]).await?,
    };
    decide(who, op, target, &rules, defaults).map_err(|r| {
        let what = match target {
            Target::File(record) => label(record),
            Target::New(path) => path.to_absolute(),
        };
        refused(r, &what)
    })
}
