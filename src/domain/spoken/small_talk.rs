//! Small talk read by its words: thanks and praise ("much obliged",
//! "you're a star", "great work"), and greetings. A sentence is small talk
//! only when every word in it is, so "thanks, now send the invoice" is a
//! request.

use super::words::{Frame, words};

/// Words that praise, on their own ("great work") or with thanks.
const PRAISE_WORDS: &str = "great good nice awesome perfect excellent brilliant lovely wonderful superb amazing \
                            fantastic cool well top fab fabulous splendid grand neat sweet super";

/// Thanks, or praise ("great work", "well done"): the router's `thanks`.
fn thanks(words: &[String]) -> bool {
    let thanks = Frame {
        needs: &["thanks thank thx thnx thanx tks ty ta cheers appreciated appreciate grateful kudos obliged"],
        may: &format!(
            "{PRAISE_WORDS} so much very lot lots heaps many that is it this really alright helps helped help \
             helpful kind everything was all to work job done one indeed truly super oh ah got ever k bunch ton \
             million much"
        ),
    };
    let praise = Frame {
        needs: &[PRAISE_WORDS, "work job one done stuff"],
        may: "that is was really very super as usual indeed oh",
    };
    // An acknowledgement in one strong word ("awesome", "ok cool"), not a
    // mild one ("good", "ok"), which may answer a question.
    let acknowledged = Frame {
        needs: &[
            "awesome perfect great cool brilliant excellent lovely wonderful superb amazing fantastic sweet splendid nice",
        ],
        may: "ok okay that is sounds looks very really so oh",
    };
    // "you're a star", "what a lifesaver": praise of the one thanked.
    let star = Frame {
        needs: &["star legend gem lifesaver hero champ champion genius rockstar ace saviour savior"],
        may: "you youre are a an absolute total real such what as always thanks",
    };
    thanks.fits(words) || praise.fits(words) || acknowledged.fits(words) || star.fits(words)
}

const GREETING: Frame = Frame {
    needs: &["hi hello hey hiya heya howdy yo morning evening afternoon greetings hallo hola gm"],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_talk_is_only_small_talk() {
        for thanks in [
            "thank you very much!",
            "thx a lot",
            "Appreciated, thanks",
            "well done",
            "cool, cheers",
            "sounds great",
            "ok, cool",
            "much obliged",
            "you're a star",
            "what a lifesaver, thanks",
            "thanks a bunch",
        ] {
            assert_eq!(small_talk(thanks), Some("thanks"), "{thanks}");
        }
        for hello in ["hello there", "good afternoon everyone", "hey steward", "morning"] {
            assert_eq!(small_talk(hello), Some("greeting"), "{hello}");
        }
        for other in [
            "thanks, now send the invoice to Acme",
            "hey, is the Acme invoice paid?",
            "good",
            "ok",
            "well",
            "who is the star of the Acme account?",
            "you're a star, now email Acme",
        ] {
            assert_eq!(small_talk(other), None, "{other}");
        }
    }
}
