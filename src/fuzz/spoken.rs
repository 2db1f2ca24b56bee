//! Messages as people write them: any mix of command words, courtesies,
//! punctuation and other characters is read without a panic, and what is
//! read as the request is part of what was said.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use super::outcome;
use crate::domain::{Input, spoken};

/// Reading a message never panics; the request read out of it is a piece
/// of it (never empty when the message is not), and a message with
/// courtesies around a command is read as that command when the command
/// alone is.
pub(super) fn messages(runner: &mut TestRunner) -> Result<(), String> {
    let word = prop_oneof![
        prop::sample::select(vec![
            "hi",
            "hey",
            "steward",
            "thanks",
            "cheers",
            "M",
            "quick",
            "one",
            "please",
            "pause",
            "the",
            "workflows",
            "approve",
            "last",
            "roll",
            "back",
            "that",
            "email",
            "what's",
            "pending",
            "remind",
            "me",
            "reminder",
            "ping",
            "tomorrow",
            "at",
            "9",
            "again",
            "run",
            "never",
            "mind",
            "forget",
            "Acme",
            "remember",
            "on",
            "hold",
            "um",
            "okay",
            "so",
            "yeah",
            "no",
            "ok",
            "I",
            "want",
            "you",
            "to",
            ",",
            ".",
            "!",
            "?",
            ":",
            "—",
            "-",
            "'",
            "’s",
            "é",
            "🙂",
            "İ",
            "ẞ",
            "Σ",
        ])
        .prop_map(str::to_owned),
        ".{0,6}",
    ];
    let text = prop::collection::vec(word, 0..16).prop_map(|w| w.join(" "));
    outcome(runner.run(&text, |text| {
        let core = spoken::core(&text);
        let (start, end) = (core.as_ptr() as usize, core.as_ptr() as usize + core.len());
        let (from, to) = (text.as_ptr() as usize, text.as_ptr() as usize + text.len());
        prop_assert!(from <= start && end <= to, "{core:?} is not a piece of {text:?}");
        prop_assert!(text.trim().is_empty() || !core.trim().is_empty(), "{text:?} read as nothing");
        let _ = Input::from_text(&text);
        let _ = crate::workflows::phrases::is_reminder(&text);
        let _ = crate::workflows::phrases::parse(&text, chrono::DateTime::UNIX_EPOCH, chrono_tz::UTC);
        Ok::<(), TestCaseError>(())
    }))?;
    // The same command with courtesies, or spoken fillers, around it.
    let wrapped = (
        prop::sample::select(vec![
            "",
            "Hi steward, ",
            "Morning! ",
            "quick question: ",
            "hey, ",
            "um ",
            "okay so ",
            "hey steward ",
            "yeah so I want you to ",
        ]),
        prop::sample::select(vec![
            "what's pending?",
            "pause all automations",
            "send me the digest",
            "status?",
            "is everything ok",
            "reject the last one",
        ]),
        prop::sample::select(vec![
            "",
            " Thanks.",
            " Cheers, M",
            ", thank you!",
            " many thanks",
            " please",
            " thanks ok",
        ]),
    );
    outcome(runner.run(&wrapped, |(hello, asked, bye)| {
        let said = format!("{hello}{asked}{bye}");
        prop_assert_eq!(Input::from_text(&said), Input::from_text(asked), "{}", said);
        Ok(())
    }))
}
