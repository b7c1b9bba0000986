//! The fleet's shared config document and this member's own `fleet` settings: a document never carries the
//! `fleet` extension (member ids and addresses differ per collector), so each member adds its own before
//! validating and applying it.

use otlp_collector::Config;
use otlp_collector::component::Components;
use otlp_collector::config::{UnsetVariable, parse_yaml};
use serde_norway::{Mapping, Value};

use super::{FleetConfig, TYPE};

/// Whether a component id (`fleet`, `fleet/eu`) is of the `fleet` type.
fn is_fleet(id: &str) -> bool {
    id.split('/').next() == Some(TYPE)
}

fn per_member(path: &str) -> String {
    format!(
        "{path}: the fleet extension is per member; keep it in each collector's own config file, \
         not in the fleet document"
    )
}

/// Returns `document` with this member's `fleet` extension (`local`: its id and settings) added to `extensions`
/// and `service.extensions`.
///
/// # Errors
///
/// Why the document cannot be used: not YAML, not a mapping, or it declares a `fleet` extension itself.
pub fn merge_document(
    document: &str,
    local: Option<(&str, &FleetConfig)>,
) -> Result<String, String> {
    let mut root = parse_yaml(document).map_err(|error| error.to_string())?;
    if root.is_null() {
        root = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(top) = &mut root else {
        return Err("the config must be a mapping of sections".into());
    };
    if let Some(Value::Mapping(extensions)) = top.get("extensions")
        && let Some(id) = extensions
            .keys()
            .filter_map(Value::as_str)
            .find(|id| is_fleet(id))
    {
        return Err(per_member(&format!("extensions.{id}")));
    }
    if let Some(Value::Mapping(service)) = top.get("service")
        && let Some(Value::Sequence(used)) = service.get("extensions")
        && used.iter().filter_map(Value::as_str).any(is_fleet)
    {
        return Err(per_member("service.extensions"));
    }
    if let Some((id, settings)) = local {
        let settings = serde_norway::to_value(settings)
            .map_err(|error| format!("cannot write the fleet settings: {error}"))?;
        let extensions = top
            .entry(Value::from("extensions"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        match extensions {
            Value::Mapping(map) => {
                map.insert(Value::from(id), settings);
            }
            Value::Null => {
                *extensions = Value::Mapping(Mapping::from_iter([(Value::from(id), settings)]));
            }
            _ => return Err("extensions: must be a mapping".into()),
        }
        let service = top
            .entry(Value::from("service"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(service) = service else {
            return Err("service: must be a mapping".into());
        };
        let used = service
            .entry(Value::from("extensions"))
            .or_insert_with(|| Value::Sequence(Vec::new()));
        match used {
            Value::Sequence(list) => list.push(Value::from(id)),
            Value::Null => *used = Value::Sequence(vec![Value::from(id)]),
            _ => return Err("service.extensions: must be a list".into()),
        }
    }
    serde_norway::to_string(&root).map_err(|error| format!("cannot write the config: {error}"))
}

/// Checks a fleet document exactly as `otlp-suite validate` checks a file (with this member's `fleet` settings
/// added when `local` is given) and returns the merged YAML a member applies.
///
/// # Errors
///
/// Every problem found, as the collector's config validation words it.
pub fn validate_document(
    document: &str,
    local: Option<(&str, &FleetConfig)>,
) -> Result<(String, Config), String> {
    let merged = merge_document(document, local)?;
    let config = Config::from_yaml_with(&merged, &validation_components(), &|name| {
        std::env::var(name).ok()
    })
    .map_err(|error| error.to_string())?;
    Ok((merged, config))
}

/// The `${env:VAR}` references of `document` that have no default, in the order of the file: each member must set
/// them, whatever the machine that validates the document has set. Empty when the document does not parse once
/// they are empty (its validation says why).
pub fn variables_without_default(document: &str) -> Vec<UnsetVariable> {
    Config::from_yaml_with(document, &validation_components(), &|_| None)
        .map(|config| config.unset_variables().to_vec())
        .unwrap_or_default()
}

/// The built-in component types and a `fleet` extension that can be parsed and checked but not started.
pub fn validation_components() -> Components {
    Components::builtin()
        .with_extension(super::Factory::detached())
        .with_exporter(super::LoadBalancingWithFleet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const DOCUMENT: &str = "receivers: { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:0' } } } }\n\
                            exporters: { debug: }\n\
                            service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }";

    fn settings() -> FleetConfig {
        serde_norway::from_str(
            "{ endpoints: ['http://127.0.0.1:2379'], member_id: c1, advertise: '127.0.0.1:4317', lease_ttl: 3s }",
        )
        .unwrap()
    }

    #[test]
    fn variables_each_member_must_set_are_those_without_a_default() {
        let document = "receivers: { otlp: { protocols: { grpc: { endpoint: '${env:HOST}:${env:PORT:-4317}' } } } }\n\
                        exporters: { debug: }\n\
                        service:\n  \
                          pipelines: { traces: { receivers: [otlp], exporters: [debug] } }\n  \
                          telemetry: { metrics: { address: '127.0.0.1:${env:METRICS}' } }";
        let named: Vec<String> = variables_without_default(document)
            .iter()
            .map(|unset| format!("{} at {}", unset.name, unset.path))
            .collect();
        assert_eq!(
            named,
            [
                "HOST at receivers.otlp.protocols.grpc.endpoint",
                "METRICS at service.telemetry.metrics.address"
            ]
        );
    }

    #[test]
    fn the_members_fleet_settings_are_added_and_survive_the_round_trip() {
        let (merged, config) = validate_document(DOCUMENT, Some(("fleet", &settings()))).unwrap();
        assert_eq!(config.service.extensions.len(), 1);
        let reparsed: Value = serde_norway::from_str(&merged).unwrap();
        let fleet: FleetConfig =
            serde_norway::from_value(reparsed["extensions"]["fleet"].clone()).unwrap();
        assert_eq!(fleet, settings());
        assert_eq!(fleet.lease_ttl, Duration::from_secs(3));
    }

    #[test]
    fn a_document_may_not_carry_a_fleet_extension() {
        let with_fleet = format!(
            "{DOCUMENT}\nextensions: {{ fleet/eu: {{ endpoints: [x], member_id: a, advertise: b }} }}"
        );
        let error = validate_document(&with_fleet, None).unwrap_err();
        assert!(error.contains("extensions.fleet/eu"), "{error}");
        let used = DOCUMENT.replace("service: {", "service: { extensions: [fleet], ");
        let error = merge_document(&used, None).unwrap_err();
        assert!(error.contains("service.extensions"), "{error}");
    }

    #[test]
    fn problems_are_worded_by_the_collector_validation() {
        let error =
            validate_document(&DOCUMENT.replace("[debug]", "[otlp/nowhere]"), None).unwrap_err();
        assert!(error.contains("otlp/nowhere"), "{error}");
        assert!(validate_document("- a list", None).is_err());
        let mut bad = settings();
        bad.lease_ttl = Duration::from_millis(1500);
        let error = validate_document(DOCUMENT, Some(("fleet", &bad))).unwrap_err();
        assert!(error.contains("lease_ttl"), "{error}");
    }
}
