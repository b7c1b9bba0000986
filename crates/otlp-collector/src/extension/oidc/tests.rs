use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::json;

const ISSUER: &str = "https://idp.example.com/realms/telemetry";

/// A P-256 key and an Ed25519 key, and a key set of their public halves in a file of `dir`.
struct Keys {
    ec: EcdsaKeyPair,
    ed: Ed25519KeyPair,
    file: std::path::PathBuf,
}

fn keys(dir: &std::path::Path) -> Keys {
    let random = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &random)
        .unwrap();
    let ed = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&random).unwrap().as_ref())
        .unwrap();
    let point = ec.public_key().as_ref();
    let jwks = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig",
         "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": URL_SAFE_NO_PAD.encode(ed.public_key().as_ref())},
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
    ]});
    let file = dir.join("jwks.json");
    std::fs::write(&file, jwks.to_string()).unwrap();
    Keys { ec, ed, file }
}

fn token(keys: &Keys, alg: &str, kid: &str, claims: serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let signature = match alg {
        "ES256" => keys
            .ec
            .sign(&SystemRandom::new(), signed.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
        _ => keys.ed.sign(signed.as_bytes()).as_ref().to_vec(),
    };
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut claims = json!({"iss": ISSUER, "aud": ["otel-collector", "other"], "sub": "svc-1",
        "exp": now_seconds() + 600.0, "email": "svc@example.com"});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

fn bearer(token: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

#[tokio::test]
async fn tokens_of_the_provider_are_taken_and_every_other_is_refused_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(dir.path());
    let config: OidcConfig = serde_norway::from_str(&format!(
        "providers: [{{issuer_url: '{ISSUER}', audience: otel-collector, username_claim: email, public_keys_file: '{}'}}]",
        keys.file.display()
    ))
    .unwrap();
    assert!(config.problems().is_empty());
    let oidc = oidc(&config).unwrap();
    oidc.prepare().await.unwrap();
    let check = |token: String| oidc.authenticate(&bearer(&token));

    // The holder is the `username_claim`, not `sub`.
    let subject = crate::auth::AuthAttributes::from([(
        "subject".to_owned(),
        vec!["svc@example.com".to_owned()],
    )]);
    assert_eq!(
        check(token(&keys, "ES256", "ec-1", claims(json!({})))),
        Ok(subject.clone())
    );
    assert_eq!(
        check(token(&keys, "EdDSA", "ed-1", claims(json!({})))),
        Ok(subject)
    );
    let refused = [
        (
            token(
                &keys,
                "ES256",
                "ec-1",
                claims(json!({"exp": now_seconds() - 1.0})),
            ),
            "expired",
        ),
        (
            token(
                &keys,
                "ES256",
                "ec-1",
                claims(json!({"aud": "someone-else"})),
            ),
            "audience",
        ),
        (
            token(
                &keys,
                "ES256",
                "ec-1",
                claims(json!({"iss": "https://evil.example.com"})),
            ),
            "issued by",
        ),
        (
            token(
                &keys,
                "ES256",
                "ec-1",
                claims(json!({"nbf": now_seconds() + 3600.0})),
            ),
            "not valid yet",
        ),
        // Signed by the Ed25519 key, named as the P-256 one.
        (
            token(&keys, "EdDSA", "ec-1", claims(json!({}))),
            "signature",
        ),
        (
            token(&keys, "ES256", "rotated", claims(json!({}))),
            "`rotated` is not among",
        ),
        (
            token(&keys, "HS256", "ec-1", claims(json!({}))),
            "signature",
        ),
    ];
    for (token, why) in refused {
        let error = check(token).unwrap_err();
        assert!(error.contains(why), "{why}: {error}");
    }
    let mut without_email = claims(json!({}));
    without_email.as_object_mut().unwrap().remove("email");
    assert!(
        check(token(&keys, "ES256", "ec-1", without_email))
            .unwrap_err()
            .contains("username_claim")
    );
    // A token whose payload was changed after signing.
    let good = token(&keys, "ES256", "ec-1", claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims(json!({"sub": "admin"})).to_string());
    assert!(
        check(format!("{}.{forged}.{}", parts[0], parts[2]))
            .unwrap_err()
            .contains("signature")
    );
    assert!(
        oidc.authenticate(&http::HeaderMap::new())
            .unwrap_err()
            .contains("no authorization header")
    );
    assert!(
        check("not-a-jwt".to_owned())
            .unwrap_err()
            .contains("not a JWS")
    );
}

#[test]
fn the_settings_name_what_is_missing() {
    let problems = |yaml: &str| -> Vec<String> {
        serde_norway::from_str::<OidcConfig>(yaml)
            .unwrap()
            .problems()
            .into_iter()
            .flat_map(|p| p.at_path("extensions.oidc"))
            .map(|(path, message)| format!("{path}: {message}"))
            .collect()
    };
    assert_eq!(
        problems("{}"),
        [
            "extensions.oidc.issuer_url: name the identity provider: `issuer_url` (and `audience`), or `providers`"
        ]
    );
    assert_eq!(
        problems("issuer_url: https://a.example.com"),
        [
            "extensions.oidc.audience: is required (the client id tokens are issued for), unless `ignore_audience: true`"
        ]
    );
    assert_eq!(
        problems(
            "{issuer_url: https://a.example.com, ignore_audience: true, providers: [{issuer_url: https://a.example.com, audience: x}]}"
        ),
        ["extensions.oidc.providers[0].issuer_url: `https://a.example.com` is configured twice"]
    );
}
