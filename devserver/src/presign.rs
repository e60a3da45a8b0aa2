//! Presigned URLs: HMAC-SHA256 over the method, the path (which names the app and file, or the
//! upload and part) and the query (expiry, length limit, options), checked in constant time.

use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use stowage_protocol::ErrorCode;

use crate::error::{AppError, AppResult};

/// Longest validity of a signed URL: 7 days.
pub const MAX_EXPIRES_SECS: u64 = 7 * 24 * 3600;
/// Validity when the caller asks for none: 1 hour.
pub const DEFAULT_EXPIRES_SECS: u64 = 3600;

/// Signs and checks URLs with the server's secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

/// The checked parameters of a signed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Expiry, seconds since the epoch.
    pub expires: u64,
    /// The body length the URL allows (0 for downloads).
    pub length: u64,
    /// The other query parameters, decoded.
    pub params: Vec<(String, String)>,
}

impl Signer {
    /// A signer with this secret.
    #[must_use]
    pub fn from_secret(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().to_vec(),
        }
    }

    /// Uses `secret` when given, else the key kept in `{data}/signing.key`, generated once.
    pub async fn load(secret: Option<&str>, data: &Path) -> crate::error::AppResult<Self> {
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            return Ok(Self {
                key: s.as_bytes().to_vec(),
            });
        }
        let key = kept_secret(data, "signing.key").await?;
        Ok(Self {
            key: key.into_bytes(),
        })
    }

    fn mac(&self, method: &str, path: &str, query: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| {
            // HMAC takes keys of any length; this branch cannot happen.
            Hmac::<Sha256>::new_from_slice(b"stowage").unwrap_or_else(|_| unreachable!())
        });
        for piece in [method, "\n", path, "\n", query] {
            mac.update(piece.as_bytes());
        }
        mac
    }

    /// The signed query for `method path`: `expires`, `length`, the extra parameters, `sig`.
    #[must_use]
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        expires: u64,
        length: u64,
        extra: &[(&str, String)],
    ) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("expires", &expires.to_string());
        query.append_pair("length", &length.to_string());
        for (k, v) in extra {
            query.append_pair(k, v);
        }
        let query = query.finish();
        let sig = self.mac(method, path, &query).finalize().into_bytes();
        let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        format!("{query}&sig={hex}")
    }

    /// Checks the signature of a request first (so a changed expiry is `BadSignature`), then
    /// its expiry against `now_secs`.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        raw_query: &str,
        now_secs: u64,
    ) -> AppResult<Signed> {
        let bad = || {
            AppError::api(
                ErrorCode::BadSignature,
                "The signed URL is not valid for this request",
            )
        };
        let (unsigned, sig_hex) = raw_query.rsplit_once("&sig=").ok_or_else(bad)?;
        let sig = decode_hex(sig_hex).ok_or_else(bad)?;
        self.mac(method, path, unsigned)
            .verify_slice(&sig)
            .map_err(|_| bad())?;
        let params: Vec<(String, String)> = form_urlencoded::parse(unsigned.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let expires = get("expires")
            .and_then(|v| v.parse().ok())
            .ok_or_else(bad)?;
        let length = get("length").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        if now_secs > expires {
            return Err(AppError::api(
                ErrorCode::UrlExpired,
                "The signed URL has expired",
            ));
        }
        Ok(Signed {
            expires,
            length,
            params,
        })
    }
}

impl Signer {
    /// The signature of an image variant URL: HMAC-SHA256 over the app, the canonical transform
    /// and the file's path, as URL-safe base64 without padding (43 characters). Both URL
    /// grammars carry the same one, and it never expires (a page keeps its `<img>` URLs).
    #[must_use]
    pub fn sign_image(&self, app: &str, transform: &str, path: &str) -> String {
        use base64::Engine as _;
        let sig = self
            .mac("IMG", &format!("{app}\n{transform}"), path)
            .finalize()
            .into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
    }

    /// Whether `signature` is [`Signer::sign_image`]'s for these, compared in constant time.
    #[must_use]
    pub fn image_signed(&self, app: &str, transform: &str, path: &str, signature: &str) -> bool {
        use base64::Engine as _;
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac("IMG", &format!("{app}\n{transform}"), path)
            .verify_slice(&sig)
            .is_ok()
    }
}

/// Shortest secret accepted (`--signing-secret`, a kept key file): 32 characters.
pub const MIN_SECRET_LEN: usize = 32;

