//! The user calls under the app root (`{root}/users/…`): `register`, `login` (which makes the
//! answer the client's session) and `logout` (which ends it here and on the server). Register
//! and login go without any token: a dead one would make the server refuse them.

use wasm_bindgen::JsValue;

use crate::access::{self, Registration};
use crate::endpoint::{Api, Endpoint};
use crate::error::Error;
use crate::fetch::{self, json_value};

/// `POST users/register`: answers the new user (not signed in).
pub(crate) async fn register(
    endpoint: &Endpoint,
    registration: &Registration,
) -> Result<JsValue, Error> {
    let body = registration.body()?;
    let (status, text) = anonymous(endpoint, "register", &body).await?;
    json_value(status, &text)
}

/// `POST users/login`: the answer becomes the session (its `user-token` goes with every call
/// from then on) and is answered as the user.
pub(crate) async fn login(
    endpoint: &Endpoint,
    login: &str,
    password: &str,
) -> Result<JsValue, Error> {
    let body = access::login_body(login, password)?;
    let (status, text) = anonymous(endpoint, "login", &body).await?;
    let user = json_value(status, &text)?;
    endpoint.session().sign_in(&text)?;
    Ok(user)
}

/// `GET users/logout` with the session's token. The session ends here first, whatever the
/// server answers; a token the server already calls dead (`3064`) counts as logged out.
pub(crate) async fn logout(endpoint: &Endpoint) -> Result<(), Error> {
    let Some(token) = endpoint.session().sign_out() else {
        return Ok(());
    };
    let url = endpoint.users_url("logout");
    let (status, text) = fetch::send_with("GET", &url, &[("user-token", &token)], None).await?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    match Error::from_response(status, &text) {
        e if e.is_dead_token() => Ok(()),
        e => Err(e),
    }
}

/// A JSON `POST` under `users/` with no credentials but the app root's API key.
async fn anonymous(endpoint: &Endpoint, route: &str, body: &str) -> Result<(u16, String), Error> {
    let url = endpoint.users_url(route);
    debug_assert_eq!(endpoint.api_of(&url), Api::Backendless);
    fetch::send_with("POST", &url, &[], Some(body)).await
}
