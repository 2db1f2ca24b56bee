//! Commands read by their words rather than their word order: a sentence
//! is a command when every word in it belongs to that command's small
//! vocabulary and the words that carry its meaning are there. "stop every
//! automation for now", "turn the automations back on", "is everything
//! ok?" and "how much have the models cost since monday" are read so; a
//! single word from outside the vocabulary ("pause the newsletter", "is
//! everything ok with Acme?") leaves the sentence to the reasoning tiers.
//! Read after the patterns in [`super`], which keep their readings.

use super::{Command, Latest, Period};
use crate::domain::Decision;

/// Words any command may carry without changing it.
const FILLER: &str = "a all an again any at can could currently every for hey i just kindly me mind moment my now of \
                      ok okay our please pls quick quickly right so steward the then us we will would you your";

/// Whether `word` is one of the space-separated `words`, or a slip of the
/// keyboard on one of six letters or more ("aprove", "pendng", "pasue").
fn has(words: &str, word: &str) -> bool {
    words.split_whitespace().any(|w| w == word || slip_of(word, w))
}

/// Whether `typed` is `word` with one slip: a letter left out, one letter
/// for another, or two neighbours swapped. Only for words of six letters
/// or more, and never the first letter, so that "retro" is not "retry"
/// and "approved" (a letter more) is not "approve".
pub(super) fn slip_of(typed: &str, word: &str) -> bool {
    // The vocabulary is ASCII; so is a slip on it.
    let (t, w) = (typed.as_bytes(), word.as_bytes());
    if w.len() < 6 || !typed.is_ascii() || t.first() != w.first() || t == w {
        return false;
    }
    let i = t.iter().zip(w).take_while(|(a, b)| a == b).count();
    if t.len() + 1 == w.len() {
        // One left out: the rest of the word follows the gap.
        return t[i..] == w[i + 1..];
    }
    if t.len() != w.len() {
        return false;
    }
    let swapped = i + 1 < t.len() && t[i] == w[i + 1] && t[i + 1] == w[i] && t[i + 2..] == w[i + 2..];
    swapped || t[i + 1..] == w[i + 1..]
}

/// What a sentence is made of: its words, lower case, without
/// punctuation; "what's" is "what", "don't" is "do not", "I'd" is "i
/// would", "low-risk" is "low risk". A contraction counts only at a word's
/// end ("O'Malley" stays one word).
pub(super) fn words(text: &str) -> Vec<String> {
    const CONTRACTED: [(&str, &str); 7] =
        [("n't", "not"), ("'s", ""), ("'d", "would"), ("'m", "am"), ("'ll", "will"), ("'re", "are"), ("'ve", "have")];
    let t = text.to_lowercase().replace(['’', '‘'], "'");
    let mut words = Vec::new();
    for w in t.split(|c: char| !(c.is_alphanumeric() || c == '\'')).map(|w| w.trim_matches('\'')) {
        match CONTRACTED.iter().find_map(|(short, long)| Some((w.strip_suffix(short)?, *long))) {
            Some((stem, long)) => words.extend([stem, long].into_iter().filter(|w| !w.is_empty()).map(str::to_owned)),
            None if !w.is_empty() => words.push(w.to_owned()),
            None => {}
        }
    }
    join_phrases(words)
}

