//! Tier 1's intent router: each intent in `prompts/intents.toml` has example
//! phrases; a request is routed to the intent of its nearest example when
//! the cosine similarity reaches the threshold. The examples are embedded
//! once, when the pipeline is built.

use std::path::Path;

use serde::Deserialize;

use crate::memory::{Embedder, MemoryError};

/// The catalog steward ships.
pub const BUILTIN: &str = include_str!("../../prompts/intents.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Command,
    Recall,
    Action,
    Goal,
    Chat,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentDef {
    pub name: String,
    pub route: Route,
    /// For `command`: `status`, `pending` or `help`.
    pub command: Option<String>,
    /// For `action`: the adapter the action most likely uses.
    pub adapter: Option<String>,
    /// For `chat`: the answer.
    pub reply: Option<String>,
    pub examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    intent: Vec<IntentDef>,
}

const COMMANDS: [&str; 3] = ["status", "pending", "help"];

/// Parses and checks a catalog; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<IntentDef>, String> {
    let catalog: Catalog = toml::from_str(text).map_err(|e| format!("{file}: {}", e.message()))?;
    for d in &catalog.intent {
        let missing = |what: &str| format!("{file}: intent `{}` with route {:?} needs `{what}`", d.name, d.route);
        match d.route {
            Route::Command if !d.command.as_deref().is_some_and(|c| COMMANDS.contains(&c)) => {
                return Err(format!("{}; one of {}", missing("command"), COMMANDS.join(", ")));
            }
            Route::Chat if d.reply.is_none() => return Err(missing("reply")),
            _ => {}
        }
        if d.examples.is_empty() {
            return Err(format!("{file}: intent `{}` has no examples", d.name));
        }
    }
    Ok(catalog.intent)
}

/// Loads `intents.toml` from a prompts directory, or the built-in catalog.
pub fn load(dir: Option<&Path>) -> Result<Vec<IntentDef>, String> {
    match dir {
        None => parse("prompts/intents.toml", BUILTIN),
        Some(dir) => {
            let path = dir.join("intents.toml");
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            parse(&path.display().to_string(), &text)
        }
    }
}

pub struct Router {
    intents: Vec<IntentDef>,
    /// (intent index, unit vector) per example.
    examples: Vec<(usize, Vec<f32>)>,
    threshold: f32,
}

/// Where a request was routed, and how near it was.
#[derive(Debug, Clone, Copy)]
pub struct Routed<'a> {
    pub intent: &'a IntentDef,
    pub similarity: f32,
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Router {
    pub async fn build(intents: Vec<IntentDef>, embedder: &dyn Embedder, threshold: f32) -> Result<Self, MemoryError> {
        let texts: Vec<String> = intents.iter().flat_map(|d| d.examples.iter().cloned()).collect();
        let vectors = embedder.embed(&texts).await?;
        let owners = intents.iter().enumerate().flat_map(|(i, d)| std::iter::repeat_n(i, d.examples.len()));
        let examples = owners.zip(vectors).collect();
        Ok(Self { intents, examples, threshold })
    }

    /// The nearest intent, if it is near enough; else, for text that is
    /// only thanks or a greeting ("thx", "much appreciated", "yo"), the chat
    /// intent of that name, whatever the embedding makes of a word so short.
    pub fn route(&self, text: &str, vector: &[f32]) -> Option<Routed<'_>> {
        let nearest = self.examples.iter().map(|(i, v)| (*i, cosine(vector, v))).max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, similarity)) = nearest.filter(|(_, s)| *s >= self.threshold) {
            return Some(Routed { intent: &self.intents[i], similarity });
        }
        let name = crate::domain::spoken::small_talk(text)?;
        let intent = self.intents.iter().find(|d| d.name == name && d.route == Route::Chat)?;
        Some(Routed { intent, similarity: self.threshold })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::embed::HashEmbedder;

    #[test]
    fn the_shipped_catalog_parses_and_bad_ones_are_refused() {
        assert!(parse("x", BUILTIN).unwrap().len() >= 8);
        let err = parse("x.toml", "[[intent]]\nname = \"s\"\nroute = \"command\"\nexamples = [\"a\"]").unwrap_err();
        assert!(err.contains("needs `command`"), "{err}");
        let err = parse("x.toml", "[[intent]]\nname = \"s\"\nroute = \"teleport\"\nexamples = [\"a\"]").unwrap_err();
        assert!(err.starts_with("x.toml"), "{err}");
    }

    #[tokio::test]
    async fn near_requests_route_and_far_ones_do_not() {
        let embedder = HashEmbedder::new(256);
        let router = Router::build(parse("x", BUILTIN).unwrap(), &embedder, 0.7).await.unwrap();
        let v = embedder.embed_one("show pending approvals");
        assert_eq!(router.route("show pending approvals", &v).unwrap().intent.name, "pending");
        let v = embedder.embed_one("zebra quantum marmalade");
        assert!(router.route("zebra quantum marmalade", &v).is_none());
        // A word outside every vocabulary ("beholden") keeps the words
        // around it from being read as thanks.
        let v = embedder.embed_one("much beholden, ta");
        assert_eq!(router.route("much beholden, ta", &v).map(|r| r.intent.name.as_str()), None, "beholden: not known");
        let v = embedder.embed_one("ta very much");
        assert_eq!(router.route("ta very much", &v).unwrap().intent.name, "thanks");
    }
}
