//! A small retrieval evaluation: a synthetic workspace history (clients,
//! projects, invoices, decisions, preferences) with questions whose gold
//! record is known. It reports recall@5 and recall@10 for BM25 alone,
//! vectors alone and hybrid; a test keeps a floor under it and the bench
//! prints it.
//!
//! The questions mix what each retriever is good at: exact codes (words
//! win), paraphrases with no shared words (meaning wins), and questions that
//! name an entity and paraphrase the rest (both help).

use serde::Serialize;

use super::search::Mode;
use super::{Contract, Memory, MemoryError, Query};
use crate::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};

const CLIENTS: [&str; 10] =
    ["ACME", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"];
const PROJECTS: [&str; 8] = ["Atlas", "Borealis", "Cobalt", "Dune", "Ember", "Falcon", "Granite", "Harbor"];
const PEOPLE: [&str; 8] = ["Maria", "Tom", "Priya", "Jonas", "Lena", "Omar", "Sofia", "Ken"];
const MONTHS: [&str; 8] = ["January", "February", "March", "April", "May", "June", "July", "September"];

/// Facts and questions that share no content words.
const PARAPHRASES: [(&str, &str); 8] = [
    (
        "The office Wi-Fi password changes every first Monday of the month.",
        "how often is the wireless network credential rotated",
    ),
    (
        "Our accountant files the VAT return each quarter, around the tenth.",
        "when does the sales tax paperwork get submitted",
    ),
    ("Parking spots behind the building are reserved for visitors on Thursdays.", "where can guests leave their cars"),
    ("The espresso machine descaling is due after every five hundred cups.", "coffee maker maintenance schedule"),
    (
        "New hires receive a laptop and a security key during their first day.",
        "what equipment do recruits get when they join",
    ),
    (
        "Travel expenses above two hundred euros need a receipt and written approval.",
        "reimbursement rules for costly trips",
    ),
    (
        "The domain registration renews automatically every November with the registrar.",
        "when does our website address subscription get extended",
    ),
    (
        "Backups of the customer database are copied offsite every night at two.",
        "how frequently do we save client records to another location",
    ),
];

/// One record of the workspace, and the question it answers (if any).
pub struct Item {
    pub text: String,
    pub question: Option<String>,
}

/// The synthetic workspace: 52 answerable records among 160 others. Like a
/// real one it holds many records of the same shape (40 invoices, 24 backup
/// reports), so an exact code is a needle among near-identical neighbours.
pub fn workspace() -> Vec<Item> {
    let mut items = Vec::new();
    for i in 10..40 {
        let (client, project) = (CLIENTS[i % CLIENTS.len()], PROJECTS[i % PROJECTS.len()]);
        items.push(Item {
            text: format!(
                "Invoice INV-{} for {client}: {} EUR for {project} consulting, due on the {}th.",
                2040 + i,
                900 + 70 * i,
                1 + i % 28
            ),
            question: None,
        });
    }
    for i in 8..24 {
        items.push(Item {
            text: format!(
                "Nightly backup job BKP-{} failed twice last week on the {} database server.",
                70 + i,
                PROJECTS[i % PROJECTS.len()]
            ),
            question: None,
        });
    }
    let q = |text: String, question: String| Item { text, question: Some(question) };
    for (i, client) in CLIENTS.iter().enumerate() {
        let n = 2040 + i;
        let project = PROJECTS[i % PROJECTS.len()];
        items.push(q(
            format!(
                "Invoice INV-{n} for {client}: {} EUR for {project} consulting, due on the {}th.",
                1200 + 130 * i,
                10 + i
            ),
            format!("INV-{n}"),
        ));
        items.push(q(
            format!(
                "Met {} from {client}; they asked for single sign-on before renewing the contract.",
                PEOPLE[i % PEOPLE.len()]
            ),
            format!("what does {client} need before they extend their agreement"),
        ));
    }
    for (i, project) in PROJECTS.iter().enumerate() {
        items.push(q(
            format!("We decided to postpone the {project} launch until {} because the payment provider integration is not ready.", MONTHS[i]),
            format!("why did the {project} release get delayed"),
        ));
        items.push(q(
            format!("Nightly backup job BKP-{} failed twice last week on the {project} database server.", 70 + i),
            format!("BKP-{}", 70 + i),
        ));
    }
    for person in PEOPLE {
        items.push(q(
            format!("{person} prefers phone calls to emails when something is urgent."),
            format!("how should I reach {person} in an emergency"),
        ));
    }
    for (fact, question) in PARAPHRASES {
        items.push(q(fact.to_owned(), question.to_owned()));
    }
    for i in 0..100 {
        let (p, c, who) = (PROJECTS[i % 8], CLIENTS[i % 10], PEOPLE[i % 8]);
        let text = match i % 5 {
            0 => format!("Reminder: update the {p} roadmap slides before the review with {c}."),
            1 => format!("{who} shared the notes from the {c} workshop in the team folder."),
            2 => format!("Lunch order for the team on day {i}: pizza and salads."),
            3 => format!("Draft a proposal for {c} about the {p} analytics dashboard."),
            _ => format!("{who} will be out of office next week; {p} questions go to the shared inbox."),
        };
        items.push(Item { text, question: None });
    }
    items
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Recall {
    pub at5: f64,
    pub at10: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub records: usize,
    pub questions: usize,
    pub bm25: Recall,
    pub vector: Recall,
    pub hybrid: Recall,
}

/// Loads the workspace into `memory` (scope `eval`) and measures recall.
pub async fn run(memory: &Memory) -> Result<Report, MemoryError> {
    let items = workspace();
    let scope = Scope::parse("eval")?;
    let provenance = MemoryProvenance { actor: "eval".into(), channel: "eval".into(), ..Default::default() };
    let records = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            NewMemory::new(MemoryKind::Note, &it.text, scope.clone(), provenance.clone(), 1_700_000_000_000 + i as i64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ids = memory.add(&records, &Contract::operator()).await?.ids();
    while memory.index_pending(crate::memory::INDEX_BATCH).await? > 0 {}
    let questions: Vec<(&str, &str)> =
        items.iter().zip(&ids).filter_map(|(it, id)| it.question.as_deref().map(|q| (q, id.as_str()))).collect();
    let mut report = Report { records: items.len(), questions: questions.len(), ..Default::default() };
    for (mode, slot) in
        [(Mode::Lexical, &mut report.bm25), (Mode::Vector, &mut report.vector), (Mode::Hybrid, &mut report.hybrid)]
    {
        let (mut at5, mut at10) = (0usize, 0usize);
        for (question, gold) in &questions {
            let query =
                Query { text: (*question).to_owned(), scopes: vec![scope.clone()], limit: 10, ..Default::default() };
            let hits = memory.search_with(&query, &Contract::operator(), mode).await?.hits;
            let rank = hits.iter().position(|h| h.id == *gold);
            at5 += usize::from(rank.is_some_and(|r| r < 5));
            at10 += usize::from(rank.is_some());
        }
        let n = questions.len() as f64;
        *slot = Recall { at5: at5 as f64 / n, at10: at10 as f64 / n };
    }
    Ok(report)
}
