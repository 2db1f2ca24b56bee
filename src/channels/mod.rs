//! The ways in and out of steward. Each channel turns platform events into
//! requests and renders what steward says back. For now this is the HTTP API;
//! Telegram and Discord join it here.

pub mod http;
