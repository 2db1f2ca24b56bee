use super::*;
use crate::domain::MemoryKind;

fn hit(text: &str, vector: f32, ranks: (usize, usize)) -> Hit {
    Hit {
        id: "r".into(),
        text: text.into(),
        kind: MemoryKind::Note,
        scope: crate::domain::Scope::parse("operator").unwrap(),
        tags: vec![],
        meta: serde_json::Value::Null,
        provenance: Default::default(),
        created_at: 0,
        occurred_at: 0,
        archived: false,
        scores: crate::memory::Scores {
            vector: Some(vector),
            bm25_rank: Some(ranks.0),
            vector_rank: Some(ranks.1),
            ..Default::default()
        },
    }
}

#[test]
fn a_record_both_retrievers_put_first_needs_less_nearness() {
    let q = rows::content_words("how do I reach Tom fast?");
    let text = "Tom prefers phone calls to emails when something is urgent.";
    assert!(answers(&q, &hit(text, 0.5, (1, 1)), 0.55), "first by words and by meaning");
    assert!(!answers(&q, &hit(text, 0.5, (2, 1)), 0.55), "first by meaning alone");
    assert!(!answers(&q, &hit(text, 0.5, (1, 3)), 0.55), "first by words alone");
    assert!(!answers(&q, &hit(text, 0.4, (1, 1)), 0.55), "agreeing, but too far in meaning");
    assert!(answers(&q, &hit(text, 0.6, (4, 2)), 0.55), "near enough on its own");
}

#[test]
fn coverage_counts_the_questions_content_words() {
    let q = rows::content_words("what does Umbrella need before they renew the contract?");
    let c = coverage(&q, "Met Jonas from Umbrella; they asked for single sign-on before renewing the contract.");
    assert!((c - 0.8).abs() < 1e-6, "{c}");
    assert_eq!(coverage(&rows::content_words("who is our contact at the tax office"), "The VAT number is DE1"), 0.0);
    let met = coverage(&rows::content_words("who did we meet at Stark"), "Met Ken from Stark; they asked for SSO.");
    assert_eq!(met, 1.0, "an irregular past form covers its verb");
}
