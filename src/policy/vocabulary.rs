//! What a policy file may name: the adapters steward has, their actions and
//! their arguments. A rule naming anything else would silently never match
//! (`adapter = "webhok"`), so it is refused with its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::PolicyError;

/// Adapter → action → the argument names it accepts (`None`: any name).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub adapters: BTreeMap<String, BTreeMap<String, Option<Vec<String>>>>,
}

/// The parts of a rule that name something, with where they are written.
#[derive(Deserialize)]
struct Named {
    #[serde(default, rename = "rule")]
    rules: Vec<NamedRule>,
}

#[derive(Deserialize)]
struct NamedRule {
    name: String,
    adapter: Spanned<String>,
    #[serde(default)]
    action: Option<Spanned<String>>,
    #[serde(default)]
    when: Vec<NamedArg>,
}

#[derive(Deserialize)]
struct NamedArg {
    arg: Spanned<String>,
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl Vocabulary {
    /// Checks every name a policy's rules use. The text must already parse
    /// as a policy; this only reads the names back with their lines.
    pub fn check(&self, text: &str) -> Result<(), PolicyError> {
        let Ok(named) = toml::from_str::<Named>(text) else { return Ok(()) };
        for rule in &named.rules {
            let err = |at: usize, reason: String| PolicyError {
                line: Some(line_of(text, at)),
                reason: format!("rule `{}`: {reason}", rule.name),
            };
            let adapter = rule.adapter.get_ref();
            let Some(actions) = self.adapters.get(adapter) else {
                let known: Vec<_> = self.adapters.keys().map(String::as_str).collect();
                return Err(err(
                    rule.adapter.span().start,
                    format!("no adapter `{adapter}`; steward has {}", known.join(", ")),
                ));
            };
            let chosen: Vec<&Option<Vec<String>>> = match &rule.action {
                Some(action) => match actions.get(action.get_ref()) {
                    Some(args) => vec![args],
                    None => {
                        let known: Vec<_> = actions.keys().map(String::as_str).collect();
                        return Err(err(
                            action.span().start,
                            format!("`{adapter}` has no action `{}`; it has {}", action.get_ref(), known.join(", ")),
                        ));
                    }
                },
                None => actions.values().collect(),
            };
            for cond in &rule.when {
                let first = cond.arg.get_ref().split('.').next().unwrap_or_default();
                let accepted =
                    chosen.iter().any(|args| args.as_ref().is_none_or(|names| names.iter().any(|n| n == first)));
                if !accepted {
                    let mut names: Vec<&str> =
                        chosen.iter().filter_map(|a| a.as_ref()).flatten().map(String::as_str).collect();
                    names.sort_unstable();
                    names.dedup();
                    return Err(err(
                        cond.arg.span().start,
                        format!("`{adapter}` takes no argument `{first}`; it takes {}", names.join(", ")),
                    ));
                }
            }
        }
        Ok(())
    }
}
