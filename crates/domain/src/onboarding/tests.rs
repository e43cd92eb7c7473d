use chrono::Utc;

use super::*;

fn record(step: Step, status: StepStatus) -> StepRecord {
    StepRecord {
        step,
        status,
        data: serde_json::Value::Null,
        completed_at: None,
        updated_at: Utc::now(),
    }
}

#[test]
fn steps_round_trip_in_wizard_order() {
    let ids: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        ids,
        [
            "basic_info",
            "connect_shopify",
            "shopify_setup",
            "domains",
            "payments",
            "integrations",
            "features",
            "import_products",
            "invite_users",
            "review_launch"
        ]
    );
    for step in Step::ALL {
        assert_eq!(Step::parse(step.as_str()), Some(step));
    }
    assert_eq!(Step::parse("launch"), None);
    for status in [
        StepStatus::Pending,
        StepStatus::Completed,
        StepStatus::Skipped,
    ] {
        assert_eq!(StepStatus::parse(status.as_str()), Some(status));
    }
}

#[test]
fn only_steps_that_are_not_required_may_be_skipped() {
    let required: Vec<Step> = Step::ALL.into_iter().filter(|s| s.required()).collect();
    assert_eq!(
        required,
        [
            Step::BasicInfo,
            Step::ConnectShopify,
            Step::ShopifySetup,
            Step::Features,
            Step::ReviewLaunch
        ]
    );
    assert_eq!(Step::Payments.class(), StepClass::Recommended);
    assert_eq!(
        Step::ConnectShopify.check_skip(),
        Err(OnboardingError::NotSkippable(Step::ConnectShopify))
    );
    assert_eq!(Step::Domains.check_skip(), Ok(()));
}

#[test]
fn launch_waits_for_every_required_step() {
    let mut records = vec![
        record(Step::BasicInfo, StepStatus::Completed),
        record(Step::ConnectShopify, StepStatus::Completed),
        record(Step::Domains, StepStatus::Skipped),
    ];
    assert_eq!(
        missing_for_launch(&records),
        [Step::ShopifySetup, Step::Features]
    );
    records.push(record(Step::ShopifySetup, StepStatus::Completed));
    records.push(record(Step::Features, StepStatus::Completed));
    assert!(missing_for_launch(&records).is_empty());
}

#[test]
fn basic_info_is_checked_field_by_field() {
    let info = BasicInfo::parse(
        " Acme ",
        "https://acme.example",
        "America/Argentina/Buenos_Aires",
        "EUR",
    )
    .unwrap();
    assert_eq!(info.name, "Acme");
    for tz in ["UTC", "Europe/Paris", "Etc/GMT+5", "America/Port-au-Prince"] {
        assert!(
            BasicInfo::parse("A", "http://a.example", tz, "USD").is_ok(),
            "{tz}"
        );
    }
    let problems = BasicInfo::parse("", "ftp://acme.example", "Mars/Olympus", "usd").unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
    assert_eq!(fields, ["name", "website", "timezone", "currency"]);
    for bad_tz in [
        "Europe",
        "europe/paris",
        "Europe/../etc",
        "Europe/Paris/A/B",
        "GMT",
    ] {
        assert!(
            BasicInfo::parse("A", "https://a.example", bad_tz, "USD").is_err(),
            "{bad_tz}"
        );
    }
    for bad_site in [
        "acme.example",
        "https://localhost",
        "https://u:p@acme.example",
    ] {
        assert!(
            BasicInfo::parse("A", bad_site, "UTC", "USD").is_err(),
            "{bad_site}"
        );
    }
    assert!(BasicInfo::parse("A", "https://a.example", "UTC", "XYZ").is_err());
    assert!(brand::currencies_are_sorted());
}

#[test]
fn host_names_are_normalised_and_checked() {
    assert_eq!(
        parse_host(" Shop.Example.COM. ").unwrap(),
        "shop.example.com"
    );
    assert_eq!(
        parse_host("xn--bcher-kva.example").unwrap(),
        "xn--bcher-kva.example"
    );
    for bad in [
        "https://shop.example.com",
        "shop.example.com/path",
        "shop.example.com:443",
        "localhost",
        "*.example.com",
        "-shop.example.com",
        "shop_1.example.com",
        "10.0.0.1",
        "",
    ] {
        assert!(parse_host(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_domain_asks_for_a_txt_record_under_its_own_name() {
    let domain = CustomDomain {
        host: "shop.example.com".to_owned(),
        status: DomainStatus::Pending,
        verification_token: "abc123".to_owned(),
        created_at: Utc::now(),
        verified_at: None,
    };
    let record = domain.verification_record();
    assert_eq!(record.kind, "TXT");
    assert_eq!(record.name, "_plugboard-verify.shop.example.com");
    assert_eq!(record.value, "plugboard-verification=abc123");
}
