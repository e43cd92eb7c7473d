//! Every state × every input: the next state, the event and the notice.

mod due;
mod plan;

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::ids::{ConnectionId, OrgId};
use crate::registry::Registry;

use ConnectionStatus::{
    Connected as C, Disabled as D, Error as E, Expired as X, NotConnected as N,
};

const STATES: [ConnectionStatus; 5] = [N, C, X, E, D];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn problem(code: ProblemCode) -> Problem {
    Problem {
        code,
        message: format!("{code} happened."),
    }
}

/// A connection in `status` as it would be stored: live ones were connected a day ago.
fn connection(status: ConnectionStatus) -> Connection {
    let then = now() - Duration::days(1);
    let live = status != N;
    Connection {
        id: ConnectionId::new(),
        org_id: OrgId::new(),
        provider: "slack".to_owned(),
        status,
        enabled: status != D,
        config: BTreeMap::new(),
        account_name: live.then(|| "Acme".to_owned()),
        account_id: live.then(|| "T1".to_owned()),
        scopes: if live {
            vec!["chat:write".to_owned()]
        } else {
            vec![]
        },
        token_expires_at: live.then_some(now() + Duration::hours(1)),
        last_tested_at: live.then_some(then),
        last_sync_at: None,
        last_error: matches!(status, X | E).then(|| problem(ProblemCode::TokenExpired)),
        connected_at: live.then_some(then),
        connected_by: None,
        disconnected_at: None,
        last_used: None,
        version: 3,
        created_at: then,
        updated_at: then,
    }
}

fn verified() -> Check {
    Check::Verified {
        account_name: Some("Acme Two".to_owned()),
        account_id: Some("T2".to_owned()),
        message: "Connected to Acme Two.".to_owned(),
    }
}

fn refused() -> Check {
    Check::Refused(problem(ProblemCode::CredentialsRejected))
}

fn unavailable() -> Check {
    Check::Unavailable(problem(ProblemCode::ProviderUnavailable))
}

fn grant() -> Grant {
    Grant {
        account_name: Some("Acme".to_owned()),
        account_id: Some("T1".to_owned()),
        scopes: vec!["chat:write".to_owned()],
        expires_at: now() + Duration::hours(12),
        message: "Connected to Acme.".to_owned(),
    }
}

