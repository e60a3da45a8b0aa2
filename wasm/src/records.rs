//! The record calls of the Files API (`{baseUrl}/api/v1/projects/{appId}/files/...`, Cognite
//! Files v1 semantics) in plain Rust: file identities, the JSON request bodies, and the pager
//! that follows `nextCursor`. Records themselves stay JS objects (parsed by `JSON.parse`), so no
//! record type is decoded in wasm; caller-given JSON (filters, changes) passes through as text.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::progress::to_u64;

/// One file, by its internal id or by its external id: `{"id": 1}` or `{"externalId": "a"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Identity {
    /// The server-assigned id, 1 to 2^53 − 1 (exact as a JS number).
    Id(u64),
    /// The caller-assigned external id.
    ExternalId(String),
}

impl Identity {
    /// An internal id from a JS number: a whole number from 1 to 2^53 − 1.
    pub fn id(value: f64) -> Result<Self, Error> {
        match to_u64(value) {
            Some(id) if id > 0 => Ok(Self::Id(id)),
            _ => Err(Error::InvalidArgument(format!(
                "a file id must be a whole number from 1 to 2^53 - 1, got {value}"
            ))),
        }
    }

    /// An external id: any non-empty string.
    pub fn external_id(value: String) -> Result<Self, Error> {
        if value.is_empty() {
            return Err(Error::InvalidArgument(
                "an externalId must not be empty".into(),
            ));
        }
        Ok(Self::ExternalId(value))
    }
}

/// `{"items": [...], "ignoreUnknownIds"?: bool}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemsBody<'a, T: ?Sized + Serialize> {
    items: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_unknown_ids: Option<bool>,
}

/// The body of `byids`, `delete` and `downloadlink`: `{"items": [{"id": 1}, ...]}`, with
/// `ignoreUnknownIds` when given.
pub fn identities_body(ids: &[Identity], ignore_unknown_ids: Option<bool>) -> String {
    encode(&ItemsBody {
        items: ids,
        ignore_unknown_ids,
    })
}

/// The body of `update`: `{"items": changes}`, `changes` being the JSON text of a JS array.
pub fn changes_body(changes: &str) -> Result<String, Error> {
    let items = json_text(changes, "the changes")?;
    Ok(encode(&ItemsBody {
        items,
        ignore_unknown_ids: None,
    }))
}

/// Paging of `list`: page size, where to continue, and which partition of a parallel listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Records per page (the server caps it; Cognite allows 1–1000).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// `"m/n"`: the m-th of n disjoint parts of the listing.
    pub partition: Option<String>,
}

/// `{"filter"?: ..., "limit"?: n, "cursor"?: "...", "partition"?: "m/n"}`.
#[derive(Debug, Serialize)]
struct ListBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<&'a str>,
}

/// The body of `list`: `filter` is the JSON text of the caller's filter object, if any.
pub fn list_body(filter: Option<&str>, page: &PageRequest) -> Result<String, Error> {
    let filter = filter.map(|f| json_text(f, "the filter")).transpose()?;
    Ok(encode(&ListBody {
        filter,
        limit: page.limit,
        cursor: page.cursor.as_deref(),
        partition: page.partition.as_deref(),
    }))
}

/// A page size from a JS number: a whole number from 1 up.
pub fn page_limit(value: f64) -> Result<u32, Error> {
    to_u64(value)
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "limit must be a whole number from 1 up, got {value}"
            ))
        })
}

/// The `Content-Type` of an upload to a record's `uploadUrl`: the record's MIME type, else
/// `application/octet-stream`.
#[must_use]
pub fn content_type(mime_type: Option<&str>) -> String {
    mime_type
        .filter(|m| !m.is_empty())
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// What the pager does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// Hand out this record.
    Item(T),
    /// Fetch the next page with this `list` body, then [`Pager::receive`] it.
    Fetch(String),
    /// The listing is exhausted.
    Done,
}

/// Walks a listing page by page: hands out buffered records, asks for the next page while the
/// server gives a `nextCursor`, and stops when it gives none.
#[derive(Debug)]
pub struct Pager<T> {
    /// JSON text of the filter.
    filter: Option<String>,
    page: PageRequest,
    buffer: VecDeque<T>,
    finished: bool,
}

impl<T> Pager<T> {
    /// A pager over the records `filter` (JSON text) selects, `page.limit` at a time, starting
    /// at `page.cursor` (usually none).
    pub fn new(filter: Option<String>, page: PageRequest) -> Result<Self, Error> {
        if let Some(f) = &filter {
            json_text(f, "the filter")?;
        }
        Ok(Self {
            filter,
            page,
            buffer: VecDeque::new(),
            finished: false,
        })
    }

    /// The next thing to do: a buffered record, a page to fetch, or the end.
    pub fn step(&mut self) -> Result<Step<T>, Error> {
        if let Some(item) = self.buffer.pop_front() {
            return Ok(Step::Item(item));
        }
        if self.finished {
            return Ok(Step::Done);
        }
        list_body(self.filter.as_deref(), &self.page).map(Step::Fetch)
    }

