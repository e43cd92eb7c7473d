use super::*;

const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const OTHER: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

fn entra(tid: &str, email: &str, edov: Option<bool>) -> IdClaims {
    IdClaims {
        iss: format!("https://login.microsoftonline.com/{tid}/v2.0"),
        sub: "pairwise-sub".into(),
        tid: Some(tid.into()),
        oid: Some("00000000-0000-0000-66f3-3332eca7ea81".into()),
        email: Some(email.into()),
        xms_edov: edov,
        ..IdClaims::default()
    }
}

fn google(verified: Option<bool>) -> IdClaims {
    IdClaims {
        iss: "https://accounts.google.com".into(),
        sub: "110169484474386276334".into(),
        email: Some("Nora@Brand.example".into()),
        email_verified: verified,
        ..IdClaims::default()
    }
}

#[test]
fn an_entra_identity_is_tenant_and_object_id_never_the_email() {
    let s = subject_of(SsoProvider::Microsoft, &entra(TENANT, "a@b.example", None)).unwrap();
    assert_eq!(s.tenant_id, TENANT);
    assert_eq!(s.subject, "00000000-0000-0000-66f3-3332eca7ea81");
    let mut no_oid = entra(TENANT, "a@b.example", None);
    no_oid.oid = None;
    assert_eq!(
        subject_of(SsoProvider::Microsoft, &no_oid),
        Err(SsoFailure::InvalidToken)
    );
    let g = subject_of(SsoProvider::Google, &google(Some(true))).unwrap();
    assert_eq!(
        (g.tenant_id.as_str(), g.subject.as_str()),
        ("", "110169484474386276334")
    );
}

#[test]
fn the_entra_issuer_placeholder_is_the_tokens_own_tenant() {
    let claims = entra(OTHER, "a@b.example", None);
    assert!(issuer_is_valid(SsoProvider::Microsoft, TEMPLATE, &claims));
    // The issuer must be the tid's: another tenant's issuer with this tid is refused.
    let mut mixed = entra(TENANT, "a@b.example", None);
    mixed.iss = format!("https://login.microsoftonline.com/{OTHER}/v2.0");
    assert!(!issuer_is_valid(SsoProvider::Microsoft, TEMPLATE, &mixed));
    // A tenant's own discovery admits only that tenant's tokens.
    let fixed = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    assert!(issuer_is_valid(
        SsoProvider::Microsoft,
        &fixed,
        &entra(TENANT, "x@y.z", None)
    ));
    assert!(!issuer_is_valid(SsoProvider::Microsoft, &fixed, &claims));
    let mut no_tid = entra(TENANT, "a@b.example", None);
    no_tid.tid = None;
    assert!(!issuer_is_valid(SsoProvider::Microsoft, TEMPLATE, &no_tid));
    assert!(issuer_is_valid(
        SsoProvider::Google,
        "https://accounts.google.com",
        &google(None)
    ));
    let mut bare = google(None);
    bare.iss = "accounts.google.com".into();
    assert!(issuer_is_valid(
        SsoProvider::Google,
        "https://accounts.google.com",
        &bare
    ));
    assert!(!issuer_is_valid(
        SsoProvider::Google,
        "https://evil.example",
        &google(None)
    ));
}

#[test]
fn an_address_counts_only_when_the_issuer_vouches_for_it() {
    let table = [
        // (provider claims, configured tenant, expected)
        (
            SsoProvider::Microsoft,
            entra(TENANT, "Ann@Brand.example", None),
            Some(TENANT),
            Some("ann@brand.example"),
        ),
        // nOAuth: another tenant put an address it does not own in `email`.
        (
            SsoProvider::Microsoft,
            entra(OTHER, "ann@brand.example", None),
            Some(TENANT),
            None,
        ),
        (
            SsoProvider::Microsoft,
            entra(OTHER, "ann@brand.example", Some(false)),
            Some(TENANT),
            None,
        ),
        (
            SsoProvider::Microsoft,
            entra(OTHER, "ann@brand.example", Some(true)),
            Some(TENANT),
            Some("ann@brand.example"),
        ),
        // A multi-tenant authority has no home tenant: only xms_edov vouches.
        (
            SsoProvider::Microsoft,
            entra(TENANT, "ann@brand.example", None),
            Some("organizations"),
            None,
        ),
        (
            SsoProvider::Microsoft,
            entra(TENANT, "not-an-address", None),
            Some(TENANT),
            None,
        ),
        (
            SsoProvider::Google,
            google(Some(true)),
            None,
            Some("nora@brand.example"),
        ),
        (SsoProvider::Google, google(Some(false)), None, None),
        (SsoProvider::Google, google(None), None, None),
    ];
    for (provider, claims, tenant, expected) in table {
        assert_eq!(
            verified_email(provider, &claims, tenant).as_deref(),
            expected,
            "{claims:?} {tenant:?}"
        );
    }
}

#[test]
fn booleans_written_as_strings_are_read() {
    let claims: IdClaims = serde_json::from_value(serde_json::json!({
        "iss": "i", "sub": "s", "email_verified": "true", "xms_edov": false
    }))
    .unwrap();
    assert_eq!(
        (claims.email_verified, claims.xms_edov),
        (Some(true), Some(false))
    );
}

#[test]
fn sign_in_decisions() {
    let (a, b) = (UserId::new(), UserId::new());
    assert_eq!(decide_sign_in(Some(a), None, None), SignIn::Existing(a));
    // A linked identity wins over a matching address.
    assert_eq!(
        decide_sign_in(Some(a), Some("x@y.z"), Some(b)),
        SignIn::Existing(a)
    );
    assert_eq!(
        decide_sign_in(None, Some("x@y.z"), Some(b)),
        SignIn::LinkByEmail(b)
    );
    assert_eq!(
        decide_sign_in(None, Some("x@y.z"), None),
        SignIn::Create {
            email: "x@y.z".into()
        }
    );
    assert_eq!(
        decide_sign_in(None, None, Some(b)),
        SignIn::Refuse(SsoFailure::EmailUnverified)
    );
    assert_eq!(
        decide_sign_in(None, None, None),
        SignIn::Refuse(SsoFailure::EmailUnverified)
    );
}

#[test]
fn link_and_unlink_decisions() {
    let (me, other) = (UserId::new(), UserId::new());
    assert_eq!(decide_link(me, None), Link::Link);
    assert_eq!(decide_link(me, Some(me)), Link::AlreadyLinked);
    assert_eq!(
        decide_link(me, Some(other)),
        Link::Refuse(SsoFailure::IdentityTaken)
    );
    assert!(may_unlink(true, 1));
    assert!(may_unlink(false, 2));
    assert!(!may_unlink(false, 1));
}

#[test]
fn landing_is_a_same_origin_path() {
    assert_eq!(landing_path(Some("/platform")), "/platform");
    assert_eq!(landing_path(Some("//evil.example")), "/");
    assert_eq!(landing_path(Some("https://evil.example/")), "/");
    assert_eq!(landing_path(None), "/");
}

#[test]
fn failure_codes_are_distinct_and_have_sentences() {
    let mut codes: Vec<&str> = SsoFailure::ALL.iter().map(|f| f.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), SsoFailure::ALL.len());
    assert!(SsoFailure::ALL.iter().all(|f| f.sentence().ends_with('.')));
    assert_eq!(
        SsoProvider::parse("microsoft"),
        Some(SsoProvider::Microsoft)
    );
    assert_eq!(SsoProvider::parse("github"), None);
}
