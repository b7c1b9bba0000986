//! Extensions: what the collector runs beside its pipelines. Each is a folder with its config and a `Factory`.

pub mod degradation;
pub mod file_storage;
pub mod health_check;

pub use crate::component::{RunningExtension, StorageDirectory};
