//! The domain types the files service takes and answers: records, their fields, queries,
//! pages and uploads. Routes build their wire bodies from these; the catalog stores them.
//! No SQL row and no wire body crosses the service in either direction.

use std::collections::BTreeMap;

use stowage_protocol::FilePath;

/// Largest id: ids are random in `1..=MAX_ID` (2^53 − 1, exact in a JS number).
pub const MAX_ID: i64 = (1 << 53) - 1;

/// The categories a bkend record may have.
pub const CATEGORIES: [&str; 7] = [
    "images",
    "documents",
    "media",
    "attachments",
    "exports",
    "backups",
    "temp",
];

/// What a client may set on a record (Cognite's and bkend's fields). Paths and content are
/// the service's to set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    /// Unique per app, at most 255 characters.
    pub external_id: Option<String>,
    /// At most 128 characters.
    pub source: Option<String>,
    /// The MIME type of the content.
    pub mime_type: Option<String>,
    /// String → string pairs.
    pub metadata: BTreeMap<String, String>,
    /// Linked asset ids.
    pub asset_ids: Vec<i64>,
    /// The data set.
    pub data_set_id: Option<i64>,
    /// Security category ids.
    pub security_categories: Vec<i64>,
    /// Label external ids.
    pub labels: Vec<String>,
    /// A GeoJSON Feature.
    pub geo_location: Option<serde_json::Value>,
    /// When the source made it, ms since the epoch.
    pub source_created_ms: Option<i64>,
    /// When the source last changed it, ms since the epoch.
    pub source_modified_ms: Option<i64>,
    /// bkend category (one of [`CATEGORIES`]).
    pub category: Option<String>,
    /// bkend tags.
    pub tags: Vec<String>,
}

/// A record's content, once uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Where the bytes are.
    pub blob_id: String,
    /// Bytes.
    pub size: u64,
    /// Strong ETag of the bytes (CRC32C and size).
    pub etag: String,
    /// When the content was stored, ms since the epoch.
    pub uploaded_ms: i64,
}

/// One file (or, for the path-based routes, directory).
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    /// Random in `1..=MAX_ID`, never sequential.
    pub id: i64,
    /// The path this record answers to in the path-based routes, when it owns one. A record
    /// whose directory and name make no valid path, or a path another record owns, has none.
    pub path: Option<FilePath>,
    /// Absolute unix-style directory (`/` for the root), if any.
    pub directory: Option<String>,
    /// Name, at most 256 characters.
    pub name: String,
    /// A directory of the path-based routes (never visible as a Cognite or bkend record).
    pub is_dir: bool,
    /// What clients set.
    pub fields: Fields,
    /// Creation, ms since the epoch.
    pub created_ms: i64,
    /// Last change of anything, ms since the epoch.
    pub updated_ms: i64,
    /// The bytes, once uploaded.
    pub content: Option<Content>,
    /// Owner and visibility.
    pub access: Access,
}

impl FileRecord {
    /// Size of the content (0 before upload and for directories).
    #[must_use]
    pub fn size(&self) -> u64 {
        self.content.as_ref().map_or(0, |c| c.size)
    }

    /// Whether content was uploaded.
    #[must_use]
    pub fn uploaded(&self) -> bool {
        self.content.is_some()
    }
}

/// The directory and name a path gives: `a/b/c.txt` → (`/a/b`, `c.txt`).
#[must_use]
pub fn directory_of(path: &FilePath) -> String {
    path.parent().to_absolute()
}

/// An inclusive range of ms times (or sizes); either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Smallest value, inclusive.
    pub min: Option<i64>,
    /// Largest value, inclusive.
    pub max: Option<i64>,
}

impl Span {
    /// Whether either end is set.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.min.is_some() || self.max.is_some()
    }
}

/// Which records a query answers. Every condition must hold; empty ones hold always.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only entries of this directory (`sub`: anywhere below it), directories included.
    pub within: Option<(FilePath, bool)>,
    /// Keep directories in the answer (the path-based routes list them).
    pub include_dirs: bool,
    /// Exact name.
    pub name: Option<String>,
    /// Name contains this text.
    pub name_contains: Option<String>,
    /// Name matches this glob (`*`, `?`, `[abc]`).
    pub name_glob: Option<String>,
    /// Directory starts with this text.
    pub directory_prefix: Option<String>,
    /// Exact MIME type.
    pub mime_type: Option<String>,
    /// Every pair must be in the record's metadata.
    pub metadata: BTreeMap<String, String>,
    /// Linked to at least one of these assets.
    pub asset_ids_any: Vec<i64>,
    /// In one of these data sets.
    pub data_set_ids: Vec<i64>,
    /// Exact source.
    pub source: Option<String>,
    /// Has at least one of these labels.
    pub labels_any: Vec<String>,
    /// Has all of these labels.
    pub labels_all: Vec<String>,
    /// Content uploaded or not.
    pub uploaded: Option<bool>,
    /// externalId starts with this text.
    pub external_id_prefix: Option<String>,
    /// Creation time.
    pub created: Span,
    /// Last change.
    pub updated: Span,
    /// Upload time.
    pub uploaded_time: Span,
    /// Source creation time.
    pub source_created: Span,
    /// Source change time.
    pub source_modified: Span,
    /// Size in bytes.
    pub size: Span,
    /// bkend category.
    pub category: Option<String>,
    /// Has at least one of these tags.
    pub tags_any: Vec<String>,
    /// Every one of these words is in the name (ASCII case ignored).
    pub name_words: Vec<String>,
    /// Only partition `index` of `count` (by id), for listing in parallel.
    pub partition: Option<(u32, u32)>,
}

