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
