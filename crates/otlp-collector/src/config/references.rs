//! References from components to extensions that serve them: exporters' `sending_queue.storage` and receivers'
//! `storage` naming a storage extension, and receivers' transports and exporters' `auth.authenticator` naming an authenticator.
//!
//! Every component's settings are its own type, parsed by its factory; these keys belong to helpers common to many
//! components (the exporter helper's queue, the authentication of transports and clients) and always sit under
//! the same parent key, at any depth (the `loadbalancing` exporter's under `protocol.otlp`). So the references are
//! read from the sections as written, the same way for every component, built in or not.

use super::{ComponentId, problem};
use crate::component::{ComponentConfig, Components};
use crate::error::ConfigProblem;
use crate::id::join;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What a referenced extension must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// `sending_queue.storage` in exporters.
    Storage,
    /// `auth.authenticator` in receivers and exporters.
    Authenticator,
}

impl Role {
    /// The key holding the reference and the key above it.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Role::Storage => ("sending_queue", "storage"),
            Role::Authenticator => ("auth", "authenticator"),
        }
    }

    fn sections(self) -> &'static [&'static str] {
        match self {
            Role::Storage => &["exporters", "receivers"],
            Role::Authenticator => &["receivers", "exporters"],
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Role::Storage => "storage extension",
            Role::Authenticator => "authenticator extension",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Role::Storage => "a",
            Role::Authenticator => "an",
        }
    }

    /// Which built-in types play the role, and an example of defining one.
    fn examples(self) -> (&'static str, &'static str) {
        match self {
            Role::Storage => (
                "file_storage is",
                "`extensions: { file_storage: { directory: ... } }`",
            ),
            Role::Authenticator => (
                "bearertokenauth and basicauth are",
                "`extensions: { bearertokenauth: { token: ... } }`",
            ),
        }
    }

    fn played_by(
        self,
        components: &Components,
        id: &ComponentId,
        settings: &ComponentConfig,
    ) -> bool {
        components
            .extension(id.kind())
            .is_some_and(|factory| match self {
                Role::Storage => factory.storage(settings).is_some(),
                Role::Authenticator => factory.authenticator(settings).is_some(),
            })
    }
}

/// Whether the authenticator `id` can check a receiver's requests (not a client-only one: `headers_setter`,
/// `oauth2client`). One that cannot be built is reported when the collector starts, with why.
fn checks_requests(components: &Components, id: &ComponentId, settings: &ComponentConfig) -> bool {
    components
        .extension(id.kind())
        .and_then(|factory| factory.authenticator(settings))
        .and_then(Result::ok)
        .is_none_or(|authenticator| authenticator.checks_requests())
}

/// One reference: where it is and what it names.
pub(super) struct Reference {
    role: Role,
    path: String,
    name: String,
}

/// Every reference of `role` in `sections` (the config's top-level sections as written).
pub(super) fn references(sections: &BTreeMap<String, Value>, role: Role) -> Vec<Reference> {
    let mut found = Vec::new();
    for section in role.sections() {
        if let Some(Value::Mapping(components)) = sections.get(*section) {
            for (id, settings) in components {
                if let Value::String(id) = id {
                    let path = join(section, id);
                    // A receiver keeps its own state (the `filelog` receiver's read offsets) in the storage its
                    // top-level `storage` names.
                    if role == Role::Storage
                        && *section == "receivers"
                        && let Value::Mapping(settings) = settings
                        && let Some(Value::String(target)) = settings.get("storage")
                    {
                        found.push(Reference {
                            role,
                            path: join(&path, "storage"),
                            name: target.clone(),
                        });
                    }
                    collect(settings, &path, role, &mut found);
                }
            }
        }
    }
    found
}

fn collect(value: &Value, path: &str, role: Role, found: &mut Vec<Reference>) {
    let Value::Mapping(mapping) = value else {
        return;
    };
    let (parent, key) = role.keys();
    for (name, value) in mapping {
        let Value::String(name) = name else { continue };
        let here = join(path, name);
        // A reference that is not a string is reported by the component's own parsing.
        if name == parent
            && let Value::Mapping(block) = value
            && let Some(Value::String(target)) = block.get(key)
        {
            found.push(Reference {
                role,
                path: join(&here, key),
                name: target.clone(),
            });
        }
        collect(value, &here, role, found);
    }
}

/// Each reference must name an extension that is defined, enabled in `service.extensions`, and plays its role.
/// A reference to an extension in `unreadable` (defined, but its settings could not be read, which is reported
/// at the extension) is not reported again: calling it undefined would be false.
pub(super) fn check(
    references: &[Reference],
    extensions: &BTreeMap<ComponentId, ComponentConfig>,
    unreadable: &BTreeSet<(&'static str, ComponentId)>,
    enabled: &[ComponentId],
    components: &Components,
    problems: &mut Vec<ConfigProblem>,
) {
    for reference in references {
        let role = reference.role;
        let id = match ComponentId::parse(&reference.name) {
            Ok(id) => id,
            Err(message) => {
                problems.push(problem(&reference.path, message));
                continue;
            }
        };
        let Some(settings) = extensions.get(&id) else {
            if unreadable.contains(&("extensions", id.clone())) {
                continue;
            }
            let candidates: Vec<String> = extensions
                .iter()
                .filter(|(id, settings)| role.played_by(components, id, settings))
                .map(|(id, _)| id.to_string())
                .collect();
            let known = if candidates.is_empty() {
                format!("none is defined; add e.g. {}", role.examples().1)
            } else {
                format!("defined: {}", candidates.join(", "))
            };
            problems.push(problem(
                &reference.path,
                format!(
                    "{} `{id}` is not defined in the top-level `extensions` section ({known})",
                    role.noun()
                ),
            ));
            continue;
        };
        if !role.played_by(components, &id, settings) {
            problems.push(problem(
                &reference.path,
                format!(
                    "`{id}` is not {} {} ({})",
                    role.article(),
                    role.noun(),
                    role.examples().0
                ),
            ));
        } else if role == Role::Authenticator
            && reference.path.starts_with("receivers.")
            && !checks_requests(components, &id, settings)
        {
            problems.push(problem(
                &reference.path,
                format!(
                    "`{id}` gives exporters what to send and checks no one's requests; name it in an exporter's \
                     `auth`, and a receiver's authenticator here (bearertokenauth, basicauth, oidc)"
                ),
            ));
        } else if !enabled.contains(&id) {
            problems.push(problem(
                &reference.path,
                format!(
                    "{} `{id}` must also be listed in service.extensions",
                    role.noun()
                ),
            ));
        }
    }
}
