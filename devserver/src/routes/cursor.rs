//! Opaque listing cursors: where the next page starts, tied to the order it was made for.
//! Base64url of a small JSON array; a cursor for another order, or not made here, is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use stowage_protocol::ErrorCode;

use crate::error::{AppError, AppResult};
use crate::model::After;

/// The cursor text for `after` in the order named `order`.
pub(super) fn encode(order: &str, after: &After) -> String {
    let value = match after {
        After::Number(k, id) => json!([order, "n", k, id]),
        After::Text(k, id) => json!([order, "t", k, id]),
    };
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn invalid() -> AppError {
    AppError::api(ErrorCode::InvalidCursor, "Invalid cursor")
}

/// The place a cursor names; it must have been made for `order`.
pub(super) fn decode(order: &str, text: &str) -> AppResult<After> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let Some([o, kind, key, id]) = value.as_array().map(Vec::as_slice) else {
        return Err(invalid());
    };
    if o.as_str() != Some(order) {
        return Err(invalid());
    }
    let id = id.as_i64().ok_or_else(invalid)?;
    match kind.as_str() {
        Some("n") => Ok(After::Number(key.as_i64().ok_or_else(invalid)?, id)),
        Some("t") => Ok(After::Text(
            key.as_str().ok_or_else(invalid)?.to_owned(),
            id,
        )),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_orders_and_garbage() {
        let a = After::Text("dir/é|x".into(), 42);
        assert_eq!(decode("path", &encode("path", &a)).unwrap(), a);
        let n = After::Number(-5, 7);
        assert_eq!(decode("size", &encode("size", &n)).unwrap(), n);
        assert!(decode("name", &encode("path", &a)).is_err());
        assert!(decode("path", "not a cursor").is_err());
        assert!(decode("path", &URL_SAFE_NO_PAD.encode("[1,2]")).is_err());
    }
}
