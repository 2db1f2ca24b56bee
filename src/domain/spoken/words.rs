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
const FILLER: &str = "a all an again any at can could currently every for hey i just me mind moment my now of ok \
                      okay our please pls quick quickly right so steward the then us we will would you your";

/// Whether `word` is one of the space-separated `words`.
fn has(words: &str, word: &str) -> bool {
    words.split_whitespace().any(|w| w == word)
}

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
/// it needs one word each (each group, like `may`, words separated by
/// spaces).
struct Frame<'a> {
    needs: &'a [&'a str],
    may: &'a str,
}

impl Frame<'_> {
    fn fits(&self, words: &[String]) -> bool {
        let known = |w: &str| has(FILLER, w) || has(self.may, w) || self.needs.iter().any(|g| has(g, w));
        words.iter().all(|w| known(w)) && self.needs.iter().all(|g| words.iter().any(|w| has(g, w)))
    }
}

const AUTOMATIONS: &str = "automation automations workflow workflows schedule schedules scheduled cron crons recurring automatic \
     automated routines jobs";
const STOPPING: &str = "pause halt suspend freeze disable stop deactivate hold off kill mute";
const STARTING: &str = "resume restart unpause continue enable reenable re reactivate activate start on";
const TOGGLE_WORDS: &str = "turn switch put back until further notice while bit temporarily runs tasks";

/// "stop every automation for now": `Some(true)` to pause, `Some(false)`
/// to resume.
fn automations(words: &[String]) -> Option<bool> {
    let stop = words.iter().any(|w| has(STOPPING, w));
    let start = words.iter().any(|w| has(STARTING, w));
    let may = format!("{TOGGLE_WORDS} {STOPPING} {STARTING}");
    let frame = Frame { needs: &[AUTOMATIONS], may: &may };
    (frame.fits(words) && stop != start).then_some(stop)
}

/// What the system's state is asked with; "about" words say it is the
/// system asked about ("ok" alone is an acknowledgement).
const STATUS_WORDS: &str = "status health healthcheck diagnostics uptime ok okay alright fine healthy";
const STATUS_ABOUT: &str = "status health healthcheck diagnostics uptime everything things system systems";
const STATUS: Frame = Frame {
    needs: &[STATUS_WORDS],
    may: "is are how check report update give show tell what system systems steward everything things it overall \
          looking going doing running working good well all up and",
};

/// "is everything ok?", "give me a health check": the status.
fn status(words: &[String]) -> bool {
    STATUS.fits(words) && words.iter().any(|w| has(STATUS_ABOUT, w))
}

/// Approving every low-risk request at once: it says low risk, and it
/// says all of them ("approve the low one" is not this).
const APPROVE_LOW: Frame = Frame {
    needs: &[
        "approve accept greenlight allow ok okay",
        "low lowrisk",
        "risk lowrisk",
        "all every everything ones requests items approvals things stuff",
    ],
    may: "one request item approval stuff pending waiting open that are is go ahead and with things",
};

const PENDING: Frame = Frame {
    needs: &["pending awaiting waiting outstanding queued unanswered undecided"],
    may: "what is are there anything something still else approval approvals request requests decision decisions \
          item items things stuff show list see check give tell on do have need to review sign off that",
};

const DIGEST: Frame = Frame {
    needs: &["digest recap rundown briefing roundup summary"],
    may: "send give show get daily today todays latest what happened day",
};

const SPEND: &str = "cost costs spend spent spending spendings bill billing expense expenses charges";
const COSTS_MAY: &str = "what how much did have has do does is are was were been on far total show give tell model \
                         models llm llms ai token tokens api usage it steward run running up incurred in over to \
                         date calls altogether";

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

/// Words that praise, on their own ("great work") or with thanks.
const PRAISE_WORDS: &str =
    "great good nice awesome perfect excellent brilliant lovely wonderful superb amazing fantastic cool well";

/// Thanks, or praise ("great work", "well done"): the router's `thanks`.
fn thanks(words: &[String]) -> bool {
    let thanks = Frame {
        needs: &["thanks thank thx thnx thanx tks ty ta cheers appreciated appreciate grateful kudos"],
        may: &format!(
            "{PRAISE_WORDS} so much very lot lots heaps many that is it this really alright helps helped help \
             helpful kind everything was all to work job done one indeed truly super oh ah got"
        ),
    };
    let praise = Frame {
        needs: &[PRAISE_WORDS, "work job one done stuff"],
        may: "that is was really very super as usual indeed oh",
    };
    thanks.fits(words) || praise.fits(words)
}

const GREETING: Frame = Frame {
    needs: &["hi hello hey hiya heya howdy yo morning evening afternoon greetings hallo hola"],
    may: "good there again everyone everybody folks how are doing it going mate",
};

/// What `text` is when it is small talk and nothing else: `"thanks"` (or
/// praise) or `"greeting"`, the names of the router's chat intents.
pub fn small_talk(text: &str) -> Option<&'static str> {
    let words = words(text);
    if words.is_empty() || words.len() > 10 {
        return None;
    }
    if thanks(&words) {
        return Some("thanks");
    }
    GREETING.fits(&words).then_some("greeting")
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

    #[test]
    fn small_talk_is_only_small_talk() {
        for thanks in ["thank you very much!", "thx a lot", "Appreciated, thanks", "well done", "cool, cheers"] {
            assert_eq!(small_talk(thanks), Some("thanks"), "{thanks}");
        }
        for hello in ["hello there", "good afternoon everyone", "hey steward", "morning"] {
            assert_eq!(small_talk(hello), Some("greeting"), "{hello}");
        }
        for other in ["thanks, now send the invoice to Acme", "hey, is the Acme invoice paid?", "good", "ok", "well"] {
            assert_eq!(small_talk(other), None, "{other}");
        }
    }
}
