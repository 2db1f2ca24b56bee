//! Menu buttons: what each token does, for whom, and whether it was used
//! (see `migrations/0015_menu_buttons.sql`).

use sqlx::SqliteConnection;

use super::StoreError;
use crate::domain::{MenuAction, MenuButton, Millis};

/// How long a menu's buttons work.
pub const MENU_TTL: Millis = 24 * 60 * 60 * 1000;

/// Keeps the buttons offered to `actor`: their labels and fresh tokens.
pub async fn offer(
    conn: &mut SqliteConnection,
    actor: &str,
    buttons: &[(String, MenuAction)],
    now: Millis,
) -> Result<Vec<MenuButton>, StoreError> {
    let mut offered = Vec::with_capacity(buttons.len());
    for (label, action) in buttons {
        let token = hex::encode(rand::random::<[u8; 16]>());
        let action = serde_json::to_string(action).map_err(|e| StoreError::corrupt("menu_buttons", e))?;
        sqlx::query(
            "INSERT INTO menu_buttons (token, actor, action, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token)
        .bind(actor)
        .bind(action)
        .bind(label)
        .bind(now)
        .bind(now + MENU_TTL)
        .execute(&mut *conn)
        .await?;
        offered.push(MenuButton { label: label.clone(), token });
    }
    Ok(offered)
}

/// Why a press of a menu button does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unclaimed {
    Unknown,
    NotYours,
    Expired,
    Used,
}

impl Unclaimed {
    pub fn text(&self) -> &'static str {
        match self {
            Self::Unknown => "That button is not one of mine.",
            Self::NotYours => "That button was offered to someone else.",
            Self::Expired => "That button has expired; ask again for a fresh list.",
            Self::Used => "That button was used already.",
        }
    }
}

/// Claims the button `token` for `actor`'s press `event`: what it does,
/// once. The same press again (a redelivery) claims it again; any other
/// press is refused.
pub async fn claim(
    conn: &mut SqliteConnection,
    token: &str,
    actor: &str,
    event: &str,
    now: Millis,
) -> Result<Result<MenuAction, Unclaimed>, StoreError> {
    let row: Option<(String, String, Millis, Option<String>)> =
        sqlx::query_as("SELECT actor, action, expires_at, used_by FROM menu_buttons WHERE token = ?")
            .bind(token)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((owner, action, expires_at, used_by)) = row else { return Ok(Err(Unclaimed::Unknown)) };
    if owner != actor {
        return Ok(Err(Unclaimed::NotYours));
    }
    match used_by {
        Some(by) if by != event => return Ok(Err(Unclaimed::Used)),
        Some(_) => {}
        None if expires_at <= now => return Ok(Err(Unclaimed::Expired)),
        None => {
            let claimed =
                sqlx::query("UPDATE menu_buttons SET used_at = ?, used_by = ? WHERE token = ? AND used_by IS NULL")
                    .bind(now)
                    .bind(event)
                    .bind(token)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            if claimed == 0 {
                return Ok(Err(Unclaimed::Used));
            }
        }
    }
    serde_json::from_str(&action).map(Ok).map_err(|e| StoreError::corrupt("menu_buttons", e))
}
