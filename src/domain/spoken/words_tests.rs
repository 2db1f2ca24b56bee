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
    assert_eq!(read("put every automation on hold"), pause);
    assert_eq!(read("unpause everything scheduled"), resume);
    assert_eq!(read("is steward alive?"), Some(Command::Status));
    assert_eq!(read("anything stuck for me?"), Some(Command::Pending));
    assert_eq!(read("what do I still have to sign off?"), Some(Command::Pending));
    assert_eq!(read("resume everything that was paused"), resume);
    assert_eq!(read("is everything paused?"), None, "a question, neither");
    assert_eq!(read("list the approvals"), Some(Command::Pending));
    assert_eq!(read("show me the approvals for Acme"), None);
    assert_eq!(read("do I have stuff to approve right now"), Some(Command::Pending));
    assert_eq!(read("have I got any approvals to deal with?"), Some(Command::Pending));
    assert_eq!(read("may I have the digest, please?"), Some(Command::Digest));
    assert_eq!(read("could you send over today's digest?"), Some(Command::Digest));
    assert_eq!(read("what's the model spend looking like this month?"), Some(Command::Costs(Period::Month)));
    assert_eq!(read("is everything behaving itself?"), Some(Command::Status));
    assert_eq!(read("kindly pause every scheduled workflow"), pause);
    assert_eq!(read("have another go at the failed one"), Some(Command::ControlLatest { cancel: false }));
    assert_eq!(read("resume autos"), resume);
    assert_eq!(read("approve low risk"), Some(Command::ApproveAllLow(None)));
    assert_eq!(read("approve the low risk one"), None, "one, not all");
}

/// A slip of the keyboard on a long word is read as the word; a short word,
/// a first letter, or a letter more is not a slip.
#[test]
fn slips_of_the_keyboard_on_long_words_are_read() {
    assert_eq!(read("pendng approvals"), Some(Command::Pending));
    assert_eq!(read("aprove all low risk ones"), Some(Command::ApproveAllLow(None)));
    assert_eq!(read("any aprovals waiting"), Some(Command::Pending));
    assert_eq!(read("digets now"), Some(Command::Digest));
    assert_eq!(read("what was approved today?"), None, "a letter more is another word");
    assert_eq!(read("run the retro again"), None, "too short to guess at");
    assert_eq!(read("approve all low risk for Stewart"), None, "a name a letter off a filler");
    for (typed, word, slip) in [
        ("pendng", "pending", true),
        ("pnding", "pending", true),
        ("penidng", "pending", true),
        ("pemding", "pending", true),
        ("bending", "pending", false),
        ("pendings", "pending", false),
        ("pending", "pending", false),
        ("retro", "retry", false),
        ("pnedign", "pending", false),
    ] {
        assert_eq!(super::slip_of(typed, word), slip, "{typed} / {word}");
    }
    assert_eq!(read("what should I approve for Acme?"), None);
}

#[test]
fn commands_by_reference_are_read_by_their_words() {
    let approve =
        Some(Command::DecideLatest { decision: Decision::Approve, latest: Latest::Approval { adapter: None } });
    let reject = Some(Command::DecideLatest { decision: Decision::Reject, latest: Latest::Approval { adapter: None } });
    let undo_email = Some(Command::DecideLatest {
        decision: Decision::Reject,
        latest: Latest::Review { adapter: Some("email".into()) },
    });
    let (cancel, retry) =
        (Some(Command::ControlLatest { cancel: true }), Some(Command::ControlLatest { cancel: false }));
    assert_eq!(read("sure, go ahead and confirm the newest one"), approve);
    assert_eq!(read("veto the previous request"), reject);
    assert_eq!(read("please roll back the email you just sent"), undo_email);
    assert_eq!(read("take back that last mail"), undo_email);
    assert_eq!(read("never mind, drop the thing I just asked for"), cancel);
    assert_eq!(read("abort that task"), cancel);
    assert_eq!(read("do the failed one again"), retry);
    assert_eq!(read("rerun it"), retry);
    assert_eq!(read("what do I need to approve again?"), Some(Command::Pending), "asked again, not a retry");
    assert_eq!(read("cancel or retry the last one"), None, "two verbs: unclear");
    assert_eq!(read("cancel the last meeting with Acme"), None);
    assert_eq!(read("undo the last step of the Globex plan"), None);
    assert_eq!(read("drop Priya a line"), None);
    assert_eq!(read("how do I use the webhook adapter?"), None);
    assert_eq!(read("what commands do you know?"), Some(Command::Help));
}

/// A contraction is read out at a word's end only.
#[test]
fn contractions_are_read_out_at_a_words_end() {
    assert_eq!(words("I'd like the digest"), ["i", "would", "like", "the", "digest"]);
    assert_eq!(words("what's pending? don't"), ["what", "pending", "do", "not"]);
    assert_eq!(words("O'Malley's invoice"), ["o'malley", "invoice"]);
    assert_eq!(read("I'd like the digest"), Some(Command::Digest));
}
