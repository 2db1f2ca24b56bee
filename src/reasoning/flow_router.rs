//! Tier 1's router for saved workflows: a request near one of a
//! workflow's example phrases (as it is, or as its skeleton for that
//! workflow, see [`crate::workflows::phrasing`]) is a request to run it.
//! The phrases are embedded once, the first time a request is compared
//! with them, so a file saved while steward runs routes from its next
//! request on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ReasoningError;
use super::recall::Recall;
use super::router::cosine;
use crate::workflows::phrasing::{example_skeleton, without_names};
use crate::workflows::{Library, Workflow};

/// The example phrases' embeddings, by phrase: a phrase is embedded once,
/// the first time a request is compared with it, so a workflow file saved
/// while steward runs routes from its next request on.
#[derive(Default)]
pub(super) struct Phrases {
    vectors: Mutex<HashMap<String, Arc<Vec<f32>>>>,
}

/// A workflow a request in words was routed to, and how near it was.
#[derive(Debug, Clone)]
pub(super) struct Named {
    pub workflow: Workflow,
    pub similarity: f32,
}

impl Phrases {
    fn vectors(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Vec<f32>>>> {
        self.vectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The workflow with the example phrase nearest the request (`text`,
    /// embedded as `vector`), as it is or as its skeleton for that
    /// workflow, when it is at least `threshold` near.
    pub async fn nearest(
        &self,
        recall: &Recall,
        library: &Library,
        text: &str,
        vector: &[f32],
        threshold: f32,
    ) -> Result<Option<Named>, ReasoningError> {
        // Each workflow's forms of the request besides itself: its skeleton
        // for that workflow, and that with the names taken out.
        let phrased: Vec<(Workflow, Vec<String>, Vec<String>)> = library
            .all()
            .into_iter()
            .filter_map(|w| {
                let (_, phrasing) = w.command_trigger()?;
                let examples: Vec<String> = phrasing.examples.iter().map(|e| example_skeleton(e)).collect();
                let skeleton = phrasing.skeleton(text, &w.params);
                let mut forms: Vec<String> = without_names(&skeleton).into_iter().collect();
                if skeleton != text {
                    forms.push(skeleton);
                }
                (!examples.is_empty()).then_some((w, examples, forms))
            })
            .collect();
        if phrased.is_empty() {
            return Ok(None);
        }
        // One embedding call for what is new: examples not seen before, and
        // this request's skeletons.
        let mut unknown: Vec<String> = {
            let known = self.vectors();
            phrased.iter().flat_map(|(_, ex, _)| ex).filter(|e| !known.contains_key(*e)).cloned().collect()
        };
        unknown.extend(phrased.iter().flat_map(|(_, _, forms)| forms.iter().cloned()));
        unknown.sort();
        unknown.dedup();
        let embedded: HashMap<String, Arc<Vec<f32>>> = if unknown.is_empty() {
            HashMap::new()
        } else {
            let vectors = recall.embed_all(&unknown).await?;
            unknown.into_iter().zip(vectors.into_iter().map(Arc::new)).collect()
        };
        let mut known = self.vectors();
        let in_force: usize = phrased.iter().map(|(_, ex, _)| ex.len()).sum();
        if known.len() > 2 * in_force + 100 {
            // Files changed often: keep only the phrases in force.
            known.retain(|e, _| phrased.iter().any(|(_, ex, _)| ex.contains(e)));
        }
        for (_, examples, _) in &phrased {
            for e in examples {
                if let Some(v) = embedded.get(e) {
                    known.insert(e.clone(), v.clone());
                }
            }
        }
        let best = phrased
            .into_iter()
            .filter_map(|(workflow, examples, forms)| {
                let near = |v: &[f32]| {
                    examples.iter().filter_map(|e| known.get(e).map(|x| cosine(v, x))).max_by(f32::total_cmp)
                };
                let similarity = std::iter::once(near(vector))
                    .chain(forms.iter().map(|f| embedded.get(f).and_then(|v| near(v))))
                    .flatten()
                    .max_by(f32::total_cmp)?;
                Some(Named { workflow, similarity })
            })
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity));
        if let Some(b) = &best {
            tracing::debug!(workflow = %b.workflow.name, similarity = b.similarity, "nearest workflow phrase");
        }
        Ok(best.filter(|b| b.similarity >= threshold))
    }
}
