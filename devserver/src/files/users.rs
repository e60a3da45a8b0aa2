//! Users of an app (Backendless-shaped): registration, login, logout, tokens, roles. Passwords
//! are hashed with argon2id; a token is 256 random bits of which only the SHA-256 is stored,
//! with an expiry; failed logins are limited per address and per account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use stowage_protocol::{ApiError, ErrorCode};

use super::Files;
use crate::catalog::access;
use crate::error::{AppError, AppResult};
use crate::model::{now_ms, Principal, User, Who};

/// Failed logins allowed per window, per address and per account.
const MAX_FAILURES: u32 = 10;
/// The window of the login limit.
const WINDOW_MS: i64 = 5 * 60 * 1000;
/// Shortest and longest password, in bytes.
const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;

/// A hash to verify against when the login names no user, so that both cases take as long.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3Rvd2FnZWR1bW15c2FsdA$7ez6dI+0Cd2Y/3yWjCwpqzOrfbEDRSs54h4L0UXdNJA";

/// Failed logins per key (`ip:…`, `acct:…`) in the current window.
#[derive(Debug, Default)]
pub(super) struct Limiter {
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    /// Seconds to wait when any key is over its limit.
    fn blocked(&self, keys: &[String], now: i64) -> Option<u64> {
        let map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|(start, n)| now - start < WINDOW_MS && *n >= MAX_FAILURES)
            .map(|(start, _)| u64::try_from((start + WINDOW_MS - now) / 1000 + 1).unwrap_or(1))
            .max()
    }

    fn fail(&self, keys: &[String], now: i64) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < WINDOW_MS);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now - entry.0 >= WINDOW_MS {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid(message: &str) -> AppError {
    AppError::api(ErrorCode::InvalidParameter, message)
}

fn dead_url() -> AppError {
    AppError::api(
        ErrorCode::BadSignature,
        "The signed URL is not valid for this request",
    )
}

fn dead_token() -> AppError {
    AppError::api(
        ErrorCode::TokenExpired,
        "Not existing user token: it expired or was logged out. Sign in again.",
    )
}

/// A plausible email: one `@` with text on both sides, a dot in the domain, no spaces.
fn check_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(email)
    } else {
        Err(invalid("Email address is in wrong format"))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Io(std::io::Error::other(e)))
}

