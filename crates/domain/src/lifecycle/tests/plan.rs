//! Planning a change: every kind of change against the states it can meet, with what is wrong
//! with it, whether the provider is asked first, and the steps it comes to.

use std::collections::BTreeSet;

use super::*;

const VALID_KEY: &str = "sk-test-1234567890abcdef";

fn provider(id: &str) -> Provider {
    Registry::builtin().unwrap().get(id).unwrap().clone()
}

fn held(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// A change built up one part at a time.
struct Ask {
    provider: Provider,
    change: Change,
}

fn ask(provider_id: &str) -> Ask {
    Ask {
        provider: provider(provider_id),
        change: Change::default(),
    }
}

impl Ask {
    fn put(mut self, key: &str, value: &str) -> Ask {
        let edit = CredentialEdit::put(&self.provider, key, value);
        self.change.credentials.insert(key.to_owned(), edit);
        self
    }

    fn remove(mut self, key: &str) -> Ask {
        self.change
            .credentials
            .insert(key.to_owned(), CredentialEdit::Remove);
        self
    }

    fn set(mut self, key: &str, value: Option<&str>) -> Ask {
        self.change
            .config
            .insert(key.to_owned(), value.map(str::to_owned));
        self
    }

    fn switch(mut self, on: bool) -> Ask {
        self.change.enabled = Some(on);
        self
    }

    fn plan(&self, status: ConnectionStatus, keys: &[&str]) -> Result<Plan, Vec<FieldProblem>> {
        plan(
            &connection(status),
            &held(keys),
            &self.provider,
            &self.change,
            now(),
        )
    }
}

/// What a row expects: the paths of the problems, or whether the provider is asked and the
/// steps.
#[derive(Debug, PartialEq)]
enum Planned {
    Invalid(Vec<String>),
    Do(bool, Vec<Step>),
}

use Planned::Do;

/// The problems' paths, in order.
fn invalid(paths: &[&str]) -> Planned {
    Planned::Invalid(paths.iter().map(|p| (*p).to_owned()).collect())
}

const SAVE_CHECKED: Step = Step::Save { checked: true };
const SAVE: Step = Step::Save { checked: false };

fn planned(ask: &Ask, status: ConnectionStatus, keys: &[&str]) -> Planned {
    match ask.plan(status, keys) {
        Ok(plan) => Do(plan.needs_check, plan.steps),
        Err(problems) => Planned::Invalid(problems.iter().map(|p| p.at.to_string()).collect()),
    }
}

#[test]
fn plans() {
    let rows: Vec<(Ask, ConnectionStatus, &[&str], Planned)> = vec![
        // New credentials are checked before they are kept, on any connection.
        (
            ask("openai").put("api_key", VALID_KEY),
            N,
            &[],
            Do(true, vec![SAVE_CHECKED]),
        ),
        (
            ask("openai").put("api_key", VALID_KEY),
            C,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED]),
        ),
        (
            ask("openai").put("api_key", VALID_KEY),
            D,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED]),
        ),
        // Settings of a connection never connected are kept unchecked; a live one's are checked.
        (
            ask("openai").set("organization", Some("org-abcdefgh")),
            N,
            &[],
            Do(false, vec![SAVE]),
        ),
        (
            ask("openai").set("organization", Some("org-abcdefgh")),
            C,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED]),
        ),
        (
            ask("openai").set("organization", Some("org-abcdefgh")),
            X,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED]),
        ),
        // …unless its credentials are gone (nothing to check with).
        (
            ask("openai").set("organization", None),
            E,
            &[],
            Do(false, vec![SAVE]),
        ),
        // The switch.
        (
            ask("openai").switch(false),
            C,
            &["api_key"],
            Do(false, vec![Step::Disable]),
        ),
        (
            ask("openai").switch(false),
            D,
            &["api_key"],
            Do(false, vec![]),
        ),
        (
            ask("openai").switch(true),
            C,
            &["api_key"],
            Do(false, vec![]),
        ),
        (
            ask("openai").switch(true),
            D,
            &["api_key"],
            Do(true, vec![Step::Enable]),
        ),
        (
            ask("openai").switch(true),
            D,
            &[],
            Do(false, vec![Step::Enable]),
        ),
        // Settings and the switch at once: one check serves both.
        (
            ask("openai")
                .set("organization", Some("org-abcdefgh"))
                .switch(true),
            D,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED, Step::Enable]),
        ),
        (
            ask("openai").put("api_key", VALID_KEY).switch(false),
            C,
            &["api_key"],
            Do(true, vec![SAVE_CHECKED, Step::Disable]),
        ),
        (ask("openai"), C, &["api_key"], Do(false, vec![])),
        // Removing an optional secret is a change of a live connection's settings.
        (
            ask("lob").remove("webhook_secret"),
            C,
            &["api_key", "webhook_secret"],
            Do(true, vec![SAVE_CHECKED]),
        ),
        // A public id has no secret: its settings are what is checked.
        (
            ask("clarity").set("project_id", Some("abcde12345")),
            N,
            &[],
            Do(true, vec![SAVE_CHECKED]),
        ),
        // What is wrong, every problem at once: credentials before settings.
        (
            ask("openai").put("api_key", "nope"),
            N,
            &[],
            invalid(&["credentials.api_key"]),
        ),
        (
            ask("openai").put("token", VALID_KEY),
            N,
            &[],
            invalid(&["credentials.token"]),
        ),
        (
            ask("openai").remove("api_key"),
            C,
            &["api_key"],
            invalid(&["credentials.api_key"]),
        ),
        (
            ask("openai").set("region", Some("eu")),
            C,
            &["api_key"],
            invalid(&["config.region"]),
        ),
        (
            ask("openai")
                .put("api_key", "nope")
                .set("organization", Some("acme")),
            N,
            &[],
            invalid(&["credentials.api_key", "config.organization"]),
        ),
        (
            ask("slack").put("access_token", "xoxb-1"),
            C,
            &["access_token"],
            invalid(&["credentials", "credentials.access_token"]),
        ),
        // Required fields still missing once the change is applied.
        (
            ask("lob").put("webhook_secret", "whsec"),
            N,
            &[],
            invalid(&["credentials.api_key"]),
        ),
        (
            ask("clarity").set("project_id", None),
            C,
            &[],
            invalid(&["config.project_id"]),
        ),
    ];
    for (ask, status, keys, expected) in rows {
        let got = planned(&ask, status, keys);
        assert_eq!(
            got, expected,
            "{} from {status} holding {keys:?}: {:?}",
            ask.provider.id, ask.change
        );
    }
}

