//! Messages whose reasoning outlasts the request. `POST /v1/messages`
//! answers within the HTTP timeout: when a model is still working, it says
//! 202 with the message's id, and the work goes on. `GET
//! /v1/messages/{id}?wait=SECS` waits for the answer. A retry with the same
//! `Idempotency-Key` while the work goes on joins it (the model is not
//! called again); once it is done, the inbox answers the retry.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::error::ApiError;
use crate::reasoning::Answer;

/// What a finished message produced.
pub type Outcome = Result<Answer, ApiError>;

/// Who sent what under a key: a retry must be the same.
#[derive(Clone, PartialEq, Eq)]
struct Sent {
    actor: String,
    payload: String,
}

struct Running {
    sent: Sent,
    done: watch::Receiver<Option<Outcome>>,
}

/// The messages still being reasoned about, by key.
#[derive(Default)]
pub struct InFlight {
    running: Mutex<HashMap<String, Running>>,
}

/// What waiting for a message came to.
pub enum Waited {
    Done(Outcome),
    /// Still working when the wait ended.
    Pending,
}

async fn wait_on(mut done: watch::Receiver<Option<Outcome>>, budget: Duration) -> Waited {
    let finished = tokio::time::timeout(budget, done.wait_for(Option::is_some)).await;
    match finished {
        Ok(Ok(outcome)) => Waited::Done(outcome.clone().expect("waited for Some")),
        Ok(Err(_)) => Waited::Done(Err(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "interrupted",
            "the work on this message stopped; send it again",
        ))),
        Err(_) => Waited::Pending,
    }
}

impl InFlight {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` for the message under `key`, or joins the work already
    /// going on for it (the same sender and words, or a conflict), and
    /// waits for it at most `budget`.
    pub async fn run<F>(
        self: &Arc<Self>,
        key: &str,
        actor: &str,
        payload: &str,
        budget: Duration,
        work: F,
    ) -> Result<Waited, ApiError>
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let sent = Sent { actor: actor.to_owned(), payload: payload.to_owned() };
        let done = {
            let mut running = self.running();
            match running.get(key) {
                Some(r) if r.sent != sent => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::CONFLICT,
                        "idempotency_conflict",
                        format!("`{key}` is being used for another message; use a new Idempotency-Key"),
                    ));
                }
                Some(r) => r.done.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    running.insert(key.to_owned(), Running { sent, done: rx.clone() });
                    let me = self.clone();
                    let key = key.to_owned();
                    // Spawned, so the work goes on when the request ends.
                    tokio::spawn(async move {
                        let outcome = work.await;
                        me.running().remove(&key);
                        let _ = tx.send(Some(outcome));
                    });
                    rx
                }
            }
        };
        Ok(wait_on(done, budget).await)
    }

    /// Waits until no message is being worked on, or `grace` passed: a
    /// stopping server lets answers it promised (202) be written first.
    pub async fn settle(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.running().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits at most `budget` for the message under `key`, when it is
    /// still being worked on; `None` when it is not.
    pub async fn wait(&self, key: &str, budget: Duration) -> Option<Waited> {
        let done = self.running().get(key).map(|r| r.done.clone())?;
        Some(wait_on(done, budget).await)
    }
}