impl Files {
    /// Registers a user (not logged in). A taken email is `UserExists`.
    pub async fn register(
        &self,
        app: &str,
        email: &str,
        password: &str,
        name: Option<String>,
    ) -> AppResult<User> {
        let email = check_email(email)?;
        if !PASSWORD_BYTES.contains(&password.len()) {
            return Err(invalid("The password must be 8 to 1024 bytes long"));
        }
        if name.as_ref().is_some_and(|n| n.chars().count() > 256) {
            return Err(invalid("The name may have at most 256 characters"));
        }
        let password = password.to_owned();
        let hash = blocking(move || {
            let salt = SaltString::encode_b64(random_hex(16).as_bytes())
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .await??;
        let user = User {
            id: random_hex(16).to_uppercase(),
            email,
            name,
            roles: Vec::new(),
            created_ms: now_ms(),
        };
        let mut tx = self.catalog().begin().await?;
        if !access::insert_user(&mut tx, app, &user, &hash).await? {
            return Err(AppError::api(
                ErrorCode::UserExists,
                format!(
                    "User already exists: {}",
                    crate::error::shorten(&user.email)
                ),
            ));
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Checks a login (email or objectId) and password; answers the user and a new token.
    pub async fn login(
        &self,
        app: &str,
        login: &str,
        password: &str,
        from: Option<IpAddr>,
        token_ttl_ms: i64,
    ) -> AppResult<(User, String)> {
        let now = now_ms();
        let mut keys = vec![format!("acct:{app}:{}", login.trim().to_lowercase())];
        if let Some(ip) = from {
            keys.push(format!("ip:{ip}"));
        }
        if let Some(wait) = self.inner.limiter.blocked(&keys, now) {
            return Err(AppError::RetryAfter(
                ApiError::new(
                    ErrorCode::TooManyAttempts,
                    format!("Too many failed logins: try again in {wait} s"),
                ),
                wait,
            ));
        }
        let found = {
            let mut conn = self.catalog().read().await?;
            access::user_by_login(&mut conn, app, login.trim()).await?
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, DUMMY_HASH.to_owned()),
        };
        let password = password.to_owned();
        let matches = blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await?;
        let Some(user) = user.filter(|_| matches) else {
            self.inner.limiter.fail(&keys, now);
            return Err(AppError::api(
                ErrorCode::WrongApp,
                "Invalid login or password",
            ));
        };
        let token = random_hex(32);
        let mut tx = self.catalog().begin().await?;
        access::insert_token(
            &mut tx,
            app,
            &user.id,
            &hash_token(&token),
            now,
            now + token_ttl_ms,
        )
        .await?;
        access::delete_expired_tokens(&mut tx, now).await?;
        tx.commit().await?;
        Ok((user, token))
    }

    /// Ends a token's session. An unknown token is `TokenExpired`.
    pub async fn logout(&self, app: &str, token: &str) -> AppResult<()> {
        let mut tx = self.catalog().begin().await?;
        let gone = access::delete_token(&mut tx, app, &hash_token(token)).await?;
        tx.commit().await?;
        if gone {
            Ok(())
        } else {
            Err(dead_token())
        }
    }

    /// The user a live token names, if any.
    pub async fn token_user(&self, app: &str, token: &str) -> AppResult<Option<User>> {
        let mut conn = self.catalog().read().await?;
        let found = access::token(&mut conn, app, &hash_token(token)).await?;
        Ok(found
            .filter(|(_, expires)| *expires > now_ms())
            .map(|(user, _)| user))
    }

    /// The principal a token makes: the user, or `TokenExpired` (never anonymous).
    pub async fn principal_for_token(&self, app: &str, token: &str) -> AppResult<Principal> {
        let user = self.token_user(app, token).await?.ok_or_else(dead_token)?;
        Ok(Principal {
            app: app.to_owned(),
            who: Who::User {
                id: user.id,
                roles: user.roles,
            },
        })
    }

    /// The principal a presigned URL acts as, from the tag it was signed with
    /// ([`Principal::tag`]); a user who no longer exists makes it dead.
    pub async fn principal_for_tag(&self, app: &str, tag: &str) -> AppResult<Principal> {
        match tag {
            "a" => Ok(Principal::anonymous(app)),
            "admin" => Ok(Principal::admin(app)),
            _ => {
                let id = tag.strip_prefix("u:").ok_or_else(dead_url)?;
                let mut conn = self.catalog().read().await?;
                let user = access::user_by_id(&mut conn, app, id)
                    .await?
                    .ok_or_else(dead_url)?;
                Ok(Principal {
                    app: app.to_owned(),
                    who: Who::User {
                        id: user.id,
                        roles: user.roles,
                    },
                })
            }
        }
    }

    /// The principal's roles.
    #[must_use]
    pub fn roles_of(who: &Principal) -> Vec<String> {
        match &who.who {
            Who::Anonymous => vec![crate::model::NOT_AUTHENTICATED.into()],
            Who::User { roles, .. } => std::iter::once(crate::model::AUTHENTICATED.to_owned())
                .chain(roles.iter().cloned())
                .collect(),
            Who::Admin => vec!["Admin".into()],
        }
    }

    /// Assigns a role to a user (or takes it away); admin only. Answers the user's roles.
    pub async fn set_role(
        &self,
        who: &Principal,
        user: &str,
        role: &str,
        assign: bool,
    ) -> AppResult<Vec<String>> {
        if !who.is_admin() {
            return Err(AppError::api(
                ErrorCode::NoPermission,
                "Only the admin key may assign roles",
            ));
        }
        let role = role.trim();
        if role.is_empty()
            || role.len() > 128
            || role == "*"
            || role == crate::model::AUTHENTICATED
            || role == crate::model::NOT_AUTHENTICATED
        {
            return Err(invalid(
                "roleName must be 1 to 128 characters and not a built-in role",
            ));
        }
        let mut tx = self.catalog().begin().await?;
        let found = access::user_by_login(tx.conn(), &who.app, user).await?;
        let Some((mut found, _)) = found else {
            return Err(AppError::api(
                ErrorCode::NotFound,
                format!("No such user: {}", crate::error::shorten(user)),
            ));
        };
        found.roles.retain(|r| r != role);
        if assign {
            found.roles.push(role.to_owned());
        }
        access::set_roles(&mut tx, &who.app, &found.id, &found.roles).await?;
        tx.commit().await?;
        Ok(found.roles)
    }
}