/// Two words that say one thing, as one word: "roll back" is "rollback",
/// "never mind" is "nevermind", "on hold" is "onhold".
fn join_phrases(words: Vec<String>) -> Vec<String> {
    const PHRASES: [(&str, &str, &str); 21] = [
        ("roll", "back", "rollback"),
        ("take", "back", "takeback"),
        ("try", "again", "retry"),
        ("never", "mind", "nevermind"),
        ("call", "off", "calloff"),
        ("go", "ahead", "goahead"),
        ("on", "hold", "onhold"),
        ("sign", "off", "signoff"),
        ("signing", "off", "signoff"),
        ("low", "risk", "lowrisk"),
        ("another", "go", "retry"),
        ("another", "try", "retry"),
        ("green", "light", "greenlight"),
        ("rubber", "stamp", "rubberstamp"),
        ("turn", "down", "turndown"),
        ("on", "pause", "onhold"),
        ("on", "ice", "onhold"),
        ("once", "more", "again"),
        ("say", "yes", "approve"),
        ("say", "no", "reject"),
        ("systems", "go", "status"),
    ];
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        if let Some(prev) = out.last_mut() {
            if let Some((_, _, one)) = PHRASES.iter().find(|(a, b, _)| prev == a && w == *b) {
                *prev = (*one).to_owned();
                continue;
            }
        }
        out.push(w);
    }
    out
}

/// "run … again", "do … again", "try … again" as "retry": read only where
/// a command by reference is looked for ("what do I need to approve
/// again?" asks what is pending).
fn again_as_retry(words: &[String]) -> Vec<String> {
    let redo = |w: &String| matches!(w.as_str(), "run" | "do" | "try");
    if !(words.iter().any(|w| w == "again") && words.iter().any(redo)) {
        return words.to_vec();
    }
    words.iter().filter(|w| *w != "again").map(|w| if redo(w) { "retry".to_owned() } else { w.clone() }).collect()
}

/// A command's vocabulary: the words it may use, and the groups of which
/// it needs one word each (each group, like `may`, words separated by
/// spaces).
pub(super) struct Frame<'a> {
    pub(super) needs: &'a [&'a str],
    pub(super) may: &'a str,
}

impl Frame<'_> {
    pub(super) fn fits(&self, words: &[String]) -> bool {
        // Fillers are matched exactly: a name a letter off one ("Stewart")
        // is a word from outside.
        let filler = |w: &str| FILLER.split_whitespace().any(|f| f == w);
        let known = |w: &str| filler(w) || has(self.may, w) || self.needs.iter().any(|g| has(g, w));
        words.iter().all(|w| known(w)) && self.needs.iter().all(|g| words.iter().any(|w| has(g, w)))
    }
}

const AUTOMATIONS: &str = "automation automations workflow workflows schedule schedules scheduled cron crons recurring automatic \
     automated routines jobs everything stuff things autos";
const STOPPING: &str = "pause halt suspend freeze disable stop deactivate hold onhold off kill mute";
const STARTING: &str = "resume restart unpause continue enable reenable re reactivate activate start on";
const TOGGLE_WORDS: &str = "turn switch put bring back run go may until till til further notice say tell otherwise so while bit \
                            temporarily runs tasks that which was were been is are paused stopped suspended halted \
                            disabled";

/// "stop every automation for now": `Some(true)` to pause, `Some(false)`
/// to resume.
fn automations(words: &[String]) -> Option<bool> {
    let stop = words.iter().any(|w| has(STOPPING, w));
    // "bring the jobs back", "the workflows can run again": back, or
    // again, with nothing stopping them.
    let start = words.iter().any(|w| has(STARTING, w)) || (!stop && words.iter().any(|w| w == "back" || w == "again"));
    let may = format!("{TOGGLE_WORDS} {STOPPING} {STARTING}");
    let frame = Frame { needs: &[AUTOMATIONS], may: &may };
    (frame.fits(words) && stop != start).then_some(stop)
}

/// What the system's state is asked with; "about" words say it is the
/// system asked about ("ok" alone is an acknowledgement).
const STATUS_WORDS: &str =
    "status health healthcheck diagnostics uptime ok okay alright fine healthy alive awake running working behaving";
const STATUS_ABOUT: &str =
    "status health healthcheck diagnostics uptime everything things system systems alive awake bot assistant";
const STATUS: Frame = Frame {
    needs: &[STATUS_WORDS],
    may: "is are how check report update give show tell what system systems steward everything things it overall bot \
          looking going doing running working good well all up and itself",
};

