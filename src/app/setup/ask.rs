//! The wizard's questions: a flag's value when one was given, otherwise a
//! question at the terminal, otherwise (non-interactive) nothing for an
//! optional part and an error naming the flag for a required answer.

use std::io::{BufRead, Write};

use anyhow::{anyhow, bail};

pub struct Prompter {
    interactive: bool,
    input: Box<dyn BufRead>,
}

/// `-`, or nothing, declines an optional part.
fn declined(answer: &str) -> bool {
    let a = answer.trim();
    a.is_empty() || a == "-"
}

impl Prompter {
    pub fn new(interactive: bool) -> Self {
        Self { interactive, input: Box::new(std::io::BufReader::new(std::io::stdin())) }
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    pub fn say(&self, line: &str) {
        println!("{line}");
    }

    /// One line from the terminal; an error when it is closed.
    fn line(&mut self, question: &str) -> anyhow::Result<String> {
        print!("{question}: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if self.input.read_line(&mut answer)? == 0 {
            bail!("no answer to “{question}” (the input is closed); give it as a flag, see steward setup --help");
        }
        Ok(answer.trim().to_owned())
    }

    /// An optional answer: the flag's, or asked; `None` when declined (or,
    /// non-interactive, not given).
    pub fn optional(&mut self, flag: &Option<String>, question: &str) -> anyhow::Result<Option<String>> {
        let answer = match flag {
            Some(v) => v.clone(),
            None if !self.interactive => return Ok(None),
            None => self.line(question)?,
        };
        Ok((!declined(&answer)).then(|| answer.trim().to_owned()))
    }

    /// An answer that must be given: asked until it is (three times).
    pub fn required(&mut self, flag: &str, question: &str) -> anyhow::Result<String> {
        if !self.interactive {
            bail!("{flag} is needed with --non-interactive");
        }
        for _ in 0..3 {
            let answer = self.line(question)?;
            if !declined(&answer) {
                return Ok(answer);
            }
            self.say("  an answer is needed here");
        }
        Err(anyhow!("no answer to “{question}”; give it as {flag}"))
    }

    /// A secret: the flag's value, or asked.
    pub fn required_secret(&mut self, given: &Option<String>, flag: &str, question: &str) -> anyhow::Result<String> {
        match given.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v.to_owned()),
            None => self.required(flag, question),
        }
    }

    /// A whole number, asked until it is one.
    pub fn number(&mut self, flag: &str, question: &str) -> anyhow::Result<u64> {
        for _ in 0..3 {
            match self.required(flag, question)?.parse() {
                Ok(n) => return Ok(n),
                Err(_) => self.say("  that is not a number"),
            }
        }
        Err(anyhow!("no number for “{question}”; give it as {flag}"))
    }

    /// An answer with a default taken when the answer is empty.
    pub fn default(&mut self, question: &str, default: &str) -> anyhow::Result<String> {
        let answer = self.line(&format!("{question} [{default}]"))?;
        Ok(if answer.is_empty() { default.to_owned() } else { answer })
    }
}
