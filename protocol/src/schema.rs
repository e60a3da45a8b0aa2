//! OpenAPI schemas (feature `openapi`) for the wire types whose serde is written by hand, so
//! `utoipa`'s derive cannot see their shape: [`Identity`], `SetOrNull`, `ListPatch` and
//! `MapPatch`. The server puts them into its `/openapi.json`.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::cognite::Identity;

fn object() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

fn int64() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn string_map() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(string()))
}

impl PartialSchema for Identity {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some(
                "A file named by its `id` or by its `externalId`: exactly one of the two.",
            ))
            .item(
                object()
                    .property("id", int64().minimum(Some(1)))
                    .required("id"),
            )
            .item(
                object()
                    .property("externalId", string().max_length(Some(255)))
                    .required("externalId"),
            )
            .into()
    }
}

impl ToSchema for Identity {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Identity")
    }
}

/// `{"set": value}`, `{"setNull": true}` (remove) or `{"setNull": false}` (keep).
fn set_or_null(value: impl Into<RefOr<Schema>>) -> Schema {
    OneOfBuilder::new()
        .description(Some(
            "`{\"set\": value}` gives the field a value, `{\"setNull\": true}` removes it, \
             `{\"setNull\": false}` leaves it as it is.",
        ))
        .item(object().property("set", value).required("set"))
        .item(
            object()
                .property("setNull", ObjectBuilder::new().schema_type(Type::Boolean))
                .required("setNull"),
        )
        .into()
}

/// The schema of a `SetOrNull<String>` field.
#[must_use]
pub fn set_or_null_string() -> Schema {
    set_or_null(string())
}

/// The schema of a `SetOrNull<i64>` field.
#[must_use]
pub fn set_or_null_i64() -> Schema {
    set_or_null(int64())
}

/// The schema of a `SetOrNull<Value>` field (a GeoJSON `Feature`).
#[must_use]
pub fn set_or_null_value() -> Schema {
    set_or_null(serde_json::Value::schema())
}

/// `{"set": [...]}` or `{"add": [...], "remove": [...]}` over `item`.
fn set_or_change(set: impl Into<RefOr<Schema>> + Clone) -> Schema {
    OneOfBuilder::new()
        .description(Some(
            "`{\"set\": ...}` replaces the whole value; `{\"add\": ..., \"remove\": ...}` \
             (either or both) changes it.",
        ))
        .item(object().property("set", set.clone()).required("set"))
        .item(
            object()
                .property("add", set)
                .property("remove", ArrayBuilder::new().items(string()))
                .min_properties(Some(1)),
        )
        .into()
}

/// The schema of a `ListPatch<i64>` field (asset ids, security categories).
#[must_use]
pub fn list_patch_i64() -> Schema {
    let ids = ArrayBuilder::new().items(int64()).build();
    OneOfBuilder::new()
        .description(Some(
            "`{\"set\": [...]}` replaces the list; `{\"add\": [...], \"remove\": [...]}` \
             (either or both) changes it.",
        ))
        .item(object().property("set", ids.clone()).required("set"))
        .item(
            object()
                .property("add", ids.clone())
                .property("remove", ids)
                .min_properties(Some(1)),
        )
        .into()
}

/// The schema of a `MapPatch` field (metadata): `remove` names keys.
#[must_use]
pub fn map_patch() -> Schema {
    set_or_change(string_map().build())
}