/// The order of a query's answer. Every order ends with the id, so it is total and a cursor
/// names one place in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// By id (Cognite listings).
    #[default]
    Id,
    /// By path, byte-wise (the path-based routes).
    Path,
    /// By name.
    Name(Direction),
    /// By size.
    Size(Direction),
    /// By creation time.
    Created(Direction),
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Where a page starts: after the record with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// The key was a number (size, time, id).
    Number(i64, i64),
    /// The key was text (name, path).
    Text(String, i64),
}

/// A query: which records, in which order, which page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileQuery {
    /// Which records.
    pub filter: Filter,
    /// Their order.
    pub order: Order,
    /// Records per page.
    pub limit: u32,
    /// Continue after this place (from a previous page's `next`).
    pub after: Option<After>,
    /// Skip this many first (the Backendless `offset`; slower on late pages than `after`).
    pub offset: u64,
}

/// One page of a query's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The records, in order.
    pub items: Vec<FileRecord>,
    /// Where the next page starts, when there may be one.
    pub next: Option<After>,
}

/// A multipart upload in progress (or done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// 32 hex digits.
    pub id: String,
    /// The app.
    pub app: String,
    /// The path of the file it makes, for uploads to a path.
    pub path: Option<FilePath>,
    /// The record it fills, for uploads to a record.
    pub record_id: Option<i64>,
    /// Total size, when known at the start.
    pub size: Option<u64>,
    /// Size of every part but the last (0 when parts may have any size).
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u64,
    /// MIME type to store.
    pub content_type: String,
    /// Replace an existing file at completion.
    pub overwrite: bool,
    /// `crc32c`, `sha256` or `none`.
    pub checksum: String,
    /// Creation, ms.
    pub created_ms: i64,
    /// Garbage-collection time, ms.
    pub expires_ms: i64,
    /// The completed file, once completed.
    pub result: Option<Completed>,
    /// Who started it ([`Principal::tag`]): only they (or the admin) complete or abort it.
    pub principal: String,
    /// Sent straight to the object store (`--direct-to-store`): the store's own multipart
    /// upload, whose parts never pass through this server.
    pub direct: Option<DirectUpload>,
}

/// A multipart upload of the object store that a Stowage upload maps onto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectUpload {
    /// The blob its object becomes.
    pub blob: String,
    /// The store's upload id.
    pub upload: String,
}

/// What a completed upload made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The record.
    pub record_id: i64,
    /// Its size.
    pub size: u64,
    /// Its ETag.
    pub etag: String,
    /// The whole file's checksum in the upload's algorithm, base64.
    pub checksum: Option<String>,
}

/// One stored part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// 1-based.
    pub number: u64,
    /// Bytes.
    pub size: u64,
    /// As answered to the PUT.
    pub etag: String,
    /// CRC32C of the part.
    pub crc32c: u32,
    /// Base64 digest in the upload's algorithm.
    pub checksum: Option<String>,
    /// Where the bytes are.
    pub blob_id: String,
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The strong ETag of bytes: their CRC32C and size.
#[must_use]
pub fn etag(size: u64, crc32c: u32) -> String {
    format!("\"{crc32c:08x}-{size:x}\"")
}

/// A record named by id or by externalId.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ident {
    /// By id.
    Id(i64),
    /// By externalId.
    External(String),
}

// ---------------------------------------------------------------- access

/// The role every signed-in user has.
pub const AUTHENTICATED: &str = "AuthenticatedUser";
/// The role of the anonymous user.
pub const NOT_AUTHENTICATED: &str = "NotAuthenticatedUser";
/// The role that holds Cognite security category `N` is `securityCategory:N`.
pub const CATEGORY_ROLE_PREFIX: &str = "securityCategory:";