    /// Takes in a fetched page. A server that answers the cursor it was sent is refused, as it
    /// would make the listing go round for ever.
    pub fn receive(
        &mut self,
        items: impl IntoIterator<Item = T>,
        next_cursor: Option<String>,
    ) -> Result<(), Error> {
        let next_cursor = next_cursor.filter(|c| !c.is_empty());
        if next_cursor.is_some() && next_cursor == self.page.cursor {
            return Err(Error::UnexpectedResponse {
                status: 200,
                detail: "the server answered the same nextCursor it was sent".into(),
            });
        }
        self.buffer.extend(items);
        self.finished = next_cursor.is_none();
        self.page.cursor = next_cursor;
        Ok(())
    }
}

/// Checks that `text` is one JSON value (it comes from `JSON.stringify`, so it should be).
fn json_text<'a>(text: &'a str, what: &str) -> Result<&'a RawValue, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("{what} is not JSON data: {e}")))
}

/// Bodies are plain data: encoding them cannot fail.
fn encode<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_become_id_or_external_id_items() {
        let ids = [
            Identity::id(1.0).expect("valid"),
            Identity::external_id("naïve ✓".into()).expect("valid"),
            Identity::id(9_007_199_254_740_991.0).expect("2^53 - 1"),
        ];
        assert_eq!(
            identities_body(&ids, None),
            r#"{"items":[{"id":1},{"externalId":"naïve ✓"},{"id":9007199254740991}]}"#
        );
        assert_eq!(
            identities_body(&ids[..1], Some(true)),
            r#"{"items":[{"id":1}],"ignoreUnknownIds":true}"#
        );
    }

    #[test]
    fn bad_identities_are_type_errors() {
        for bad in [0.0, -1.0, 1.5, f64::NAN, 9_007_199_254_740_992.0] {
            let e = Identity::id(bad).expect_err("must fail");
            assert_eq!(e.js_name(), "TypeError", "{bad}");
        }
        assert!(Identity::external_id(String::new()).is_err());
    }

    #[test]
    fn changes_pass_through_as_items() {
        let changes = r#"[{"id":7,"update":{"source":{"set":"x"},"dataSetId":{"setNull":true}}}]"#;
        assert_eq!(
            changes_body(changes).expect("JSON"),
            format!(r#"{{"items":{changes}}}"#)
        );
        assert!(changes_body("[1,").is_err());
    }

    #[test]
    fn list_bodies_carry_only_what_is_set() {
        assert_eq!(
            list_body(None, &PageRequest::default()).expect("body"),
            "{}"
        );
        let page = PageRequest {
            limit: Some(2),
            cursor: Some("c\"1".into()),
            partition: Some("1/3".into()),
        };
        assert_eq!(
            list_body(Some(r#"{"externalIdPrefix":"t-"}"#), &page).expect("body"),
            r#"{"filter":{"externalIdPrefix":"t-"},"limit":2,"cursor":"c\"1","partition":"1/3"}"#
        );
        assert_eq!(
            list_body(Some("nope"), &page)
                .expect_err("not JSON")
                .js_name(),
            "TypeError"
        );
    }

    #[test]
    fn limits_and_content_types() {
        assert_eq!(page_limit(2.0), Ok(2));
        assert!(page_limit(0.0).is_err());
        assert!(page_limit(2.5).is_err());
        assert!(page_limit(1e12).is_err());
        assert_eq!(content_type(Some("text/plain")), "text/plain");
        assert_eq!(content_type(Some("")), "application/octet-stream");
        assert_eq!(content_type(None), "application/octet-stream");
    }

    #[test]
    fn the_pager_follows_cursors_without_repeats() {
        let page = PageRequest {
            limit: Some(2),
            ..PageRequest::default()
        };
        let mut pager = Pager::new(Some("{}".into()), page).expect("valid filter");
        let mut seen = Vec::new();
        let mut bodies = Vec::new();
        let pages = [
            (vec![1, 2], Some("a")),
            (vec![], Some("b")),
            (vec![3, 4], Some("c")),
            (vec![5], None),
        ];
        let mut pages = pages.into_iter();
        loop {
            match pager.step().expect("step") {
                Step::Item(n) => seen.push(n),
                Step::Fetch(body) => {
                    bodies.push(body);
                    let (items, cursor) = pages.next().expect("asked for one page too many");
                    pager
                        .receive(items, cursor.map(str::to_owned))
                        .expect("new cursor");
                }
                Step::Done => break,
            }
        }
        assert_eq!(seen, [1, 2, 3, 4, 5]);
        assert_eq!(
            bodies,
            [
                r#"{"filter":{},"limit":2}"#,
                r#"{"filter":{},"limit":2,"cursor":"a"}"#,
                r#"{"filter":{},"limit":2,"cursor":"b"}"#,
                r#"{"filter":{},"limit":2,"cursor":"c"}"#,
            ]
        );
        assert_eq!(pager.step().expect("step"), Step::Done);
    }

    #[test]
    fn a_repeated_cursor_is_refused() {
        let mut pager = Pager::<u8>::new(None, PageRequest::default()).expect("no filter");
        assert!(matches!(pager.step(), Ok(Step::Fetch(_))));
        pager.receive([], Some("x".into())).expect("first cursor");
        let e = pager
            .receive([], Some("x".into()))
            .expect_err("same cursor");
        assert_eq!(e.js_name(), "ProtocolError");
        assert!(Pager::<u8>::new(Some("{".into()), PageRequest::default()).is_err());
    }
}
