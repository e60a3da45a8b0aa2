//! The record-first operations (the Cognite and bkend shapes): create a record (content may
//! follow), put its content, resolve ids, update fields, delete.

use std::collections::BTreeMap;

use stowage_protocol::FilePath;

use super::access::Target;
use super::commit::Change;
use super::paths::{ensure_dirs, owned_by, PutOptions};
use super::validate::{check_directory, check_fields, check_name};
use super::{new_record_id, Files};
use crate::blobs::ByteStream;
use crate::catalog::{self, records, NewRecord, RecordChange, Tx};
use crate::error::{AppError, AppResult};
use crate::model::{now_ms, Fields, FileRecord, Ident, Op, Principal, CATEGORY_ROLE_PREFIX};

/// A record to create.
#[derive(Debug, Clone, Default)]
pub struct NewFile {
    /// Required name.
    pub name: String,
    /// Absolute directory, if any.
    pub directory: Option<String>,
    /// Client fields.
    pub fields: Fields,
    /// Whether `assetIds` was given (an overwrite keeps the old links otherwise).
    pub asset_ids_given: bool,
    /// Whether `metadata` was given (an overwrite keeps the old pairs otherwise).
    pub metadata_given: bool,
}

/// Refuses a new record whose name, directory or client fields break the documented limits.
pub fn check_new_file(new: &NewFile) -> AppResult<()> {
    check_name(&new.name)?;
    if let Some(d) = &new.directory {
        check_directory(d)?;
    }
    check_fields(&new.fields)
}

/// One field's change.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Update<T> {
    /// Leave it.
    #[default]
    Keep,
    /// Set it.
    Set(T),
    /// Clear it.
    SetNull,
}

impl<T> Update<T> {
    fn apply(self, field: &mut Option<T>) {
        match self {
            Self::Keep => {}
            Self::Set(v) => *field = Some(v),
            Self::SetNull => *field = None,
        }
    }
}

/// A list field's change: replace it, or add and remove items.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPatch<T> {
    /// Replace the whole list.
    pub set: Option<Vec<T>>,
    /// Items to add (once).
    pub add: Vec<T>,
    /// Items to remove.
    pub remove: Vec<T>,
}

impl<T> Default for ListPatch<T> {
    fn default() -> Self {
        Self {
            set: None,
            add: Vec::new(),
            remove: Vec::new(),
        }
    }
}

impl<T: PartialEq> ListPatch<T> {
    fn apply(self, list: &mut Vec<T>) {
        if let Some(set) = self.set {
            *list = set;
        }
        list.retain(|v| !self.remove.contains(v));
        for v in self.add {
            if !list.contains(&v) {
                list.push(v);
            }
        }
    }
}

/// Changes to a record's fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    /// externalId.
    pub external_id: Update<String>,
    /// New name (moves the record within its directory).
    pub name: Option<String>,
    /// directory.
    pub directory: Update<String>,
    /// source.
    pub source: Update<String>,
    /// mimeType.
    pub mime_type: Update<String>,
    /// metadata: replace all, then add (overwriting keys), then remove keys.
    pub metadata_set: Option<BTreeMap<String, String>>,
    /// Pairs to add.
    pub metadata_add: BTreeMap<String, String>,
    /// Keys to remove.
    pub metadata_remove: Vec<String>,
    /// assetIds.
    pub asset_ids: ListPatch<i64>,
    /// dataSetId.
    pub data_set_id: Update<i64>,
    /// securityCategories.
    pub security_categories: ListPatch<i64>,
    /// labels.
    pub labels: ListPatch<String>,
    /// geoLocation.
    pub geo_location: Update<serde_json::Value>,
    /// sourceCreatedTime.
    pub source_created_ms: Update<i64>,
    /// sourceModifiedTime.
    pub source_modified_ms: Update<i64>,
    /// bkend category.
    pub category: Update<String>,
    /// bkend tags.
    pub tags: ListPatch<String>,
    /// A record that owns a path must keep one: a new name or directory whose path is taken
    /// or invalid is refused instead of leaving the record reachable by id only.
    pub keep_path: bool,
}

