//! What a person says to steward, parsed once where it comes in: the
//! command grammar (typed, or as a slash command), the buttons on approval
//! cards, or free text for the reasoning tiers. Pure parsing: no model, no
//! embedding, no I/O. A text that starts like a command but is malformed
//! gets its usage back instead of being guessed at.

use serde::Serialize;

use super::Decision;
pub use super::press::{Press, Verb};

/// What a person said: free text, a command, or a button press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Free text, for the reasoning tiers to read.
    Text(String),
    Command(Command),
    Press(Press),
}

impl Input {
    /// What `text` asks, read without the courtesies around it ("Hi
    /// steward, …, thanks!"): a command, or the request's own words.
    pub fn from_text(text: &str) -> Self {
        let text = super::spoken::core(text);
        match Command::parse(text) {
            Some(c) => Self::Command(c),
            None if text.is_empty() => Self::Command(Command::Help),
            None => Self::Text(text.to_owned()),
        }
    }
}

/// A command a person typed, or a button they pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Help,
    Status,
    Pending,
    /// The digest of the last 24 hours, now.
    Digest,
    /// Decide an approval (by approval id, intent id or button token).
    Decide {
        target: String,
        decision: Decision,
        comment: Option<String>,
    },
    /// Answer a workflow's question (by approval id, intent id or button
    /// token) with one of its choices, named in words.
    Answer {
        target: String,
        answer: String,
    },
    /// Approve every pending low-risk request at once (what a digest offers);
    /// from a card's button, only those requested no later than that card's
    /// approval (named by its token), so a press never approves what its
    /// presser has not seen.
    ApproveAllLow(Option<String>),
    Cancel(String),
    Retry(String),
    Remember(String),
    /// Forget every record about a subject, once the operator confirms
    /// what was found ("forget everything about Acme").
    ForgetAbout(String),
    /// `ask …` / `/ask …`: the rest is a question for the later tiers.
    Ask(String),
    /// `/run NAME key=value …`: start a saved workflow.
    Run {
        workflow: String,
        args: Vec<(String, String)>,
    },
    /// `/workflows`: the saved workflows.
    Workflows,
    /// `/remind …` or "remind me …": the whole text, read by the reminder
    /// phrasings.
    Remind(String),
    /// `/reminders`: the speaker's reminders still to come.
    Reminders,
    /// `/reminders cancel ID`.
    CancelReminder(String),
    /// A menu's button, by its token: what it was offered for, once.
    Menu(String),
    /// Decide the request a reference in words names ("reject the last
    /// one", "undo the last email"): found, named, and confirmed by a
    /// button before anything is decided.
    DecideLatest {
        decision: Decision,
        latest: super::Latest,
    },
    /// Cancel (or retry) the asker's newest intent ("cancel the intent I
    /// just made"), confirmed by a button.
    ControlLatest {
        cancel: bool,
    },
    /// What the models cost over a period.
    Costs(super::Period),
    /// Pause or resume every workflow's triggers.
    Automations {
        paused: bool,
    },
    /// A command word with arguments that do not fit it: here is the usage.
    Usage(&'static str),
}

pub const HELP: &str = "Commands:
  status                  what is running, waiting and failing
  pending                 approvals waiting for you
  digest                  what happened in the last 24 hours
  approve ID [comment]    approve a request (approval or intent id)
  approve all low         approve every low-risk request waiting
  reject ID [comment]     reject a request
  undo ID                 undo an action that was done for review afterwards
  answer ID CHOICE        answer a workflow's question with one of its choices
  cancel ID / retry ID    cancel or retry an intent
  remember that …         keep a fact in memory
  ask …                   ask about the workspace
  workflows               the saved workflows, with run buttons
  run NAME key=value …    start a workflow (quote values with spaces)
  remind me … / remind …  a reminder: tomorrow at 9, in 2 hours, every monday at 8
  reminders [cancel ID]   your reminders, with cancel buttons, or cancel one
Anything else is read as a question or a request.";

impl Command {
    /// A question for the reasoning tiers; its usage when there is none.
    pub fn ask(question: &str) -> Self {
        match question.trim() {
            "" => Self::Usage("ask QUESTION"),
            q => Self::Ask(q.to_owned()),
        }
    }

    /// A fact to keep (a leading "that" is no part of it); its usage when
    /// there is none.
    pub fn remember(fact: &str) -> Self {
        let fact = fact.trim().trim_start_matches([':', ',', '-', '–', '—']).trim();
        // "remember this: …", "remember the following - …".
        let pointer = ["this", "the following"].iter().find_map(|p| {
            let rest = fact.strip_prefix(p)?.trim_start();
            rest.starts_with([':', '-', '–', '—']).then(|| rest.trim_start_matches([':', '-', '–', '—']).trim())
        });
        let fact = pointer.unwrap_or(fact);
        // A fact is a statement: "could you note that … ?" asks politely.
        let fact = fact.strip_prefix("that ").unwrap_or(fact).trim().trim_end_matches('?').trim_end();
        if fact.is_empty() || fact == "that" {
            Self::Usage("remember that …")
        } else {
            Self::Remember(fact.to_owned())
        }
    }

