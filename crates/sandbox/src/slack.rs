//! The sandbox workspace's messages: `chat.postMessage` posts into one of its channels and
//! `conversations.history` reads them back, newest first, as Slack does. Each channel keeps
//! its latest messages only.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::api::{SLACK_CHANNELS, slack_channel_index, slack_params};
use crate::query_of;

/// How many messages a channel keeps.
const KEPT: usize = 50;

/// Messages by channel id; only the sandbox's own channels are ever keys.
#[derive(Default)]
pub struct Messages(Mutex<HashMap<String, VecDeque<Value>>>);

impl Messages {
    fn post(&self, channel: &str, message: Value) {
        let mut channels = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = channels.entry(channel.to_owned()).or_default();
        if kept.len() == KEPT {
            kept.pop_back();
        }
        kept.push_front(message);
    }

    fn history(&self, channel: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .map(|kept| kept.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Slack's answer to its message methods; `None` for any other path.
pub fn answer(
    messages: &Messages,
    path: &str,
    request: &HttpRequest,
    body: &[u8],
    shared: bool,
) -> Option<HttpResponse> {
    let reach = if shared { SLACK_CHANNELS } else { 0 };
    match path {
        "/api/chat.postMessage" => Some(post_message(messages, request, body, reach)),
        "/api/conversations.history" => Some(history(messages, request, body, reach)),
        _ => None,
    }
}

/// The method's parameters: a JSON body (as Plugboard sends), or Slack's query and form.
fn params(request: &HttpRequest, body: &[u8]) -> BTreeMap<String, String> {
    let json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return slack_params(request, &query_of(request), body);
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return BTreeMap::new();
    };
    fields
        .into_iter()
        .filter_map(|(key, value)| match value {
            Value::String(text) => Some((key, text)),
            Value::Bool(_) | Value::Number(_) => Some((key, value.to_string())),
            _ => None,
        })
        .collect()
}

fn refused(error: &str) -> HttpResponse {
    // Slack refuses with HTTP 200 and `ok: false`.
    HttpResponse::Ok().json(json!({ "ok": false, "error": error }))
}

fn post_message(
    messages: &Messages,
    request: &HttpRequest,
    body: &[u8],
    reach: usize,
) -> HttpResponse {
    let params = params(request, body);
    let Some(channel) = params.get("channel") else {
        return refused("channel_not_found");
    };
    if slack_channel_index(channel, reach).is_none() {
        return refused("channel_not_found");
    }
    let text = params.get("text").map(String::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return refused("no_text");
    }
    let ts = format!(
        "{}.{:06}",
        chrono::Utc::now().timestamp(),
        chrono::Utc::now().timestamp_subsec_micros()
    );
    let message = json!({ "type": "message", "text": text, "ts": ts, "bot_id": "B0SANDBOX01" });
    messages.post(channel, message.clone());
    HttpResponse::Ok().json(json!({ "ok": true, "channel": channel, "ts": ts, "message": message }))
}

fn history(messages: &Messages, request: &HttpRequest, body: &[u8], reach: usize) -> HttpResponse {
    let params = params(request, body);
    let Some(channel) = params
        .get("channel")
        .filter(|c| slack_channel_index(c, reach).is_some())
    else {
        return refused("channel_not_found");
    };
    HttpResponse::Ok().json(json!({
        "ok": true,
        "messages": messages.history(channel),
        "has_more": false,
    }))
}
