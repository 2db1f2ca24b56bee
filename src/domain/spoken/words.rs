//! Commands read by their words rather than their word order: a sentence
//! is a command when every word in it belongs to that command's small
//! vocabulary and the words that carry its meaning are there. "stop every
//! automation for now", "turn the automations back on", "is everything
//! ok?" and "how much have the models cost since monday" are read so; a
//! single word from outside the vocabulary ("pause the newsletter", "is
//! everything ok with Acme?") leaves the sentence to the reasoning tiers.
//! Read after the patterns in [`super`], which keep their readings.

use super::{Command, Period};

/// Words any command may carry without changing it.
const FILLER: &[&str] = &[
    "a",
    "all",
    "an",
    "again",
    "any",
    "at",
    "can",
    "could",
    "currently",
    "every",
    "for",
    "hey",
    "i",
    "just",
    "me",
    "mind",
    "moment",
    "my",
    "now",
    "of",
    "ok",
    "okay",
    "our",
    "please",
    "pls",
    "quick",
    "quickly",
    "right",
    "so",
    "steward",
    "the",
    "then",
    "us",
    "we",
    "will",
    "would",
    "you",
    "your",
];

/// What a sentence is made of: its words, lower case, without
/// punctuation; "what's" is "what", "don't" is "do not", "low-risk" is
/// "low risk".
fn words(text: &str) -> Vec<String> {
    let t = text.to_lowercase().replace(['’', '‘'], "'").replace("n't", " not").replace("'s", "");
    t.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A command's vocabulary: the words it may use, and the groups of which
/// it needs one word each.
struct Frame<'a> {
    needs: &'a [&'a [&'a str]],
    may: &'a [&'a str],
}

impl Frame<'_> {
    fn fits(&self, words: &[String]) -> bool {
        let known = |w: &str| FILLER.contains(&w) || self.may.contains(&w) || self.needs.iter().any(|g| g.contains(&w));
        words.iter().all(|w| known(w)) && self.needs.iter().all(|g| words.iter().any(|w| g.contains(&w.as_str())))
    }
}

const AUTOMATIONS: &[&str] = &[
    "automation",
    "automations",
    "workflow",
    "workflows",
    "schedule",
    "schedules",
    "scheduled",
    "cron",
    "crons",
    "recurring",
    "automatic",
    "automated",
    "routines",
    "jobs",
];
const STOPPING: &[&str] =
    &["pause", "halt", "suspend", "freeze", "disable", "stop", "deactivate", "hold", "off", "kill", "mute"];
const STARTING: &[&str] =
    &["resume", "restart", "unpause", "continue", "enable", "reenable", "re", "reactivate", "activate", "start", "on"];
const TOGGLE_WORDS: &[&str] =
    &["turn", "switch", "put", "back", "until", "further", "notice", "while", "bit", "temporarily", "runs", "tasks"];

/// "stop every automation for now": `Some(true)` to pause, `Some(false)`
/// to resume.
fn automations(words: &[String]) -> Option<bool> {
    let stop = words.iter().any(|w| STOPPING.contains(&w.as_str()));
    let start = words.iter().any(|w| STARTING.contains(&w.as_str()));
    let may: Vec<&str> = TOGGLE_WORDS.iter().chain(STOPPING).chain(STARTING).copied().collect();
    let frame = Frame { needs: &[AUTOMATIONS], may: &may };
    (frame.fits(words) && stop != start).then_some(stop)
}

const STATUS: Frame = Frame {
    needs: &[&["status", "health", "healthcheck", "diagnostics", "uptime", "ok", "okay", "alright", "fine", "healthy"]],
    may: &[
        "is",
        "are",
        "how",
        "check",
        "report",
        "update",
        "give",
        "show",
        "tell",
        "what",
        "system",
        "systems",
        "steward",
        "everything",
        "things",
        "it",
        "overall",
        "looking",
        "going",
        "doing",
        "running",
        "working",
        "good",
        "well",
        "all",
        "up",
        "and",
    ],
};

/// "is everything ok?", "give me a health check": the status.
fn status(words: &[String]) -> bool {
    // "ok" alone is an acknowledgement, not a question about the system.
    let about =
        ["status", "health", "healthcheck", "diagnostics", "uptime", "everything", "things", "system", "systems"];
    STATUS.fits(words) && words.iter().any(|w| about.contains(&w.as_str()))
}

/// Approving every low-risk request at once: it says low risk, and it
/// says all of them ("approve the low one" is not this).
const APPROVE_LOW: Frame = Frame {
    needs: &[
        &["approve", "accept", "greenlight", "allow", "ok", "okay"],
        &["low", "lowrisk"],
        &["risk", "lowrisk"],
        &["all", "every", "everything", "ones", "requests", "items", "approvals", "things", "stuff"],
    ],
    may: &[
        "one",
        "request",
        "requests",
        "item",
        "items",
        "approval",
        "approvals",
        "stuff",
        "pending",
        "waiting",
        "open",
        "that",
        "are",
        "is",
        "go",
        "ahead",
        "and",
        "with",
        "things",
    ],
};

