//! Bearer-token authentication for every `/v1` route.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::SecretString;

use super::error::ApiError;
use crate::config::secret_matches;

pub async fn require_bearer(
    State(token): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if secret_matches(&token, given) => Ok(next.run(request).await),
        _ => Err(ApiError::unauthorized()),
    }
}
