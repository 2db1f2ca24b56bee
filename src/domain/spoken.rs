//! Commands said in words: "what's pending?", "approve all low risk",
//! "reject the last one", "cancel the intent I just made", "costs this
//! week", "pause all automations", "remember: the Q3 numbers are final",
//! "forget everything about Acme".
//! Read with no model, after the typed grammar ([`super::Command::parse`])
//! and before the reasoning tiers. Each reading is a whole sentence, so a
//! question that only mentions a command's words ("what's pending with
//! the Acme invoice?") stays a question. A reference instead of an id
//! ("the last one") is resolved later, against the store, and the reply
//! names what it found.

mod small_talk;
mod words;
mod wrapping;

pub use small_talk::small_talk;
pub use wrapping::core;

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::command::keeps_a_fact;
use super::{Command, Decision};

/// What a command in words refers to when it names no id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Latest {
    /// The newest request waiting for a decision, of this adapter when the
    /// words say ("the last email").
    Approval { adapter: Option<String> },
    /// The newest action done for review afterwards ("undo the last email").
    Review { adapter: Option<String> },
    /// The asker's newest intent ("the intent I just made").
    Intent,
}

/// The period a question about spend covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Today,
    /// The last 7 days, today included.
    Week,
    /// The last 30 days.
    Month,
    Days(u32),
}

impl Period {
    /// How many days it reaches back, today counting as one.
    pub fn days(self) -> u32 {
        match self {
            Self::Today => 1,
            Self::Week => 7,
            Self::Month => 30,
            Self::Days(n) => n.clamp(1, 366),
        }
    }
}

/// How a request is asked politely ("can you …", "please …"): around a
/// command these words change nothing, and a request worded as a question
/// with one of them is still a request (`reasoning::asking`).
pub const POLITE: [&str; 9] =
    ["can you", "could you", "would you", "will you", "can u", "could u", "would you mind", "please", "pls"];
/// Other words before a command that change nothing.
const ASIDES: [&str; 5] = ["hey steward", "steward", "ok", "okay", "now"];
const CLOSERS: [&str; 7] = [" please", " pls", " right now", " now", " for me", " thanks", " thank you"];

