use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_body, problem, spawn_app};

fn invitations(org: &str) -> String {
    format!("/api/v1/orgs/{org}/invitations")
}

async fn invite(app: &TestApp, owner: &TestUser, org: &str, email: &str, role: &str) -> Value {
    json_body(
        app.post(
            &invitations(org),
            &owner.token,
            json!({"email": email, "role": role}),
        )
        .await,
        201,
    )
    .await
}

async fn accept(app: &TestApp, user: &TestUser, token: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/invitations/{token}/accept"),
        &user.token,
        json!({}),
    )
    .await
}

fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn member_count(app: &TestApp, owner: &TestUser, org: &str) -> usize {
    json_body(
        app.get(&format!("/api/v1/orgs/{org}/members"), &owner.token)
            .await,
        200,
    )
    .await["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_invitation_is_accepted_once_by_the_invited_address() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let email = unique_email("ana");
    let created = invite(&app, &owner, &org, &email.to_uppercase(), "admin").await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pbi_") && token.len() > 40, "{token}");
    assert_eq!(created["email"], email.as_str(), "stored lower-cased");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["role"], "admin");

    // Only a hash is kept, and the token is never shown again.
    let stored = app.column_text("invitations", "token_hash").await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    let listed = app
        .get(&invitations(&org), &owner.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&email) && !listed.contains(&token));

    let someone_else = app.signup("eve").await;
    let refused = problem(accept(&app, &someone_else, &token).await, 403).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("different e-mail")
    );

    let ana = app.signup_as("ana", &email).await;
    let accepted = json_body(accept(&app, &ana, &token).await, 200).await;
    assert_eq!(accepted["org_id"], org.as_str());
    assert_eq!(accepted["role"], "admin");
    let org_seen = json_body(
        app.get(&format!("/api/v1/orgs/{org}"), &ana.token).await,
        200,
    )
    .await;
    assert_eq!(org_seen["role"], "admin");
    assert_eq!(member_count(&app, &owner, &org).await, 2);

    // Accepting twice does nothing twice.
    let again = problem(accept(&app, &ana, &token).await, 409).await;
    assert_eq!(again["code"], "invitation_used");
    assert_eq!(member_count(&app, &owner, &org).await, 2);
    let listed = json_body(app.get(&invitations(&org), &owner.token).await, 200).await;
    let only = &listed["data"][0];
    assert_eq!(only["status"], "accepted");
    let revoke = app
        .request(
            Method::DELETE,
            &format!("{}/{}", invitations(&org), only["id"].as_str().unwrap()),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(problem(revoke, 409).await["code"], "invitation_accepted");
    // The token travels in the accept path; the request log names the route instead.
    assert!(app.logs.contains("/invitations/{token}/accept"));
    assert!(
        !app.logs.contains(&token),
        "a log line holds the invitation token"
    );
}

#[tokio::test]
async fn expired_revoked_reused_and_unknown_tokens_are_refused() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;

    let late_email = unique_email("late");
    let late = invite(&app, &owner, &org, &late_email, "member").await;
    app.execute_with(
        "UPDATE invitations SET expires_at = $1 WHERE email = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::hours(1)).into(),
            late_email.clone().into(),
        ],
    )
    .await;
    let late_user = app.signup_as("late", &late_email).await;
    let expired = problem(
        accept(&app, &late_user, late["token"].as_str().unwrap()).await,
        410,
    )
    .await;
    assert_eq!(expired["code"], "invitation_expired");
    let listed = json_body(app.get(&invitations(&org), &owner.token).await, 200).await;
    assert_eq!(listed["data"][0]["status"], "expired");
    // An expired invitation no longer blocks a new one.
    let renewed = invite(&app, &owner, &org, &late_email, "member").await;
    json_body(
        accept(&app, &late_user, renewed["token"].as_str().unwrap()).await,
        200,
    )
    .await;
    let reused = problem(
        accept(&app, &late_user, renewed["token"].as_str().unwrap()).await,
        409,
    )
    .await;
    assert_eq!(reused["code"], "invitation_used");

    let withdrawn_email = unique_email("withdrawn");
    let withdrawn = invite(&app, &owner, &org, &withdrawn_email, "member").await;
    let path = format!(
        "{}/{}",
        invitations(&org),
        withdrawn["id"].as_str().unwrap()
    );
    for _ in 0..2 {
        let revoked = app
            .request(Method::DELETE, &path, Some(&owner.token), None)
            .await;
        assert_eq!(revoked.status(), 204, "revoking twice is harmless");
    }
    let withdrawn_user = app.signup_as("withdrawn", &withdrawn_email).await;
    let revoked = problem(
        accept(&app, &withdrawn_user, withdrawn["token"].as_str().unwrap()).await,
        410,
    )
    .await;
    assert_eq!(revoked["code"], "invitation_revoked");

    for bogus in ["pbi_not-a-real-token", "whatever"] {
        problem(accept(&app, &withdrawn_user, bogus).await, 404).await;
    }
    let anonymous = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/invitations/{}/accept",
                renewed["token"].as_str().unwrap()
            ),
            None,
            None,
        )
        .await;
    problem(anonymous, 401).await;
    assert_eq!(member_count(&app, &owner, &org).await, 2);
}

