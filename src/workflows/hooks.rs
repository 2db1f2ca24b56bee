//! Webhook triggers: `POST /hooks/{workflow}`. The raw body is verified
//! with HMAC-SHA256 under the trigger's secret before anything is read:
//! steward's own scheme (`X-Steward-Signature: sha256=<hex>`), Stripe's
//! (`Stripe-Signature: t=…,v1=…`, within a tolerance of its timestamp) or
//! GitHub's (`X-Hub-Signature-256`). The provider's delivery id keys the
//! run, so a redelivery starts nothing new.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `X-Steward-Signature: sha256=<hex>`; delivery id `X-Steward-Delivery`.
    Steward,
    /// `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`; delivery id
    /// the event's `id`.
    Stripe { tolerance_secs: u64 },
    /// `X-Hub-Signature-256: sha256=<hex>`; delivery id `X-GitHub-Delivery`.
    Github,
}

impl Scheme {
    pub fn parse(name: Option<&str>, tolerance_secs: Option<u64>) -> Result<Self, String> {
        match name.unwrap_or("steward") {
            "steward" => Ok(Self::Steward),
            "stripe" => Ok(Self::Stripe { tolerance_secs: tolerance_secs.unwrap_or(300) }),
            "github" => Ok(Self::Github),
            other => Err(format!("unknown signature scheme `{other}`: use steward, stripe or github")),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Steward => "steward",
            Self::Stripe { .. } => "stripe",
            Self::Github => "github",
        }
    }
}

/// Longest delivery id taken from a header or a body.
const MAX_ID: usize = 200;

fn mac(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    for p in parts {
        m.update(p);
    }
    m
}

/// Whether `hex_sig` is the HMAC of `parts`, compared in constant time.
fn signed(secret: &[u8], parts: &[&[u8]], hex_sig: &str) -> bool {
    match hex::decode(hex_sig.trim()) {
        Ok(sig) => mac(secret, parts).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

/// The signature a sender puts in `X-Steward-Signature` for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret, &[body]).finalize().into_bytes()))
}

fn clean_id(id: &str) -> Option<String> {
    let id = id.trim();
    (!id.is_empty() && id.len() <= MAX_ID && id.chars().all(|c| c.is_ascii_graphic())).then(|| id.to_owned())
}

/// Checks a delivery's signature and returns its delivery id. `header`
/// reads a request header. Every refusal says what was wrong, never the
/// expected signature.
pub fn verify(
    scheme: &Scheme,
    secret: &[u8],
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_secs: i64,
) -> Result<String, String> {
    let body_id = || format!("sha256:{}", hex::encode(Sha256::digest(body)));
    match scheme {
        Scheme::Steward | Scheme::Github => {
            let (sig_header, id_header) = match scheme {
                Scheme::Steward => ("x-steward-signature", "x-steward-delivery"),
                _ => ("x-hub-signature-256", "x-github-delivery"),
            };
            let sig = header(sig_header).ok_or_else(|| format!("missing {sig_header}"))?;
            let hex_sig =
                sig.trim().strip_prefix("sha256=").ok_or_else(|| format!("{sig_header} must be sha256=<hex>"))?;
            if !signed(secret, &[body], hex_sig) {
                return Err(format!("{sig_header} does not match the body"));
            }
            // No id: the body itself, so an identical redelivery is one run.
            Ok(header(id_header).and_then(|id| clean_id(&id)).unwrap_or_else(body_id))
        }
        Scheme::Stripe { tolerance_secs } => {
            let sig = header("stripe-signature").ok_or("missing stripe-signature")?;
            let mut t = None;
            let mut v1 = Vec::new();
            for part in sig.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", v)) => t = v.parse::<i64>().ok(),
                    Some(("v1", v)) => v1.push(v.to_owned()),
                    _ => {}
                }
            }
            let t = t.ok_or("stripe-signature has no timestamp")?;
            if (now_secs - t).unsigned_abs() > *tolerance_secs {
                return Err(format!("stripe-signature's timestamp is more than {tolerance_secs} s away"));
            }
            let stamp = t.to_string();
            if !v1.iter().any(|s| signed(secret, &[stamp.as_bytes(), b".", body], s)) {
                return Err("stripe-signature does not match the body".into());
            }
            let event: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            Ok(event.as_ref().and_then(|e| e["id"].as_str()).and_then(clean_id).unwrap_or_else(body_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_delivery_is_taken_only_with_its_signature() {
        let (secret, body) = (b"s3cret".as_slice(), br#"{"id":"evt_1","amount":5}"#.as_slice());
        let good = [("X-Steward-Signature", sign(secret, body)), ("X-Steward-Delivery", "d-1".into())];
        assert_eq!(verify(&Scheme::Steward, secret, &headers(&good), body, 0), Ok("d-1".into()));
        let tampered = br#"{"id":"evt_1","amount":500}"#;
        assert!(verify(&Scheme::Steward, secret, &headers(&good), tampered, 0).is_err());
        assert!(verify(&Scheme::Steward, b"other", &headers(&good), body, 0).is_err());
        assert!(verify(&Scheme::Steward, secret, &headers(&[]), body, 0).unwrap_err().contains("missing"));
        let no_id = [("X-Steward-Signature", sign(secret, body))];
        assert!(verify(&Scheme::Steward, secret, &headers(&no_id), body, 0).unwrap().starts_with("sha256:"));
        let gh = [("X-Hub-Signature-256", sign(secret, body)), ("X-GitHub-Delivery", "g-7".into())];
        assert_eq!(verify(&Scheme::Github, secret, &headers(&gh), body, 0), Ok("g-7".into()));
    }

    #[test]
    fn a_stripe_delivery_is_signed_with_its_timestamp_and_keyed_by_its_event() {
        let (secret, body) = (b"whsec_x".as_slice(), br#"{"id":"evt_42","type":"invoice.payment_failed"}"#.as_slice());
        let t = 1_800_000_000i64;
        let v1 = hex::encode(mac(secret, &[t.to_string().as_bytes(), b".", body]).finalize().into_bytes());
        let stripe = Scheme::Stripe { tolerance_secs: 300 };
        let h = [("Stripe-Signature", format!("t={t},v1=deadbeef,v1={v1}"))];
        assert_eq!(verify(&stripe, secret, &headers(&h), body, t + 10), Ok("evt_42".into()));
        assert!(verify(&stripe, secret, &headers(&h), body, t + 301).unwrap_err().contains("300 s"), "a replay later");
        let moved = [("Stripe-Signature", format!("t={},v1={v1}", t + 1))];
        assert!(verify(&stripe, secret, &headers(&moved), body, t).is_err(), "the timestamp is signed");
    }
}
