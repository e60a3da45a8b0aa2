//! The `localStorage` a session is kept in when the app opts in (`persistSession: true`).
//! A page without it (a worker, a sandboxed frame, storage blocked by the user) simply keeps
//! its session in memory.

use web_sys::Storage;

use crate::session::SessionStore;

/// One key of the window's `localStorage`.
#[derive(Debug)]
pub(crate) struct LocalStore {
    storage: Storage,
    key: String,
}

impl LocalStore {
    /// The window's `localStorage` under `key`, or `None` where there is none to use.
    pub(crate) fn open(key: &str) -> Option<Self> {
        let storage = web_sys::window()?.local_storage().ok()??;
        Some(Self {
            storage,
            key: key.to_owned(),
        })
    }
}

impl SessionStore for LocalStore {
    fn load(&self) -> Option<String> {
        self.storage.get_item(&self.key).ok().flatten()
    }

    fn save(&self, text: &str) {
        // A full quota or blocked storage only means the session is not kept.
        let _ = self.storage.set_item(&self.key, text);
    }

    fn clear(&self) {
        let _ = self.storage.remove_item(&self.key);
    }
}