/// The text as the patterns read it: lower case, single spaces, no
/// politeness around it, no closing punctuation.
fn normalized(text: &str) -> String {
    let mut t: String = text.to_lowercase().replace(['’', '‘'], "'").split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let before = t.len();
        t = t.trim_matches(|c: char| matches!(c, '.' | '!' | '?' | ',' | ' ')).to_owned();
        for o in POLITE.iter().chain(ASIDES.iter()) {
            if let Some(rest) = t.strip_prefix(o).and_then(|r| r.strip_prefix(' ')) {
                t = rest.to_owned();
            }
        }
        for c in CLOSERS {
            if let Some(rest) = t.strip_suffix(c) {
                t = rest.to_owned();
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("a valid built-in pattern")
}

static PENDING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(?:what's|whats|what is|what are|show(?: me)?|list|see|check|give me|tell me)(?: what's| what is| whats| what)? )?(?:(?:is|are) there )?(?:(?:is |are )?(?:anything|any) )?(?:still |currently |else )?(?:pending|waiting(?: for (?:me|my approval|approval|my decision|a decision))?|awaiting (?:me|my approval|approval)|open (?:approvals?|requests?|decisions?))(?: approvals?| requests?| decisions?| items?| stuff| for me)?|(?:what|anything) (?:do i|i|that i) (?:need|have) to (?:approve|decide|sign off(?: on)?|look at)|what needs my (?:approval|attention|sign-?off|decision|ok)|(?:my )?(?:pending|open) (?:approvals?|requests?|decisions?)",
    )
});
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(?:what's|what is) (?:the )?|(?:show|give) me (?:the |a )?)?(?:system )?status(?: update| report)?|how(?:'s| is| are) (?:everything|things|steward|it going)(?: going| doing)?(?: today| right now| at the moment| so far)?",
    )
});
static DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(?:send|give|show|get)(?: me)? )?(?:the |my |a |today's )?(?:daily )?digest(?: now| of today| for today)?|(?:what happened|what's happened|what has happened) (?:today|in the last (?:24 hours|day))",
    )
});
static APPROVE_LOW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"approve (?:all|every|everything)(?: of)?(?: the)? low[- ]?risk(?: ones| requests| items| stuff| approvals)?|approve (?:all )?(?:the )?low[- ]?risk (?:ones|requests|items|approvals)",
    )
});
static DECIDE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:yes,? |no,? )?(?P<verb>approve|accept|allow|confirm|go ahead with|ok|reject|decline|deny|refuse|turn down) (?:it|that|this|that one|this one|the last(?: one| request| approval)?|the latest(?: one| request)?|the most recent(?: one| request)?|the newest(?: one)?)(?: (?:one|request))?",
    )
});
static UNDO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:undo|revert|take back|roll back) (?:it|that|this|the last(?: one| action)?|what you (?:just )?(?:did|sent)|the (?:last|latest) (?P<what>email|mail|message|webhook|call|action|change))",
    )
});
static CANCEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?P<verb>cancel|stop|abort|retry|try again|rerun|re-run)(?: it| that| this| that one| the last(?: one| request| intent| task)?| the latest(?: one)?| my last (?:request|intent|task)| the (?:intent|request|task|thing|one) i just (?:made|created|asked for|sent|started)| what i just asked(?: for)?| the failed one| the last failed(?: one)?)",
    )
});
static COSTS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(?:what|how much) (?:did|have|do) (?:i|we) (?:spend|spent|spending)|(?:what|how much) (?:did|does|have) (?:it|steward|the models?) cost(?: me| us)?|(?:show(?: me)?|give me|what are|what's|what is|what were) (?:the |my |our )?(?:model |llm |ai |token )?(?:costs?|spend(?:ing)?)|(?:model |llm |ai |token )?(?:costs?|spend(?:ing)?)(?: so far)?)(?: on (?:models?|llms?|ai|tokens|the models?))?(?: (?P<when>today|this week|this month|yesterday|(?:in |over )?the (?:last|past) (?P<n>\d{1,3}) days|(?:in |over )?the (?:last|past) (?:week|month)))?",
    )
});
static AUTOMATIONS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?P<verb>pause|stop|halt|suspend|freeze|resume|restart|unpause|continue|start|re-?enable|enable|disable)(?: all| every)?(?: the| my)? (?:automations?|workflows?|scheduled (?:jobs|runs|workflows)|schedules|scheduled tasks|cron jobs)(?: again)?",
    )
});
/// The courtesies a sentence-long command may open with ("pls", "could
/// you", "ok,"), in any case.
const ASKING: &str =
    r"(?i:(?:please|pls|plz|kindly|(?:can|could|would|will)\s+you|hey\s+steward|steward|ok|okay)[\s,]+)*";

/// A whole-sentence pattern, after the courtesies it may open with.
fn sentence(flags: &str, body: &str) -> Regex {
    Regex::new(&format!(r"{flags}^\s*{ASKING}{body}")).expect("a valid built-in pattern")
}

/// "remember: …", "note that …", "save this: …" (saving and storing need
/// the colon: "save that file" keeps no fact; "jot down", "record" and
/// "make a note" ask for a note to be written).
static REMEMBER: LazyLock<Regex> = LazyLock::new(|| {
    sentence(
        "(?is)",
        r"(?:(?:remember|note|keep in mind|don'?t forget|do not forget)(?:\s+(?:this|the following))?(?:\s*[:,\-–—]\s*|\s+that\s+)|(?:save|store|keep)(?:\s+(?:this|the following))?\s*[:\-–—]\s*)(?P<fact>.+)$",
    )
});

/// "keep in mind Bolt pays net 30", "remember Kepler wants two days'
/// notice": a fact follows without "that" ("note the action items" and
/// "make a note …" ask for a note to be written).
static REMEMBER_BARE: LazyLock<Regex> = LazyLock::new(|| {
    sentence("(?is)", r"(?:(?:keep|bear)\s+in\s+mind|remember|don'?t\s+forget|do\s+not\s+forget)\s+(?P<fact>.+)$")
});