#[test]
fn problems_say_what_to_do() {
    let problems = ask("slack")
        .put("access_token", "xoxb-1")
        .plan(C, &[])
        .unwrap_err();
    assert_eq!(
        problems[0].message,
        "Slack connects with OAuth: start it with POST …/integrations/slack/oauth/start instead of sending credentials."
    );
    assert_eq!(
        problems[1].message,
        "Slack has no credential `access_token`; expected: none."
    );
    let problems = ask("openai").remove("api_key").plan(C, &[]).unwrap_err();
    assert_eq!(
        problems[0].message,
        "API key is required; send a new value instead of removing it."
    );
    let problems = ask("openai")
        .set("region", Some("eu"))
        .plan(C, &[])
        .unwrap_err();
    assert_eq!(
        problems[0].message,
        "OpenAI has no setting `region`; expected: organization."
    );
    let problems = ask("openai")
        .put("api_key", "nope")
        .plan(N, &[])
        .unwrap_err();
    assert_eq!(problems[0].message, "An OpenAI API key starts with sk-.");
    let problems = ask("lob")
        .put("webhook_secret", "whsec")
        .plan(N, &[])
        .unwrap_err();
    assert_eq!(
        problems[0].message,
        "Secret API key is required to connect Lob."
    );
}

#[test]
fn a_new_value_is_checked_and_not_kept() {
    let p = provider("openai");
    assert_eq!(
        CredentialEdit::put(&p, "api_key", VALID_KEY),
        CredentialEdit::Put { malformed: None }
    );
    assert_eq!(
        CredentialEdit::put(&p, "api_key", "nope"),
        CredentialEdit::Put {
            malformed: Some("An OpenAI API key starts with sk-.".to_owned())
        }
    );
    // An unknown key is the plan's to report.
    assert_eq!(
        CredentialEdit::put(&p, "organization", "nope"),
        CredentialEdit::Put { malformed: None }
    );
}

