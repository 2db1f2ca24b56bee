//! A workflow's typed parameters, and the checking of values given for them
//! from outside: JSON from the API, `key=value` text from the CLI and chat.

use serde_json::Value;

/// Longest string a parameter takes.
const MAX_TEXT: usize = 4096;
/// Most items a list parameter takes.
pub const MAX_ITEMS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    Email,
    Url,
    /// `YYYY-MM-DD`.
    Date,
    /// `90s`, `30m`, `2h`, `3d`, `1w`, or a sum such as `1h30m`.
    Duration,
    /// A person or company, by name or email address.
    Contact,
    List(Box<ParamType>),
}

impl ParamType {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return match Self::parse(inner)? {
                Self::List(_) => Err("a list of lists is not a parameter type".into()),
                t => Ok(Self::List(Box::new(t))),
            };
        }
        Ok(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "email" => Self::Email,
            "url" => Self::Url,
            "date" => Self::Date,
            "duration" => Self::Duration,
            "contact" => Self::Contact,
            other => {
                return Err(format!(
                    "unknown type `{other}`: use string, number, email, url, date, duration, contact, or list<TYPE>"
                ));
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            Self::String => "string".into(),
            Self::Number => "number".into(),
            Self::Email => "email".into(),
            Self::Url => "url".into(),
            Self::Date => "date".into(),
            Self::Duration => "duration".into(),
            Self::Contact => "contact".into(),
            Self::List(t) => format!("list<{}>", t.name()),
        }
    }

    /// A value of this type, for checking a workflow without running it.
    pub fn sample(&self) -> Value {
        match self {
            Self::String => "example".into(),
            Self::Number => 1.into(),
            Self::Email => "someone@example.com".into(),
            Self::Url => "https://example.com/".into(),
            Self::Date => "2026-01-01".into(),
            Self::Duration => "1h".into(),
            Self::Contact => "Example Ltd".into(),
            Self::List(t) => Value::Array(vec![t.sample()]),
        }
    }

    /// Checks a value given for this type and returns it in its canonical
    /// form: numbers as numbers, lists as arrays (a list may also be given
    /// as comma-separated text, as chat and the CLI give it).
    pub fn check(&self, value: &Value) -> Result<Value, String> {
        match (self, value) {
            (Self::List(t), Value::Array(items)) => {
                if items.len() > MAX_ITEMS {
                    return Err(format!("at most {MAX_ITEMS} items"));
                }
                items.iter().enumerate().map(|(i, v)| t.check(v).map_err(|e| format!("item {i}: {e}"))).collect()
            }
            (Self::List(_), Value::String(s)) => {
                let items: Vec<Value> =
                    s.split(',').map(str::trim).filter(|i| !i.is_empty()).map(|i| Value::String(i.into())).collect();
                self.check(&Value::Array(items)).map_err(|e| format!("{e} (in `{}`)", clip(s)))
            }
            (Self::List(_), _) => Err("expected a list".into()),
            (Self::Number, Value::Number(_)) => Ok(value.clone()),
            (Self::Number, Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(serde_json::Number::from_f64(n).map(Value::Number).unwrap_or_default()),
                _ => Err(format!("`{}` is not a number", clip(s))),
            },
            (Self::Number, _) => Err("expected a number".into()),
            (t, Value::String(s)) => t.check_text(s.trim()).map(Value::String),
            (Self::Contact | Self::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
            (t, _) => Err(format!("expected {} text", t.name())),
        }
    }

    fn check_text(&self, s: &str) -> Result<String, String> {
        if s.chars().count() > MAX_TEXT {
            return Err(format!("longer than {MAX_TEXT} characters"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err("contains control characters".into());
        }
        let ok = match self {
            Self::String => true,
            Self::Contact => !s.is_empty() && s.chars().count() <= 200 && !s.contains('\n'),
            Self::Email => is_email(s),
            Self::Url => reqwest::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()),
            Self::Date => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            Self::Duration => duration_secs(s).is_some(),
            Self::Number | Self::List(_) => false,
        };
        if ok { Ok(s.to_owned()) } else { Err(format!("`{}` is not a valid {}", clip(s), self.name())) }
    }
}

fn clip(s: &str) -> String {
    let short: String = s.chars().take(60).collect();
    if short.len() < s.len() { format!("{short}…") } else { short }
}

/// One address, `local@domain.tld`, with nothing a mail header could abuse.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let clean = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_graphic() && !"<>()[],;:\\\"@".contains(c));
    s.len() <= 254
        && clean(local)
        && clean(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// Seconds in a duration such as `90s`, `30m`, `2h`, `3d`, `1w` or `1h30m`.
pub fn duration_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    // A bare number with no unit, or a trailing one, is not a duration.
    (digits.is_empty() && total > 0 && total <= 10 * 365 * 86_400).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_and_made_canonical() {
        let list = ParamType::parse("list<email>").unwrap();
        assert_eq!(list.check(&json!("a@x.io, b@y.org")).unwrap(), json!(["a@x.io", "b@y.org"]));
        assert!(list.check(&json!(["a@x.io", "nope"])).unwrap_err().contains("item 1"));
        assert_eq!(ParamType::Number.check(&json!("42")).unwrap(), json!(42.0));
        assert!(ParamType::Number.check(&json!("NaN")).is_err());
        assert!(ParamType::Email.check(&json!("a@b.co\r\nBcc: x@y.z")).is_err());
        assert!(ParamType::Email.check(&json!("Bob <bob@x.io>")).is_err());
        assert!(ParamType::Url.check(&json!("file:///etc/passwd")).is_err());
        assert!(ParamType::Url.check(&json!("https://billing.example.com/charge")).is_ok());
        assert!(ParamType::Date.check(&json!("2026-02-30")).is_err());
        assert!(ParamType::parse("list<list<string>>").is_err());
        assert!(ParamType::parse("money").unwrap_err().contains("unknown type"));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration_secs("90s"), Some(90));
        assert_eq!(duration_secs("1h30m"), Some(5400));
        assert_eq!(duration_secs("3d"), Some(259_200));
        assert_eq!(duration_secs("2"), None, "a unit is needed");
        assert_eq!(duration_secs("5x"), None);
        assert_eq!(duration_secs("99999999999999999999d"), None, "no overflow");
    }
}
