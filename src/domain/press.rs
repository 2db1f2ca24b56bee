//! A press of a button on a card: its verb and the card's token, parsed
//! from the data the button carries, and the command it stands for.

use serde::Serialize;

use super::{Command, Decision, InvalidInput};

/// A press of a button on an approval card or a menu. Its data,
/// `VERB:TOKEN`, is what the button carries: `a:` approves, `r:` rejects,
/// `L:` approves the low-risk batch up to that card, `d:` shows the card's
/// details, `c0:`… chooses a question's answer, `m:` does what a menu's
/// button was offered for. A token is 32 hex digits, unguessable, so the
/// data fits Telegram's 64 bytes and cannot be forged for another approval
/// or button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Press {
    pub verb: Verb,
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    Approve,
    Reject,
    ApproveAllLow,
    /// A view: the channel expands the card itself.
    Details,
    /// A question's choice, by its position.
    Choose(u8),
    /// A menu's button (see [`super::MenuButton`]).
    Menu,
}

impl Press {
    pub fn new(verb: Verb, token: &str) -> Self {
        Self { verb, token: token.to_owned() }
    }

    pub fn parse(data: &str) -> Result<Self, InvalidInput> {
        let bad = || InvalidInput::new("button", "that button is not one of mine, or it is malformed");
        let (verb, token) = data.split_once(':').ok_or_else(bad)?;
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let verb = match verb {
            "a" => Verb::Approve,
            "r" => Verb::Reject,
            "L" => Verb::ApproveAllLow,
            "d" => Verb::Details,
            "m" => Verb::Menu,
            c => match c.strip_prefix('c').and_then(|n| n.parse::<u8>().ok()) {
                Some(n) if (n as usize) < super::Question::MAX_CHOICES && c.len() == 2 => Verb::Choose(n),
                _ => return Err(bad()),
            },
        };
        Ok(Self { verb, token: token.to_owned() })
    }

    /// The data the button carries.
    pub fn data(&self) -> String {
        let verb = match self.verb {
            Verb::Approve => "a".to_owned(),
            Verb::Reject => "r".to_owned(),
            Verb::ApproveAllLow => "L".to_owned(),
            Verb::Details => "d".to_owned(),
            Verb::Choose(n) => format!("c{n}"),
            Verb::Menu => "m".to_owned(),
        };
        format!("{verb}:{}", self.token)
    }

    /// What the press asks for; `None` for Details, a view.
    pub fn command(&self) -> Option<Command> {
        let decide = |decision| Command::Decide { target: self.token.clone(), decision, comment: None };
        match self.verb {
            Verb::Approve => Some(decide(Decision::Approve)),
            Verb::Reject => Some(decide(Decision::Reject)),
            Verb::Choose(n) => Some(decide(Decision::Choose(n))),
            Verb::ApproveAllLow => Some(Command::ApproveAllLow(Some(self.token.clone()))),
            Verb::Menu => Some(Command::Menu(self.token.clone())),
            Verb::Details => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_carry_a_verb_and_a_token() {
        let token = "0123456789abcdef0123456789abcdef";
        let command = |data: &str| Press::parse(data).ok().and_then(|p| p.command());
        assert_eq!(
            command(&format!("a:{token}")),
            Some(Command::Decide { target: token.into(), decision: Decision::Approve, comment: None })
        );
        assert!(format!("r:{token}").len() <= 64);
        assert_eq!(command(&format!("L:{token}")), Some(Command::ApproveAllLow(Some(token.to_owned()))));
        assert_eq!(Press::parse(&format!("d:{token}")).unwrap().verb, Verb::Details);
        assert!(Press::parse("a:short").is_err());
        assert!(Press::parse(&format!("x:{token}")).is_err());
        assert_eq!(Press::parse(&format!("c3:{token}")).unwrap().verb, Verb::Choose(3));
        assert!(Press::parse(&format!("c9:{token}")).is_err(), "no ninth choice");
        assert!(Press::parse(&format!("c03:{token}")).is_err());
        assert_eq!(command(&format!("m:{token}")), Some(Command::Menu(token.to_owned())));
        for verb in [Verb::Approve, Verb::Reject, Verb::ApproveAllLow, Verb::Details, Verb::Choose(0), Verb::Menu] {
            let p = Press::new(verb, token);
            assert_eq!(Press::parse(&p.data()).unwrap(), p, "a card's data reads back as its press");
        }
    }
}
