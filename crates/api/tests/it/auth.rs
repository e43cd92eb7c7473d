use reqwest::Method;
use serde_json::json;

use crate::helpers::{json_body, problem, spawn_app};

#[tokio::test]
async fn signup_login_me_and_refresh() {
    let app = spawn_app().await;
    let user = app.signup("ann").await;
    let me = json_body(app.get("/api/v1/me", &user.token).await, 200).await;
    assert_eq!(me["user"]["email"], user.email.as_str());
    assert_eq!(me["memberships"], json!([]));
    assert_eq!(me["platform_admin"], false);

    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": user.email.to_uppercase(), "password": "correct horse battery"})),
        )
        .await;
    let body = json_body(login, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);

    // The cookie from login is good once: the first refresh works, a replay of the old one does not.
    let refreshed = json_body(
        app.request(Method::POST, "/api/v1/auth/refresh", None, None)
            .await,
        200,
    )
    .await;
    let token = refreshed["access_token"].as_str().unwrap();
    assert_eq!(
        json_body(app.get("/api/v1/me", token).await, 200).await["user"]["id"],
        user.id.as_str()
    );
    let bare = reqwest::Client::new();
    let stale = bare
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", "pb_refresh=not-a-live-token")
        .send()
        .await
        .unwrap();
    problem(stale, 401).await;
}

