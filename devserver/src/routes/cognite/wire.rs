//! Between Cognite's wire types (`stowage_protocol::cognite`) and the service's domain types.

use stowage_protocol::cognite::{
    FieldError, FileChange, FileCreate, FileFilter, FileInfo, Identity, LabelFilter, LabelsPatch,
    ListPatch, MapPatch, SetOrNull, TimeRange,
};

use crate::files::{self, NewFile, Patch, Update};
use crate::model::{Fields, FileRecord, Filter, Ident, Span};

/// A wire identity as the service names records.
pub(super) fn ident(i: &Identity) -> Ident {
    match i {
        Identity::Id(id) => Ident::Id(*id),
        Identity::ExternalId(e) => Ident::External(e.clone()),
    }
}

/// A service identity on the wire.
pub(super) fn identity(i: &Ident) -> Identity {
    match i {
        Ident::Id(id) => Identity::Id(*id),
        Ident::External(e) => Identity::ExternalId(e.clone()),
    }
}

/// The record a `FileCreate` asks for.
pub(in crate::routes) fn new_file(c: FileCreate) -> NewFile {
    NewFile {
        name: c.name,
        directory: c.directory,
        asset_ids_given: c.asset_ids.is_some(),
        metadata_given: c.metadata.is_some(),
        fields: Fields {
            external_id: c.external_id,
            source: c.source,
            mime_type: c.mime_type,
            metadata: c.metadata.unwrap_or_default(),
            asset_ids: c.asset_ids.unwrap_or_default(),
            data_set_id: c.data_set_id,
            security_categories: c.security_categories.unwrap_or_default(),
            labels: c
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.external_id)
                .collect(),
            geo_location: c.geo_location,
            source_created_ms: c.source_created_time,
            source_modified_ms: c.source_modified_time,
            category: None,
            tags: Vec::new(),
        },
    }
}

fn some_list<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

/// A record on the wire. Absent fields are left out, never `null`.
pub(super) fn info(r: FileRecord) -> FileInfo {
    let f = r.fields;
    FileInfo {
        id: r.id,
        external_id: f.external_id,
        name: r.name,
        directory: r.directory,
        source: f.source,
        mime_type: f.mime_type,
        metadata: (!f.metadata.is_empty()).then_some(f.metadata),
        asset_ids: some_list(f.asset_ids),
        data_set_id: f.data_set_id,
        source_created_time: f.source_created_ms,
        source_modified_time: f.source_modified_ms,
        security_categories: some_list(f.security_categories),
        labels: some_list(
            f.labels
                .into_iter()
                .map(|external_id| stowage_protocol::cognite::Label { external_id })
                .collect(),
        ),
        geo_location: f.geo_location,
        created_time: r.created_ms,
        last_updated_time: r.updated_ms,
        uploaded_time: r.content.as_ref().map(|c| c.uploaded_ms),
        uploaded: r.content.is_some(),
        upload_url: None,
    }
}

fn span(r: Option<TimeRange>) -> Span {
    r.map_or_else(Span::default, |r| Span {
        min: r.min,
        max: r.max,
    })
}

/// The service's filter for a Cognite filter (already validated, unsupported parts refused).
/// Filters by what Stowage does not hold (assets and data sets by externalId) are refused
/// rather than ignored.
pub(super) fn filter(f: Option<FileFilter>) -> Result<Filter, FieldError> {
    let Some(f) = f else {
        return Ok(Filter::default());
    };
    if f.asset_external_ids.is_some() {
        return Err(FieldError::new(
            "filter.assetExternalIds",
            "is not supported: Stowage keeps asset ids, not assets; filter by assetIds",
        ));
    }
    let mut data_set_ids = Vec::new();
    for i in f.data_set_ids.as_deref().unwrap_or_default() {
        match i {
            Identity::Id(id) => data_set_ids.push(*id),
            Identity::ExternalId(_) => {
                return Err(FieldError::new(
                    "filter.dataSetIds",
                    "by externalId is not supported: Stowage keeps data set ids; give {id}",
                ))
            }
        }
    }
    let (labels_any, labels_all) = match f.labels {
        Some(LabelFilter::ContainsAny(l)) => {
            (l.into_iter().map(|l| l.external_id).collect(), vec![])
        }
        Some(LabelFilter::ContainsAll(l)) => {
            (vec![], l.into_iter().map(|l| l.external_id).collect())
        }
        None => (vec![], vec![]),
    };
    Ok(Filter {
        name: f.name,
        directory_prefix: f.directory_prefix,
        mime_type: f.mime_type,
        metadata: f.metadata.unwrap_or_default(),
        asset_ids_any: f.asset_ids.unwrap_or_default(),
        data_set_ids,
        source: f.source,
        labels_any,
        labels_all,
        uploaded: f.uploaded,
        external_id_prefix: f.external_id_prefix,
        created: span(f.created_time),
        updated: span(f.last_updated_time),
        uploaded_time: span(f.uploaded_time),
        source_created: span(f.source_created_time),
        source_modified: span(f.source_modified_time),
        ..Filter::default()
    })
}

fn update<T>(v: Option<SetOrNull<T>>) -> Update<T> {
    match v {
        Some(SetOrNull::Set(v)) => Update::Set(v),
        Some(SetOrNull::SetNull) => Update::SetNull,
        Some(SetOrNull::Keep) | None => Update::Keep,
    }
}

fn list_patch<T>(p: Option<ListPatch<T>>) -> files::ListPatch<T> {
    match p {
        Some(ListPatch::Set(set)) => files::ListPatch {
            set: Some(set),
            ..files::ListPatch::default()
        },
        Some(ListPatch::Change { add, remove }) => files::ListPatch {
            set: None,
            add,
            remove,
        },
        None => files::ListPatch::default(),
    }
}

fn labels_patch(p: Option<LabelsPatch>) -> files::ListPatch<String> {
    let p = p.unwrap_or_default();
    files::ListPatch {
        set: None,
        add: p.add.into_iter().map(|l| l.external_id).collect(),
        remove: p.remove.into_iter().map(|l| l.external_id).collect(),
    }
}

/// The service's patch for a Cognite update object.
pub(super) fn patch(c: FileChange) -> Patch {
    let (metadata_set, metadata_add, metadata_remove) = match c.metadata {
        Some(MapPatch::Set(set)) => (Some(set), Default::default(), Vec::new()),
        Some(MapPatch::Change { add, remove }) => (None, add, remove),
        None => (None, Default::default(), Vec::new()),
    };
    Patch {
        external_id: update(c.external_id),
        name: None,
        directory: update(c.directory),
        source: update(c.source),
        mime_type: update(c.mime_type),
        metadata_set,
        metadata_add,
        metadata_remove,
        asset_ids: list_patch(c.asset_ids),
        data_set_id: update(c.data_set_id),
        security_categories: list_patch(c.security_categories),
        labels: labels_patch(c.labels),
        geo_location: update(c.geo_location),
        source_created_ms: update(c.source_created_time),
        source_modified_ms: update(c.source_modified_time),
        category: Update::Keep,
        tags: files::ListPatch::default(),
        keep_path: false,
    }
}
