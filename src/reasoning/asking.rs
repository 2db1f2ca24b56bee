//! Whether a text asks (a question, looked up and answered) or asks for
//! something to be done, by more than its first word: a polite request
//! ("can you email Acme the invoice?") is a request to act unless what it
//! asks for is information ("can you tell me …").

use crate::domain::spoken::POLITE;

/// Words a question starts with: a request that is not routed anywhere and
/// starts with one of these (or ends with `?`) is looked up before it is
/// read as a request to act. ("tell" and "remind" start requests: "tell
/// Bolt Studio the draft is ready"; "tell me …" asks.)
const QUESTION_WORDS: [&str; 22] = [
    "what", "when", "who", "whom", "whose", "where", "why", "how", "which", "did", "do", "does", "is", "are", "was",
    "were", "can", "could", "should", "has", "have", "any",
];

/// How a request for information is worded when it is not a question:
/// "give me a summary of today", "show me what's pending", "list …".
const ASKS_FOR_INFORMATION: [&str; 16] = [
    "give me",
    "show me",
    "show us",
    "tell me",
    "tell us",
    "let me know",
    "remind me what",
    "remind me who",
    "remind me when",
    "remind me how",
    "list",
    "summarize",
    "summarise",
    "recap",
    "catch me up",
    "fill me in",
];

/// What a polite request asks for when it asks for information ("can you
/// check whether Acme paid?"), not for something to be done.
const FINDS_OUT: [&str; 6] = ["check", "find out", "look up", "explain", "confirm whether", "confirm if"];

/// Words a condition opens with: "when Acme signs, send the pack".
const CONDITIONS: [&str; 5] = ["when", "whenever", "if", "once", "after"];

/// Words that, right after "when" or "if", make a question of it ("when is
/// …", "if so").
const AUXILIARIES: [&str; 22] = [
    "is", "are", "was", "were", "do", "does", "did", "will", "would", "can", "could", "should", "shall", "has", "have",
    "had", "am", "may", "might", "must", "so", "not",
];

/// Verbs a request to act is told with, in their plain form.
const ACTS: [&str; 40] = [
    "send", "email", "mail", "tell", "notify", "inform", "create", "book", "schedule", "set", "draft", "write", "call",
    "ping", "message", "text", "forward", "pay", "invoice", "add", "move", "update", "start", "run", "post", "publish",
    "share", "invite", "order", "file", "cancel", "archive", "remind", "let", "prepare", "open", "close", "assign",
    "ask", "trigger",
];

/// Words that, before a verb, make it a statement's verb ("when we send")
/// or a noun ("the invoice") rather than a command ("when Acme signs send
/// …").
const SUBJECTS: [&str; 24] = [
    "i", "we", "you", "they", "he", "she", "it", "to", "will", "would", "can", "could", "should", "did", "the", "a",
    "an", "my", "our", "your", "their", "this", "that", "his",
];

/// "when Acme signs send the onboarding pack", "if the invoice is paid
/// email Bob", "once the deploy is done, tell the team": a condition, then
/// a command. Not "when is …", "if so …", or "when we send the invoice
/// what happens".
fn conditional_request(words: &[&str]) -> bool {
    let opens = words.first().is_some_and(|w| CONDITIONS.contains(w));
    let asks = words.get(1).is_none_or(|w| AUXILIARIES.contains(w) || QUESTION_WORDS.contains(w));
    opens
        && !asks
        && (3..words.len())
            .any(|i| ACTS.contains(&words[i]) && !SUBJECTS.contains(&words[i - 1]) && i + 1 < words.len())
}

/// The words after a polite opening, when the text has one.
fn after_polite(t: &str) -> Option<&str> {
    let rest = POLITE.iter().filter_map(|p| t.strip_prefix(p)).find(|rest| rest.starts_with([' ', ',']))?;
    let rest = rest.trim_start_matches([' ', ',']);
    Some(rest.strip_prefix("please ").unwrap_or(rest))
}

/// A question (looked up, answered) rather than a request to act. A polite
/// request ("can you email Acme the invoice?") asks for something to be
/// done unless what it asks for is information ("can you tell me …",
/// "could you check whether …").
pub fn looks_like_question(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    let words: Vec<&str> = t.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric())).collect();
    let opens = |words: &[&str], phrase: &str| {
        let p: Vec<&str> = phrase.split(' ').collect();
        words.len() >= p.len() && words[..p.len()] == p[..]
    };
    if let Some(rest) = after_polite(&t) {
        let rest: Vec<&str> = rest.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric())).collect();
        return rest.is_empty() || ASKS_FOR_INFORMATION.iter().chain(FINDS_OUT.iter()).any(|p| opens(&rest, p));
    }
    if conditional_request(&words) && !t.ends_with('?') {
        return false;
    }
    t.ends_with('?')
        || words.first().is_some_and(|w| QUESTION_WORDS.contains(w))
        || ASKS_FOR_INFORMATION.iter().any(|p| opens(&words, p))
}

/// A request to do something, not a question about something: a request
/// in words runs a workflow only when it asks for it to be done.
pub fn asks_to_act(text: &str) -> bool {
    !looks_like_question(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_told_from_requests() {
        assert!(looks_like_question("When is INV-2041 due?"));
        assert!(looks_like_question("who is our contact at Globex"));
        assert!(looks_like_question("INV-2041?"));
        assert!(!looks_like_question("send the invoice to ACME"));
        assert!(looks_like_question("give me a summary of today"));
        assert!(looks_like_question("List the open invoices."));
        assert!(!looks_like_question("give Bob access to the drive"));
        assert!(!looks_like_question("listen to the recording and note the action items"));
        assert!(asks_to_act("onboard Acme Corp"));
        assert!(asks_to_act("Can you onboard Acme Corp?"));
        assert!(asks_to_act("please, onboard Acme"));
        assert!(!asks_to_act("when did we onboard Acme?"));
        assert!(!asks_to_act("can unions onboard Acme?"), "a polite form is whole words");
        // Requests to act, however they are worded.
        for act in [
            "can you email Acme the invoice?",
            "could you send the contract to Globex",
            "tell Bolt Studio the draft is ready",
            "please tell Priya we moved the call",
            "would you mind forwarding the quote to Hana?",
            "remind Bob about the invoice",
            "when Acme signs send them the onboarding pack and tell Priya",
            "When Acme signs, send the kickoff pack.",
            "if the invoice is paid email Bob the receipt",
            "once the deploy is done tell the team",
        ] {
            assert!(asks_to_act(act), "{act}");
        }
        // Questions, however politely asked.
        for ask in [
            "can you tell me when the invoice is due?",
            "could you check whether Acme paid",
            "tell me about the Globex deal",
            "remind me what we agreed with Acme",
            "can you?",
            "can we afford the new laptop?",
            "when is the Atlas launch now",
            "when does our domain renew",
            "when we send the invoice what happens next",
            "when the VAT return is filed",
            "when Acme signs do we send the pack?",
        ] {
            assert!(looks_like_question(ask), "{ask}");
        }
    }
}
