//! Access control in plain Rust: the bodies of the user calls (register, login) and of the
//! file calls (visibility, sharing, grant and deny rules), each checked before anything is
//! sent. The URLs they go to are in [`crate::endpoint`]; the calls in `users.rs` and
//! `client.rs`.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What `register` is given (JS `Registration`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Registration {
    /// The login, unique in the app (the server compares it case-insensitively).
    pub email: String,
    /// The password (the server takes 8 to 1024 bytes).
    pub password: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Registration {
    /// The `POST users/register` body; email and password must not be empty.
    pub fn body(&self) -> Result<String, Error> {
        non_empty(&self.email, "register: email")?;
        non_empty(&self.password, "register: password")?;
        Ok(encode(self))
    }
}

/// The `POST users/login` body: `{login, password}`.
pub fn login_body(login: &str, password: &str) -> Result<String, Error> {
    #[derive(Serialize)]
    struct Login<'a> {
        login: &'a str,
        password: &'a str,
    }
    non_empty(login, "login: login")?;
    non_empty(password, "login: password")?;
    Ok(encode(&Login { login, password }))
}

/// Who may read a file besides its owner and the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, signed in or not.
    Public,
    /// Nobody else.
    Private,
    /// Every signed-in user.
    Protected,
    /// The users in `sharedWith`.
    Shared,
}

impl Visibility {
    /// The visibility named `name`; anything else is a `TypeError`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            "protected" => Ok(Self::Protected),
            "shared" => Ok(Self::Shared),
            other => Err(Error::InvalidArgument(format!(
                "visibility must be \"public\", \"private\", \"protected\", \"shared\" or null, \
                 got {other:?}"
            ))),
        }
    }
}

/// `{visibility, sharedWith?}`: `visibility` `null` removes it (the folders and the app's
/// defaults decide again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct VisibilityBody<'a> {
    visibility: Option<Visibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_with: Option<&'a [String]>,
}

/// The `PUT files/visibility/{path}` body. Each user id in `shared_with` must be non-empty.
pub fn visibility_body(
    visibility: Option<Visibility>,
    shared_with: Option<&[String]>,
) -> Result<String, Error> {
    for id in shared_with.unwrap_or_default() {
        non_empty(id, "sharedWith: a user id")?;
    }
    Ok(encode(&VisibilityBody {
        visibility,
        shared_with,
    }))
}

/// An operation a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Permission {
    /// Download, list, see the fields.
    Read,
    /// Create, overwrite, change.
    Write,
    /// Remove.
    Delete,
}

impl Permission {
    /// `READ`, `WRITE` or `DELETE`, in any case; anything else is a `TypeError`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name.to_ascii_uppercase().as_str() {
            "READ" => Ok(Self::Read),
            "WRITE" => Ok(Self::Write),
            "DELETE" => Ok(Self::Delete),
            _ => Err(Error::InvalidArgument(format!(
                "permission must be \"READ\", \"WRITE\" or \"DELETE\", got {name:?}"
            ))),
        }
    }
}

/// Whether a rule grants or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `GRANT`.
    Grant,
    /// `DENY`.
    Deny,
}

impl RuleKind {
    /// The URL segment: `GRANT` or `DENY`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "GRANT",
            Self::Deny => "DENY",
        }
    }
}

/// Whom a rule names: one user by objectId, or a role by name; `*` for every one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grantee {
    /// A user's objectId, or `*`.
    #[serde(default)]
    pub user: Option<String>,
    /// A role name, or `*`.
    #[serde(default)]
    pub role: Option<String>,
}

/// `{permission, user}` or `{permission, role}`.
#[derive(Serialize)]
struct RuleBody<'a> {
    permission: Permission,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
}

