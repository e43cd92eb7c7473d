use reqwest::Method;
use serde_json::json;

use crate::helpers::{json_body, problem, spawn_app};

#[tokio::test]
async fn owners_and_admins_manage_members() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let admin = app.add_member(&owner, &org, "admin").await;
    let member = app.signup("mia").await;
    let added = app
        .post(
            &format!("/api/v1/orgs/{org}/members"),
            &admin.token,
            json!({"email": member.email, "role": "member"}),
        )
        .await;
    let invitation = json_body(added, 201).await;
    assert_eq!(invitation["role"], "member");
    let accepted = app
        .post(
            &format!(
                "/api/v1/invitations/{}/accept",
                invitation["token"].as_str().unwrap()
            ),
            &member.token,
            json!({}),
        )
        .await;
    assert_eq!(json_body(accepted, 200).await["role"], "member");

    let list = json_body(
        app.get(&format!("/api/v1/orgs/{org}/members"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);

    let promoted = app
        .patch(
            &format!("/api/v1/orgs/{org}/members/{}", member.id),
            &admin.token,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(json_body(promoted, 200).await["role"], "admin");
    let removed = app
        .request(
            Method::DELETE,
            &format!("/api/v1/orgs/{org}/members/{}", member.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(removed.status(), 204);
    problem(
        app.get(&format!("/api/v1/orgs/{org}"), &member.token).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn member_rules_are_enforced() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let admin = app.add_member(&owner, &org, "admin").await;
    let member = app.add_member(&owner, &org, "member").await;
    let other = app.signup("other").await;
    let members = format!("/api/v1/orgs/{org}/members");

    // A member reads but cannot change.
    assert_eq!(app.get(&members, &member.token).await.status(), 200);
    problem(
        app.post(
            &members,
            &member.token,
            json!({"email": other.email, "role": "member"}),
        )
        .await,
        403,
    )
    .await;
    // Nobody is invited as an owner (an owner promotes a member), and admins cannot touch owners.
    problem(
        app.post(
            &members,
            &admin.token,
            json!({"email": other.email, "role": "owner"}),
        )
        .await,
        422,
    )
    .await;
    problem(
        app.patch(
            &format!("{members}/{}", owner.id),
            &admin.token,
            json!({"role": "member"}),
        )
        .await,
        403,
    )
    .await;
    // Duplicate, bad role.
    assert_eq!(
        problem(
            app.post(
                &members,
                &owner.token,
                json!({"email": member.email, "role": "member"})
            )
            .await,
            409
        )
        .await["code"],
        "already_member"
    );
    problem(
        app.post(
            &members,
            &owner.token,
            json!({"email": other.email, "role": "emperor"}),
        )
        .await,
        422,
    )
    .await;
    // The last owner stays.
    assert_eq!(
        problem(
            app.patch(
                &format!("{members}/{}", owner.id),
                &owner.token,
                json!({"role": "admin"})
            )
            .await,
            409
        )
        .await["code"],
        "last_owner"
    );
    let gone = app
        .request(
            Method::DELETE,
            &format!("{members}/{}", owner.id),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(problem(gone, 409).await["code"], "last_owner");
    // With a second owner, the first may step down.
    app.patch(
        &format!("{members}/{}", admin.id),
        &owner.token,
        json!({"role": "owner"}),
    )
    .await;
    assert_eq!(
        json_body(
            app.patch(
                &format!("{members}/{}", owner.id),
                &owner.token,
                json!({"role": "admin"})
            )
            .await,
            200
        )
        .await["role"],
        "admin"
    );
}

#[tokio::test]
async fn another_organizations_members_do_not_exist_for_you() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let member_a = app.add_member(&owner_a, &org_a, "member").await;
    let (owner_b, _org_b) = app.owner_with_org().await;
    let members = format!("/api/v1/orgs/{org_a}/members");
    problem(app.get(&members, &owner_b.token).await, 404).await;
    problem(
        app.post(
            &members,
            &owner_b.token,
            json!({"email": owner_b.email, "role": "owner"}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.patch(
            &format!("{members}/{}", member_a.id),
            &owner_b.token,
            json!({"role": "admin"}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.request(
            Method::DELETE,
            &format!("{members}/{}", member_a.id),
            Some(&owner_b.token),
            None,
        )
        .await,
        404,
    )
    .await;
    let list = json_body(app.get(&members, &owner_a.token).await, 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_role_changes_wait_for_each_other_instead_of_failing() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let mut members = Vec::new();
    for _ in 0..5 {
        members.push(app.add_member(&owner, &org, "member").await);
    }
    let paths: Vec<String> = members
        .iter()
        .map(|m| format!("/api/v1/orgs/{org}/members/{}", m.id))
        .collect();
    let changes = (0..50).map(|i| {
        let role = if i % 2 == 0 { "admin" } else { "member" };
        app.patch(&paths[i % paths.len()], &owner.token, json!({"role": role}))
    });
    let statuses: Vec<u16> = futures_util::future::join_all(changes)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    // Two owners demoting each other at once: one wins, the other meets the last-owner rule.
    let second = app.add_member(&owner, &org, "owner").await;
    let (second_path, owner_path) = (
        format!("/api/v1/orgs/{org}/members/{}", second.id),
        format!("/api/v1/orgs/{org}/members/{}", owner.id),
    );
    let (a, b) = tokio::join!(
        app.patch(&second_path, &owner.token, json!({"role": "admin"})),
        app.patch(&owner_path, &second.token, json!({"role": "admin"}),),
    );
    let mut pair = [a.status().as_u16(), b.status().as_u16()];
    pair.sort_unstable();
    assert!(
        pair == [200, 403] || pair == [200, 409],
        "one demotion wins, the other is refused: {pair:?}"
    );
    let list = json_body(
        app.get(&format!("/api/v1/orgs/{org}/members"), &owner.token)
            .await,
        200,
    )
    .await;
    let owners = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .count();
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn adding_someone_is_an_invitation_with_one_answer_for_every_address() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let members = format!("/api/v1/orgs/{org}/members");
    let known = app.signup("known").await;
    let unknown = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());

    let mut answers = Vec::new();
    for email in [known.email.as_str(), unknown.as_str()] {
        let added = json_body(
            app.post(
                &members,
                &owner.token,
                json!({"email": email, "role": "member"}),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(added["status"], "pending", "{added}");
        assert!(added["token"].as_str().unwrap().starts_with("pbi_"));
        let mut keys: Vec<String> = added.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        answers.push(keys);
    }
    // Nothing in the answer tells an account from an unknown address.
    assert_eq!(answers[0], answers[1]);

    // Nobody joins without consent: the account is not a member until it accepts.
    let listed = json_body(app.get(&members, &owner.token).await, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    problem(
        app.get(&format!("/api/v1/orgs/{org}"), &known.token).await,
        404,
    )
    .await;
}