    /// Parses `text` as a command, typed or said in words
    /// ([`super::spoken`]), or returns `None` when it is free text.
    pub fn parse(text: &str) -> Option<Self> {
        parse(text).or_else(|| super::spoken::read(text))
    }
}

/// Whether what follows a command word is a question, not its argument.
fn asks(rest: &str) -> bool {
    let first = rest.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    rest.trim_end().ends_with('?')
        || matches!(first.as_str(), "when" | "what" | "who" | "why" | "how" | "where" | "whether" | "if" | "which")
}

/// Whether what follows "remember" (said, not typed as `/remember`) is a
/// fact to keep: not a question ("remember when we signed Acme?"), not a
/// reminder ("remember to call Priya") and not a greeting to pass on
/// ("remember me to Priya").
pub(super) fn keeps_a_fact(rest: &str) -> bool {
    let first = rest.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    !asks(rest) && !matches!(first.as_str(), "to" | "me" | "us" | "him" | "her" | "them" | "it")
}

fn parse(text: &str) -> Option<Command> {
    let text = text.trim();
    // Slash commands as channels send them: `/approve@steward_bot 01J…`.
    let body = text.strip_prefix('/').unwrap_or(text);
    let (word, rest) = match body.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (body, ""),
    };
    let word = word.split('@').next().unwrap_or(word).to_ascii_lowercase();
    let word = word.trim_end_matches(['.', '!', '?']);
    let slash = text.starts_with('/');
    let id_and_comment = |rest: &str| -> Option<(String, Option<String>)> {
        let (id, comment) = match rest.split_once(char::is_whitespace) {
            Some((id, c)) => (id, Some(c.trim().to_owned()).filter(|c| !c.is_empty())),
            None => (rest, None),
        };
        looks_like_id(id).then(|| (id.to_owned(), comment))
    };
    let decide = |decision, usage| match id_and_comment(rest) {
        Some((target, comment)) => Command::Decide { target, decision, comment },
        None => Command::Usage(usage),
    };
    let one_id = |make: fn(String) -> Command, usage| match id_and_comment(rest) {
        Some((id, None)) => make(id),
        _ => Command::Usage(usage),
    };
    let command = match word {
        "help" | "start" if rest.is_empty() => Command::Help,
        "status" if rest.is_empty() => Command::Status,
        "pending" if rest.is_empty() => Command::Pending,
        "digest" if rest.is_empty() => Command::Digest,
        "approve" if rest.eq_ignore_ascii_case("all low") || rest.eq_ignore_ascii_case("all") => {
            Command::ApproveAllLow(None)
        }
        // `approve the budget` is a sentence, not a command: only an id (or
        // a slash) makes it one.
        "approve" | "confirm" if slash || id_and_comment(rest).is_some() => {
            decide(Decision::Approve, "approve ID [comment]")
        }
        "reject" | "deny" | "undo" if slash || id_and_comment(rest).is_some() => {
            decide(Decision::Reject, "reject ID [comment] (or undo ID for a reviewed action)")
        }
        "answer" if slash || id_and_comment(rest).is_some() => match id_and_comment(rest) {
            Some((target, Some(answer))) => Command::Answer { target, answer },
            _ => Command::Usage("answer ID CHOICE"),
        },
        "cancel" if slash || id_and_comment(rest).is_some() => one_id(Command::Cancel, "cancel INTENT_ID"),
        "retry" if slash || id_and_comment(rest).is_some() => one_id(Command::Retry, "retry INTENT_ID"),
        "remember" if !slash && !keeps_a_fact(rest) => return None,
        "remember" => Command::remember(rest),
        "ask" if !rest.is_empty() => Command::Ask(rest.to_owned()),
        "ask" => Command::Usage("ask QUESTION"),
        "workflows" if rest.is_empty() => Command::Workflows,
        "remind" if slash => Command::Remind(format!("/remind {rest}")),
        "reminders" if rest.is_empty() => Command::Reminders,
        "reminders" if slash => match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["cancel", id] => Command::CancelReminder((*id).to_owned()),
            _ => Command::Usage("reminders [cancel ID]"),
        },
        // `run the numbers` is a sentence: without a slash, only arguments
        // (`key=value`) make it a command.
        "run" => match run_args(rest) {
            Some((workflow, args)) if slash || !args.is_empty() => Command::Run { workflow, args },
            _ if slash => Command::Usage("run NAME key=value … (quote a value with spaces: key=\"a b\")"),
            _ => return None,
        },
        _ if slash => Command::Help,
        _ => return None,
    };
    Some(command)
}

