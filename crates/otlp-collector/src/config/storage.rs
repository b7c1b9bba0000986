//! The references from exporters' sending queues to storage extensions (`sending_queue.storage`).
//!
//! Every exporter's settings are its own type, parsed by its factory; the queue is the exporter helper's, common
//! to all of them, and always sits under a `sending_queue` key (the `loadbalancing` exporter also has one under
//! `protocol.otlp`). So the references are read from the section as written, the same way for every exporter,
//! built in or not.

use super::{ComponentId, problem};
use crate::component::{ComponentConfig, Components};
use crate::error::ConfigProblem;
use crate::id::join;
use serde_norway::Value;
use std::collections::BTreeMap;

/// One `storage` key: where it is and what it names.
pub(super) struct StorageReference {
    path: String,
    name: String,
}

/// Every `sending_queue.storage` in the `exporters` section, at any depth under each exporter.
pub(super) fn references(exporters: Option<&Value>) -> Vec<StorageReference> {
    let mut found = Vec::new();
    if let Some(Value::Mapping(exporters)) = exporters {
        for (id, settings) in exporters {
            if let Value::String(id) = id {
                collect(settings, &join("exporters", id), &mut found);
            }
        }
    }
    found
}

fn collect(value: &Value, path: &str, found: &mut Vec<StorageReference>) {
    let Value::Mapping(mapping) = value else {
        return;
    };
    for (key, value) in mapping {
        let Value::String(key) = key else { continue };
        let here = join(path, key);
        // A `storage` that is not a string is reported by the exporter's own parsing.
        if key == "sending_queue"
            && let Value::Mapping(queue) = value
            && let Some(Value::String(name)) = queue.get("storage")
        {
            found.push(StorageReference {
                path: join(&here, "storage"),
                name: name.clone(),
            });
        }
        collect(value, &here, found);
    }
}

/// Each reference must name an extension that is defined, enabled in `service.extensions`, and provides storage.
pub(super) fn check(
    references: &[StorageReference],
    extensions: &BTreeMap<ComponentId, ComponentConfig>,
    enabled: &[ComponentId],
    components: &Components,
    problems: &mut Vec<ConfigProblem>,
) {
    for reference in references {
        let id = match ComponentId::parse(&reference.name) {
            Ok(id) => id,
            Err(message) => {
                problems.push(problem(&reference.path, message));
                continue;
            }
        };
        let Some(settings) = extensions.get(&id) else {
            let storages: Vec<String> = extensions
                .iter()
                .filter(|(id, settings)| provides_storage(components, id, settings))
                .map(|(id, _)| id.to_string())
                .collect();
            let known = if storages.is_empty() {
                "none is defined; add e.g. `extensions: { file_storage: { directory: ... } }`"
                    .to_string()
            } else {
                format!("defined: {}", storages.join(", "))
            };
            problems.push(problem(
                &reference.path,
                format!("storage extension `{id}` is not defined in the top-level `extensions` section ({known})"),
            ));
            continue;
        };
        if !provides_storage(components, &id, settings) {
            problems.push(problem(
                &reference.path,
                format!("`{id}` is not a storage extension (file_storage is)"),
            ));
        } else if !enabled.contains(&id) {
            problems.push(problem(
                &reference.path,
                format!("storage extension `{id}` must also be listed in service.extensions"),
            ));
        }
    }
}

fn provides_storage(components: &Components, id: &ComponentId, settings: &ComponentConfig) -> bool {
    components
        .extension(id.kind())
        .is_some_and(|factory| factory.storage(settings).is_some())
}
