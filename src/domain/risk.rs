//! Risk: how much harm an action could do, which decides whether the
//! operator approves before, reviews after, or is not asked.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Risk {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            _ => Err(InvalidInput::new("risk", format!("unknown risk `{s}`; expected low, medium or high"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risks_order_and_round_trip() {
        assert!(Risk::Low < Risk::Medium && Risk::Medium < Risk::High);
        for r in [Risk::Low, Risk::Medium, Risk::High] {
            assert_eq!(r.as_str().parse::<Risk>().unwrap(), r);
        }
        assert!("severe".parse::<Risk>().is_err());
    }
}
