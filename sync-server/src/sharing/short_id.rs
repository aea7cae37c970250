//! Short ids of share links: 8 characters of the nanoid alphabet (`A-Za-z0-9_-`), 48 random
//! bits. Uniqueness is the database's primary key; the caller retries on a collision.

use rand::Rng;

/// The nanoid alphabet (URL-safe, no escaping anywhere).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// Length of a short id.
pub const LEN: usize = 8;

/// A fresh random short id.
pub fn new() -> String {
    let mut rng = rand::thread_rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether `s` has the shape of a short id (anything else is answered 404 without a lookup).
pub fn is_short_id(s: &str) -> bool {
    s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_shape_they_are_checked_for() {
        let ids: std::collections::HashSet<String> = (0..1_000).map(|_| new()).collect();
        assert_eq!(ids.len(), 1_000);
        assert!(ids.iter().all(|id| is_short_id(id)));
        assert!(!is_short_id("abc"));
        assert!(!is_short_id("abcdefg!"));
        assert!(!is_short_id("abcdefghi"));
        assert!(is_short_id("Ab_-09zZ"));
    }
}
