//! Who the client acts as: the signed-in user's token and record, held in memory and, when the
//! app opts in (`persistSession`), in a store that outlives the page (`localStorage` in a
//! browser). A token the server calls dead (`3064`) is dropped here, once, from both.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{snippet, Error};

/// Where a session is kept between page loads. Failures are not errors: a store that cannot
/// be written (Safari's private mode, a full quota) only means the session is not kept.
pub trait SessionStore {
    /// The saved text, if any.
    fn load(&self) -> Option<String>;
    /// Keeps `text` (the login answer) in place of what was saved.
    fn save(&self, text: &str);
    /// Forgets what was saved.
    fn clear(&self);
}

/// The key a session is kept under: `stowage:{baseUrl}:{appId}:session`, `base_url` without
/// its trailing slash, so every client of one app on one server shares it.
#[must_use]
pub fn storage_key(base_url: &str, app_id: &str) -> String {
    format!(
        "stowage:{}:{app_id}:session",
        base_url.trim().trim_end_matches('/')
    )
}

/// The signed-in user: the token, and the login answer it came in (JSON text) when known.
#[derive(Clone, PartialEq, Eq)]
struct SignedIn {
    token: String,
    user: Option<String>,
}

/// The session of one client (shared by its clones, its tasks and its iterators).
#[derive(Default)]
pub struct Session {
    current: RefCell<Option<SignedIn>>,
    store: RefCell<Option<Box<dyn SessionStore>>>,
}

impl fmt::Debug for Session {
    /// Says whether someone is signed in, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("signed_in", &self.current.borrow().is_some())
            .field("persisted", &self.store.borrow().is_some())
            .finish()
    }
}

/// The part of a login answer the client needs.
#[derive(Deserialize)]
struct LoginAnswer<'a> {
    #[serde(rename = "user-token", borrow)]
    token: &'a str,
}