#[tokio::test]
async fn an_invitation_must_be_one_that_can_work() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    let email = unique_email("bob");
    invite(&app, &owner, &org, &email, "member").await;
    let cases = [
        (
            json!({"email": email, "role": "admin"}),
            409,
            "already_invited",
        ),
        (
            json!({"email": member.email, "role": "member"}),
            409,
            "already_member",
        ),
        (
            json!({"email": "not-an-address", "role": "member"}),
            422,
            "validation_failed",
        ),
        (
            json!({"email": unique_email("x"), "role": "owner"}),
            422,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let refused = problem(
            app.post(&invitations(&org), &owner.token, body).await,
            status,
        )
        .await;
        assert_eq!(refused["code"], code);
    }
}

#[tokio::test]
async fn the_invite_users_step_shows_each_token_once() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let step = format!("/api/v1/orgs/{org}/onboarding/steps/invite_users");
    let bad = problem(
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"invitations": [
                {"email": unique_email("ok"), "role": "member"},
                {"email": "nope", "role": "member"}
            ]}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "data.invitations[1].email");

    let (ana, bob) = (unique_email("ana"), unique_email("bob"));
    let done = json_body(
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"invitations": [
                {"email": ana, "role": "member"},
                {"email": bob, "role": "admin"}
            ]}}),
        )
        .await,
        200,
    )
    .await;
    let made = done["invitations"].as_array().unwrap();
    assert_eq!(made.len(), 2);
    let ana_token = made[0]["token"].as_str().unwrap().to_owned();
    let progress_text = app
        .get(&format!("/api/v1/orgs/{org}/onboarding"), &owner.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(progress_text.contains(&bob) && !progress_text.contains(&ana_token));
    assert_eq!(
        json_body(app.get(&invitations(&org), &owner.token).await, 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ana_user = app.signup_as("ana", &ana).await;
    assert_eq!(
        json_body(accept(&app, &ana_user, &ana_token).await, 200).await["role"],
        "member"
    );
}

#[tokio::test]
async fn invitations_belong_to_their_organization() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let member_a = app.add_member(&owner_a, &org_a, "member").await;
    let (owner_b, org_b) = app.owner_with_org().await;
    let email = unique_email("carol");
    let b_invite = invite(&app, &owner_b, &org_b, &email, "member").await;
    let b_id = b_invite["id"].as_str().unwrap();

    // Org A's routes do not exist for org B, nor org B's invitation for org A.
    problem(app.get(&invitations(&org_a), &owner_b.token).await, 404).await;
    problem(
        app.post(
            &invitations(&org_a),
            &owner_b.token,
            json!({"email": unique_email("x"), "role": "member"}),
        )
        .await,
        404,
    )
    .await;
    let a_invite = invite(&app, &owner_a, &org_a, &unique_email("dan"), "member").await;
    let a_path = format!(
        "{}/{}",
        invitations(&org_a),
        a_invite["id"].as_str().unwrap()
    );
    problem(
        app.request(Method::DELETE, &a_path, Some(&owner_b.token), None)
            .await,
        404,
    )
    .await;
    let cross = app
        .request(
            Method::DELETE,
            &format!("{}/{b_id}", invitations(&org_a)),
            Some(&owner_a.token),
            None,
        )
        .await;
    problem(cross, 404).await;
    assert_eq!(
        json_body(app.get(&invitations(&org_b), &owner_b.token).await, 200).await["data"][0]["status"],
        "pending"
    );

    // Members may list but not change.
    json_body(app.get(&invitations(&org_a), &member_a.token).await, 200).await;
    problem(
        app.post(
            &invitations(&org_a),
            &member_a.token,
            json!({"email": unique_email("y"), "role": "member"}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.request(Method::DELETE, &a_path, Some(&member_a.token), None)
            .await,
        403,
    )
    .await;

    // Org B's token makes a member of org B only.
    let carol = app.signup_as("carol", &email).await;
    let accepted = json_body(
        accept(&app, &carol, b_invite["token"].as_str().unwrap()).await,
        200,
    )
    .await;
    assert_eq!(accepted["org_id"], org_b.as_str());
    problem(
        app.get(&format!("/api/v1/orgs/{org_a}"), &carol.token)
            .await,
        404,
    )
    .await;
    json_body(
        app.get(&format!("/api/v1/orgs/{org_b}"), &carol.token)
            .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn concurrent_invitations_of_one_address_leave_one_pending() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let email = unique_email("twice");
    let path = invitations(&org);
    let sends = (0..10).map(|_| {
        app.post(
            &path,
            &owner.token,
            json!({"email": email, "role": "member"}),
        )
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[201].as_slice(), &[409; 9]].concat());
    let listed = json_body(app.get(&invitations(&org), &owner.token).await, 200).await;
    let pending = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["email"] == email.as_str() && i["status"] == "pending")
        .count();
    assert_eq!(pending, 1);

    // Another organization may invite the same address at the same time.
    let (other_owner, other_org) = app.owner_with_org().await;
    invite(&app, &other_owner, &other_org, &email, "member").await;
}
