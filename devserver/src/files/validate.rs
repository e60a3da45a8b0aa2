//! The limits of a record's fields. Every refusal names the field and the limit.

use stowage_protocol::ErrorCode;

use crate::error::{AppError, AppResult};
use crate::model::{Fields, CATEGORIES, MAX_ID};

/// Longest externalId, in characters.
pub(crate) const MAX_EXTERNAL_ID: usize = 255;
/// Longest name, in characters.
pub(crate) const MAX_NAME: usize = 256;
/// Longest directory, in characters.
pub(crate) const MAX_DIRECTORY: usize = 512;
/// Longest source, in characters.
pub(crate) const MAX_SOURCE: usize = 128;
/// Longest MIME type, in characters.
pub(crate) const MAX_MIME_TYPE: usize = 256;
/// Longest metadata key, in bytes.
pub(crate) const MAX_METADATA_KEY: usize = 128;
/// Longest metadata value, in bytes.
pub(crate) const MAX_METADATA_VALUE: usize = 10240;
/// Most metadata pairs.
pub(crate) const MAX_METADATA_PAIRS: usize = 256;
/// Most metadata bytes in all (keys and values).
pub(crate) const MAX_METADATA_BYTES: usize = 10240;
/// Most asset ids.
pub(crate) const MAX_ASSET_IDS: usize = 1000;
/// Most security categories.
pub(crate) const MAX_SECURITY_CATEGORIES: usize = 100;
/// Most labels.
pub(crate) const MAX_LABELS: usize = 10;
/// Most tags.
pub(crate) const MAX_TAGS: usize = 32;
/// Longest tag, in characters.
pub(crate) const MAX_TAG: usize = 64;

fn invalid(message: String) -> AppError {
    AppError::api(ErrorCode::InvalidField, message)
}

fn chars(field: &str, value: &str, max: usize) -> AppResult<()> {
    let n = value.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{field} must be at most {max} characters (got {n})"
        )));
    }
    Ok(())
}

fn id(field: &str, value: i64) -> AppResult<()> {
    if !(1..=MAX_ID).contains(&value) {
        return Err(invalid(format!(
            "{field} must be an integer in 1..{MAX_ID} (got {value})"
        )));
    }
    Ok(())
}

fn time(field: &str, value: Option<i64>) -> AppResult<()> {
    match value {
        Some(t) if t < 0 => Err(invalid(format!(
            "{field} must be milliseconds since the epoch, at least 0 (got {t})"
        ))),
        _ => Ok(()),
    }
}

fn count(field: &str, n: usize, max: usize) -> AppResult<()> {
    if n > max {
        return Err(invalid(format!(
            "{field} may have at most {max} items (got {n})"
        )));
    }
    Ok(())
}

/// A record's name: required, at most 256 characters.
pub(crate) fn check_name(name: &str) -> AppResult<()> {
    if name.is_empty() {
        return Err(invalid("name must not be empty".into()));
    }
    chars("name", name, MAX_NAME)
}

/// A directory: an absolute unix-style path, at most 512 characters.
pub(crate) fn check_directory(directory: &str) -> AppResult<()> {
    chars("directory", directory, MAX_DIRECTORY)?;
    if !directory.starts_with('/') {
        return Err(invalid(format!(
            "directory must be an absolute path starting with '/' (got {})",
            crate::error::shorten(directory)
        )));
    }
    Ok(())
}

/// Every field limit.
pub fn check_fields(f: &Fields) -> AppResult<()> {
    if let Some(e) = &f.external_id {
        if e.is_empty() {
            return Err(invalid("externalId must not be empty".into()));
        }
        chars("externalId", e, MAX_EXTERNAL_ID)?;
    }
    if let Some(s) = &f.source {
        chars("source", s, MAX_SOURCE)?;
    }
    if let Some(m) = &f.mime_type {
        chars("mimeType", m, MAX_MIME_TYPE)?;
    }
    count("metadata", f.metadata.len(), MAX_METADATA_PAIRS)?;
    let mut total = 0;
    for (k, v) in &f.metadata {
        if k.len() > MAX_METADATA_KEY {
            return Err(invalid(format!(
                "metadata keys must be at most {MAX_METADATA_KEY} bytes (got {})",
                k.len()
            )));
        }
        if v.len() > MAX_METADATA_VALUE {
            return Err(invalid(format!(
                "metadata values must be at most {MAX_METADATA_VALUE} bytes (got {} for key {})",
                v.len(),
                crate::error::shorten(k)
            )));
        }
        total += k.len() + v.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata must be at most {MAX_METADATA_BYTES} bytes in all (got {total})"
        )));
    }
    count("assetIds", f.asset_ids.len(), MAX_ASSET_IDS)?;
    for a in &f.asset_ids {
        id("assetIds", *a)?;
    }
    if let Some(d) = f.data_set_id {
        id("dataSetId", d)?;
    }
    count(
        "securityCategories",
        f.security_categories.len(),
        MAX_SECURITY_CATEGORIES,
    )?;
    for s in &f.security_categories {
        id("securityCategories", *s)?;
    }
    count("labels", f.labels.len(), MAX_LABELS)?;
    for l in &f.labels {
        if l.is_empty() {
            return Err(invalid("labels externalId must not be empty".into()));
        }
        chars("labels externalId", l, MAX_EXTERNAL_ID)?;
    }
    if let Some(g) = &f.geo_location {
        check_geo(g)?;
    }
    time("sourceCreatedTime", f.source_created_ms)?;
    time("sourceModifiedTime", f.source_modified_ms)?;
    if let Some(c) = &f.category {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(invalid(format!(
                "category must be one of {} (got {})",
                CATEGORIES.join(", "),
                crate::error::shorten(c)
            )));
        }
    }
    count("tags", f.tags.len(), MAX_TAGS)?;
    for t in &f.tags {
        if t.is_empty() {
            return Err(invalid("tags must not be empty".into()));
        }
        chars("tags", t, MAX_TAG)?;
    }
    Ok(())
}