/// "are you up?", "you still there?": steward asked whether it is there.
const THERE: Frame = Frame {
    needs: &[
        "you steward bot assistant",
        "up there around online awake alive running working listening ok okay alright fine good well",
    ],
    may: "are is still still with",
};

/// "is everything ok?", "give me a health check", "are you up?": the
/// status.
fn status(words: &[String]) -> bool {
    (STATUS.fits(words) && words.iter().any(|w| has(STATUS_ABOUT, w))) || THERE.fits(words)
}

/// Approving every low-risk request at once: it says low risk, and it
/// says all of them ("approve the low one" is not this).
const APPROVE_LOW: Frame = Frame {
    needs: &[
        "approve accept greenlight allow ok okay signoff authorize authorise rubberstamp sanction",
        "low lowrisk",
        "risk lowrisk",
        "all every everything ones requests items approvals things stuff",
    ],
    may: "one request item approval stuff pending waiting open that are is go ahead goahead and with things yes sure \
          to of them",
};

/// The verbs that approve, in so many words.
const APPROVE_VERBS: &str = "approve accept greenlight allow signoff authorize authorise rubberstamp sanction";

/// "approve low risk": low-risk requests, none singled out ("approve the
/// low risk one" is not this).
const APPROVE_LOW_BARE: Frame =
    Frame { needs: &[APPROVE_VERBS, "low lowrisk", "risk lowrisk"], may: "pending waiting open" };

const PENDING: Frame = Frame {
    needs: &["pending awaiting waiting outstanding queued unanswered undecided open stuck"],
    may: "what is are there anything something still else approval approvals request requests decision decisions \
          item items things stuff show list see check give tell on do have need to review sign off signoff that \
          yet left today from yes no answer reply response verdict nod word input goahead",
};

/// "what do I need to approve?", "anything need my ok?": what waits for
/// a decision, asked by the deciding.
const TO_DECIDE: Frame = Frame {
    needs: &[
        "what anything which any stuff something things",
        "approve approving approval approvals signoff decide deciding decision ok okay",
    ],
    may: "do does i need needs have has got to am supposed must should is are there for me my on today waiting left \
          still yet else deal with show list tell see",
};

/// "list the approvals", "show me my approvals": the approvals are those
/// still to decide.
const APPROVALS_SHOWN: Frame =
    Frame { needs: &["show list see view display check give get", "approvals"], may: "me my the all current any" };

const HELP: Frame = Frame {
    needs: &["help commands command usage manual guide instructions howto features capabilities use"],
    may: "what can you do are there is list show give me the your available how i does work works with get started \
          which some know understand support",
};

/// The newest of something, named by pointing at it.
const REFERENCE: &str = "last latest newest recent previous most just it that this";
/// What a reference may point at, and the words around it.
const POINTED: &str = "one request requests approval item thing action task intent order job the i asked ask made \
                       created started sent did you what whatever for yes sure and do to failed went wrong have give";
/// Each verb group a command by reference needs.
const APPROVING: &str =
    "approve accept allow confirm greenlight goahead signoff authorize authorise rubberstamp sanction";
const REJECTING: &str = "reject decline deny refuse veto turndown nix";
const UNDOING: &str = "undo revert reverse rollback takeback unsend";
const CANCELLING: &str = "cancel abort scrap drop kill withdraw nevermind calloff stop scratch ditch bin trash axe";
const RETRYING: &str = "retry rerun redo";
/// The words that name an adapter in a reference ("the last email").
const ADAPTER_WORDS: &str = "email emails mail message webhook call";

/// The adapter `word` names in a reference, if it names one.
pub(super) fn adapter_of(word: &str) -> Option<String> {
    match word {
        "email" | "emails" | "mail" | "message" => Some("email".to_owned()),
        "webhook" | "call" => Some("webhook".to_owned()),
        _ => None,
    }
}

