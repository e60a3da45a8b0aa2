//! The route table: every route is registered through [`route!`], which builds the axum
//! `MethodRouter` and records each (method, path) from the same tokens, so the list of what the
//! router serves cannot drift from the router. `tests/openapi.rs` compares it with
//! `/openapi.json` both ways.

use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// The methods an `any(...)` route is documented and probed with. `OPTIONS` is not one: the
/// CORS layer answers every `OPTIONS` before any route.
pub(crate) const ANY: &[&str] = &["get", "head", "post", "put", "patch", "delete"];

/// One route: a method and the path as axum matches it (`{*rest}` for a wildcard).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// The method, upper case (`GET`).
    pub method: String,
    /// The axum path template (`/{app}/{key}/files/{*rest}`).
    pub path: String,
}

impl Route {
    /// The path as OpenAPI writes it: axum's `{*rest}` wildcard becomes the parameter `{rest}`.
    #[must_use]
    pub fn openapi_path(&self) -> String {
        self.path.replace("{*", "{")
    }
}

/// A router under construction and the routes it was given.
#[derive(Debug)]
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<Route>,
}

impl Routes {
    /// No routes yet.
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Adds `methods` at `path`, served by `handler` (use [`route!`], which derives `methods`
    /// from the handler's own tokens).
    pub(crate) fn add(
        mut self,
        path: &str,
        methods: &[&str],
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.table.extend(methods.iter().map(|m| Route {
            method: m.to_ascii_uppercase(),
            path: path.to_owned(),
        }));
        self
    }

    /// Both sets of routes.
    pub(crate) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The router and the routes it serves.
    pub(crate) fn into_parts(self) -> (Router<AppState>, Vec<Route>) {
        (self.router, self.table)
    }
}

/// `route!(routes, path, get(a).post(b))` is `routes.route(path, get(a).post(b))` that also
/// records `GET path` and `POST path`; `route!(routes, path, any(h))` records [`ANY`].
macro_rules! route {
    ($routes:expr, $path:expr, any($handler:expr)) => {
        $routes.add(
            $path,
            $crate::routes::table::ANY,
            ::axum::routing::any($handler),
        )
    };
    ($routes:expr, $path:expr, $first:ident($handler:expr) $(.$method:ident($more:expr))*) => {
        $routes.add(
            $path,
            &[stringify!($first) $(, stringify!($method))*],
            ::axum::routing::$first($handler) $(.$method($more))*,
        )
    };
}

pub(crate) use route;