/// What a row expects: the next status, the event's action and success, and the notice.
#[derive(Debug, PartialEq)]
enum Expect {
    To(ConnectionStatus, EventAction, bool, Note),
    Rejected { unavailable: bool },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Note {
    None,
    Broken,
    Recovered,
}

use EventAction as A;
use Expect::To;
use Note::{Broken as B, None as Q, Recovered as R};

fn outcome(provider: &Provider, status: ConnectionStatus, input: Input) -> Expect {
    match decide(&connection(status), provider, input, now()) {
        Ok(decision) => To(
            decision.connection.status,
            decision.event.action,
            decision.event.success,
            match decision.notice {
                None => Q,
                Some(Notice::Broken { .. }) => B,
                Some(Notice::Recovered { .. }) => R,
            },
        ),
        Err(rejected) => Expect::Rejected {
            unavailable: rejected.unavailable,
        },
    }
}

/// One input against every state, in the order of `STATES` (N, C, X, E, D).
fn row(provider: &Provider, input: impl Fn() -> Input, expected: [Expect; 5]) {
    for (status, expected) in STATES.into_iter().zip(expected) {
        let got = outcome(provider, status, input());
        assert_eq!(got, expected, "from {status} on {:?}", input());
    }
}

fn oauth_provider() -> Provider {
    Registry::builtin().unwrap().get("slack").unwrap().clone()
}

fn key_provider() -> Provider {
    Registry::builtin().unwrap().get("openai").unwrap().clone()
}

#[test]
fn saved_settings_and_credentials() {
    let p = oauth_provider();
    row(
        &p,
        || Input::Saved {
            check: None,
            by: None,
        },
        [
            To(N, A::Configure, true, Q),
            To(C, A::Configure, true, Q),
            To(X, A::Configure, true, Q),
            To(E, A::Configure, true, Q),
            To(D, A::Configure, true, Q),
        ],
    );
    row(
        &p,
        || Input::Saved {
            check: Some(verified()),
            by: None,
        },
        [
            To(C, A::Connect, true, Q),
            To(C, A::Configure, true, Q),
            To(C, A::Configure, true, R),
            To(C, A::Configure, true, R),
            To(D, A::Configure, true, Q),
        ],
    );
    let refused_everywhere = || std::array::from_fn(|_| Expect::Rejected { unavailable: false });
    row(
        &p,
        || Input::Saved {
            check: Some(refused()),
            by: None,
        },
        refused_everywhere(),
    );
    row(
        &p,
        || Input::Saved {
            check: Some(unavailable()),
            by: None,
        },
        std::array::from_fn(|_| Expect::Rejected { unavailable: true }),
    );
}

#[test]
fn checks_of_an_oauth_connection() {
    let p = oauth_provider();
    for (kind, action) in [
        (CheckKind::Test, A::Test),
        (CheckKind::HealthCheck, A::HealthCheck),
        (CheckKind::Sync, A::Sync),
    ] {
        row(
            &p,
            || Input::Checked {
                kind,
                check: verified(),
            },
            [
                To(N, action, true, Q),
                To(C, action, true, Q),
                To(C, action, true, R),
                To(C, action, true, R),
                To(D, action, true, Q),
            ],
        );
        // A refused OAuth token: the grant is gone; erroring ones move on to expired, in the
        // same incident.
        row(
            &p,
            || Input::Checked {
                kind,
                check: refused(),
            },
            [
                To(N, action, false, Q),
                To(X, action, false, B),
                To(X, action, false, Q),
                To(X, action, false, Q),
                To(D, action, false, Q),
            ],
        );
        row(
            &p,
            || Input::Checked {
                kind,
                check: unavailable(),
            },
            [
                To(N, action, false, Q),
                To(E, action, false, B),
                To(X, action, false, Q),
                To(E, action, false, Q),
                To(D, action, false, Q),
            ],
        );
    }
}

#[test]
fn a_refused_key_is_an_error_not_an_expiry() {
    let p = key_provider();
    row(
        &p,
        || Input::Checked {
            kind: CheckKind::Test,
            check: refused(),
        },
        [
            To(N, A::Test, false, Q),
            To(E, A::Test, false, B),
            To(X, A::Test, false, Q),
            To(E, A::Test, false, Q),
            To(D, A::Test, false, Q),
        ],
    );
}

#[test]
fn oauth_grants() {
    let p = oauth_provider();
    row(
        &p,
        || Input::OAuthConnected {
            grant: grant(),
            by: None,
        },
        [
            To(C, A::Connect, true, Q),
            To(C, A::Connect, true, Q),
            To(C, A::Connect, true, R),
            To(C, A::Connect, true, R),
            To(C, A::Connect, true, Q),
        ],
    );
}

#[test]
fn refresh_outcomes() {
    let p = oauth_provider();
    let renewed = || {
        Input::Refreshed(Refresh::Renewed {
            expires_at: now() + Duration::hours(1),
            scopes: vec![],
        })
    };
    row(
        &p,
        renewed,
        [
            To(N, A::Refresh, true, Q),
            To(C, A::Refresh, true, Q),
            To(C, A::Refresh, true, R),
            To(C, A::Refresh, true, R),
            To(D, A::Refresh, true, Q),
        ],
    );
    // A non-expiring token exchanged for an expiring one is a renewal like any other.
    row(
        &p,
        || {
            Input::Refreshed(Refresh::Exchanged {
                expires_at: now() + Duration::hours(1),
                scopes: vec![],
            })
        },
        [
            To(N, A::Refresh, true, Q),
            To(C, A::Refresh, true, Q),
            To(C, A::Refresh, true, R),
            To(C, A::Refresh, true, R),
            To(D, A::Refresh, true, Q),
        ],
    );
    row(
        &p,
        || Input::Refreshed(Refresh::Revoked),
        [
            To(N, A::Refresh, false, Q),
            To(X, A::Refresh, false, B),
            To(X, A::Refresh, false, Q),
            To(X, A::Refresh, false, Q),
            To(D, A::Refresh, false, Q),
        ],
    );
    // An outage keeps everything as it is: the tokens still work until they expire.
    row(
        &p,
        || Input::Refreshed(Refresh::Transient),
        [
            To(N, A::Refresh, false, Q),
            To(C, A::Refresh, false, Q),
            To(X, A::Refresh, false, Q),
            To(E, A::Refresh, false, Q),
            To(D, A::Refresh, false, Q),
        ],
    );
    // Losing a race to another refresh is not a revocation.
    row(
        &p,
        || Input::Refreshed(Refresh::LostRace),
        [
            To(N, A::Refresh, true, Q),
            To(C, A::Refresh, true, Q),
            To(X, A::Refresh, true, Q),
            To(E, A::Refresh, true, Q),
            To(D, A::Refresh, true, Q),
        ],
    );
}

#[test]
fn switching_off_and_on() {
    let p = oauth_provider();
    row(
        &p,
        || Input::Disabled,
        std::array::from_fn(|_| To(D, A::Disable, true, Q)),
    );
    row(
        &p,
        || Input::Enabled { check: None },
        [
            To(N, A::Enable, true, Q),
            To(C, A::Enable, true, Q),
            To(X, A::Enable, true, Q),
            To(E, A::Enable, true, Q),
            To(N, A::Enable, true, Q),
        ],
    );
    row(
        &p,
        || Input::Enabled {
            check: Some(verified()),
        },
        [
            To(N, A::Enable, true, Q),
            To(C, A::Enable, true, Q),
            To(C, A::Enable, true, R),
            To(C, A::Enable, true, R),
            To(C, A::Enable, true, Q),
        ],
    );
    row(
        &p,
        || Input::Enabled {
            check: Some(refused()),
        },
        [
            To(N, A::Enable, false, Q),
            To(X, A::Enable, false, B),
            To(X, A::Enable, false, Q),
            To(X, A::Enable, false, Q),
            To(X, A::Enable, false, B),
        ],
    );
}

#[test]
fn disconnecting() {
    let p = oauth_provider();
    row(
        &p,
        || Input::Disconnected,
        std::array::from_fn(|_| To(N, A::Disconnect, true, Q)),
    );
    for status in STATES {
        let decision = decide(&connection(status), &p, Input::Disconnected, now()).unwrap();
        assert!(decision.forget_secrets);
        assert!(decision.connection.enabled);
        assert_eq!(decision.connection.account_name, None);
        assert_eq!(decision.connection.token_expires_at, None);
        assert_eq!(decision.connection.disconnected_at, Some(now()));
    }
}

#[test]
fn tokens_past_expiry() {
    let p = oauth_provider();
    row(
        &p,
        || Input::TokenPastExpiry { renewable: true },
        [
            To(N, A::Refresh, false, Q),
            To(E, A::Refresh, false, B),
            To(X, A::Refresh, false, Q),
            To(E, A::Refresh, false, Q),
            To(D, A::Refresh, false, Q),
        ],
    );
    row(
        &p,
        || Input::TokenPastExpiry { renewable: false },
        [
            To(N, A::Refresh, false, Q),
            To(X, A::Refresh, false, B),
            To(X, A::Refresh, false, Q),
            To(X, A::Refresh, false, Q),
            To(D, A::Refresh, false, Q),
        ],
    );
}

#[test]
fn only_the_decided_fields_change() {
    let p = oauth_provider();
    let before = connection(C);
    let decision = decide(&before, &p, Input::Refreshed(Refresh::Transient), now()).unwrap();
    assert_eq!(
        decision.connection, before,
        "an outage changes nothing stored"
    );

    let decision = decide(
        &before,
        &p,
        Input::Checked {
            kind: CheckKind::Sync,
            check: verified(),
        },
        now(),
    )
    .unwrap();
    assert_eq!(decision.connection.last_sync_at, Some(now()));
    assert_eq!(decision.connection.last_tested_at, Some(now()));
    assert_eq!(
        decision.connection.account_name.as_deref(),
        Some("Acme Two")
    );
    assert_eq!(decision.connection.version, before.version);
}

#[test]
fn a_first_connection_records_who_and_when() {
    let p = key_provider();
    let by = Some(crate::UserId::new());
    let decision = decide(
        &connection(N),
        &p,
        Input::Saved {
            check: Some(verified()),
            by,
        },
        now(),
    )
    .unwrap();
    assert_eq!(decision.connection.connected_at, Some(now()));
    assert_eq!(decision.connection.connected_by, by);
    assert_eq!(decision.event.message, "Connected to Acme Two.");
}

#[test]
fn notices_name_what_broke_and_what_recovered() {
    let p = oauth_provider();
    let decision = decide(
        &connection(C),
        &p,
        Input::Refreshed(Refresh::Revoked),
        now(),
    )
    .unwrap();
    let Some(Notice::Broken {
        from,
        status,
        problem,
    }) = decision.notice
    else {
        panic!("a revoked grant opens an incident");
    };
    assert_eq!(from, C);
    assert_eq!(status, X);
    assert_eq!(problem.code, ProblemCode::RefreshRefused);
    assert!(problem.message.contains("Reconnect Slack"));

    let decision = decide(
        &connection(X),
        &p,
        Input::OAuthConnected {
            grant: grant(),
            by: None,
        },
        now(),
    )
    .unwrap();
    assert_eq!(decision.notice, Some(Notice::Recovered { from: X }));
    assert_eq!(decision.connection.last_error, None);
}

#[test]
fn refused_credentials_keep_nothing_and_say_so() {
    let p = key_provider();
    let rejected = decide(
        &connection(C),
        &p,
        Input::Saved {
            check: Some(refused()),
            by: None,
        },
        now(),
    )
    .unwrap_err();
    assert!(!rejected.unavailable);
    assert_eq!(rejected.problem.code, ProblemCode::CredentialsRejected);
    assert!(rejected.problem.message.ends_with("Nothing was saved."));
}

#[test]
fn an_exchanged_token_says_so_in_the_history() {
    let p = oauth_provider();
    let expires_at = now() + Duration::hours(1);
    let before = connection(C);
    let renewed = decide(
        &before,
        &p,
        Input::Refreshed(Refresh::Renewed {
            expires_at,
            scopes: vec![],
        }),
        now(),
    )
    .unwrap();
    let exchanged = decide(
        &before,
        &p,
        Input::Refreshed(Refresh::Exchanged {
            expires_at,
            scopes: vec![],
        }),
        now(),
    )
    .unwrap();
    assert_eq!(exchanged.connection, renewed.connection);
    assert_eq!(
        exchanged.event.message,
        format!(
            "Slack's non-expiring token was exchanged for an expiring one that Plugboard renews from now on. {}",
            renewed.event.message
        )
    );
}

#[test]
fn only_a_live_connection_may_renew() {
    for status in STATES {
        assert_eq!(may_renew(&connection(status)), status != N, "{status}");
    }
}

#[test]
fn which_statuses_are_live_and_which_need_attention() {
    // N, C, X, E, D
    let live: Vec<bool> = STATES.iter().map(|s| s.is_live()).collect();
    let attention: Vec<bool> = STATES.iter().map(|s| s.needs_attention()).collect();
    assert_eq!(live, [false, true, true, true, true]);
    assert_eq!(attention, [false, false, true, true, false]);
}

#[test]
fn a_revoked_grant_expires_once_and_forgets_its_tokens() {
    let p = oauth_provider();
    let revoked = || Input::Revoked(problem(ProblemCode::AppUninstalled));
    row(
        &p,
        revoked,
        [
            To(N, A::Revoke, false, Q),
            To(X, A::Revoke, false, B),
            To(X, A::Revoke, false, Q),
            To(X, A::Revoke, false, Q),
            To(D, A::Revoke, false, Q),
        ],
    );
    let decision = decide(&connection(C), &p, revoked(), now()).unwrap();
    assert!(decision.forget_secrets);
    assert_eq!(decision.connection.token_expires_at, None);
    assert_eq!(
        decision.connection.last_error.map(|e| e.message),
        Some("app_uninstalled happened.".to_owned())
    );
    assert_eq!(decision.event.message, "app_uninstalled happened.");
}

#[test]
fn an_erasure_leaves_no_setting_or_account_name() {
    let p = oauth_provider();
    row(
        &p,
        || Input::Erased,
        std::array::from_fn(|_| To(N, A::Erase, true, Q)),
    );
    let mut shop = connection(X);
    shop.config
        .insert("shop".to_owned(), "acme.myshopify.com".to_owned());
    let decision = decide(&shop, &p, Input::Erased, now()).unwrap();
    assert!(decision.forget_secrets);
    assert!(decision.connection.config.is_empty());
    assert_eq!(decision.connection.account_name, None);
    assert_eq!(decision.connection.account_id, None);
    assert!(decision.connection.scopes.is_empty());
    assert!(!decision.event.message.contains("acme"));
}