/// The fact said after "keep in mind", "please remember" or "don't
/// forget" with no "that" or colon, when it is one (the same test as
/// "remember …" typed alone).
fn bare_fact(text: &str) -> Option<&str> {
    let fact = REMEMBER_BARE.captures(text)?.name("fact")?.as_str().trim();
    keeps_a_fact(fact).then_some(fact)
}

static FORGET: LazyLock<Regex> = LazyLock::new(|| {
    sentence(
        "(?is)",
        r"(?:forget|erase|delete|remove|wipe(?:\s+out)?|purge|drop|scrub|clear(?:\s+out)?|expunge|nuke)\s+(?:(?:everything|anything|all|whatever|what)\s+(?:of\s+what\s+|that\s+)?(?:(?:you|we|steward)\s+)?(?:(?:know|remember|have|hold|keep|kept|stored|learned|noted|recorded)\s+(?:stored\s+|kept\s+|recorded\s+)?)?|(?:(?:all|any|every|each)\s+)?(?:(?:of\s+)?(?:the|your|my)\s+)?(?:memor(?:y|ies)|records?|notes?|facts?|info|information|data|traces?|mentions?|references?)\s+(?:(?:you\s+have|you've\s+got|you\s+hold|you\s+keep|stored|kept)\s+)?)?(?:about|regarding|concerning|on|of|related\s+to|to\s+do\s+with|mentioning|that\s+mentions?)\s+(?P<subject>.+?)[\s.!?]*$",
    )
});

/// "forget Acme", "erase Bolt Studio from memory": a name (capitalised
/// words) alone.
static FORGET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    sentence(
        "",
        &format!(
            r"(?i:forget|erase|purge|scrub)\s+(?P<subject>\p{{Lu}}[\w&.'-]*(?:\s+\p{{Lu}}[\w&.'-]*){{0,3}})(?i:{FROM_PLACES})?[\s.!]*$"
        ),
    )
});
/// Where it is to be forgotten from, said after the subject.
const FROM_PLACES: &str = r"\s+from\s+(?:your\s+|the\s+|my\s+)?(?:memory|memories|records|notes|files|workspace)";
static FROM_MEMORY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("(?i){FROM_PLACES}$")).expect("a valid built-in pattern"));

/// Words that name nothing to forget about ("forget about it" is "never
/// mind").
const NOT_A_SUBJECT: [&str; 8] = ["it", "that", "this", "them", "everything", "all", "anything", "me"];

