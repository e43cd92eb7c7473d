use super::*;

fn registry() -> Registry {
    Registry::builtin().expect("the built-in registry is valid")
}

fn provider<'r>(registry: &'r Registry, id: &str) -> &'r Provider {
    registry.get(id).expect("a built-in provider")
}

fn set_only(names: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |name| names.contains(&name)
}

#[test]
fn a_service_counts_its_missing_variables() {
    let registry = registry();
    let is_set = set_only(&["META_APP_ID", "STRIPE_CLIENT_ID", "STRIPE_SECRET_KEY"]);
    let meta = service(provider(&registry, "meta_ads"), &is_set);
    assert_eq!(meta.status, ServiceStatus::SetupNeeded);
    assert_eq!(meta.missing, ["META_APP_SECRET"]);
    assert_eq!(meta.summary, "Missing 1 required environment variable.");
    assert_eq!(
        meta.variables,
        [
            EnvCheck {
                name: "META_APP_ID".into(),
                configured: true
            },
            EnvCheck {
                name: "META_APP_SECRET".into(),
                configured: false
            },
        ]
    );
    let ads = service(provider(&registry, "google_ads"), &is_set);
    assert_eq!(ads.summary, "Missing 3 required environment variables.");
    let stripe = service(provider(&registry, "stripe"), &is_set);
    assert_eq!(stripe.status, ServiceStatus::Ready);
    assert_eq!(
        stripe.summary,
        "All 2 required environment variables are set."
    );
    let openai = service(provider(&registry, "openai"), &is_set);
    assert_eq!(openai.status, ServiceStatus::Ready);
    assert!(openai.variables.is_empty());
    assert!(openai.summary.contains("each brand brings its own"));
}

#[test]
fn guidance_names_every_thing_to_do() {
    let registry = registry();
    let openai = provider(&registry, "openai");
    let mut counts = StatusCounts::default();
    assert_eq!(
        health(openai, 0, &counts),
        (
            HealthState::Unused,
            "Ready; no brand has connected it yet.".to_owned()
        )
    );
    counts.add(ConnectionStatus::Connected, 4);
    assert_eq!(
        health(openai, 0, &counts),
        (HealthState::Healthy, "Healthy.".to_owned())
    );
    counts.add(ConnectionStatus::Expired, 3);
    counts.add(ConnectionStatus::Error, 1);
    assert_eq!(
        health(openai, 0, &counts),
        (
            HealthState::NeedsAttention,
            "3 connections expired: ask the brands to reconnect. 1 connection failing: see their last errors.".to_owned()
        )
    );
    assert_eq!(counts.total(), 8);
    let (state, guidance) = health(openai, 2, &StatusCounts::default());
    assert_eq!(state, HealthState::MissingCredentials);
    assert_eq!(
        guidance,
        "Add 2 missing environment variables before retrying."
    );
    // A platform-level provider has no brand connections and is healthy once set.
    let sentry = provider(&registry, "sentry");
    assert_eq!(
        health(sentry, 0, &StatusCounts::default()).0,
        HealthState::Healthy
    );
}

#[test]
fn providers_sharing_an_app_share_one_checklist_item() {
    let registry = registry();
    let is_set = set_only(&["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"]);
    let items = checklist(&registry, &is_set, &probed(SignInProbe::NotChecked));
    let google = items
        .iter()
        .find(|i| i.providers.contains(&"ga4".to_owned()))
        .unwrap();
    assert_eq!(
        google.providers,
        [
            "ga4",
            "search_console",
            "youtube",
            "google_drive",
            "google_calendar"
        ]
    );
    assert_eq!(google.status, ItemStatus::Ready);
    assert_eq!(google.title, "Google developer app");
    assert!(google.description.contains(
        "Google Analytics 4, Google Search Console, YouTube, Google Drive and Google Calendar"
    ));
    assert!(
        google
            .notes
            .contains("{PLUGBOARD_PUBLIC_URL}/api/v1/oauth/youtube/callback")
    );
    let ads = items.iter().find(|i| i.key == "app.google_ads").unwrap();
    assert_eq!(ads.priority, Priority::Soon);
    assert_eq!(ads.status, ItemStatus::NotStarted);
    assert!(
        ads.collect
            .contains(&"Developer token (GOOGLE_ADS_DEVELOPER_TOKEN)".to_owned())
    );
    assert!(
        ads.collect
            .contains(&"Client ID (GOOGLE_ADS_CLIENT_ID)".to_owned())
    );
    let shopify = items.iter().find(|i| i.key == "app.shopify").unwrap();
    assert_eq!(shopify.priority, Priority::Required);
    let slack = items.iter().find(|i| i.key == "app.slack").unwrap();
    assert!(
        slack
            .collect
            .contains(&"Signing secret (SLACK_SIGNING_SECRET)".to_owned())
    );
    // Every tenant OAuth provider is unlocked by exactly one item.
    for p in registry.providers().iter().filter(|p| p.oauth().is_some()) {
        let holders = items.iter().filter(|i| i.providers.contains(&p.id)).count();
        assert_eq!(holders, 1, "{}", p.id);
    }
}

