//! The `oidc` extension's settings, with otelcol-contrib's keys: one provider at the top level (otelcol's older
//! layout) and any number under `providers`.

use crate::component::Invalid;
use serde::Deserialize;
use std::path::PathBuf;

/// The `oidc` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The header holding `Bearer <token>` (`authorization`).
    pub attribute: String,
    /// The issuer of the one provider written at the top level.
    pub issuer_url: String,
    /// See [`ProviderConfig::audience`].
    pub audience: String,
    /// See [`ProviderConfig::ignore_audience`].
    pub ignore_audience: bool,
    /// See [`ProviderConfig::issuer_ca_path`].
    pub issuer_ca_path: Option<PathBuf>,
    /// See [`ProviderConfig::username_claim`].
    pub username_claim: Option<String>,
    /// See [`ProviderConfig::groups_claim`].
    pub groups_claim: Option<String>,
    /// More providers; a token is checked by the one its `iss` names.
    pub providers: Vec<ProviderConfig>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            attribute: "authorization".to_owned(),
            issuer_url: String::new(),
            audience: String::new(),
            ignore_audience: false,
            issuer_ca_path: None,
            username_claim: None,
            groups_claim: None,
            providers: Vec::new(),
        }
    }
}

/// One identity provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// The issuer, exactly as its tokens' `iss` names it; its discovery document is at
    /// `<issuer_url>/.well-known/openid-configuration`.
    pub issuer_url: String,
    /// What the tokens' `aud` must name (the client id the tokens are issued for).
    pub audience: String,
    /// Takes tokens whatever their `aud`.
    pub ignore_audience: bool,
    /// The CA that signed the provider's TLS certificate, when not a system one.
    pub issuer_ca_path: Option<PathBuf>,
    /// A claim every token must have as a string (the user's name, where `sub` is not it).
    pub username_claim: Option<String>,
    /// A claim every token must have (the user's groups).
    pub groups_claim: Option<String>,
    /// A local JSON Web Key Set to verify with, instead of the provider's (read again when a token names a key
    /// it lacks).
    pub public_keys_file: Option<PathBuf>,
}

impl OidcConfig {
    /// Every provider, with where its keys are written (`""` for the top level, `providers[0].`): the
    /// top-level one first, then `providers`.
    pub(super) fn all_providers(&self) -> Vec<(String, ProviderConfig)> {
        let top_level = !self.issuer_url.is_empty()
            || !self.audience.is_empty()
            || self.ignore_audience
            || self.issuer_ca_path.is_some()
            || self.username_claim.is_some()
            || self.groups_claim.is_some();
        let first = top_level.then(|| {
            (
                String::new(),
                ProviderConfig {
                    issuer_url: self.issuer_url.clone(),
                    audience: self.audience.clone(),
                    ignore_audience: self.ignore_audience,
                    issuer_ca_path: self.issuer_ca_path.clone(),
                    username_claim: self.username_claim.clone(),
                    groups_claim: self.groups_claim.clone(),
                    public_keys_file: None,
                },
            )
        });
        let listed = self
            .providers
            .iter()
            .enumerate()
            .map(|(i, provider)| (format!("providers[{i}]."), provider.clone()));
        first.into_iter().chain(listed).collect()
    }

    pub(super) fn problems(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        let providers = self.all_providers();
        if providers.is_empty() {
            problems.push(Invalid::at(
                "issuer_url",
                "name the identity provider: `issuer_url` (and `audience`), or `providers`",
            ));
        }
        if http::HeaderName::try_from(self.attribute.as_str()).is_err() {
            problems.push(Invalid::at(
                "attribute",
                format!("`{}` is not a header name", self.attribute),
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for (prefix, provider) in &providers {
            let at = |key: &str| format!("{prefix}{key}");
            if provider.issuer_url.is_empty() {
                problems.push(Invalid::at(at("issuer_url"), "is required"));
            } else if provider.issuer_url.parse::<http::Uri>().is_err() {
                problems.push(Invalid::at(at("issuer_url"), "is not a URL"));
            }
            if provider.audience.is_empty() && !provider.ignore_audience {
                problems.push(Invalid::at(
                    at("audience"),
                    "is required (the client id tokens are issued for), unless `ignore_audience: true`",
                ));
            }
            if seen.contains(&provider.issuer_url) {
                problems.push(Invalid::at(
                    at("issuer_url"),
                    format!("`{}` is configured twice", provider.issuer_url),
                ));
            }
            seen.push(provider.issuer_url.clone());
        }
        problems
    }
}