/// `NAME key=value key="a value" …`: the workflow and its arguments, or
/// `None` when that is not what `rest` is.
fn run_args(rest: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return None;
    }
    if started {
        words.push(word);
    }
    let mut words = words.into_iter();
    let name = words.next()?;
    let name_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return None;
    }
    let args = words
        .map(|w| w.split_once('=').filter(|(k, _)| !k.is_empty()).map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect::<Option<Vec<_>>>()?;
    Some((name, args))
}

/// Approval ids and intent ids are ULIDs (26 characters); button tokens are
/// 32 hex digits.
fn looks_like_id(s: &str) -> bool {
    (s.len() == 26 || s.len() == 32) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JD0000000000000000000000";

    #[test]
    fn commands_parse_with_or_without_a_slash() {
        assert_eq!(parse("status"), Some(Command::Status));
        assert_eq!(parse("/status@steward_bot"), Some(Command::Status));
        assert_eq!(parse(" Pending "), Some(Command::Pending));
        assert_eq!(parse("/digest"), Some(Command::Digest));
        assert_eq!(parse("/start"), Some(Command::Help));
        assert_eq!(
            parse(&format!("approve {ID} looks fine")),
            Some(Command::Decide {
                target: ID.into(),
                decision: Decision::Approve,
                comment: Some("looks fine".into())
            })
        );
        assert_eq!(
            parse(&format!("/undo {ID}")),
            Some(Command::Decide { target: ID.into(), decision: Decision::Reject, comment: None })
        );
        assert_eq!(parse(&format!("cancel {ID}")), Some(Command::Cancel(ID.into())));
        assert_eq!(
            parse(&format!("/answer {ID} Not yet")),
            Some(Command::Answer { target: ID.into(), answer: "Not yet".into() })
        );
        assert_eq!(parse(&format!("answer {ID}")), Some(Command::Usage("answer ID CHOICE")));
        assert_eq!(parse("answer the door"), None, "a sentence, not a command");
        assert_eq!(parse("approve all low"), Some(Command::ApproveAllLow(None)));
        assert_eq!(
            parse("remember that the VAT number is DE123"),
            Some(Command::Remember("the VAT number is DE123".into()))
        );
        assert_eq!(parse("/ask when is INV-2041 due"), Some(Command::Ask("when is INV-2041 due".into())));
    }

    #[test]
    fn run_takes_a_workflow_and_its_arguments() {
        let run = |w: &str, args: &[(&str, &str)]| {
            Some(Command::Run {
                workflow: w.into(),
                args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            })
        };
        assert_eq!(parse("/run weekly-report"), run("weekly-report", &[]));
        assert_eq!(
            parse(r#"/run onboard-client email=ana@acme.io company="Acme Ltd""#),
            run("onboard-client", &[("email", "ana@acme.io"), ("company", "Acme Ltd")])
        );
        assert_eq!(parse("run invoice client=acme"), run("invoice", &[("client", "acme")]));
        assert_eq!(parse("run the numbers for Q3"), None, "a sentence");
        assert_eq!(parse("run payroll"), None, "no slash and no arguments: a sentence");
        assert!(matches!(parse(r#"/run x a="unclosed"#), Some(Command::Usage(_))));
        assert!(matches!(parse("/run"), Some(Command::Usage(_))));
        assert_eq!(parse("/workflows"), Some(Command::Workflows));
    }

    #[test]
    fn sentences_that_start_like_commands_are_free_text() {
        assert_eq!(parse("approve the new logo please"), None);
        assert_eq!(parse("cancel my dentist appointment"), None);
        assert_eq!(parse("status of the Atlas launch?"), None);
        assert_eq!(parse("what is pending"), None);
    }

    #[test]
    fn malformed_commands_get_their_usage() {
        assert_eq!(parse("/approve"), Some(Command::Usage("approve ID [comment]")));
        assert_eq!(parse("/cancel not-an-id"), Some(Command::Usage("cancel INTENT_ID")));
        assert_eq!(parse("remember"), Some(Command::Usage("remember that …")));
        assert_eq!(parse("/frobnicate"), Some(Command::Help));
    }

    #[test]
    fn typed_text_is_a_command_or_free_text() {
        assert_eq!(Input::from_text(" /pending "), Input::Command(Command::Pending));
        assert_eq!(Input::from_text(""), Input::Command(Command::Help));
        assert_eq!(Input::from_text("what is due?"), Input::Text("what is due?".into()));
        assert_eq!(Input::from_text("Hi steward, what's pending? Thanks!"), Input::Command(Command::Pending));
        assert_eq!(Input::from_text("Morning! Is INV-7 due? Cheers, M"), Input::Text("Is INV-7 due?".into()));
        assert_eq!(Command::ask("  "), Command::Usage("ask QUESTION"));
        assert_eq!(serde_json::to_value(Input::Text("x".into())).unwrap(), serde_json::json!({"text": "x"}));
    }
}