/// The secret kept in `{data}/{name}`: 32 random bytes in hex, generated once (mode 0600,
/// written to a temporary file, renamed, and the directory synced). A file that is there but
/// holds no usable key is refused, never silently replaced: a new key would kill every URL
/// signed with the old one.
pub async fn kept_secret(data: &Path, name: &str) -> crate::error::AppResult<String> {
    let file = data.join(name);
    match tokio::fs::read_to_string(&file).await {
        Ok(text) if text.trim().len() >= MIN_SECRET_LEN => Ok(text.trim().to_owned()),
        Ok(text) => Err(crate::error::AppError::Config(format!(
            "{} holds {} characters, not a key of at least {MIN_SECRET_LEN}: restore it from a \
             backup, or delete it to have a new key made (URLs and keys made with the old one \
             then stop working)",
            file.display(),
            text.trim().len()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = random_secret();
            let tmp = data.join(format!("{name}.tmp"));
            write_private(&tmp, &text).await?;
            tokio::fs::rename(&tmp, &file).await?;
            let dir = data.to_path_buf();
            tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
                .await
                .map_err(std::io::Error::other)??;
            Ok(text)
        }
        Err(e) => Err(crate::error::AppError::Config(format!(
            "cannot read {}: {e}",
            file.display()
        ))),
    }
}

/// 256 random bits in hex.
#[must_use]
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Validity asked for, checked against the 7-day limit.
pub fn expires_in(asked: Option<u64>) -> AppResult<u64> {
    match asked {
        None => Ok(DEFAULT_EXPIRES_SECS),
        Some(s) if (1..=MAX_EXPIRES_SECS).contains(&s) => Ok(s),
        Some(s) => Err(AppError::api(
            ErrorCode::InvalidParameter,
            format!("Invalid value for parameter expiresIn: {s} (1 to {MAX_EXPIRES_SECS} seconds)"),
        )),
    }
}

/// Hex digits only: `u8::from_str_radix` alone also takes a sign (`+0`), which would let one
/// signature be spelt several ways (found by the `presigned` fuzz target).
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

async fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = path.to_path_buf();
    let text = text.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer {
            key: b"test-secret-test-secret-test-secret".to_vec(),
        }
    }

    #[test]
    fn a_signature_has_one_spelling_in_hex_digits() {
        let s = signer();
        // A signature with a byte below 0x10, spelt `0X`: `+X` would read as the same byte.
        let (path, q, at) = (0..100)
            .find_map(|n| {
                let path = format!("/p{n}");
                let q = s.sign("PUT", &path, 2_000, 5, &[]);
                let sig = q.rsplit_once("&sig=")?.1;
                let at = (0..sig.len())
                    .step_by(2)
                    .find(|&i| sig.as_bytes()[i] == b'0')?;
                Some((path, q.clone(), q.len() - sig.len() + at))
            })
            .expect("one of 100 signatures has a byte below 0x10");
        assert!(s.verify("PUT", &path, &q, 1_000).is_ok());
        for sign in ["+", "-", " "] {
            let other = format!("{}{sign}{}", &q[..at], &q[at + 1..]);
            assert!(s.verify("PUT", &path, &other, 1_000).is_err(), "{other}");
        }
    }

    #[test]
    fn a_signed_url_verifies_and_any_change_breaks_it() {
        let s = signer();
        let q = s.sign("PUT", "/v1/signed/parts/u1/2", 2_000, 5, &[]);
        assert_eq!(
            s.verify("PUT", "/v1/signed/parts/u1/2", &q, 1_000)
                .unwrap()
                .length,
            5
        );
        let code = |r: AppResult<Signed>| match r {
            Err(AppError::Api(e)) => e.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u1/3", &q, 1_000)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u2/2", &q, 1_000)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(s.verify("GET", "/v1/signed/parts/u1/2", &q, 1_000)),
            ErrorCode::BadSignature
        );
        let longer = q.replace("length=5", "length=6");
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u1/2", &longer, 1_000)),
            ErrorCode::BadSignature
        );
        let later = q.replace("expires=2000", "expires=9000");
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u1/2", &later, 1_000)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u1/2", &q, 2_001)),
            ErrorCode::UrlExpired
        );
        assert_eq!(
            code(s.verify("PUT", "/v1/signed/parts/u1/2", "expires=1", 0)),
            ErrorCode::BadSignature
        );
    }
}
