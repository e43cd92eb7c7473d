//! The sandbox's HTML: the consent screen, its refusals and the control page. Plain pages with
//! inline styles, so nothing is fetched from elsewhere.

use actix_web::{HttpRequest, HttpResponse};
use domain::registry::Provider;

use crate::consent::ConsentRequest;
use crate::{Mode, Sandbox};

/// The name the sandbox's consent screen gives the app asking for access.
const APP_NAME: &str = "Plugboard";

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

fn html(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-frame-options", "DENY"))
        .body(format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Plugboard provider sandbox</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1f2328;margin:0}}
main{{max-width:34rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 3px #0002}}
.banner{{background:#fff3cd;color:#664d03;padding:.5rem 1rem;text-align:center;font-size:.9rem}}
h1{{font-size:1.3rem}} ul{{padding-left:1.2rem}} code{{background:#eef;padding:0 .2rem;border-radius:3px}}
button{{font-size:1rem;padding:.6rem 1.4rem;border-radius:8px;border:1px solid #888;cursor:pointer;margin-right:.5rem}}
button.approve{{background:#1f6feb;color:#fff;border-color:#1f6feb}}
table{{width:100%;border-collapse:collapse}} td{{padding:.3rem;border-bottom:1px solid #eee}}
</style></head>
<body><div class="banner">Provider sandbox — nothing here talks to the real provider.</div>
<main>{body}</main></body></html>"#,
            title = escape(title),
        ))
}

pub fn consent(
    provider: &Provider,
    host: &str,
    consent: &ConsentRequest,
    request: &HttpRequest,
) -> HttpResponse {
    let scopes: Vec<String> = consent
        .scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let scopes = if scopes.is_empty() {
        "<p>No particular permissions.</p>".to_owned()
    } else {
        format!("<p>It asks to:</p><ul>{}</ul>", scopes.join(""))
    };
    let account = if host.ends_with(".myshopify.com") {
        format!("the store <strong>{}</strong>", escape(host))
    } else {
        format!("your {} account", escape(&provider.name))
    };
    let action = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.path().to_owned(), |pq| pq.as_str().to_owned());
    let body = format!(
        r#"<h1>{app} wants to access {account}</h1>
<p><strong>{app}</strong> is asking for access to {provider}.</p>
{scopes}
<form method="post" action="{action}">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"#,
        app = APP_NAME,
        provider = escape(&provider.name),
        action = escape(&action),
    );
    html(
        actix_web::http::StatusCode::OK,
        &format!("Connect {}", provider.name),
        &body,
    )
}

/// The provider will not show a consent screen for this request.
pub fn refused(provider: &Provider, problem: &str) -> HttpResponse {
    let body = format!(
        "<h1>{} cannot continue</h1><p>{}</p>",
        escape(&provider.name),
        escape(problem)
    );
    html(
        actix_web::http::StatusCode::BAD_REQUEST,
        "Request refused",
        &body,
    )
}

/// An identity provider's sign-in page: one button per persona, posting `persona=<id>`.
pub fn sign_in(idp: &str, action: &str, personas: &[(&str, &str)]) -> HttpResponse {
    let buttons: Vec<String> = personas
        .iter()
        .map(|(id, label)| {
            format!(
                r#"<p><button class="approve" type="submit" name="persona" value="{}">{}</button></p>"#,
                escape(id),
                escape(label)
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Sign in to {app} with {idp}</h1>
<p>Choose who signs in. Each is a made-up account of the sandbox's {idp}.</p>
<form method="post" action="{action}">
{buttons}
<p><button type="submit" name="persona" value="">Cancel</button></p>
</form>"#,
        app = APP_NAME,
        idp = escape(idp),
        action = escape(action),
        buttons = buttons.join("\n"),
    );
    html(
        actix_web::http::StatusCode::OK,
        &format!("Sign in with {idp}"),
        &body,
    )
}

pub fn sign_in_refused(idp: &str, problem: &str) -> HttpResponse {
    let body = format!(
        "<h1>{} cannot sign you in</h1><p>{}</p>",
        escape(idp),
        escape(problem)
    );
    html(
        actix_web::http::StatusCode::BAD_REQUEST,
        "Sign-in refused",
        &body,
    )
}

pub fn control(sandbox: &Sandbox) -> HttpResponse {
    let rows: Vec<String> = sandbox
        .config
        .registry
        .providers()
        .iter()
        .map(|p| {
            let current = sandbox.mode(&p.id);
            let options: Vec<String> = Mode::CHOICES
                .iter()
                .map(|(value, label)| {
                    let selected = if *value == current.name() { " selected" } else { "" };
                    format!(r#"<option value="{value}"{selected}>{label}</option>"#)
                })
                .collect();
            format!(
                r#"<tr><td>{name}</td><td><form method="post" action="/sandbox/_modes/{id}"><select name="mode">{options}</select> <button type="submit">Set</button></form></td></tr>"#,
                name = escape(&p.name),
                id = escape(&p.id),
                options = options.join(""),
            )
        })
        .collect();
    let events: Vec<String> = crate::inbound::EVENTS
        .iter()
        .map(|e| {
            format!(
                r#"<option value="{provider} {topic}" data-account="{account}">{label}</option>"#,
                provider = escape(e.provider),
                topic = escape(e.topic),
                account = escape(&crate::inbound::default_account(e.provider)),
                label = escape(e.label),
            )
        })
        .collect();
    let webhooks = format!(
        r#"<h2>Provider webhooks</h2><p>Send what a provider sends its app, signed as the provider signs it, to Plugboard. The account is the shop domain for Shopify; the sandbox's own accounts are <code>sandbox-slack-001</code>, <code>sandbox-meta_ads-001</code> and <code>sandbox-stripe-001</code>.</p>
<form method="post" action="/sandbox/_webhooks"><p><label>Webhook <select name="event">{}</select></label></p>
<p><label>Account <input name="account" value="your-store.myshopify.com" required maxlength="255"></label></p>
<button type="submit">Send</button></form>"#,
        events.join("")
    );
    let body = format!(
        r#"<h1>Provider sandbox</h1><p>Every provider points here. Make one fail to see how Plugboard shows it. Keys containing <code>invalid</code> are refused.</p>
<p>A mode holds for every organization, so switching one takes a platform admin (<code>PLUGBOARD_ADMIN_EMAILS</code>) signed in to Plugboard in this browser.</p>
<p id="status" role="status"></p><table>{}</table>
{webhooks}
<script src="/sandbox/control.js" defer></script>"#,
        rows.join("")
    );
    html(actix_web::http::StatusCode::OK, "Providers", &body)
}

/// What Plugboard answered a webhook the sandbox sent.
pub fn sent(status: u16, message: &str) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    html(
        status,
        "Webhook",
        &format!(
            r#"<h1>Provider webhook</h1><p role="status">{}</p><p><a href="/sandbox">Back to the sandbox</a></p>"#,
            escape(message)
        ),
    )
}

/// The control page's one script: a form post cannot carry an access token, so it trades the
/// browser's Plugboard session (the refresh cookie) for one and sends the switch with it.
const CONTROL_SCRIPT: &str = r#"document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || select.name !== "event") return;
  const account = select.form && select.form.elements.namedItem("account");
  const chosen = select.selectedOptions[0];
  if (account && chosen && chosen.dataset.account) account.value = chosen.dataset.account;
});
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.action.includes("/sandbox/_modes/")) return;
  event.preventDefault();
  const say = (text) => { document.getElementById("status").textContent = text; };
  const session = await fetch("/api/v1/auth/refresh", { method: "POST", credentials: "same-origin" });
  if (!session.ok) {
    say("Sign in to Plugboard in this browser as a platform admin first, then switch again.");
    return;
  }
  const { access_token } = await session.json();
  const answer = await fetch(form.action, {
    method: "POST",
    headers: { authorization: `Bearer ${access_token}` },
    body: new URLSearchParams(new FormData(form)),
  });
  if (answer.ok) {
    window.location.assign("/sandbox");
  } else if (answer.status === 404) {
    say("Only a platform admin (PLUGBOARD_ADMIN_EMAILS) can switch modes.");
  } else {
    say(`The switch was refused (${answer.status}).`);
  }
});
"#;

pub async fn control_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(CONTROL_SCRIPT)
}