/// "roll back that email", "scrap my last request", "run the last failed
/// one again": a command by reference, read by its words.
fn by_reference(words: &[String]) -> Option<Command> {
    let words = &again_as_retry(words)[..];
    let may = format!("{POINTED} {ADAPTER_WORDS}");
    let with = |verbs: &'static str| {
        let needs = [verbs, REFERENCE];
        Frame { needs: &needs, may: &may }.fits(words)
    };
    let says = |verbs: &str| words.iter().any(|w| has(verbs, w));
    // One kind of verb only: "cancel or retry" is unclear.
    let kinds = [APPROVING, REJECTING, UNDOING, CANCELLING, RETRYING].iter().filter(|v| says(v)).count();
    if kinds != 1 {
        return None;
    }
    let adapter = words.iter().find_map(|w| adapter_of(w));
    if with(APPROVING) || with(REJECTING) {
        let decision = if says(APPROVING) { Decision::Approve } else { Decision::Reject };
        return Some(Command::DecideLatest { decision, latest: Latest::Approval { adapter } });
    }
    if with(UNDOING) {
        return Some(Command::DecideLatest { decision: Decision::Reject, latest: Latest::Review { adapter } });
    }
    if adapter.is_none() && with(CANCELLING) {
        return Some(Command::ControlLatest { cancel: true });
    }
    // "retry" needs no pointing: the last failed one is meant.
    let retry = Frame { needs: &[RETRYING], may: &format!("{may} {REFERENCE}") };
    (adapter.is_none() && retry.fits(words)).then_some(Command::ControlLatest { cancel: false })
}

const DIGEST: Frame = Frame {
    needs: &["digest recap rundown briefing roundup summary"],
    may: "send give gimme show get run daily today todays latest what happened day over may have see view read look \
          let where is want need like",
};

const SPEND: &str = "cost costs spend spent spending spendings bill billing expense expenses charges burn burned burnt burning \
     eaten eat ate consumed usage expensive pricey";
const COSTS_MAY: &str = "what how much did have has do does is are was were been on far total show give tell model \
                         language looking like \
                         models llm llms ai token tokens api usage it steward run running up incurred in over to \
                         date calls altogether money dollars euros bucks cash many";

/// The period a question about spend names, and its words taken out.
fn period(words: &mut Vec<String>) -> Period {
    const WEEKDAYS: &str = "monday tuesday wednesday thursday friday saturday sunday";
    const SAID: &str = "today tonight yesterday this last past week month since days start beginning";
    let says = |x: &str| words.iter().any(|y| y == x);
    let found = if says("today") || says("tonight") {
        Period::Today
    } else if says("yesterday") {
        Period::Days(2)
    } else if says("month") {
        Period::Month
    } else if says("week") || words.iter().any(|w| has(WEEKDAYS, w)) {
        Period::Week
    } else if let Some(n) = words.iter().find_map(|w| w.parse::<u32>().ok()).filter(|_| says("days")) {
        Period::Days(n.clamp(1, 366))
    } else {
        Period::Today
    };
    words.retain(|w| !has(SAID, w) && !has(WEEKDAYS, w) && w.parse::<u32>().is_err());
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
    if APPROVE_LOW.fits(&words) || APPROVE_LOW_BARE.fits(&words) {
        return Some(Command::ApproveAllLow(None));
    }
    if PENDING.fits(&words) {
        return Some(Command::Pending);
    }
    if TO_DECIDE.fits(&words) || APPROVALS_SHOWN.fits(&words) {
        return Some(Command::Pending);
    }
    if DIGEST.fits(&words) {
        return Some(Command::Digest);
    }
    if status(&words) {
        return Some(Command::Status);
    }
    if let Some(command) = by_reference(&words) {
        return Some(command);
    }
    if HELP.fits(&words) {
        return Some(Command::Help);
    }
    if words.iter().any(|w| has(SPEND, w)) {
        let when = period(&mut words);
        let frame = Frame { needs: &[SPEND], may: COSTS_MAY };
        if frame.fits(&words) {
            return Some(Command::Costs(when));
        }
    }
    None
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