/// The `PUT files/permissions/{GRANT|DENY}/{path}` body: exactly one of `user` and `role`,
/// non-empty.
pub fn rule_body(permission: Permission, grantee: &Grantee) -> Result<String, Error> {
    let (user, role) = match (
        given(grantee.user.as_deref()),
        given(grantee.role.as_deref()),
    ) {
        (Some(user), None) => (Some(user), None),
        (None, Some(role)) => (None, Some(role)),
        _ => {
            return Err(Error::InvalidArgument(
                "a rule names exactly one of {user: objectId | \"*\"} and {role: name | \"*\"}"
                    .into(),
            ))
        }
    };
    Ok(encode(&RuleBody {
        permission,
        user,
        role,
    }))
}

fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|s| !s.is_empty())
}

fn non_empty(value: &str, what: &str) -> Result<(), Error> {
    if value.is_empty() {
        Err(Error::InvalidArgument(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

/// Bodies are plain data: encoding them cannot fail.
fn encode<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_bodies() {
        let r = Registration {
            email: "a@example.com".into(),
            password: "correct horse".into(),
            name: None,
        };
        assert_eq!(
            r.body().expect("valid"),
            r#"{"email":"a@example.com","password":"correct horse"}"#
        );
        let named = Registration {
            name: Some("Ann ✓".into()),
            ..r.clone()
        };
        assert!(named
            .body()
            .expect("valid")
            .ends_with(r#","name":"Ann ✓"}"#));
        let no_password = Registration {
            password: String::new(),
            ..r
        };
        assert_eq!(
            no_password.body().expect_err("empty").js_name(),
            "TypeError"
        );
        assert_eq!(
            login_body("a@example.com", "pw\"x").expect("valid"),
            r#"{"login":"a@example.com","password":"pw\"x"}"#
        );
        assert!(login_body("", "pw").is_err());
        assert!(login_body("a", "").is_err());
    }

    #[test]
    fn visibility_bodies() {
        assert_eq!(
            visibility_body(Some(Visibility::parse("public").expect("valid")), None)
                .expect("valid"),
            r#"{"visibility":"public"}"#
        );
        assert_eq!(
            visibility_body(None, None).expect("valid"),
            r#"{"visibility":null}"#
        );
        let ids = ["u1".to_owned(), "u2".to_owned()];
        assert_eq!(
            visibility_body(Some(Visibility::Shared), Some(&ids)).expect("valid"),
            r#"{"visibility":"shared","sharedWith":["u1","u2"]}"#
        );
        assert_eq!(
            visibility_body(Some(Visibility::Shared), Some(&[])).expect("valid"),
            r#"{"visibility":"shared","sharedWith":[]}"#
        );
        assert!(visibility_body(Some(Visibility::Shared), Some(&[String::new()])).is_err());
        for name in ["Public", "secret", ""] {
            assert_eq!(
                Visibility::parse(name).expect_err(name).js_name(),
                "TypeError"
            );
        }
        assert_eq!(
            Visibility::parse("protected").expect("valid"),
            Visibility::Protected
        );
    }

    #[test]
    fn rule_bodies() {
        let user = Grantee {
            user: Some("u1".into()),
            role: None,
        };
        assert_eq!(
            rule_body(Permission::parse("write").expect("valid"), &user).expect("valid"),
            r#"{"permission":"WRITE","user":"u1"}"#
        );
        let everyone = Grantee {
            user: None,
            role: Some("*".into()),
        };
        assert_eq!(
            rule_body(Permission::Read, &everyone).expect("valid"),
            r#"{"permission":"READ","role":"*"}"#
        );
        for bad in [
            Grantee {
                user: None,
                role: None,
            },
            Grantee {
                user: Some("u".into()),
                role: Some("r".into()),
            },
            Grantee {
                user: Some(String::new()),
                role: None,
            },
        ] {
            assert_eq!(
                rule_body(Permission::Delete, &bad)
                    .expect_err("must fail")
                    .js_name(),
                "TypeError"
            );
        }
        assert!(Permission::parse("EXECUTE").is_err());
        assert_eq!(RuleKind::Deny.as_str(), "DENY");
    }
}