/// The token of a login answer: a non-empty `user-token` string in a JSON object.
fn token_of(answer: &str) -> Option<String> {
    serde_json::from_str::<LoginAnswer<'_>>(answer)
        .ok()
        .map(|a| a.token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl Session {
    /// A session with `token` (from `ClientOptions.userToken`) or none.
    #[must_use]
    pub fn new(token: Option<String>) -> Self {
        let current = token
            .filter(|t| !t.is_empty())
            .map(|token| SignedIn { token, user: None });
        Self {
            current: RefCell::new(current),
            store: RefCell::new(None),
        }
    }

    /// Keeps the session in `store` from now on. With no token yet, the one saved there (if
    /// it is usable) is taken up; a saved text that is not a login answer is removed.
    pub fn persist(&self, store: Box<dyn SessionStore>) {
        if self.current.borrow().is_none() {
            if let Some(text) = store.load() {
                match token_of(&text) {
                    Some(token) => {
                        *self.current.borrow_mut() = Some(SignedIn {
                            token,
                            user: Some(text),
                        });
                    }
                    None => store.clear(),
                }
            }
        }
        *self.store.borrow_mut() = Some(store);
    }

    /// The token to send, if any.
    #[must_use]
    pub fn token(&self) -> Option<String> {
        self.current.borrow().as_ref().map(|s| s.token.clone())
    }

    /// The signed-in user as JSON text: the login answer, or `{"user-token": …}` when only a
    /// token was given; `None` when nobody is signed in.
    #[must_use]
    pub fn user(&self) -> Option<String> {
        self.current.borrow().as_ref().map(|s| match &s.user {
            Some(user) => user.clone(),
            None => serde_json::json!({ "user-token": s.token }).to_string(),
        })
    }

    /// Signs in with a login answer (`{objectId, email, "user-token", …}`), replacing whoever
    /// was signed in, and saves it when the session is persisted.
    pub fn sign_in(&self, answer: &str) -> Result<(), Error> {
        // The answer must be one JSON object with the token in it.
        let is_object = serde_json::from_str::<&RawValue>(answer)
            .is_ok_and(|raw| raw.get().trim_start().starts_with('{'));
        let token =
            token_of(answer)
                .filter(|_| is_object)
                .ok_or_else(|| Error::UnexpectedResponse {
                    status: 200,
                    detail: format!("the login answer has no user-token: {}", snippet(answer)),
                })?;
        *self.current.borrow_mut() = Some(SignedIn {
            token,
            user: Some(answer.to_owned()),
        });
        if let Some(store) = self.store.borrow().as_ref() {
            store.save(answer);
        }
        Ok(())
    }

    /// Forgets the signed-in user here and in the store; answers the token that was held.
    pub fn sign_out(&self) -> Option<String> {
        let held = self.current.borrow_mut().take();
        if let Some(store) = self.store.borrow().as_ref() {
            store.clear();
        }
        held.map(|s| s.token)
    }

    /// Drops `token` if it is still the one held (a login since it was sent keeps the new
    /// one); answers whether it was dropped.
    pub fn expire(&self, token: &str) -> bool {
        let held = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|s| s.token == token);
        if held {
            self.sign_out();
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// A store in memory that counts its writes.
    #[derive(Default)]
    struct Memory {
        text: RefCell<Option<String>>,
        writes: RefCell<u32>,
    }

    struct Shared(Rc<Memory>);

    impl SessionStore for Shared {
        fn load(&self) -> Option<String> {
            self.0.text.borrow().clone()
        }
        fn save(&self, text: &str) {
            *self.0.text.borrow_mut() = Some(text.to_owned());
            *self.0.writes.borrow_mut() += 1;
        }
        fn clear(&self) {
            *self.0.text.borrow_mut() = None;
            *self.0.writes.borrow_mut() += 1;
        }
    }

    const ANSWER: &str = r#"{"objectId":"u1","email":"a@example.com","user-token":"t1"}"#;

    #[test]
    fn login_answers_become_the_session() {
        let s = Session::new(None);
        assert_eq!((s.token(), s.user()), (None, None));
        s.sign_in(ANSWER).expect("a login answer");
        assert_eq!(s.token().as_deref(), Some("t1"));
        assert_eq!(s.user().as_deref(), Some(ANSWER));
        for bad in [
            "{}",
            r#"{"user-token":""}"#,
            r#"{"user-token":7}"#,
            "[]",
            "true",
            "",
        ] {
            let e = s.sign_in(bad).expect_err(bad);
            assert_eq!((e.js_name(), e.status()), ("ProtocolError", 200), "{bad}");
        }
        assert_eq!(
            s.token().as_deref(),
            Some("t1"),
            "a bad answer keeps the session"
        );
        assert_eq!(s.sign_out().as_deref(), Some("t1"));
        assert_eq!((s.token(), s.user()), (None, None));
    }

    #[test]
    fn a_given_token_is_a_user_without_a_record() {
        let s = Session::new(Some("tok".into()));
        assert_eq!(s.user().as_deref(), Some(r#"{"user-token":"tok"}"#));
        assert_eq!(Session::new(Some(String::new())).token(), None);
        assert!(!format!("{s:?}").contains("tok"), "Debug shows the token");
    }

    #[test]
    fn only_the_token_still_held_is_expired() {
        let s = Session::new(Some("old".into()));
        s.sign_in(ANSWER).expect("login");
        assert!(
            !s.expire("old"),
            "an answer to a request sent before the login"
        );
        assert_eq!(s.token().as_deref(), Some("t1"));
        assert!(s.expire("t1"));
        assert_eq!(s.token(), None);
        assert!(!s.expire("t1"));
    }

    #[test]
    fn a_persisted_session_is_saved_restored_and_cleared() {
        let memory = Rc::new(Memory::default());
        let first = Session::new(None);
        first.persist(Box::new(Shared(Rc::clone(&memory))));
        assert_eq!(first.token(), None);
        first.sign_in(ANSWER).expect("login");
        assert_eq!(memory.text.borrow().as_deref(), Some(ANSWER));

        let second = Session::new(None);
        second.persist(Box::new(Shared(Rc::clone(&memory))));
        assert_eq!(second.token().as_deref(), Some("t1"));
        assert_eq!(second.user().as_deref(), Some(ANSWER));

        // A token given in the options wins over the saved one, and leaves it alone.
        let given = Session::new(Some("mine".into()));
        let writes = *memory.writes.borrow();
        given.persist(Box::new(Shared(Rc::clone(&memory))));
        assert_eq!(given.token().as_deref(), Some("mine"));
        assert_eq!(*memory.writes.borrow(), writes);

        assert!(second.expire("t1"));
        assert_eq!(*memory.text.borrow(), None);
        let third = Session::new(None);
        third.persist(Box::new(Shared(Rc::clone(&memory))));
        assert_eq!(third.token(), None);
    }

    #[test]
    fn a_saved_text_that_is_no_login_answer_is_removed() {
        let memory = Rc::new(Memory::default());
        *memory.text.borrow_mut() = Some("not json".into());
        let s = Session::new(None);
        s.persist(Box::new(Shared(Rc::clone(&memory))));
        assert_eq!(s.token(), None);
        assert_eq!(*memory.text.borrow(), None);
    }

    #[test]
    fn keys_name_the_server_and_the_app() {
        assert_eq!(
            storage_key("http://127.0.0.1:8080/", "demo"),
            "stowage:http://127.0.0.1:8080:demo:session"
        );
    }
}
