//! An identity provider's signing keys: a JSON Web Key Set (RFC 7517) as its `jwks_uri` or a local file holds
//! it, read into keys `ring` verifies with. RSA (`RS*`, `PS*`), ECDSA on P-256 and P-384 (`ES256`, `ES384`) and
//! Ed25519 (`EdDSA`), the algorithms go-oidc (otelcol's verifier) takes but for `ES512`, which `ring` lacks; other
//! keys (symmetric ones, encryption keys) are skipped.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

/// The public part of a signing key.
#[derive(Debug, Clone)]
enum Public {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed point (`0x04 || x || y`) on P-256 or P-384.
    Ec {
        p384: bool,
        point: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

/// A signing key of the set.
#[derive(Debug, Clone)]
pub(super) struct Key {
    kid: Option<String>,
    /// The one algorithm the key is for, when the set says.
    alg: Option<String>,
    public: Public,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(rename = "use", default)]
    usage: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

fn decode(field: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(field.as_deref()?.trim_end_matches('='))
        .ok()
}

impl Jwk {
    fn key(self) -> Option<Key> {
        if self.usage.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        let public = match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Public::Rsa {
                n: decode(&self.n)?,
                e: decode(&self.e)?,
            },
            ("EC", Some(curve @ ("P-256" | "P-384"))) => {
                let (x, y) = (decode(&self.x)?, decode(&self.y)?);
                let size = if curve == "P-256" { 32 } else { 48 };
                if x.len() != size || y.len() != size {
                    return None;
                }
                Public::Ec {
                    p384: curve == "P-384",
                    point: [&[4u8][..], &x, &y].concat(),
                }
            }
            ("OKP", Some("Ed25519")) => Public::Ed25519(decode(&self.x)?),
            _ => return None,
        };
        Some(Key {
            kid: self.kid,
            alg: self.alg,
            public,
        })
    }
}

/// The signing keys of a JWKS document; an error when it is not one or holds none this verifier can use.
pub(super) fn parse(document: &[u8]) -> Result<Vec<Key>, String> {
    let jwks: Jwks =
        serde_json::from_slice(document).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    let keys: Vec<Key> = jwks.keys.into_iter().filter_map(Jwk::key).collect();
    if keys.is_empty() {
        return Err("the key set holds no RSA, P-256, P-384 or Ed25519 signing key".to_owned());
    }
    Ok(keys)
}

impl Key {
    /// Whether a token whose header names `kid` may be signed with this key.
    pub(super) fn named(&self, kid: Option<&str>) -> bool {
        match (kid, &self.kid) {
            (Some(wanted), Some(own)) => wanted == own,
            _ => true,
        }
    }

    pub(super) fn has_id(&self, kid: &str) -> bool {
        self.kid.as_deref() == Some(kid)
    }

    /// Whether `signature` is this key's, by `alg`, over `message`.
    pub(super) fn verifies(&self, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        if self.alg.as_deref().is_some_and(|own| own != alg) {
            return false;
        }
        let rsa = |params: &'static signature::RsaParameters| match &self.public {
            Public::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            _ => false,
        };
        match alg {
            "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
            "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
            "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
            "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
            "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
            "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
            "ES256" | "ES384" => match &self.public {
                Public::Ec { p384, point } if *p384 == (alg == "ES384") => {
                    let algorithm = if *p384 {
                        &signature::ECDSA_P384_SHA384_FIXED
                    } else {
                        &signature::ECDSA_P256_SHA256_FIXED
                    };
                    UnparsedPublicKey::new(algorithm, point)
                        .verify(message, signature)
                        .is_ok()
                }
                _ => false,
            },
            "EdDSA" => match &self.public {
                Public::Ed25519(public) => UnparsedPublicKey::new(&signature::ED25519, public)
                    .verify(message, signature)
                    .is_ok(),
                _ => false,
            },
            _ => false,
        }
    }
}
