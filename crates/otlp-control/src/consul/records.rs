//! Member records as Consul services: identity in the service fields, the rest in `Meta`
//! (Consul limits each meta value to 512 characters, so fields are split and the rejection
//! reason is shortened).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::fleet::{ConfigRejection, ConfigStatus, LoadReport, Member};

const MAX_META_VALUE: usize = 512;

/// The body of `PUT /v1/agent/service/register`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ServiceRegistration {
    #[serde(rename = "ID")]
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) meta: HashMap<String, String>,
    pub(crate) check: TtlCheck,
}

#[derive(Debug, Serialize)]
pub(crate) struct TtlCheck {
    #[serde(rename = "CheckID")]
    pub(crate) check_id: String,
    #[serde(rename = "Name")]
    pub(crate) name: String,
    #[serde(rename = "TTL")]
    pub(crate) ttl: String,
    #[serde(rename = "DeregisterCriticalServiceAfter")]
    pub(crate) deregister_after: String,
}

/// One entry of `GET /v1/health/service/<name>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HealthEntry {
    pub(crate) service: AgentService,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AgentService {
    #[serde(rename = "ID")]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) address: String,
    #[serde(default)]
    pub(crate) port: u16,
    #[serde(default)]
    pub(crate) meta: Option<HashMap<String, String>>,
}

/// One entry of `GET /v1/kv/<key>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KvEntry {
    pub(crate) modify_index: u64,
    #[serde(default)]
    pub(crate) value: Option<String>,
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_META_VALUE {
        let mut cut = MAX_META_VALUE - 3;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

pub(crate) fn check_id(member_id: &str) -> String {
    format!("otlp-ttl-{member_id}")
}

/// The service registration for `member`.
pub(crate) fn to_service(member: &Member, service: &str, ttl_secs: u64) -> ServiceRegistration {
    let (address, port) = match member.address.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (host.to_owned(), port),
            Err(_) => (member.address.clone(), 0),
        },
        None => (member.address.clone(), 0),
    };
    let mut meta = HashMap::from([
        ("otlp_region".to_owned(), member.region.clone()),
        ("otlp_version".to_owned(), member.version.clone()),
        (
            "otlp_load".to_owned(),
            serde_json::to_string(&member.load).unwrap_or_default(),
        ),
        (
            "otlp_updated_at_ms".to_owned(),
            member.updated_at_ms.to_string(),
        ),
    ]);
    if let Some(version) = member.config.version {
        meta.insert("otlp_config_version".to_owned(), version.to_string());
    }
    if let Some(rejected) = &member.config.rejected {
        meta.insert(
            "otlp_config_rejected_version".to_owned(),
            rejected.version.to_string(),
        );
        meta.insert(
            "otlp_config_rejected_reason".to_owned(),
            truncate(rejected.reason.clone()),
        );
    }
    ServiceRegistration {
        id: member.id.clone(),
        name: service.to_owned(),
        address,
        port,
        meta,
        check: TtlCheck {
            check_id: check_id(&member.id),
            name: format!("{} alive", member.id),
            ttl: format!("{ttl_secs}s"),
            // Consul's minimum is one minute; a dead member is first excluded as critical.
            deregister_after: "1m".to_owned(),
        },
    }
}

/// The member a service stands for; `None` for services not registered by this crate.
pub(crate) fn from_service(service: &AgentService) -> Option<Member> {
    let meta = service.meta.as_ref()?;
    let region = meta.get("otlp_region")?.clone();
    let parse = |key: &str| meta.get(key).and_then(|value| value.parse::<u64>().ok());
    let rejected = parse("otlp_config_rejected_version").map(|version| ConfigRejection {
        version,
        reason: meta
            .get("otlp_config_rejected_reason")
            .cloned()
            .unwrap_or_default(),
    });
    let address = if service.port == 0 {
        service.address.clone()
    } else {
        format!("{}:{}", service.address, service.port)
    };
    Some(Member {
        id: service.id.clone(),
        region,
        address,
        version: meta.get("otlp_version").cloned().unwrap_or_default(),
        config: ConfigStatus {
            version: parse("otlp_config_version"),
            rejected,
        },
        load: meta
            .get("otlp_load")
            .and_then(|load| serde_json::from_str::<LoadReport>(load).ok())
            .unwrap_or_default(),
        updated_at_ms: parse("otlp_updated_at_ms").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_round_trips_through_a_service() {
        let mut member = Member::new("c1", "eu", "10.0.0.1:4317", "0.2.0").unwrap();
        member.config.version = Some(7);
        member.config.rejected = Some(ConfigRejection {
            version: 8,
            reason: "x".repeat(2000),
        });
        member.load.spans_per_sec = 12.5;
        let registration = to_service(&member, "otlp", 5);
        assert_eq!(
            (registration.address.as_str(), registration.port),
            ("10.0.0.1", 4317)
        );
        assert!(
            registration
                .meta
                .values()
                .all(|v| v.len() <= MAX_META_VALUE)
        );
        let service = AgentService {
            id: registration.id,
            address: registration.address,
            port: registration.port,
            meta: Some(registration.meta),
        };
        let back = from_service(&service).unwrap();
        assert_eq!(back.address, member.address);
        assert_eq!(back.config.version, Some(7));
        assert_eq!(back.config.rejected.unwrap().reason.len(), MAX_META_VALUE);
        assert_eq!(back.load.spans_per_sec, 12.5);
    }
}
