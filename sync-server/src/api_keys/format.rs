//! The form of an API key: `isk_` + 32 random base62 characters + a 6-character base62
//! checksum of those 32. The checksum lets secret scanners recognise a key and lets the server
//! refuse a mistyped one without a database lookup. The server keeps only the key's SHA-256
//! ([`KeyHash`]) and its first [`PREFIX_LEN`] characters.
//!
//! Pure functions: no I/O, no clock.

use rand::Rng;
use sha2::{Digest, Sha256};

/// What every key starts with.
pub const KEY_PREFIX: &str = "isk_";
/// Random base62 characters of a key.
pub const RANDOM_LEN: usize = 32;
/// Base62 characters of the checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Length of a whole key.
pub const KEY_LEN: usize = KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// Characters of a key kept to tell keys apart (`isk_` and 4 more).
pub const PREFIX_LEN: usize = 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a key (all of them answer the same 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("not an Iskra API key (isk_ and 38 base62 characters)")]
    Shape,
    #[error("the key's checksum does not match (mistyped or truncated)")]
    Checksum,
}

/// The stored form of a key: lower-case hex SHA-256 of the whole key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHash(pub String);

/// A freshly made key: the secret (shown once) and what is stored of it.
pub struct NewKey {
    pub secret: String,
    pub hash: KeyHash,
    pub prefix: String,
}

/// The 6-character checksum of the random part: the first 4 bytes of its SHA-256 as a
/// big-endian number in base62, zero-padded (62^6 > 2^32, so every value fits).
pub fn checksum(random: &str) -> String {
    let digest = Sha256::digest(random.as_bytes());
    let mut n = u64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A new random key (from the OS-seeded thread RNG).
pub fn generate() -> NewKey {
    let mut rng = rand::thread_rng();
    let random: String = (0..RANDOM_LEN)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect();
    let secret = format!("{KEY_PREFIX}{random}{}", checksum(&random));
    NewKey {
        hash: hash(&secret),
        prefix: secret[..PREFIX_LEN].to_owned(),
        secret,
    }
}

fn hash(secret: &str) -> KeyHash {
    KeyHash(hex::encode(Sha256::digest(secret.as_bytes())))
}

/// Checks a presented key's shape and checksum; returns the hash to look it up by.
pub fn parse(presented: &str) -> Result<KeyHash, KeyFormatError> {
    let random_and_sum = presented
        .strip_prefix(KEY_PREFIX)
        .filter(|_| presented.len() == KEY_LEN)
        .ok_or(KeyFormatError::Shape)?;
    if !random_and_sum.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Shape);
    }
    let (random, sum) = random_and_sum.split_at(RANDOM_LEN);
    if checksum(random) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(hash(presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_documented_form_and_parses_to_its_hash() {
        let k = generate();
        assert_eq!(k.secret.len(), KEY_LEN);
        assert!(k.secret.starts_with("isk_"));
        assert!(k.secret[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(k.prefix, k.secret[..8]);
        assert_eq!(parse(&k.secret), Ok(k.hash.clone()));
        assert_eq!(k.hash.0.len(), 64);
        assert!(
            !k.hash.0.contains(&k.secret[4..36]),
            "the hash is not the key"
        );
    }

    #[test]
    fn keys_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn a_mistyped_character_fails_the_checksum() {
        let k = generate().secret;
        let mut bytes = k.clone().into_bytes();
        // Change one random character to another base62 character.
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(parse(&typo), Err(KeyFormatError::Checksum));
        // Swapping the checksum's last character too.
        let mut bytes = k.into_bytes();
        let last = KEY_LEN - 1;
        bytes[last] = if bytes[last] == b'Z' { b'Y' } else { b'Z' };
        assert_eq!(
            parse(&String::from_utf8(bytes).unwrap()),
            Err(KeyFormatError::Checksum)
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        let k = generate().secret;
        for bad in [
            "",
            "isk_",
            &k[..KEY_LEN - 1],
            &format!("{k}0"),
            &k.replacen("isk_", "isx_", 1),
            &format!("isk_{}", "-".repeat(38)),
            &format!("isk_{}é", &k[4..KEY_LEN - 2]),
        ] {
            assert_eq!(parse(bad), Err(KeyFormatError::Shape), "{bad:?}");
        }
    }

    #[test]
    fn the_checksum_is_six_base62_characters_and_stable() {
        assert_eq!(checksum("").len(), CHECKSUM_LEN);
        assert_eq!(checksum("abc"), checksum("abc"));
        assert_ne!(checksum("abc"), checksum("abd"));
        // 0 and u32::MAX both fit: a zero-padded and a full-width rendering.
        let mut n = u64::from(u32::MAX);
        let mut digits = 0;
        while n > 0 {
            n /= 62;
            digits += 1;
        }
        assert!(digits <= CHECKSUM_LEN);
    }
}