#[test]
fn the_check_goes_into_the_inputs_that_use_it() {
    let both = ask("openai")
        .set("organization", Some("org-abcdefgh"))
        .switch(true);
    let plan = both.plan(D, &["api_key"]).unwrap();
    assert_eq!(
        plan.inputs(Some(verified())),
        vec![
            Input::Saved {
                check: Some(verified()),
                by: None,
            },
            Input::Enabled {
                check: Some(verified()),
            },
        ]
    );
    // Settings kept unchecked on a connection that was never connected.
    let unchecked = ask("openai").set("organization", Some("org-abcdefgh"));
    let plan = unchecked.plan(N, &[]).unwrap();
    assert_eq!(
        plan.inputs(None),
        vec![Input::Saved {
            check: None,
            by: None,
        }]
    );
    // Who asked is recorded.
    let by = Some(crate::UserId::new());
    let mut first = ask("openai").put("api_key", VALID_KEY);
    first.change.by = by;
    let decisions = first
        .plan(N, &[])
        .unwrap()
        .decide(&first.provider, Some(verified()));
    assert_eq!(decisions.unwrap()[0].connection.connected_by, by);
}

#[test]
fn each_step_is_decided_on_the_one_before() {
    let both = ask("openai")
        .set("organization", Some("org-abcdefgh"))
        .switch(true);
    let plan = both.plan(D, &["api_key"]).unwrap();
    assert_eq!(
        plan.connection
            .config
            .get("organization")
            .map(String::as_str),
        Some("org-abcdefgh")
    );
    let decisions = plan.decide(&both.provider, Some(verified())).unwrap();
    let steps: Vec<_> = decisions
        .iter()
        .map(|d| (d.event.action, d.connection.status))
        .collect();
    // Saved while off stays off; turned on, it is connected.
    assert_eq!(steps, [(A::Configure, D), (A::Enable, C)]);
    assert_eq!(
        decisions[1]
            .connection
            .config
            .get("organization")
            .map(String::as_str),
        Some("org-abcdefgh")
    );
    // Each is decided from the version read; the store chains the versions.
    assert!(decisions.iter().all(|d| d.connection.version == 3));
}

#[test]
fn credentials_that_fail_their_check_keep_nothing() {
    let change = ask("openai").put("api_key", VALID_KEY);
    let plan = change.plan(C, &["api_key"]).unwrap();
    let rejected = plan
        .decide(&change.provider, Some(unavailable()))
        .unwrap_err();
    assert!(rejected.unavailable);
    let rejected = plan.decide(&change.provider, Some(refused())).unwrap_err();
    assert!(!rejected.unavailable);
    // Turned back on with credentials that fail: recorded, not refused.
    let on = ask("openai").switch(true);
    let plan = on.plan(D, &["api_key"]).unwrap();
    let decisions = plan.decide(&on.provider, Some(refused())).unwrap();
    assert_eq!(decisions[0].connection.status, E);
}

#[test]
fn what_a_verify_needs_to_run() {
    let rows: [(&str, &[&str], bool); 7] = [
        ("openai", &["api_key"], true),
        ("openai", &[], false),
        ("lob", &["webhook_secret"], false),
        ("lob", &["api_key"], true),
        ("slack", &["access_token"], true),
        ("slack", &["refresh_token"], false),
        ("clarity", &[], true),
    ];
    for (id, keys, expected) in rows {
        assert_eq!(
            holds_credentials(&provider(id), &held(keys)),
            expected,
            "{id} holding {keys:?}"
        );
    }
}

#[test]
fn whether_a_stored_connection_can_be_checked() {
    let checked = |id: &str, stored: &Connection, keys: &[&str], unreadable: &[&str]| {
        let unreadable: Vec<String> = unreadable.iter().map(|k| (*k).to_owned()).collect();
        stored_check(stored, &held(keys), &unreadable, &provider(id))
    };
    assert_eq!(
        checked("openai", &connection(C), &["api_key"], &[]),
        StoredCheck::Run
    );
    assert_eq!(
        checked("openai", &connection(C), &[], &[]),
        StoredCheck::NothingToCheck
    );
    assert_eq!(
        checked("slack", &connection(X), &["access_token"], &[]),
        StoredCheck::Run
    );
    // A public id is checked once it is set.
    assert_eq!(
        checked("clarity", &connection(C), &[], &[]),
        StoredCheck::NothingToCheck
    );
    let mut configured = connection(C);
    configured
        .config
        .insert("project_id".to_owned(), "abcde12345".to_owned());
    assert_eq!(checked("clarity", &configured, &[], &[]), StoredCheck::Run);
    // A secret that no longer opens fails the check without asking the provider.
    let StoredCheck::Failed(Check::Refused(problem)) =
        checked("openai", &connection(C), &[], &["api_key"])
    else {
        panic!("an unreadable secret fails the check");
    };
    assert_eq!(problem.code, ProblemCode::CredentialsUnreadable);
    assert!(
        problem
            .message
            .starts_with("The stored credentials for OpenAI can no longer be read")
    );
}
