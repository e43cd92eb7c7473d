//! Which connections background work looks at, and what a lapse during an outage records.

use super::*;
use crate::lifecycle::due::{health_checks, lapsed_during_outage, refresh_sweep};

#[test]
fn the_refresh_sweep_renews_working_and_failing_connections() {
    let selection = refresh_sweep();
    assert!(selection.enabled_only);
    let renewed: Vec<bool> = STATES
        .iter()
        .map(|s| selection.statuses.contains(s))
        .collect();
    // N, C, X, E, D
    assert_eq!(renewed, [false, true, false, true, false]);
}

#[test]
fn health_checks_look_at_connected_connections_not_seen_lately() {
    let due = health_checks(now(), Duration::days(1));
    assert!(due.selection.enabled_only);
    let checked: Vec<bool> = STATES
        .iter()
        .map(|s| due.selection.statuses.contains(s))
        .collect();
    assert_eq!(checked, [false, true, false, false, false]);
    assert_eq!(due.untouched_since, now() - Duration::days(1));
}

#[test]
fn a_token_lapsing_during_an_outage() {
    let expiring = |status, expires_at| Connection {
        token_expires_at: expires_at,
        ..connection(status)
    };
    let past = Some(now() - Duration::minutes(1));
    let valid = Some(now() + Duration::minutes(1));
    let lapsed = Some(Input::TokenPastExpiry { renewable: true });
    // Past expiry, in the order of `STATES` (N, C, X, E, D): only a working one changes.
    let got: Vec<_> = STATES
        .iter()
        .map(|&s| lapsed_during_outage(&expiring(s, past), now()))
        .collect();
    assert_eq!(got, [None, lapsed.clone(), None, None, None]);
    assert_eq!(lapsed_during_outage(&expiring(C, valid), now()), None);
    assert_eq!(lapsed_during_outage(&expiring(C, None), now()), None);
    assert_eq!(
        lapsed_during_outage(&expiring(C, Some(now())), now()),
        lapsed
    );
}
