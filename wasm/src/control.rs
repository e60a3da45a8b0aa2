//! The multipart control plane (`/v1/files/multipart/…`): small JSON calls over `fetch`,
//! naming the app with `X-API-Key` and the user with `Authorization: Bearer {token}`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use stowage_protocol::multipart::{
    AbortRequest, CompleteRequest, CompleteResponse, CompletedPart, InitRequest, InitResponse,
    PresignPartsRequest, PresignPartsResponse, PresignedPart, UploadStatus,
};

use crate::endpoint::{Api, Endpoint};
use crate::error::{decode, Error};
use crate::fetch;

/// Most part URLs asked for in one request.
const PRESIGN_BATCH: usize = 1000;

async fn call<T: DeserializeOwned>(
    endpoint: &Endpoint,
    method: &str,
    route: &str,
    body: Option<&impl Serialize>,
) -> Result<T, Error> {
    let json = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Browser(format!("cannot encode the body: {e}")))?;
    let url = endpoint.v1_url(route);
    let sent = endpoint.credentials(Api::V1);
    let answer = fetch::send_with(method, &url, &sent.pairs(), json.as_deref()).await;
    endpoint.settle(
        &sent,
        answer.and_then(|(status, text)| decode(status, &text)),
    )
}

/// `POST multipart/init`.
pub(crate) async fn init(
    endpoint: &Endpoint,
    request: &InitRequest,
) -> Result<InitResponse, Error> {
    call(endpoint, "POST", "multipart/init", Some(request)).await
}

/// `POST multipart/presigned-url`, in batches of at most 1000 parts.
pub(crate) async fn presign(
    endpoint: &Endpoint,
    upload_id: &str,
    part_numbers: &[u64],
) -> Result<Vec<PresignedPart>, Error> {
    let mut parts = Vec::with_capacity(part_numbers.len());
    for batch in part_numbers.chunks(PRESIGN_BATCH) {
        let request = PresignPartsRequest {
            upload_id: upload_id.to_owned(),
            part_numbers: batch.to_vec(),
        };
        let answer: PresignPartsResponse =
            call(endpoint, "POST", "multipart/presigned-url", Some(&request)).await?;
        parts.extend(answer.parts);
    }
    Ok(parts)
}

/// `GET multipart/{uploadId}`: the parts the server holds.
pub(crate) async fn status(endpoint: &Endpoint, upload_id: &str) -> Result<UploadStatus, Error> {
    let route = format!(
        "multipart/{}",
        stowage_protocol::paths::encode_segment(upload_id)
    );
    call(endpoint, "GET", &route, None::<&()>).await
}

/// `POST multipart/complete`.
pub(crate) async fn complete(
    endpoint: &Endpoint,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> Result<CompleteResponse, Error> {
    let request = CompleteRequest {
        upload_id: upload_id.to_owned(),
        parts,
    };
    call(endpoint, "POST", "multipart/complete", Some(&request)).await
}

/// `POST multipart/abort`.
pub(crate) async fn abort(endpoint: &Endpoint, upload_id: &str) -> Result<(), Error> {
    let request = AbortRequest {
        upload_id: upload_id.to_owned(),
    };
    let _: serde_json::Value = call(endpoint, "POST", "multipart/abort", Some(&request)).await?;
    Ok(())
}