/// The subject of "forget everything about Acme", if the text says that:
/// its own words and case, one to eight words.
fn forget_about(text: &str) -> Option<String> {
    let subject = match FORGET.captures(text) {
        Some(c) => c.name("subject")?.as_str().trim(),
        None => FORGET_NAME.captures(text)?.name("subject")?.as_str().trim(),
    };
    let subject = FROM_MEMORY.replace(subject, "");
    let subject = subject.trim();
    let subject = subject.trim_matches(|c: char| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’')).trim();
    let words = subject.split_whitespace().count();
    let ok =
        (1..=8).contains(&words) && subject.len() <= 100 && !NOT_A_SUBJECT.contains(&subject.to_lowercase().as_str());
    ok.then(|| subject.to_owned())
}

/// The command `text` says in words, if it says one.
pub fn read(text: &str) -> Option<Command> {
    // "remmeber that …", "remeber Bob is away": a slip on the first word
    // of what would be read as remembering, typed or said.
    if let Some((first, rest)) = text.trim_start().split_once(' ') {
        if words::slip_of(&first.to_lowercase(), "remember") && !rest.to_lowercase().starts_with("to ") {
            return read(&format!("remember: {rest}"));
        }
    }
    // What to remember keeps its own words and case.
    if let Some(c) = REMEMBER.captures(text) {
        return Some(Command::remember(c.name("fact").map_or("", |m| m.as_str())));
    }
    if let Some(fact) = bare_fact(text) {
        return Some(Command::remember(fact));
    }

    // So does what to forget about.
    if let Some(subject) = forget_about(text) {
        return Some(Command::ForgetAbout(subject));
    }
    let t = normalized(text);
    if t.is_empty() || t.split(' ').count() > 14 {
        return None;
    }
    if PENDING.is_match(&t) {
        return Some(Command::Pending);
    }
    if STATUS.is_match(&t) {
        return Some(Command::Status);
    }
    if DIGEST.is_match(&t) {
        return Some(Command::Digest);
    }
    if APPROVE_LOW.is_match(&t) {
        return Some(Command::ApproveAllLow(None));
    }
    if let Some(c) = DECIDE.captures(&t) {
        let decision = match &c["verb"] {
            "reject" | "decline" | "deny" | "refuse" | "turn down" => Decision::Reject,
            _ => Decision::Approve,
        };
        return Some(Command::DecideLatest { decision, latest: Latest::Approval { adapter: None } });
    }
    if let Some(c) = UNDO.captures(&t) {
        let adapter = c.name("what").and_then(|w| words::adapter_of(w.as_str()));
        return Some(Command::DecideLatest { decision: Decision::Reject, latest: Latest::Review { adapter } });
    }
    if let Some(c) = CANCEL.captures(&t) {
        let retry = matches!(&c["verb"], "retry" | "try again" | "rerun" | "re-run");
        return Some(Command::ControlLatest { cancel: !retry });
    }
    if let Some(c) = COSTS.captures(&t) {
        let period = match c.name("when").map(|m| m.as_str()) {
            None | Some("today") => Period::Today,
            Some("yesterday") => Period::Days(2),
            Some(w) if w.ends_with("week") => Period::Week,
            Some(w) if w.ends_with("month") => Period::Month,
            Some(_) => Period::Days(c.name("n").and_then(|n| n.as_str().parse().ok()).unwrap_or(7)),
        };
        return Some(Command::Costs(period));
    }
    if let Some(c) = AUTOMATIONS.captures(&t) {
        let paused = matches!(&c["verb"], "pause" | "stop" | "halt" | "suspend" | "freeze" | "disable");
        return Some(Command::Automations { paused });
    }
    words::read(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a phrasing is read as, in the data file's words.
    fn label(c: Option<Command>) -> String {
        match c {
            None => "none".into(),
            Some(Command::Pending) => "pending".into(),
            Some(Command::Status) => "status".into(),
            Some(Command::Digest) => "digest".into(),
            Some(Command::ApproveAllLow(None)) => "approve_all_low".into(),
            Some(Command::DecideLatest { decision: Decision::Approve, latest: Latest::Approval { adapter: None } }) => {
                "approve_latest".into()
            }
            Some(Command::DecideLatest { decision: Decision::Reject, latest: Latest::Approval { adapter: None } }) => {
                "reject_latest".into()
            }
            Some(Command::DecideLatest { decision: Decision::Reject, latest: Latest::Review { adapter } }) => {
                adapter.map_or("undo_latest".into(), |a| format!("undo_latest:{a}"))
            }
            Some(Command::ControlLatest { cancel: true }) => "cancel_latest".into(),
            Some(Command::ControlLatest { cancel: false }) => "retry_latest".into(),
            Some(Command::Costs(Period::Today)) => "costs:today".into(),
            Some(Command::Costs(Period::Week)) => "costs:week".into(),
            Some(Command::Costs(Period::Month)) => "costs:month".into(),
            Some(Command::Costs(Period::Days(n))) => format!("costs:{n}"),
            Some(Command::Automations { paused: true }) => "pause".into(),
            Some(Command::Automations { paused: false }) => "resume".into(),
            Some(Command::Remember(fact)) => format!("remember:{fact}"),
            Some(Command::ForgetAbout(subject)) => format!("forget:{subject}"),
            Some(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn every_phrasing_in_the_data_file_is_read_as_written() {
        let data = include_str!("../../tests/data/command_phrasings.tsv");
        let mut wrong = Vec::new();
        let mut n = 0;
        for line in data.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (phrase, want) = line.split_once('\t').expect("phrase<TAB>expected");
            n += 1;
            let got = label(Command::parse(phrase));
            if got != want {
                wrong.push(format!("{phrase:?}: want {want}, got {got}"));
            }
        }
        assert!(n >= 100, "{n} phrasings");
        assert!(wrong.is_empty(), "{} of {n} read wrong:\n{}", wrong.len(), wrong.join("\n"));
    }
}
