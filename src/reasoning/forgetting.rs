//! "Forget everything about Acme": the records that mention the subject
//! (every one of its words, as a word) are found and shown, and none is
//! forgotten until the operator presses the button, which forgets exactly
//! the records it listed. Forgetting is for the operator alone, and each
//! record goes as `memory forget` takes it: everywhere, audited without
//! its content.

use super::references::{Offered, clip};
use super::{Inbound, Reasoner, ReasoningError};
use crate::domain::MenuAction;
use crate::memory::search::Mode;
use crate::memory::{Contract, Query};
use crate::store::memory::words;

/// The most records one confirmation forgets (and one search returns).
const AT_ONCE: usize = 100;
/// How many of them the question shows.
const SHOWN: usize = 3;

/// Whether `text` mentions every word of the subject, as a word.
fn mentions(text: &str, subject: &[String]) -> bool {
    let said = words(text);
    subject.iter().all(|w| said.contains(w))
}

impl Reasoner {
    /// What would be forgotten about `subject`, and the button that does it.
    pub(super) async fn forget_about(&self, inbound: &Inbound, subject: &str) -> Result<Offered, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok(("Only the operator can make me forget things.".into(), vec![]));
        }
        let wanted = words(subject);
        let query = Query { text: subject.to_owned(), limit: AT_ONCE, ..Default::default() };
        let found = self.recall.memory().search_with(&query, &Contract::operator(), Mode::Lexical).await?;
        let about: Vec<_> = found.hits.into_iter().filter(|h| mentions(&h.text, &wanted)).collect();
        if about.is_empty() {
            return Ok((format!("I have nothing about “{subject}” to forget."), vec![]));
        }
        let n = about.len();
        let more = if n == AT_ONCE { " (the most one confirmation covers; ask again for the rest)" } else { "" };
        let mut text =
            vec![format!("I found {n} record{} about “{subject}”{more}, for example:", if n == 1 { "" } else { "s" })];
        text.extend(about.iter().take(SHOWN).map(|h| format!("• {}", clip(&h.text, 80))));
        text.push("Forget them? This cannot be undone.".into());
        let records = about.into_iter().map(|h| h.id).collect();
        let button = (
            format!("🗑 Forget {n} about {}", clip(subject, 30)),
            MenuAction::Forget { subject: subject.to_owned(), records },
        );
        Ok((text.join("\n"), vec![button]))
    }

    /// Forgets the records a confirming press names; says how many went.
    pub(super) async fn forget_records(
        &self,
        inbound: &Inbound,
        subject: &str,
        records: &[String],
    ) -> Result<String, ReasoningError> {
        if !self.people.acts(&inbound.actor) {
            return Ok("Only the operator can make me forget things.".into());
        }
        let actor = inbound.actor.to_string();
        let mut gone = 0;
        for id in records {
            if self.recall.memory().forget(id, &actor).await? {
                gone += 1;
            }
        }
        let already = records.len() - gone;
        let also = if already > 0 { format!(" ({already} were already gone)") } else { String::new() };
        Ok(format!("Forgotten: {gone} record{} about “{subject}”{also}.", if gone == 1 { "" } else { "s" }))
    }
}