const PENDING: Frame = Frame {
    needs: &[&["pending", "awaiting", "waiting", "outstanding", "queued", "unanswered", "undecided"]],
    may: &[
        "what",
        "is",
        "are",
        "there",
        "anything",
        "something",
        "still",
        "else",
        "approval",
        "approvals",
        "request",
        "requests",
        "decision",
        "decisions",
        "item",
        "items",
        "things",
        "stuff",
        "show",
        "list",
        "see",
        "check",
        "give",
        "tell",
        "on",
        "do",
        "have",
        "need",
        "to",
        "review",
        "sign",
        "off",
        "that",
    ],
};

const DIGEST: Frame = Frame {
    needs: &[&["digest", "recap", "rundown", "briefing", "roundup", "summary"]],
    may: &["send", "give", "show", "get", "daily", "today", "todays", "latest", "what", "happened", "day"],
};

const SPEND: &[&str] =
    &["cost", "costs", "spend", "spent", "spending", "spendings", "bill", "billing", "expense", "expenses", "charges"];
const COSTS_MAY: &[&str] = &[
    "what",
    "how",
    "much",
    "did",
    "have",
    "has",
    "do",
    "does",
    "is",
    "are",
    "was",
    "were",
    "been",
    "on",
    "far",
    "total",
    "show",
    "give",
    "tell",
    "model",
    "models",
    "llm",
    "llms",
    "ai",
    "token",
    "tokens",
    "api",
    "usage",
    "it",
    "steward",
    "run",
    "running",
    "up",
    "incurred",
    "in",
    "over",
    "to",
    "date",
    "calls",
    "altogether",
];

/// The period a question about spend names, and its words taken out.
fn period(words: &mut Vec<String>) -> Period {
    const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let has = |w: &[String], x: &str| w.iter().any(|y| y == x);
    let found = if has(words, "today") || has(words, "tonight") {
        Period::Today
    } else if has(words, "yesterday") {
        Period::Days(2)
    } else if has(words, "month") {
        Period::Month
    } else if has(words, "week") || words.iter().any(|w| WEEKDAYS.contains(&w.as_str())) {
        Period::Week
    } else if let Some(n) = words.iter().find_map(|w| w.parse::<u32>().ok()).filter(|_| has(words, "days")) {
        Period::Days(n.clamp(1, 366))
    } else {
        Period::Today
    };
    let said = [
        "today",
        "tonight",
        "yesterday",
        "this",
        "last",
        "past",
        "week",
        "month",
        "since",
        "days",
        "start",
        "beginning",
    ];
    words.retain(|w| !said.contains(&w.as_str()) && !WEEKDAYS.contains(&w.as_str()) && w.parse::<u32>().is_err());
    found
}

/// The command `text` says by its words, if it says one.
pub(super) fn read(text: &str) -> Option<Command> {
    let mut words = words(text);
    if words.is_empty() || words.len() > 14 {
        return None;
    }
    if let Some(paused) = automations(&words) {
        return Some(Command::Automations { paused });
    }
    if APPROVE_LOW.fits(&words) {
        return Some(Command::ApproveAllLow(None));
    }
    if PENDING.fits(&words) {
        return Some(Command::Pending);
    }
    if DIGEST.fits(&words) {
        return Some(Command::Digest);
    }
    if status(&words) {
        return Some(Command::Status);
    }
    if words.iter().any(|w| SPEND.contains(&w.as_str())) {
        let when = period(&mut words);
        let frame = Frame { needs: &[SPEND], may: COSTS_MAY };
        if frame.fits(&words) {
            return Some(Command::Costs(when));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_not_order_decide() {
        let pause = Some(Command::Automations { paused: true });
        let resume = Some(Command::Automations { paused: false });
        assert_eq!(read("Could you halt all the scheduled jobs for a while?"), pause);
        assert_eq!(read("switch the workflows off"), pause);
        assert_eq!(read("switch the workflows back on again"), resume);
        assert_eq!(read("workflows: resume"), resume);
        assert_eq!(read("pause and resume the workflows"), None, "both: unclear");
        assert_eq!(read("pause the newsletter for two weeks"), None);
        assert_eq!(read("everything healthy?"), Some(Command::Status));
        assert_eq!(read("ok"), None, "an acknowledgement");
        assert_eq!(read("is everything ok with the Acme invoice?"), None);
        assert_eq!(read("approve the low risk ones"), Some(Command::ApproveAllLow(None)));
        assert_eq!(read("approve the low budget for Acme"), None);
        assert_eq!(read("approve the low risk one"), None, "one, not all");
        assert_eq!(read("ok the low-risk requests"), Some(Command::ApproveAllLow(None)));
        assert_eq!(read("anything outstanding on my side?"), None, "`side` is not a pending word");
        assert_eq!(read("anything outstanding for me to review?"), Some(Command::Pending));
        assert_eq!(read("what's Priya waiting for?"), None);
        assert_eq!(read("give me today's recap"), Some(Command::Digest));
        assert_eq!(read("a summary of the Acme deal"), None);
        assert_eq!(read("what have the models cost us since tuesday"), Some(Command::Costs(Period::Week)));
        assert_eq!(read("token spend over the last 3 days"), Some(Command::Costs(Period::Days(3))));
        assert_eq!(read("model costs yesterday?"), Some(Command::Costs(Period::Days(2))));
        assert_eq!(read("how much did Acme spend last month"), None);
    }
}