/// The path a record with this directory and name owns, when they make a valid path.
fn path_of(directory: Option<&str>, name: &str) -> Option<FilePath> {
    let dir = FilePath::parse(directory.unwrap_or("/")).ok()?;
    let path = dir.join(name).ok()?;
    path.reserved_prefix().is_none().then_some(path)
}

/// Within a transaction: the path a record may own (valid, free, under directories) or none.
async fn claim_path(
    tx: &mut Tx,
    who: &Principal,
    path: Option<FilePath>,
    own_id: Option<i64>,
    now: i64,
) -> AppResult<Option<FilePath>> {
    let app = &who.app;
    let Some(path) = path else { return Ok(None) };
    if let Some(owner) = records::by_path(tx.conn(), app, &path).await? {
        return Ok((Some(owner.id) == own_id).then_some(path));
    }
    let savepoint = tx.savepoint().await?;
    match ensure_dirs(tx, who, &path.ancestors(), now).await {
        Ok(()) => {
            tx.release(&savepoint).await?;
            Ok(Some(path))
        }
        Err(AppError::Api(_)) => {
            // A file where a directory would be: the record has no path.
            tx.rollback_to(&savepoint).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Only the admin gives a record security categories the caller does not hold.
fn check_categories(who: &Principal, fields: &Fields) -> AppResult<()> {
    let held = |c: &i64| who.has_role(&format!("{CATEGORY_ROLE_PREFIX}{c}"));
    if fields.security_categories.iter().all(held) {
        Ok(())
    } else {
        Err(super::access::refused(super::access::Refusal::Category, ""))
    }
}

impl Files {
    /// Creates a record without content. With `overwrite` and an externalId another record has,
    /// that record is updated instead: its fields are replaced (asset links only when given)
    /// and its content stays until a new upload succeeds. Answers the record and whether it is
    /// new.
    pub async fn create_record(
        &self,
        who: &Principal,
        new: NewFile,
        overwrite: bool,
    ) -> AppResult<(FileRecord, bool)> {
        check_new_file(&new)?;
        check_categories(who, &new.fields)?;
        let app = &who.app;
        let now = now_ms();
        let mut tx = self.catalog().begin().await?;
        let existing = match (&new.fields.external_id, overwrite) {
            (Some(ext), true) => records::by_external_id(tx.conn(), app, ext).await?,
            _ => None,
        };
        let (id, created) = if let Some(old) = existing {
            self.authorize(tx.conn(), who, Op::Write, Target::File(&old))
                .await?;
            let mut fields = new.fields.clone();
            if !new.asset_ids_given {
                fields.asset_ids = old.fields.asset_ids.clone();
            }
            if !new.metadata_given {
                fields.metadata = old.fields.metadata.clone();
            }
            records::change(&mut tx, app, old.id, RecordChange::Fields(&fields), now).await?;
            if old.directory != new.directory || old.name != new.name {
                let path = path_of(new.directory.as_deref(), &new.name);
                let path = claim_path(&mut tx, who, path, Some(old.id), now).await?;
                let place = RecordChange::Place {
                    path: path.as_ref(),
                    directory: new.directory.as_deref(),
                    name: &new.name,
                };
                records::change(&mut tx, app, old.id, place, now).await?;
            }
            (old.id, false)
        } else {
            let path = path_of(new.directory.as_deref(), &new.name);
            let at = path.clone().unwrap_or_else(FilePath::root);
            let place = match &path {
                Some(p) => Target::New(p),
                None => Target::New(&at),
            };
            self.authorize(tx.conn(), who, Op::Write, place).await?;
            let path = claim_path(&mut tx, who, path, None, now).await?;
            let record = NewRecord {
                access: owned_by(who),
                id: new_record_id(),
                path,
                directory: new.directory.clone(),
                name: new.name.clone(),
                is_dir: false,
                fields: new.fields.clone(),
                now,
                content: None,
            };
            records::insert(&mut tx, app, &record).await?;
            (record.id, true)
        };
        let record = records::by_id(tx.conn(), app, id)
            .await?
            .ok_or_else(stowage_protocol::ApiError::internal)?;
        tx.commit().await?;
        Ok((record, created))
    }

    /// Streams `body` in as the content of record `id`, replacing what it had only once the
    /// new bytes are durable. A refused upload changes nothing. `options.mime_type` becomes
    /// the record's MIME type only when it has none.
    pub async fn put_content(
        &self,
        who: &Principal,
        id: i64,
        body: ByteStream<'_>,
        options: PutOptions,
    ) -> AppResult<FileRecord> {
        let record = {
            let mut conn = self.catalog().read().await?;
            let record = records::by_id(&mut conn, &who.app, id)
                .await?
                .filter(|r| !r.is_dir)
                .ok_or_else(stowage_protocol::ApiError::not_found)?;
            self.authorize(&mut conn, who, Op::Write, Target::File(&record))
                .await?;
            record
        };
        let content = self.stream_in(body, options.expected_len).await?;
        let change = Change::OfRecord {
            who: who.clone(),
            defaults: self.defaults(&who.app),
            id,
            content,
            // The type the record was given stays; an upload only fills in a missing one.
            mime_type: (record.fields.mime_type.is_none() && !options.mime_type.is_empty())
                .then_some(options.mime_type),
        };
        self.commit_content(change).await
    }

    /// The records `idents` name, in order (directories are not records here). Unknown ones
    /// are an error listing them all, unless `ignore_unknown`.
    pub async fn resolve(
        &self,
        who: &Principal,
        idents: &[Ident],
        ignore_unknown: bool,
    ) -> AppResult<Vec<FileRecord>> {
        self.resolve_for(who, Op::Read, idents, ignore_unknown)
            .await
    }

    /// [`Files::resolve`], each record checked for `op`.
    async fn resolve_for(
        &self,
        who: &Principal,
        op: Op,
        idents: &[Ident],
        ignore_unknown: bool,
    ) -> AppResult<Vec<FileRecord>> {
        let mut conn = self.catalog().read().await?;
        self.find_for(&mut conn, who, op, idents, ignore_unknown)
            .await
    }

    /// On `conn`: the records `idents` name (unknown ones an error unless `ignore_unknown`),
    /// each checked for `op`.
    async fn find_for(
        &self,
        conn: &mut sqlx::AnyConnection,
        who: &Principal,
        op: Op,
        idents: &[Ident],
        ignore_unknown: bool,
    ) -> AppResult<Vec<FileRecord>> {
        let app = &who.app;
        let mut found = Vec::with_capacity(idents.len());
        let mut missing = Vec::new();
        for ident in idents {
            let record = match ident {
                Ident::Id(id) => records::by_id(conn, app, *id).await?,
                Ident::External(e) => records::by_external_id(conn, app, e).await?,
            };
            match record.filter(|r| !r.is_dir) {
                Some(r) => found.push(r),
                None => missing.push(ident.clone()),
            }
        }
        if !missing.is_empty() && !ignore_unknown {
            return Err(AppError::Unknown(missing));
        }
        for record in &found {
            self.authorize(conn, who, op, Target::File(record)).await?;
        }
        Ok(found)
    }

    /// Applies changes to records, all or none. Answers the changed records in order.
    pub async fn update(
        &self,
        who: &Principal,
        changes: Vec<(Ident, Patch)>,
    ) -> AppResult<Vec<FileRecord>> {
        let app = &who.app;
        let idents: Vec<Ident> = changes.iter().map(|(i, _)| i.clone()).collect();
        self.resolve_for(who, Op::Write, &idents, false).await?;
        let now = now_ms();
        let mut tx = self.catalog().begin().await?;
        let mut ids = Vec::with_capacity(changes.len());
        for (ident, patch) in changes {
            let record = match &ident {
                Ident::Id(id) => records::by_id(tx.conn(), app, *id).await?,
                Ident::External(e) => records::by_external_id(tx.conn(), app, e).await?,
            };
            let record = record
                .filter(|r| !r.is_dir)
                .ok_or_else(|| AppError::Unknown(vec![ident.clone()]))?;
            self.authorize(tx.conn(), who, Op::Write, Target::File(&record))
                .await?;
            let patch_keeps_path = patch.keep_path;
            let (fields, place) = patched(&record, patch)?;
            if fields.security_categories != record.fields.security_categories {
                check_categories(who, &fields)?;
            }
            records::change(&mut tx, app, record.id, RecordChange::Fields(&fields), now).await?;
            if let Some((directory, name)) = place {
                let wanted = path_of(directory.as_deref(), &name);
                if patch_keeps_path && record.path.is_some() {
                    let dir = FilePath::parse(directory.as_deref().unwrap_or("/"))?;
                    let target = dir.join(&name)?;
                    if records::by_path(tx.conn(), app, &target).await?.is_some() {
                        return Err(stowage_protocol::ApiError::already_exists(&name).into());
                    }
                }
                let path = claim_path(&mut tx, who, wanted, Some(record.id), now).await?;
                if patch_keeps_path && record.path.is_some() && path.is_none() {
                    return Err(stowage_protocol::ApiError::already_exists(&name).into());
                }
                let change = RecordChange::Place {
                    path: path.as_ref(),
                    directory: directory.as_deref(),
                    name: &name,
                };
                records::change(&mut tx, app, record.id, change, now).await?;
            }
            ids.push(record.id);
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(
                records::by_id(tx.conn(), app, id)
                    .await?
                    .ok_or_else(stowage_protocol::ApiError::internal)?,
            );
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes records (and their content), all or none.
    pub async fn delete_records(
        &self,
        who: &Principal,
        idents: &[Ident],
        ignore_unknown: bool,
    ) -> AppResult<u64> {
        let app = &who.app;
        let mut tx = self.catalog().begin().await?;
        let found = self
            .find_for(tx.conn(), who, Op::Delete, idents, ignore_unknown)
            .await?;
        let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
        let blobs = records::delete(&mut tx, app, &ids).await?;
        let now = now_ms();
        for blob in &blobs {
            catalog::add_garbage(&mut tx, blob, now).await?;
        }
        tx.commit().await?;
        self.drop_blobs(&blobs).await;
        Ok(ids.len() as u64)
    }
}

/// The fields (and, when they change, directory and name) a patch gives a record.
type Patched = (Fields, Option<(Option<String>, String)>);

fn patched(record: &FileRecord, p: Patch) -> AppResult<Patched> {
    let mut f = record.fields.clone();
    p.external_id.apply(&mut f.external_id);
    p.source.apply(&mut f.source);
    p.mime_type.apply(&mut f.mime_type);
    if let Some(set) = p.metadata_set {
        f.metadata = set;
    }
    f.metadata.extend(p.metadata_add);
    for k in &p.metadata_remove {
        f.metadata.remove(k);
    }
    p.asset_ids.apply(&mut f.asset_ids);
    p.data_set_id.apply(&mut f.data_set_id);
    p.security_categories.apply(&mut f.security_categories);
    p.labels.apply(&mut f.labels);
    p.geo_location.apply(&mut f.geo_location);
    p.source_created_ms.apply(&mut f.source_created_ms);
    p.source_modified_ms.apply(&mut f.source_modified_ms);
    p.category.apply(&mut f.category);
    p.tags.apply(&mut f.tags);
    check_fields(&f)?;
    let mut directory = record.directory.clone();
    p.directory.apply(&mut directory);
    let name = p.name.unwrap_or_else(|| record.name.clone());
    check_name(&name)?;
    if let Some(d) = &directory {
        check_directory(d)?;
    }
    let place = (directory != record.directory || name != record.name).then_some((directory, name));
    Ok((f, place))
}