/// A GeoJSON Feature with a geometry of a known type.
fn check_geo(g: &serde_json::Value) -> AppResult<()> {
    const TYPES: [&str; 6] = [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
    ];
    let feature = g.get("type").and_then(|t| t.as_str()) == Some("Feature");
    let geometry = g
        .get("geometry")
        .and_then(|x| x.get("type"))
        .and_then(|t| t.as_str())
        .is_some_and(|t| TYPES.contains(&t));
    let coordinates = g
        .get("geometry")
        .and_then(|x| x.get("coordinates"))
        .is_some_and(serde_json::Value::is_array);
    if !(feature && geometry && coordinates) {
        return Err(invalid(
            "geoLocation must be a GeoJSON Feature with a geometry of type Point, MultiPoint, \
             LineString, MultiLineString, Polygon or MultiPolygon"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with(change: impl FnOnce(&mut Fields)) -> AppResult<()> {
        let mut f = Fields::default();
        change(&mut f);
        check_fields(&f)
    }

    fn refused(r: AppResult<()>, names: &str) {
        let e = r.unwrap_err().to_api();
        assert_eq!(e.code, ErrorCode::InvalidField);
        assert!(e.message.contains(names), "{} lacks {names}", e.message);
    }

    #[test]
    fn each_limit_holds_at_the_limit_and_refuses_one_past_it() {
        type Case = (&'static str, fn(&mut Fields, usize), usize);
        let cases: [Case; 11] = [
            (
                "externalId",
                |f, n| f.external_id = Some("é".repeat(n)),
                MAX_EXTERNAL_ID,
            ),
            ("source", |f, n| f.source = Some("s".repeat(n)), MAX_SOURCE),
            (
                "mimeType",
                |f, n| f.mime_type = Some("m".repeat(n)),
                MAX_MIME_TYPE,
            ),
            (
                "metadata keys",
                |f, n| {
                    f.metadata.insert("k".repeat(n), "v".into());
                },
                MAX_METADATA_KEY,
            ),
            (
                "metadata values",
                |f, n| {
                    f.metadata.insert(String::new(), "v".repeat(n));
                },
                MAX_METADATA_VALUE,
            ),
            (
                "metadata",
                |f, n| {
                    for i in 0..n {
                        f.metadata.insert(format!("{i:03}"), String::new());
                    }
                },
                MAX_METADATA_PAIRS,
            ),
            (
                "assetIds",
                |f, n| f.asset_ids = (1..=n as i64).collect(),
                MAX_ASSET_IDS,
            ),
            (
                "securityCategories",
                |f, n| f.security_categories = (1..=n as i64).collect(),
                MAX_SECURITY_CATEGORIES,
            ),
            (
                "labels",
                |f, n| f.labels = (0..n).map(|i| format!("l{i}")).collect(),
                MAX_LABELS,
            ),
            (
                "tags",
                |f, n| f.tags = (0..n).map(|i| format!("t{i}")).collect(),
                MAX_TAGS,
            ),
            ("tags", |f, n| f.tags = vec!["t".repeat(n)], MAX_TAG),
        ];
        for (name, set, limit) in cases {
            let at = with(|f| set(f, limit));
            assert!(at.is_ok(), "{name} at its limit {limit}: {at:?}");
            refused(with(|f| set(f, limit + 1)), name);
        }
    }

    #[test]
    fn metadata_total_ids_times_category_and_geo_are_checked() {
        let total = with(|f| {
            for i in 0..3 {
                f.metadata.insert(format!("k{i}"), "v".repeat(4000));
            }
        });
        refused(total, "in all");
        refused(with(|f| f.asset_ids = vec![0]), "assetIds");
        refused(with(|f| f.data_set_id = Some(MAX_ID + 1)), "dataSetId");
        assert!(with(|f| f.data_set_id = Some(MAX_ID)).is_ok());
        refused(
            with(|f| f.source_created_ms = Some(-1)),
            "sourceCreatedTime",
        );
        assert!(with(|f| f.source_modified_ms = Some(0)).is_ok());
        refused(with(|f| f.category = Some("videos".into())), "category");
        assert!(with(|f| f.category = Some("images".into())).is_ok());
        let point = serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}});
        assert!(with(|f| f.geo_location = Some(point)).is_ok());
        refused(
            with(|f| f.geo_location = Some(serde_json::json!({"type": "Point"}))),
            "geoLocation",
        );
        assert!(check_name(&"n".repeat(MAX_NAME)).is_ok());
        refused(check_name(&"n".repeat(MAX_NAME + 1)), "name");
        refused(check_name(""), "name");
        assert!(check_directory(&format!("/{}", "d".repeat(MAX_DIRECTORY - 1))).is_ok());
        refused(
            check_directory(&format!("/{}", "d".repeat(MAX_DIRECTORY))),
            "directory",
        );
        refused(check_directory("relative"), "directory");
    }
}
