//! Name-based UUIDs (RFC 9562 version 5, SHA-1) for rules without a Sigma `id`, through the
//! `uuid` crate (`v5` feature), and the `rule_id` shape detection-rules accepts.

use ::uuid::Uuid;

/// The RFC 9562 URL namespace, `6ba7b811-9dad-11d1-80b4-00c04fd430c8`.
pub const NAMESPACE_URL: [u8; 16] = *Uuid::NAMESPACE_URL.as_bytes();

/// The version-5 UUID of `name` in `namespace`, lower-case and hyphenated.
#[must_use]
pub fn uuid_v5(namespace: &[u8; 16], name: &str) -> String {
    Uuid::new_v5(&Uuid::from_bytes(*namespace), name.as_bytes())
        .hyphenated()
        .to_string()
}

/// Whether `s` is a lower-case hyphenated UUID, as detection-rules requires of `rule_id`
/// (`Uuid::try_parse` also takes upper case, braces and URNs; detection-rules does not).
#[must_use]
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_python_uuid5() {
        // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'https://example.com'))"
        assert_eq!(
            uuid_v5(&NAMESPACE_URL, "https://example.com"),
            "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"
        );
        assert!(is_uuid(&uuid_v5(&NAMESPACE_URL, "x")));
        assert!(is_uuid("3f0f5957-04f8-4792-ad89-192b0303bde6"));
        assert!(!is_uuid("3F0F5957-04f8-4792-ad89-192b0303bde6"));
        assert!(!is_uuid("{3f0f5957-04f8-4792-ad89-192b0303bde6}"));
        assert!(!is_uuid("3f0f595704f84792ad89192b0303bde6"));
    }
}