#[test]
fn checklist_statuses_follow_what_is_set() {
    let registry = registry();
    let is_set = set_only(&["PLUGBOARD_ADMIN_EMAILS", "SENTRY_DSN"]);
    let items = checklist(&registry, &is_set, &probed(SignInProbe::NotChecked));
    let item = |key: &str| items.iter().find(|i| i.key == key).unwrap();
    assert_eq!(item("admin_security").status, ItemStatus::Partial);
    assert_eq!(item("admin_security").missing, ["PLUGBOARD_JWT_SECRET"]);
    assert_eq!(item("microsoft_sign_in").status, ItemStatus::NotStarted);
    assert_eq!(item("google_sign_in").status, ItemStatus::NotStarted);
    assert!(
        item("google_sign_in")
            .notes
            .contains("/api/v1/auth/sso/google/callback")
    );
    // The embedded stand-ins keep the product running, so they are partial, not missing work.
    assert_eq!(item("database").status, ItemStatus::Partial);
    assert_eq!(item("encryption_keys").status, ItemStatus::Partial);
    assert_eq!(item("public_url").status, ItemStatus::NotStarted);
    assert_eq!(item("smtp").status, ItemStatus::NotStarted);
    let monitoring = item("monitoring");
    assert_eq!(monitoring.status, ItemStatus::Partial);
    assert_eq!(monitoring.providers, ["better_stack", "sentry"]);
    assert!(monitoring.missing.contains(&"SENTRY_AUTH_TOKEN".to_owned()));

    let all = checklist(&registry, &|_: &str| true, &probed(SignInProbe::Reachable));
    assert!(
        all.iter()
            .all(|i| i.status == ItemStatus::Ready && i.missing.is_empty())
    );
}

/// Both providers probed with the same outcome.
fn probed(probe: SignInProbe) -> SignInChecks {
    let check = |provider: &str| SignInCheck {
        redirect_uri: format!("https://plugboard.example/api/v1/auth/sso/{provider}/callback"),
        probe: probe.clone(),
    };
    SignInChecks {
        microsoft: check("microsoft"),
        google: check("google"),
    }
}

#[test]
fn each_sign_in_is_ready_only_when_it_works() {
    let registry = registry();
    let all = |_: &str| true;
    for (key, provider, register) in [
        (
            "microsoft_sign_in",
            "microsoft",
            "a Web redirect URI in the app registration",
        ),
        (
            "google_sign_in",
            "google",
            "an authorized redirect URI on the OAuth client",
        ),
    ] {
        let item = |is_set: IsSet<'_>, probe: SignInProbe| {
            checklist(&registry, is_set, &probed(probe))
                .into_iter()
                .find(|i| i.key == key)
                .unwrap()
        };
        let works = item(&all, SignInProbe::Reachable);
        assert_eq!(works.status, ItemStatus::Ready, "{key}");
        assert!(works.notes.starts_with(&format!(
            "Register https://plugboard.example/api/v1/auth/sso/{provider}/callback as {register}."
        )));
        let broken = item(
            &all,
            SignInProbe::Failed("The tenant was not found.".into()),
        );
        assert_eq!(broken.status, ItemStatus::Partial, "{key}");
        assert!(
            broken
                .notes
                .contains("Sign-in does not work yet: The tenant was not found.")
        );
        assert_eq!(
            item(&all, SignInProbe::NotChecked).status,
            ItemStatus::Partial
        );
        let none = |_: &str| false;
        let unset = item(&none, SignInProbe::NotChecked);
        assert_eq!(unset.status, ItemStatus::NotStarted, "{key}");
        assert!(
            unset
                .notes
                .contains(&format!("/api/v1/auth/sso/{provider}/callback"))
        );
    }
}
