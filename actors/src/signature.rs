//! HMAC-SHA256 signatures: Shopify's on webhooks (base64, `X-Shopify-Hmac-Sha256`), and ours on
//! deliveries to the back office (hex, `X-Xconnector-Signature: sha256=…`). One place computes
//! and checks them, in constant time.

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(body);
    mac
}

/// Shopify's webhook signature of `body`: base64 of HMAC-SHA256 keyed with the app secret.
pub fn shopify_signature(secret: &str, body: &[u8]) -> String {
    BASE64.encode(mac(secret.as_bytes(), body).finalize().into_bytes())
}

/// True when `header` is the signature of `body` under any of `secrets` (several are accepted
/// while a secret is rotated). The comparison is constant-time.
pub fn verify_shopify<S: AsRef<str>>(secrets: &[S], body: &[u8], header: &str) -> bool {
    ShopifyVerifier::new(secrets, header).is_some_and(|mut v| {
        v.update(body);
        v.verify()
    })
}

/// [`verify_shopify`] of a body read in pieces: the signature is computed as the body streams.
pub struct ShopifyVerifier {
    claimed: Vec<u8>,
    macs: Vec<HmacSha256>,
}

impl ShopifyVerifier {
    /// `None` when `header` is not base64 at all (nothing can match it).
    pub fn new<S: AsRef<str>>(secrets: &[S], header: &str) -> Option<ShopifyVerifier> {
        let claimed = BASE64.decode(header.trim()).ok()?;
        let macs = secrets
            .iter()
            .map(|s| mac(s.as_ref().as_bytes(), b""))
            .collect();
        Some(ShopifyVerifier { claimed, macs })
    }

    pub fn update(&mut self, piece: &[u8]) {
        for m in &mut self.macs {
            m.update(piece);
        }
    }

    /// True when the body read is signed by one of the secrets; constant-time.
    pub fn verify(self) -> bool {
        let claimed = self.claimed;
        self.macs
            .into_iter()
            .any(|m| m.verify_slice(&claimed).is_ok())
    }
}

/// True when `given` is the secret `known` (an API token). Both are reduced to a MAC of
/// one fixed message first, so the comparison takes the same time whatever the lengths or
/// the first differing byte: timing reveals neither the token nor its length.
pub fn same_secret(known: &str, given: &str) -> bool {
    const PROBE: &[u8] = b"xconnector secret comparison";
    let given = mac(given.as_bytes(), PROBE).finalize().into_bytes();
    mac(known.as_bytes(), PROBE).verify_slice(&given).is_ok()
}

/// Our signature of a delivery body: `sha256=<hex>`.
pub fn delivery_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex(&mac(secret.as_bytes(), body).finalize().into_bytes())
    )
}

/// A hex SHA-256 fingerprint of `body`, to recognise a redelivery of the same bytes.
pub fn fingerprint(body: &[u8]) -> String {
    use sha2::Digest;
    hex(&Sha256::digest(body))
}

/// [`fingerprint`] of a body read in pieces (a streamed request).
#[derive(Default)]
pub struct Fingerprinter(Sha256);

impl Fingerprinter {
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        use sha2::Digest;
        hex(&self.0.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_rotation() {
        let body = br#"{"id":1}"#;
        let sig = shopify_signature("old", body);
        let both = ["new", "old"];
        assert!(verify_shopify(&both, body, &sig));
        let mut pieces = ShopifyVerifier::new(&both, &sig).unwrap();
        pieces.update(&body[..3]);
        pieces.update(&body[3..]);
        assert!(pieces.verify(), "a body read in pieces verifies the same");
        assert!(!verify_shopify(&["new"], body, &sig));
        assert!(!verify_shopify(&both, br#"{"id":2}"#, &sig));
        assert!(!verify_shopify(&both, body, "not base64!"));
        assert!(!verify_shopify(&both, body, ""));
    }

    #[test]
    fn delivery_signature_is_hex_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            delivery_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