#[tokio::test]
async fn bad_signups_and_logins_are_refused_clearly() {
    let app = spawn_app().await;
    let user = app.signup("bob").await;
    let again = app
        .request(
            Method::POST,
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": user.email, "password": "another long one", "name": "Bob"})),
        )
        .await;
    assert_eq!(problem(again, 409).await["code"], "email_taken");

    let bad = app
        .request(
            Method::POST,
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": "nope", "password": "short", "name": ""})),
        )
        .await;
    let body = problem(bad, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "name", "password"]);

    let wrong = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": user.email, "password": "wrong password!"})),
        )
        .await;
    assert_eq!(
        problem(wrong, 401).await["detail"],
        "The e-mail or password is wrong."
    );
    let unknown = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ghost@example.com", "password": "whatever123"})),
        )
        .await;
    problem(unknown, 401).await;
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = spawn_app().await;
    problem(
        app.request(Method::GET, "/api/v1/me", None, None).await,
        401,
    )
    .await;
    problem(app.get("/api/v1/me", "not-a-jwt").await, 401).await;
    let (_, org) = app.owner_with_org().await;
    problem(
        app.request(
            Method::GET,
            &format!("/api/v1/orgs/{org}/integrations"),
            None,
            None,
        )
        .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn organizations_are_created_with_their_owner() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let body = json_body(
        app.get(&format!("/api/v1/orgs/{org}"), &owner.token).await,
        200,
    )
    .await;
    assert_eq!(body["name"], "Acme Brand");
    assert_eq!(body["role"], "owner");
    let me = json_body(app.get("/api/v1/me", &owner.token).await, 200).await;
    assert_eq!(me["memberships"][0]["org_id"], org.as_str());
    assert_eq!(me["memberships"][0]["role"], "owner");
    problem(
        app.post("/api/v1/orgs", &owner.token, json!({"name": ""}))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn a_token_whose_account_is_gone_is_refused_everywhere() {
    let app = spawn_app().await;
    let (gone, org) = app.owner_with_org().await;
    let (kept, kept_org) = app.owner_with_org().await;
    app.execute_with(
        "DELETE FROM users WHERE id = $1",
        vec![uuid::Uuid::parse_str(&gone.id).unwrap().into()],
    )
    .await;

    // Still signed and unexpired, but nobody holds it any more.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/orgs".to_owned(),
            Some(json!({"name": "Ghost"})),
        ),
        (Method::GET, "/api/v1/me".to_owned(), None),
        (Method::GET, format!("/api/v1/orgs/{org}"), None),
        (
            Method::GET,
            format!("/api/v1/orgs/{kept_org}/integrations"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/invitations/pbi_x/accept".to_owned(),
            None,
        ),
    ] {
        let response = app
            .request(method.clone(), &path, Some(&gone.token), body)
            .await;
        assert_eq!(
            problem(response, 401).await["code"],
            "unauthorized",
            "{method} {path}"
        );
    }
    // The other tenant's owner is untouched.
    json_body(
        app.get(&format!("/api/v1/orgs/{kept_org}"), &kept.token)
            .await,
        200,
    )
    .await;
}

async fn login(app: &crate::helpers::TestApp, email: &str, password: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

#[tokio::test]
async fn guessing_passwords_is_throttled_without_locking_the_owner_out_for_long() {
    let app = spawn_app().await;
    let user = app.signup("guessed").await;
    let mut throttled = None;
    for _ in 0..30 {
        let response = login(&app, &user.email, "wrong password!").await;
        if response.status() == 429 {
            throttled = Some(response);
            break;
        }
        problem(response, 401).await;
    }
    let throttled = throttled.expect("30 wrong passwords in a row are throttled");
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(throttled, 429).await["code"], "too_many_attempts");

    // The right password is throttled too for now (it is a guess like any other)…
    let right = login(&app, &user.email, "correct horse battery").await;
    assert_eq!(right.status(), 429);
    // …and works once the wait it was told is over.
    let wait: u64 = right.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    json_body(login(&app, &user.email, "correct horse battery").await, 200).await;
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();
    let mut refused = 0;
    let mut throttled = None;
    for i in 0..60 {
        let response = login(&app, &format!("nobody-{i}@example.com"), "whatever123").await;
        if response.status() == 429 {
            throttled = Some(response);
            break;
        }
        problem(response, 401).await;
        refused += 1;
    }
    let throttled = throttled.expect("60 accounts from one address are throttled");
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(problem(throttled, 429).await["code"], "too_many_attempts");
    // A burst of 20, then one every 3 seconds.
    let allowed = 20 + started.elapsed().as_secs() / 3 + 1;
    assert!(
        refused <= allowed,
        "{refused} attempts answered before the limit"
    );
}

/// The process's resident memory in KiB (`VmRSS`) and its peak (`VmHWM`), from `/proc`.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Every sign-up's password takes 19 MiB to hash; three hundred at once used to take several
/// GB. Hashes now run a few at a time with a short queue, past which the answer is a `503 busy`
/// at once. (The address throttle is opened wide here so the hashing bound is what holds.)
#[tokio::test]
async fn three_hundred_concurrent_signups_keep_memory_bounded() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        configure: |settings| {
            let wide = persistence::throttles::Allowance {
                burst: 1_000,
                period_ms: 1,
            };
            settings.throttles.signup_address = wide;
            settings.throttles.signup_everyone = wide;
        },
        ..Default::default()
    })
    .await;
    let signups = (0..300).map(|i| {
        let app = &app;
        async move {
            let email = format!("load-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
            let answer = app
                .request(
                    Method::POST,
                    "/api/v1/auth/signup",
                    None,
                    Some(json!({"email": email, "password": "correct horse battery", "name": "Load"})),
                )
                .await;
            let status = answer.status().as_u16();
            let retry_after = answer.headers().get("retry-after").is_some();
            let body: serde_json::Value = answer.json().await.unwrap();
            (status, retry_after, body)
        }
    });
    let answers = futures_util::future::join_all(signups).await;
    let count = |status: u16| answers.iter().filter(|(s, _, _)| *s == status).count();
    assert_eq!(
        count(201) + count(429) + count(503),
        300,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(count(201) >= 1);
    for (_, retry_after, body) in answers.iter().filter(|(s, _, _)| *s == 503) {
        assert_eq!(body["code"], "busy");
        assert!(retry_after);
    }
    let (_, peak_kib) = memory_kib();
    assert!(peak_kib < 256 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

/// Sign-ups from one address get a burst, then wait their turn.
#[tokio::test]
async fn signups_from_one_address_are_throttled() {
    let app = spawn_app().await;
    let mut throttled = None;
    for i in 0..30 {
        let answer = app
            .request(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": format!("many-{i}@example.com"), "password": "correct horse battery", "name": "Many"})),
            )
            .await;
        if answer.status() == 429 {
            throttled = Some((i, answer));
            break;
        }
        assert_eq!(answer.status(), 201);
    }
    let (allowed, throttled) = throttled.expect("30 sign-ups from one address are throttled");
    assert_eq!(
        allowed,
        api::auth::ThrottleSettings::default().signup_address.burst as usize
    );
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(problem(throttled, 429).await["code"], "too_many_attempts");
}

/// A hundred thousand distinct e-mails tried against the log-in throttle: each is a row only
/// until its allowance is whole again, then forgotten, and the server's memory does not grow
/// with them (the counts live in the database, not in a map in memory).
#[tokio::test]
async fn a_hundred_thousand_login_keys_leave_memory_flat_and_are_forgotten() {
    let app = spawn_app().await;
    let db = persistence::connect(&app.database_url).await.unwrap();
    let throttles = api::auth::Throttles::new(Default::default());
    let (before_kib, _) = memory_kib();
    // In batches of a few dozen, as a pool of a few connections takes them.
    for batch in 0..2_000 {
        let tries = (0..50).map(|i| {
            let (throttles, db) = (&throttles, &db);
            async move {
                let email = format!("nobody-{batch}-{i}@example.com");
                let attempt = throttles.login(&email, None);
                throttles.check_here(&attempt).unwrap();
                throttles.check_shared(db, &attempt).await.unwrap();
            }
        });
        futures_util::future::join_all(tries).await;
    }
    let (after_kib, _) = memory_kib();
    assert!(
        after_kib < before_kib + 16 * 1024,
        "RSS grew from {before_kib} KiB to {after_kib} KiB"
    );
    // The server's own sweep may already have forgotten the first ones (each lapses after ten
    // seconds); none is held twice.
    let held = persistence::throttles::count(&db).await.unwrap();
    assert!((1..=100_000).contains(&held), "{held}");
    let later = chrono::Utc::now().timestamp_millis() + 3_600_000;
    persistence::throttles::forget_lapsed(&db, later)
        .await
        .unwrap();
    assert_eq!(persistence::throttles::count(&db).await.unwrap(), 0);
}

async fn change_password(
    app: &crate::helpers::TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.request(
        Method::PUT,
        "/api/v1/me/password",
        Some(token),
        Some(json!({"current_password": current, "new_password": new})),
    )
    .await
}

/// A changed password ends every other session; this one goes on, and the old password no
/// longer logs in. Another account is untouched.
#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let user = app.signup("ann").await;
    let other = app.signup("bob").await;
    let me = json_body(app.get("/api/v1/me", &user.token).await, 200).await;
    assert_eq!(me["has_password"], true);
    // Another browser signed in as Ann.
    let elsewhere = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_in = elsewhere
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);

    let changed = json_body(
        change_password(
            &app,
            &user.token,
            "correct horse battery",
            "a longer horse battery staple",
        )
        .await,
        200,
    )
    .await;
    let token = changed["access_token"].as_str().unwrap();
    assert_eq!(
        json_body(app.get("/api/v1/me", token).await, 200).await["user"]["id"],
        user.id.as_str()
    );
    let ended = elsewhere
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    problem(ended, 401).await;
    // This browser's new cookie refreshes.
    json_body(
        app.request(Method::POST, "/api/v1/auth/refresh", None, None)
            .await,
        200,
    )
    .await;
    problem(login(&app, &user.email, "correct horse battery").await, 401).await;
    json_body(
        login(&app, &user.email, "a longer horse battery staple").await,
        200,
    )
    .await;
    json_body(
        login(&app, &other.email, "correct horse battery").await,
        200,
    )
    .await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_good_new_one() {
    let app = spawn_app().await;
    let user = app.signup("ann").await;
    let short = problem(
        change_password(&app, &user.token, "correct horse battery", "short").await,
        422,
    )
    .await;
    assert_eq!(short["errors"][0]["field"], "new_password");
    let wrong = problem(
        change_password(
            &app,
            &user.token,
            "not my password",
            "a longer horse battery",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    assert_eq!(
        wrong["errors"][0]["message"],
        "That is not your current password."
    );
    problem(
        change_password(
            &app,
            "not-a-token",
            "correct horse battery",
            "a longer one here",
        )
        .await,
        401,
    )
    .await;
    // Guessing the current password here is throttled like guessing it at the log-in.
    let mut throttled = false;
    for _ in 0..30 {
        let response =
            change_password(&app, &user.token, "still not it", "a longer horse battery").await;
        if response.status() == 429 {
            assert_eq!(problem(response, 429).await["code"], "too_many_attempts");
            throttled = true;
            break;
        }
        problem(response, 422).await;
    }
    assert!(
        throttled,
        "30 wrong current passwords in a row are throttled"
    );
    // Nothing changed.
    json_body(app.get("/api/v1/me", &user.token).await, 200).await;
}
