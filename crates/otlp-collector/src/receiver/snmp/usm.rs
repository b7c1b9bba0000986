//! SNMPv3's user-based security model (RFC 3414): keys made from a user's passwords and localized to the agent's
//! engine, messages authenticated with HMAC (MD5 and SHA-1 as RFC 3414, SHA-2 as RFC 7860) and their PDUs
//! encrypted with DES-CBC (RFC 3414) or AES-128-CFB (RFC 3826).

use aes::cipher::{
    AsyncStreamCipher, BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding,
};
use hmac::{KeyInit, Mac};
use sha2::Digest;

/// How messages are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// How PDUs are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Privacy {
    Des,
    Aes128,
}

macro_rules! with_digest {
    ($auth:expr, $digest:ident => $body:expr) => {
        match $auth {
            Auth::Md5 => {
                type $digest = md5::Md5;
                $body
            }
            Auth::Sha1 => {
                type $digest = sha1::Sha1;
                $body
            }
            Auth::Sha224 => {
                type $digest = sha2::Sha224;
                $body
            }
            Auth::Sha256 => {
                type $digest = sha2::Sha256;
                $body
            }
            Auth::Sha384 => {
                type $digest = sha2::Sha384;
                $body
            }
            Auth::Sha512 => {
                type $digest = sha2::Sha512;
                $body
            }
        }
    };
}

impl Auth {
    /// otelcol's `auth_type`.
    pub(super) fn parse(name: &str) -> Option<Auth> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => Auth::Md5,
            "SHA" => Auth::Sha1,
            "SHA224" => Auth::Sha224,
            "SHA256" => Auth::Sha256,
            "SHA384" => Auth::Sha384,
            "SHA512" => Auth::Sha512,
            _ => return None,
        })
    }

    /// The bytes of `msgAuthenticationParameters`: the HMAC cut to 96 bits (RFC 3414) or to RFC 7860's lengths.
    pub(super) fn mac_length(self) -> usize {
        match self {
            Auth::Md5 | Auth::Sha1 => 12,
            Auth::Sha224 => 16,
            Auth::Sha256 => 24,
            Auth::Sha384 => 32,
            Auth::Sha512 => 48,
        }
    }

    /// The key localized to engine `engine` from `password` (RFC 3414 A.2): the password hashed over a
    /// megabyte of its repetitions, then hashed between two copies of itself around the engine's id.
    pub(super) fn localized_key(self, password: &str, engine: &[u8]) -> Vec<u8> {
        with_digest!(self, D => {
            let mut hasher = D::new();
            let password = password.as_bytes();
            let mut fed = 0usize;
            let mut block = [0u8; 64];
            while fed < 1_048_576 {
                for byte in block.iter_mut() {
                    *byte = password[fed % password.len()];
                    fed += 1;
                }
                hasher.update(block);
            }
            let user_key = hasher.finalize();
            let mut hasher = D::new();
            hasher.update(user_key);
            hasher.update(engine);
            hasher.update(user_key);
            hasher.finalize().to_vec()
        })
    }

    /// The message's authentication parameters: HMAC of the whole message (its parameters zeroed) with `key`.
    pub(super) fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let full = with_digest!(self, D => {
            let mut mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        });
        full[..self.mac_length()].to_vec()
    }
}

impl Privacy {
    /// otelcol's `privacy_type`; AES-192 and AES-256 (whose key extensions differ between vendors) are not
    /// among them.
    pub(super) fn parse(name: &str) -> Option<Privacy> {
        match name.to_ascii_uppercase().as_str() {
            "DES" => Some(Privacy::Des),
            "AES" => Some(Privacy::Aes128),
            _ => None,
        }
    }