/// Who a request acts as, in which app. Every method of the files service takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The app the request is in.
    pub app: String,
    /// Who it is.
    pub who: Who,
}

/// The kinds of principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Holds only the app's REST API key (or a public URL).
    Anonymous,
    /// A signed-in user.
    User {
        /// The user's objectId.
        id: String,
        /// `AuthenticatedUser` and the roles the admin assigned.
        roles: Vec<String>,
    },
    /// Holds the app's admin key: may do anything.
    Admin,
}

impl Principal {
    /// The anonymous user of `app`.
    #[must_use]
    pub fn anonymous(app: &str) -> Self {
        Self {
            app: app.to_owned(),
            who: Who::Anonymous,
        }
    }

    /// The admin of `app`.
    #[must_use]
    pub fn admin(app: &str) -> Self {
        Self {
            app: app.to_owned(),
            who: Who::Admin,
        }
    }

    /// The user id, when signed in.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        match &self.who {
            Who::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether this is the admin.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.who == Who::Admin
    }

    /// Whether the principal has `role` (`NotAuthenticatedUser` for the anonymous user).
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        match &self.who {
            Who::Anonymous => role == NOT_AUTHENTICATED,
            Who::User { roles, .. } => role == AUTHENTICATED || roles.iter().any(|r| r == role),
            Who::Admin => true,
        }
    }

    /// A short tag that names the principal inside a signed URL: `a`, `admin` or `u:{id}`.
    #[must_use]
    pub fn tag(&self) -> String {
        match &self.who {
            Who::Anonymous => "a".into(),
            Who::Admin => "admin".into(),
            Who::User { id, .. } => format!("u:{id}"),
        }
    }
}

/// An operation a rule speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// See bytes, names and fields.
    Read,
    /// Create, overwrite or change.
    Write,
    /// Remove.
    Delete,
}

impl Op {
    /// `READ`, `WRITE` or `DELETE`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::Delete => "DELETE",
        }
    }

    /// The operation named `text` (case-insensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "READ" => Some(Self::Read),
            "WRITE" => Some(Self::Write),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// Whom a rule names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One user, by objectId.
    User(String),
    /// User `*`: every principal, the anonymous one included.
    AnyUser,
    /// One role.
    Role(String),
    /// Role `*`.
    AnyRole,
}

impl Subject {
    /// `(kind, name)` as stored: `("user", id)`, `("user", "*")`, `("role", name)`, `("role", "*")`.
    #[must_use]
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::User(id) => ("user", id),
            Self::AnyUser => ("user", "*"),
            Self::Role(r) => ("role", r),
            Self::AnyRole => ("role", "*"),
        }
    }

    /// The subject stored as `(kind, name)`.
    #[must_use]
    pub fn from_parts(kind: &str, name: &str) -> Option<Self> {
        match (kind, name) {
            ("user", "*") => Some(Self::AnyUser),
            ("role", "*") => Some(Self::AnyRole),
            ("user", id) if !id.is_empty() => Some(Self::User(id.to_owned())),
            ("role", r) if !r.is_empty() => Some(Self::Role(r.to_owned())),
            _ => None,
        }
    }
}

/// One grant or deny.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The operation.
    pub op: Op,
    /// Whom it names.
    pub subject: Subject,
    /// Grant (true) or deny.
    pub allow: bool,
}

/// bkend's visibility of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone reads.
    Public,
    /// Only the owner and the admin read.
    Private,
    /// Any signed-in user reads.
    Protected,
    /// The users in `shared_with` read.
    Shared,
}

impl Visibility {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Protected => "protected",
            Self::Shared => "shared",
        }
    }

    /// The visibility named `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            "protected" => Some(Self::Protected),
            "shared" => Some(Self::Shared),
            _ => None,
        }
    }
}

/// Who owns a file and who may see it, besides the permission rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The user who wrote it (none for files the admin or the anonymous user wrote).
    pub owner: Option<String>,
    /// bkend's visibility; none: the permission rules decide.
    pub visibility: Option<Visibility>,
    /// The users a `shared` file is shared with.
    pub shared_with: Vec<String>,
    /// Grows with every change of the file's access (visibility, sharing, rules), so a
    /// presigned URL signed before the change no longer works.
    pub epoch: i64,
}

/// What an app allows where no rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppDefaults {
    /// Anonymous users read what rules or visibility make readable, and nothing else; signed-in
    /// users create files (which they then own).
    #[default]
    Private,
    /// Everyone reads, writes and deletes (the demo app).
    Open,
}

/// A registered user of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// objectId.
    pub id: String,
    /// Email (stored lower-case), the login.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Roles the admin assigned (`AuthenticatedUser` is implied).
    pub roles: Vec<String>,
    /// Registration time, ms since the epoch.
    pub created_ms: i64,
}
