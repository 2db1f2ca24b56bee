//! Memory contracts: which scopes an identity (a chat user, an agent role)
//! may read and write. Searches only ever see readable scopes; writes outside
//! the writable ones are refused. A person in a shared group never reads
//! another person's private scope, because nobody is granted `user:*` but
//! the operator.

use crate::domain::{Actor, Scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Scope names, or `*` for every scope.
    pub read: Vec<String>,
    pub write: Vec<String>,
}

fn allows(list: &[String], scope: &Scope) -> bool {
    list.iter().any(|s| s == "*" || s == scope.as_str())
}

impl Contract {
    /// Everything: the operator.
    pub fn operator() -> Self {
        Self { read: vec!["*".into()], write: vec!["*".into()] }
    }

    /// The contract of a channel identity: approvers are the operator; anyone
    /// else gets what the config grants plus their own private scope, and
    /// reads `public`.
    pub fn for_identity(who: &Actor, approvers: &[String], granted: Option<&crate::config::ScopeGrant>) -> Self {
        if who.is_in(approvers) {
            return Self::operator();
        }
        let own = Scope::user(&who.channel, &who.id).as_str().to_owned();
        let mut read = vec!["public".to_owned(), own.clone()];
        let mut write = vec![own];
        if let Some(g) = granted {
            read.extend(g.read.iter().filter(|s| s.as_str() != "*").cloned());
            write.extend(g.write.iter().filter(|s| s.as_str() != "*").cloned());
        }
        Self { read, write }
    }

    pub fn can_read(&self, scope: &Scope) -> bool {
        allows(&self.read, scope)
    }

    pub fn can_write(&self, scope: &Scope) -> bool {
        allows(&self.write, scope)
    }

    pub fn reads_everything(&self) -> bool {
        self.read.iter().any(|s| s == "*")
    }

    /// The scopes a search may look at: those asked for that this contract
    /// allows, or, when none are asked for, all it allows (`known` lists the
    /// scopes that exist, for a contract that reads everything).
    pub fn readable(&self, asked: &[Scope], known: &[Scope]) -> Vec<Scope> {
        let candidates: Vec<Scope> = if !asked.is_empty() {
            asked.to_vec()
        } else if self.reads_everything() {
            known.to_vec()
        } else {
            self.read.iter().filter_map(|s| Scope::parse(s).ok()).collect()
        };
        candidates.into_iter().filter(|s| self.can_read(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_member_reads_public_and_their_own_scope_only() {
        let approvers = vec!["telegram:1".to_owned()];
        let alice = Contract::for_identity(&Actor::new("telegram", "2"), &approvers, None);
        let bob_private = Scope::user("telegram", "3");
        assert!(alice.can_read(&Scope::parse("public").unwrap()));
        assert!(alice.can_read(&Scope::user("telegram", "2")));
        assert!(!alice.can_read(&bob_private));
        assert!(!alice.can_read(&Scope::parse("operator").unwrap()));
        let asked = alice.readable(&[bob_private.clone(), Scope::parse("public").unwrap()], &[]);
        assert_eq!(asked, [Scope::parse("public").unwrap()], "asking for another's scope yields nothing of it");
        let op = Contract::for_identity(&Actor::new("telegram", "1"), &approvers, None);
        assert!(op.can_read(&bob_private) && op.can_write(&Scope::parse("team").unwrap()));
    }

    #[test]
    fn grants_add_scopes_but_never_everything() {
        let grant = crate::config::ScopeGrant { read: vec!["team".into(), "*".into()], write: vec!["team".into()] };
        let c = Contract::for_identity(&Actor::new("discord", "9"), &[], Some(&grant));
        assert!(c.can_read(&Scope::parse("team").unwrap()) && c.can_write(&Scope::parse("team").unwrap()));
        assert!(!c.reads_everything());
    }
}
