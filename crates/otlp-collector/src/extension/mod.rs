//! Extensions: what the collector runs beside its pipelines. Each is a folder with its config and a `Factory`.

pub mod basicauth;
pub mod bearertokenauth;
pub mod degradation;
pub mod file_storage;
pub mod headers_setter;
pub mod health_check;
pub mod oauth2client;
pub mod oidc;
pub mod pprof;
pub mod zpages;

pub use crate::component::{RunningExtension, StorageDirectory};

/// A started extension with nothing to run (an authenticator: the components that name it hold what it offers).
pub(crate) struct Idle;

impl RunningExtension for Idle {
    fn shutdown(self: Box<Self>) -> crate::pipeline::BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