    /// `plain` encrypted with the localized privacy `key`, and the salt (`msgPrivacyParameters`) made from
    /// `counter`: DES's IV is the key's second half XOR the engine's boots and the counter, AES's the engine's
    /// boots and time and the counter.
    pub(super) fn encrypt(
        self,
        key: &[u8],
        boots: u32,
        time: u32,
        counter: u64,
        plain: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), String> {
        match self {
            Privacy::Des => {
                let mut salt = boots.to_be_bytes().to_vec();
                salt.extend_from_slice(&(counter as u32).to_be_bytes());
                let (des_key, iv) = des_key_and_iv(key, &salt)?;
                let mut data = plain.to_vec();
                data.resize(plain.len().div_ceil(8) * 8, 0);
                let length = data.len();
                cbc::Encryptor::<des::Des>::new(des_key.into(), iv.as_slice().into())
                    .encrypt_padded_mut::<NoPadding>(&mut data, length)
                    .map_err(|_| "DES: the data is not whole blocks".to_owned())?;
                Ok((data, salt))
            }
            Privacy::Aes128 => {
                let salt = counter.to_be_bytes().to_vec();
                let iv = aes_iv(boots, time, &salt);
                let aes_key = key
                    .get(..16)
                    .ok_or("the privacy key is too short for AES")?;
                let mut data = plain.to_vec();
                cfb_mode::Encryptor::<aes::Aes128>::new(aes_key.into(), iv.as_slice().into())
                    .encrypt(&mut data);
                Ok((data, salt))
            }
        }
    }

    /// `encrypted` decrypted with the localized privacy `key` and the message's salt; `boots` and `time` are
    /// the message's.
    pub(super) fn decrypt(
        self,
        key: &[u8],
        boots: u32,
        time: u32,
        salt: &[u8],
        encrypted: &[u8],
    ) -> Result<Vec<u8>, String> {
        let mut data = encrypted.to_vec();
        match self {
            Privacy::Des => {
                if salt.len() != 8 || !data.len().is_multiple_of(8) {
                    return Err("a DES-encrypted PDU of the wrong shape".to_owned());
                }
                let (des_key, iv) = des_key_and_iv(key, salt)?;
                cbc::Decryptor::<des::Des>::new(des_key.into(), iv.as_slice().into())
                    .decrypt_padded_mut::<NoPadding>(&mut data)
                    .map_err(|_| "DES: the data is not whole blocks".to_owned())?;
            }
            Privacy::Aes128 => {
                if salt.len() != 8 {
                    return Err("an AES salt that is not 8 bytes".to_owned());
                }
                let aes_key = key
                    .get(..16)
                    .ok_or("the privacy key is too short for AES")?;
                let iv = aes_iv(boots, time, salt);
                cfb_mode::Decryptor::<aes::Aes128>::new(aes_key.into(), iv.as_slice().into())
                    .decrypt(&mut data);
            }
        }
        Ok(data)
    }
}

fn des_key_and_iv<'a>(key: &'a [u8], salt: &[u8]) -> Result<(&'a [u8], Vec<u8>), String> {
    let des_key = key.get(..8).ok_or("the privacy key is too short for DES")?;
    let pre_iv = key
        .get(8..16)
        .ok_or("the privacy key is too short for DES")?;
    Ok((
        des_key,
        pre_iv.iter().zip(salt).map(|(a, b)| a ^ b).collect(),
    ))
}

fn aes_iv(boots: u32, time: u32, salt: &[u8]) -> Vec<u8> {
    let mut iv = boots.to_be_bytes().to_vec();
    iv.extend_from_slice(&time.to_be_bytes());
    iv.extend_from_slice(salt);
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn keys_are_localized_as_rfc_3414_shows() {
        // RFC 3414 A.3.1 and A.3.2: password "maplesyrup", engine 00 00 00 00 00 00 00 00 00 00 00 02.
        let engine = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(
            hex(&Auth::Md5.localized_key("maplesyrup", &engine)),
            "526f5eed9fcce26f8964c2930787d82b"
        );
        assert_eq!(
            hex(&Auth::Sha1.localized_key("maplesyrup", &engine)),
            "6695febc9288e36282235fc7151f128497b38f3f"
        );
    }

    #[test]
    fn pdus_come_back_as_they_were_encrypted() {
        let key = Auth::Sha1.localized_key("privpass123", b"engine");
        let plain = b"a scoped PDU of 27 bytes...";
        for privacy in [Privacy::Des, Privacy::Aes128] {
            let (encrypted, salt) = privacy.encrypt(&key, 3, 1000, 7, plain).unwrap();
            assert_ne!(&encrypted[..plain.len()], plain);
            let decrypted = privacy.decrypt(&key, 3, 1000, &salt, &encrypted).unwrap();
            assert_eq!(&decrypted[..plain.len()], plain, "{privacy:?}");
        }
        assert_eq!(Auth::Sha256.mac(&key, b"message").len(), 24);
        assert_eq!(Auth::parse("sha512"), Some(Auth::Sha512));
        assert_eq!(Privacy::parse("AES256"), None);
    }
}
