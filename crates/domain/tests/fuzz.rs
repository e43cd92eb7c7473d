//! Property tests of every parser that reads outside input: registry templates and the registry
//! file, OAuth states and `return_to`, Shopify's callback HMAC, provider token answers and
//! webhook signatures. Each property asserts an outcome; none persists failures, and the seed
//! is fixed so every run checks the same cases (`PROPTEST_RNG_SEED` and `PROPTEST_CASES` explore
//! further). A failure once found stays below as a named unit test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::RngSeed;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use domain::crypto::{Purpose, PurposeKey};
use domain::oauth::{self, FALLBACK_EXPIRES_IN_SECS, MAX_EXPIRES_IN_SECS, StateSigner, TokenError};
use domain::registry::{FieldKind, OAuth2, Registry};
use domain::template::{self, Escape, TemplateError};
use domain::webhooks::{self, TOLERANCE_SECS};

/// Cases per property: the whole file stays within about 20 s of a debug build.
const CASES: u32 = 1000;

/// The same cases on every run; nothing written to the tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x706c_7567_626f_6172),
        ..ProptestConfig::default()
    }
}

/// Any text at all, control characters and every plane included.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Text made of what the template parser looks at: braces, name characters, dots, and
/// multi-byte characters beside them.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => select(vec![
            "{", "}", "{{", "}}", "{a}", "{env.X}", "{{a}}", ".", "_", "a", "Z", "9", "é", "😀",
            " ", "\"", "\\", "%", "/", "\n",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn builtin() -> Registry {
    Registry::builtin().expect("the built-in registry is valid")
}

/// The built-in registry, loaded once per test.
fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(builtin);
    &REGISTRY
}

mod templates {
    use super::*;

    /// A template written piece by piece: literal text that opens no placeholder, or `{name}`.
    #[derive(Clone, Debug)]
    enum Segment {
        Text(String),
        Name(Index),
    }

    fn segments() -> impl Strategy<Value = Vec<Segment>> {
        let segment = prop_oneof![
            "[^{]{0,8}".prop_map(Segment::Text),
            any::<Index>().prop_map(Segment::Name),
        ];
        vec(segment, 0..10)
    }

    /// Names a placeholder may have, few enough that they repeat.
    fn names() -> impl Strategy<Value = Vec<String>> {
        vec("[A-Za-z0-9_.]{1,6}", 1..4)
    }

    fn write(segments: &[Segment], names: &[String]) -> String {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(text) => text.clone(),
                Segment::Name(i) => format!("{{{}}}", i.get(names)),
            })
            .collect()
    }

    /// Every placeholder use, in order, repeats included.
    fn uses<'n>(segments: &[Segment], names: &'n [String]) -> Vec<&'n str> {
        segments
            .iter()
            .filter_map(|s| match s {
                Segment::Name(i) => Some(i.get(names).as_str()),
                Segment::Text(_) => None,
            })
            .collect()
    }

    /// The value of a name: that of its first listing, so repeated names agree.
    fn value_of<'v>(names: &[String], values: &'v [String], name: &str) -> &'v str {
        let first = names.iter().position(|n| n == name).unwrap();
        &values[first]
    }

    proptest! {
        #![proptest_config(config(CASES))]

        #[test]
        fn no_text_makes_the_parser_panic(text in prop_oneof![template_text(), any_text(64)]) {
            let names = template::placeholders(&text);
            let filled = template::fill(&text, "a", "{a}{{b}}");
            let rendered = template::render(&text, |_| Some(("x", Escape::Json)));
            prop_assert!(rendered.is_ok());
            let kept = names.iter().all(|n| *n == "a" || filled.contains(&format!("{{{n}}}")));
            prop_assert!(kept, "a placeholder other than `a` was lost: {}", filled);
        }

        /// Writing every placeholder back as itself gives the template unchanged: the parser
        /// loses and invents nothing, whatever braces the text holds.
        #[test]
        fn rendering_each_placeholder_as_itself_is_the_identity(text in template_text()) {
            let own: BTreeMap<&str, String> = template::placeholders(&text)
                .into_iter()
                .map(|n| (n, format!("{{{n}}}")))
                .collect();
            let again = template::render(&text, |n| own.get(n).map(|v| (v.as_str(), Escape::Raw)));
            prop_assert_eq!(again.as_deref(), Ok(text.as_str()));
            prop_assert_eq!(template::fill(&text, "a", "{a}"), text.clone());
        }

        /// Exactly the declared placeholders are asked for and written, once per use; a value
        /// holding `{name}` or `{{name}}` is written as it is, never expanded again.
        #[test]
        fn render_substitutes_exactly_the_declared_placeholders(
            segments in segments(),
            names in names(),
            values in vec(template_text(), 4),
        ) {
            let text = write(&segments, &names);
            let expected: String = segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.clone(),
                    Segment::Name(i) => {
                        value_of(&names, &values, i.get(&names).as_str()).to_owned()
                    }
                })
                .collect();
            let mut asked = Vec::new();
            let rendered = template::render(&text, |n| {
                asked.push(n.to_owned());
                Some((value_of(&names, &values, n), Escape::Raw))
            });
            prop_assert_eq!(rendered, Ok(expected));
            prop_assert_eq!(&asked, &uses(&segments, &names));
            let mut declared = Vec::new();
            for name in uses(&segments, &names) {
                if !declared.contains(&name) {
                    declared.push(name);
                }
            }
            prop_assert_eq!(template::placeholders(&text), declared);
        }

        /// `fill` writes one name, single pass, and leaves every other placeholder as it was.
        #[test]
        fn fill_writes_one_name_and_keeps_the_rest(
            segments in segments(),
            names in names(),
            value in template_text(),
        ) {
            let text = write(&segments, &names);
            let name = names[0].as_str();
            let expected: String = segments
                .iter()
                .map(|s| match s {
                    Segment::Name(i) if i.get(&names) == name => value.clone(),
                    Segment::Name(i) => format!("{{{}}}", i.get(&names)),
                    Segment::Text(t) => t.clone(),
                })
                .collect();
            prop_assert_eq!(template::fill(&text, name, &value), expected);
        }

        /// A missing value is an error naming the first placeholder without one.
        #[test]
        fn a_missing_value_names_the_first_placeholder_without_one(
            segments in segments(),
            names in names(),
            known in vec(any::<bool>(), 4),
        ) {
            let text = write(&segments, &names);
            let has = |n: &str| known[names.iter().position(|x| x == n).unwrap()];
            let rendered = template::render(&text, |n| has(n).then_some(("v", Escape::Raw)));
            match uses(&segments, &names).into_iter().find(|n| !has(n)) {
                Some(first) => {
                    prop_assert_eq!(rendered, Err(TemplateError::Missing(first.to_owned())))
                }
                None => prop_assert!(rendered.is_ok()),
            }
        }

        /// A URL-escaped value is unreserved characters and `%XX` only, and decodes back; a
        /// JSON-escaped one stays inside its string in a body template.
        #[test]
        fn escaped_values_cannot_leave_their_context(value in any_text(32)) {
            let url = template::render("{v}", |_| Some((value.as_str(), Escape::Url))).unwrap();
            prop_assert!(url.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded: Vec<(String, String)> =
                url::form_urlencoded::parse(format!("v={url}").as_bytes()).into_owned().collect();
            prop_assert_eq!(decoded, vec![("v".to_owned(), value.clone())]);

            let body =
                template::render(r#"{"k":"{v}","n":1}"#, |_| Some((value.as_str(), Escape::Json)))
                    .unwrap();
            let parsed: Value = serde_json::from_str(&body).unwrap();
            prop_assert_eq!(parsed, json!({"k": value, "n": 1}));
        }
    }
}

mod registry_file {
    use super::*;

    /// What a registry that loads must satisfy, whatever text it came from.
    fn holds(registry: &Registry) {
        let mut seen = std::collections::HashSet::new();
        for provider in registry.providers() {
            let id = provider.id.as_str();
            assert!(
                !id.is_empty()
                    && id.len() <= 32
                    && id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{id}"
            );
            assert!(seen.insert(id), "{id} twice");
            assert_eq!(registry.get(id).map(|p| p.id.as_str()), Some(id));
            assert!(!provider.name.trim().is_empty());
            assert!(Url::parse(&provider.docs_url).is_ok_and(|u| u.scheme() == "https"));
        }
    }

    /// One edit of a text at character boundaries.
    #[derive(Clone, Debug)]
    enum Edit {
        Delete {
            at: Index,
            len: usize,
        },
        Insert {
            at: Index,
            text: String,
        },
        ReplaceLine {
            line: Index,
            text: String,
        },
        /// Text written at the start of one string value, so the file still parses and the
        /// value reaches the registry's own checks (templates, URLs, patterns, ids).
        IntoValue {
            line: Index,
            text: String,
        },
    }

    /// `text` as the inside of a TOML basic string.
    fn toml_escaped(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                '"' => "\\\"".to_owned(),
                '\\' => "\\\\".to_owned(),
                c if c.is_control() => format!("\\u{:04X}", u32::from(c)),
                c => c.to_string(),
            })
            .collect()
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let text = prop_oneof![
            template_text(),
            select(vec![
                "\"",
                "'''",
                "[",
                "]]",
                "[[provider]]",
                "=",
                "{",
                "}",
                "\n",
                "#",
                "\\u0000",
                "-1",
                "99999999999999999999",
                "\"\\uD800\"",
                "nan",
                "1979-05-27",
            ])
            .prop_map(str::to_owned),
        ];
        prop_oneof![
            1 => (any::<Index>(), 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
            1 => (any::<Index>(), text.clone()).prop_map(|(at, text)| Edit::Insert { at, text }),
            1 => (any::<Index>(), text.clone())
                .prop_map(|(line, text)| Edit::ReplaceLine { line, text }),
            4 => (any::<Index>(), text).prop_map(|(line, text)| Edit::IntoValue { line, text }),
        ]
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        match edit {
            Edit::Delete { at, len } => {
                let from = at.index(bounds.len());
                let to = bounds[(from + len).min(bounds.len() - 1)];
                format!("{}{}", &text[..bounds[from]], &text[to..])
            }
            Edit::Insert { at, text: inserted } => {
                let at = *at.get(&bounds);
                format!("{}{inserted}{}", &text[..at], &text[at..])
            }
            Edit::ReplaceLine {
                line,
                text: replaced,
            } => {
                let mut lines: Vec<&str> = text.lines().collect();
                let i = line.index(lines.len());
                lines[i] = replaced;
                lines.join("\n")
            }
            Edit::IntoValue {
                line,
                text: written,
            } => {
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                let values: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].contains("= \""))
                    .collect();
                let i = *line.get(&values);
                lines[i] = lines[i].replacen("= \"", &format!("= \"{}", toml_escaped(written)), 1);
                lines.join("\n")
            }
        }
    }

    const BUILTIN: &str = include_str!("../providers.toml");

    /// The built-in file's first three providers: quick enough to load in every case.
    fn first_three() -> Registry {
        let cut = BUILTIN
            .match_indices("[[provider]]")
            .nth(3)
            .map_or(BUILTIN.len(), |(i, _)| i);
        Registry::from_toml(&BUILTIN[..cut]).unwrap()
    }

    proptest! {
        #![proptest_config(config(CASES))]

        #[test]
        fn arbitrary_text_is_refused_without_panicking(
            text in prop_oneof![any_text(200), template_text()],
        ) {
            prop_assert!(Registry::from_toml(&text).is_err());
        }

        /// A tenant's value for any field of any provider is checked without panicking, and
        /// what passes keeps the field's rules.
        #[test]
        fn field_values_are_checked_without_panicking(
            field in any::<Index>(),
            value in prop_oneof![
                any_text(40),
                "[a-z0-9.-]{0,300}",
                "https?://[a-z0-9.:/@-]{0,40}",
                vec(Just('a'), 4090..4100).prop_map(String::from_iter),
            ],
        ) {
            let registry = registry();
            let fields: Vec<_> = registry.providers().iter().flat_map(|p| &p.fields).collect();
            let field = field.get(&fields);
            if field.check(&value).is_ok() {
                prop_assert!(!value.trim().is_empty() && value.len() <= 4096);
                match field.kind {
                    FieldKind::Select => prop_assert!(field.options.contains(&value)),
                    FieldKind::Url => prop_assert!(
                        Url::parse(&value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                    ),
                    FieldKind::Host => prop_assert!(
                        value.len() <= 253 && value.split('.').all(|l| l.len() <= 63)
                    ),
                    FieldKind::Text => {}
                }
            }
        }
    }

    proptest! {
        // Each case loads a registry of three providers.
        #![proptest_config(config(256))]

        /// Overrides come from the operator's environment: any text is taken or refused, and
        /// what is taken names known providers only.
        #[test]
        fn arbitrary_overrides_are_taken_or_refused(
            spec in prop_oneof![
                any_text(80),
                "[a-z_=:/.,0-9 ]{0,60}",
                "(shopify|stripe|resend|x)=[a-z:/.0-9]{0,20}",
            ],
        ) {
            if let Ok(registry) = first_three().with_base_urls(&spec) {
                for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    let id = entry.split_once('=').map(|(id, _)| id.trim());
                    let overridden = id
                        .and_then(|id| registry.get(id))
                        .is_some_and(|p| p.base_url_override.is_some());
                    prop_assert!(overridden, "{}", entry);
                }
            }
        }

        /// Operator overrides take only known providers and http(s) URLs, and every rendered
        /// URL then goes to the override's host whatever its path.
        #[test]
        fn an_override_sends_every_url_to_its_host(
            provider in any::<Index>(),
            host in "[a-z][a-z0-9]{0,8}(\\.[a-z][a-z0-9]{0,7}){0,2}",
            port in 1..65535u16,
            scheme in select(vec!["http", "https", "ftp", "file"]),
            path in any_text(24),
        ) {
            let registry = first_three();
            let id = provider.get(registry.providers()).id.clone();
            let spec = format!("{id}={scheme}://{host}:{port}/mount");
            let result = registry.with_base_urls(&spec);
            prop_assert_eq!(result.is_ok(), scheme.starts_with("http"));
            let Ok(registry) = result else { return Ok(()) };
            let provider = registry.get(&id).unwrap();
            let mut url = Url::parse("https://api.provider.example/").unwrap();
            url.set_path(&path);
            let sent = provider.redirect(url);
            prop_assert_eq!(sent.host_str(), Some(host.as_str()));
            prop_assert_eq!(sent.port_or_known_default(), Some(port));
            prop_assert!(sent.path().starts_with("/mount/"));
        }
    }

    proptest! {
        // Each case parses and validates the whole built-in file (about 50 kB).
        #![proptest_config(config(100))]

        /// The built-in file with a few edits loads or is refused, never panics, and what
        /// loads still keeps the registry's rules.
        #[test]
        fn an_edited_registry_loads_or_is_refused(edits in vec(edit(), 1..3)) {
            let text = edits.iter().fold(BUILTIN.to_owned(), |text, e| apply(&text, e));
            if let Ok(registry) = Registry::from_toml(&text) {
                holds(&registry);
            }
        }
    }

    #[test]
    fn the_builtin_registry_keeps_the_rules() {
        holds(&builtin());
    }
}

mod oauth_state {
    use super::*;

    fn signer(secret: &str) -> StateSigner {
        StateSigner::new(&PurposeKey::derive(
            &SecretString::from(secret.to_owned()),
            Purpose::OAuthState,
        ))
    }

    /// Registry ids and anything else a path segment could hold.
    fn provider() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z][a-z0-9_]{0,31}", any_text(12)]
    }

    /// Strings shaped like a state (base64url, a dot, base64url) and strings that are not.
    fn state_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,50}\\.[A-Za-z0-9_-]{0,50}",
            "[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}",
            any_text(100),
        ]
    }

    /// One byte of a state changed, dropped, or added.
    #[derive(Clone, Debug)]
    enum Mutation {
        Replace(Index, u8),
        Remove(Index),
        Insert(Index, u8),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
            any::<Index>().prop_map(Mutation::Remove),
            (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        ]
    }

    /// The mutated text as a query decoder would hand it over (invalid UTF-8 replaced), or
    /// `None` when the mutation changed nothing.
    fn mutate(state: &str, mutation: &Mutation) -> Option<String> {
        let mut bytes = state.as_bytes().to_vec();
        match mutation {
            Mutation::Replace(i, b) => {
                let i = i.index(bytes.len());
                if bytes[i] == *b {
                    return None;
                }
                bytes[i] = *b;
            }
            Mutation::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    proptest! {
        #![proptest_config(config(CASES))]

        #[test]
        fn arbitrary_states_are_refused(provider in provider(), state in state_like()) {
            prop_assert!(!signer("server-secret").is_genuine(&provider, &state));
        }

        /// A signed state passes for its provider only, and only under the key that signed it.
        #[test]
        fn a_state_passes_for_its_provider_only(
            provider in provider(),
            other in provider(),
            secret in any_text(20),
        ) {
            let signer = signer(&secret);
            let state = signer.issue(&provider).unwrap();
            prop_assert!(signer.is_genuine(&provider, &state));
            if other != provider {
                prop_assert!(!signer.is_genuine(&other, &state));
            }
            let other_key = self::signer(&format!("{secret}!"));
            prop_assert!(!other_key.is_genuine(&provider, &state));
            let digest = oauth::state_digest(&state);
            let lower_hex = digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            prop_assert!(digest.len() == 64 && lower_hex);
        }

        #[test]
        fn any_one_byte_change_of_a_state_is_refused(
            provider in "[a-z][a-z0-9_]{0,31}",
            mutation in mutation(),
        ) {
            let signer = signer("server-secret");
            let state = signer.issue(&provider).unwrap();
            if let Some(changed) = mutate(&state, &mutation) {
                prop_assert!(!signer.is_genuine(&provider, &changed), "{changed}");
            }
        }

        /// `return_to` is a path on our own origin: whatever passes resolves there.
        #[test]
        fn a_return_path_stays_on_our_origin(
            requested in prop_oneof![
                any_text(40),
                vec(
                    select(vec![
                        "/", "\\", ".", "..", ":", "//", "@", "%2F", "%5C", "evil.example", " ",
                        "\t", "?", "#", "https:", "\u{3000}", "a",
                    ]),
                    0..8,
                )
                .prop_map(|p| p.concat()),
            ],
        ) {
            let origin = Url::parse("https://plugboard.example/app/").unwrap();
            if let Some(path) = oauth::safe_return_path(&requested) {
                prop_assert!(path.starts_with('/') && path.len() <= 512);
                let target = origin.join(&path).unwrap();
                prop_assert_eq!(target.origin(), origin.origin());
            }
        }
    }
}

mod shopify {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("shpss_app_secret".to_owned())
    }

    fn query() -> impl Strategy<Value = BTreeMap<String, String>> {
        let key = prop_oneof![
            select(vec![
                "code",
                "host",
                "shop",
                "state",
                "timestamp",
                "hmac",
                "signature"
            ])
            .prop_map(str::to_owned),
            "[a-z_]{1,8}",
            any_text(8),
        ];
        btree_map(
            key,
            prop_oneof!["[A-Za-z0-9._=-]{0,20}", any_text(16)],
            0..7,
        )
    }

    fn signed(mut query: BTreeMap<String, String>) -> BTreeMap<String, String> {
        query.remove("hmac");
        let hmac = oauth::shopify_hmac(&query, &secret());
        query.insert("hmac".to_owned(), hmac);
        query
    }

    proptest! {
        #![proptest_config(config(CASES))]

        #[test]
        fn arbitrary_queries_are_refused(
            mut query in query(),
            hmac in prop_oneof!["[0-9a-f]{64}", "[0-9a-fA-F+ -]{0,66}", any_text(66)],
            with_hmac in any::<bool>(),
        ) {
            if with_hmac {
                query.insert("hmac".to_owned(), hmac);
            }
            prop_assert!(!oauth::shopify_hmac_is_valid(&query, &secret()));
        }

        /// A signed query verifies; `signature` is not signed (Shopify's older parameter), so
        /// adding or changing it changes nothing.
        #[test]
        fn a_signed_query_verifies(query in query(), signature in any_text(10)) {
            let mut query = signed(query);
            prop_assert!(oauth::shopify_hmac_is_valid(&query, &secret()));
            query.insert("signature".to_owned(), signature);
            prop_assert!(oauth::shopify_hmac_is_valid(&query, &secret()));
            let other = SecretString::from("other".to_owned());
            prop_assert!(!oauth::shopify_hmac_is_valid(&query, &other));
        }

        #[test]
        fn changing_any_key_or_value_or_adding_one_is_refused(
            query in query(),
            which in any::<Index>(),
            new in prop_oneof!["[a-z]{0,4}", any_text(6)],
            change in 0..3u8,
        ) {
            let mut query = signed(query);
            let signed_keys: Vec<String> =
                query.keys().filter(|k| *k != "hmac" && *k != "signature").cloned().collect();
            match (change, signed_keys.is_empty()) {
                // A value changed.
                (0, false) => {
                    let key = which.get(&signed_keys);
                    let value = query.get_mut(key).unwrap();
                    if *value == new {
                        return Ok(());
                    }
                    *value = new;
                }
                // A key renamed.
                (1, false) => {
                    let key = which.get(&signed_keys);
                    if query.contains_key(&new) || new == "hmac" || new == "signature" {
                        return Ok(());
                    }
                    let value = query.remove(key).unwrap();
                    query.insert(new, value);
                }
                // A parameter added.
                _ => {
                    if query.contains_key(&new) || new == "hmac" || new == "signature" {
                        return Ok(());
                    }
                    query.insert(new, String::new());
                }
            }
            prop_assert!(!oauth::shopify_hmac_is_valid(&query, &secret()));
        }

        /// Any change to the hmac itself is refused, except the case of a hex letter: the
        /// same bytes written in capitals.
        #[test]
        fn changing_the_hmac_is_refused(
            query in query(),
            at in any::<Index>(),
            to in prop_oneof![any::<char>(), select(vec!['+', '-', ' ', 'g', 'A', '0', 'é'])],
        ) {
            let mut query = signed(query);
            let hmac = query["hmac"].clone();
            let i = at.index(hmac.len());
            let old = hmac.as_bytes()[i] as char;
            if old.eq_ignore_ascii_case(&to) {
                return Ok(());
            }
            let changed = format!("{}{to}{}", &hmac[..i], &hmac[i + 1..]);
            query.insert("hmac".to_owned(), changed);
            prop_assert!(!oauth::shopify_hmac_is_valid(&query, &secret()));
        }
    }

    /// Found by `arbitrary_queries_are_refused`: slicing the hmac two bytes at a time split a
    /// multi-byte character and panicked.
    #[test]
    fn an_hmac_with_a_multi_byte_character_is_refused_without_panicking() {
        let mut query = signed(BTreeMap::from([(
            "shop".to_owned(),
            "a.myshopify.com".to_owned(),
        )]));
        let hmac = query["hmac"].clone();
        query.insert("hmac".to_owned(), format!("\u{800}{}", &hmac[3..]));
        assert!(!oauth::shopify_hmac_is_valid(&query, &secret()));
    }

    /// A signed digit pair (`+a` for `0a`) is not hex, though `from_str_radix` reads it so.
    #[test]
    fn an_hmac_with_a_sign_is_refused() {
        let (mut query, at) = (0..)
            .find_map(|n| {
                let query = signed(BTreeMap::from([("shop".to_owned(), format!("s{n}"))]));
                let at = query["hmac"]
                    .as_bytes()
                    .chunks(2)
                    .position(|pair| pair[0] == b'0')?;
                Some((query, 2 * at))
            })
            .unwrap();
        let hmac = query["hmac"].clone();
        query.insert(
            "hmac".to_owned(),
            format!("{}+{}", &hmac[..at], &hmac[at + 1..]),
        );
        assert!(!oauth::shopify_hmac_is_valid(&query, &secret()));
    }

    #[test]
    fn an_hmac_in_capitals_is_the_same_hmac() {
        let mut query = signed(BTreeMap::from([(
            "shop".to_owned(),
            "a.myshopify.com".to_owned(),
        )]));
        let upper = query["hmac"].to_ascii_uppercase();
        query.insert("hmac".to_owned(), upper);
        assert!(oauth::shopify_hmac_is_valid(&query, &secret()));
    }
}

mod token_answers {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    /// Every OAuth provider of the built-in registry: each quirk of token answers.
    fn providers() -> Vec<OAuth2> {
        registry()
            .providers()
            .iter()
            .filter_map(|p| p.oauth().cloned())
            .collect()
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => select(vec![
                "access_token", "refresh_token", "expires_in", "scope", "error", "code", "message",
                "data", "ok", "authed_user", "team", "name", "id", "stripe_user_id",
            ])
            .prop_map(str::to_owned),
            1 => any_text(8),
        ]
    }

    /// Any JSON value, nested, with the names token answers use as keys.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("JSON has no NaN", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            prop_oneof!["-?[0-9]{1,25}", any_text(12)].prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `expires_in` as providers (and impostors) write it.
    fn expires_in() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            (0..100_000i64).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(|n| Value::from(n.to_string())),
            "[+-]?[0-9]{1,30}".prop_map(Value::from),
            any::<f64>().prop_filter_map("JSON has no NaN", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            json_value(),
        ]
    }

    fn without_access_tokens(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("access_token");
                map.values_mut().for_each(without_access_tokens);
            }
            Value::Array(list) => list.iter_mut().for_each(without_access_tokens),
            _ => {}
        }
    }

    /// The texts an answer offers as its access token, wherever a quirk may look.
    fn offered_tokens(answer: &Value) -> Vec<String> {
        [
            "/access_token",
            "/data/access_token",
            "/authed_user/access_token",
        ]
        .iter()
        .filter_map(|p| match answer.pointer(p)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
    }

    proptest! {
        #![proptest_config(config(CASES))]

        /// Any JSON is read or refused without panicking; a token read is one the answer holds,
        /// expiring between now and the longest lifetime believed.
        #[test]
        fn any_answer_is_read_or_refused(
            provider in any::<Index>(),
            answer in prop_oneof![
                json_value(),
                (json_value(), any_text(10), expires_in()).prop_map(|(mut v, token, exp)| {
                    if let Value::Object(map) = &mut v {
                        map.insert("access_token".into(), Value::from(token));
                        map.insert("expires_in".into(), exp);
                    }
                    v
                }),
            ],
        ) {
            let providers = providers();
            let oauth = provider.get(&providers);
            match oauth::read_token_answer(oauth, &answer, now()) {
                Ok(tokens) => {
                    let token = tokens.access_token.expose_secret().to_owned();
                    prop_assert!(!token.is_empty());
                    prop_assert!(offered_tokens(&answer).contains(&token));
                    prop_assert!(tokens.expires_at >= now());
                    let latest = now() + Duration::seconds(MAX_EXPIRES_IN_SECS);
                    prop_assert!(tokens.expires_at <= latest);
                }
                Err(TokenError::Refused(code)) => prop_assert!(!code.is_empty()),
                Err(TokenError::Malformed) => {}
            }
        }

        #[test]
        fn an_answer_without_an_access_token_is_an_error(
            provider in any::<Index>(),
            mut answer in json_value(),
        ) {
            without_access_tokens(&mut answer);
            let providers = providers();
            let read = oauth::read_token_answer(provider.get(&providers), &answer, now());
            prop_assert!(read.is_err());
        }

        /// A provider's `error` is a refusal carrying its code.
        #[test]
        fn an_error_is_a_refusal_with_its_code(
            provider in any::<Index>(),
            code in "[a-z_]{1,20}",
            answer in json_value(),
        ) {
            let providers = providers();
            let answer = match answer {
                Value::Object(mut map) => {
                    map.insert("error".into(), Value::from(code.clone()));
                    Value::Object(map)
                }
                _ => json!({ "error": code, "access_token": "t" }),
            };
            prop_assert_eq!(
                oauth::read_token_answer(provider.get(&providers), &answer, now()).err(),
                Some(TokenError::Refused(code))
            );
        }

        /// `expires_in` as a number or a numeric string is the lifetime, held between zero
        /// and the longest believed; anything else falls back to the default.
        #[test]
        fn expires_in_in_any_form_is_read_without_overflow(
            expires_in in expires_in(),
            default in prop::option::of(any::<i64>()),
        ) {
            let mut oauth = providers().into_iter().find(|o| o.quirks.is_empty()).unwrap();
            oauth.default_expires_in = default;
            let answer = json!({ "access_token": "t", "expires_in": expires_in });
            let tokens = oauth::read_token_answer(&oauth, &answer, now()).unwrap();
            let given = expires_in.as_i64().or_else(|| expires_in.as_str()?.parse().ok());
            let lifetime = given.or(default).unwrap_or(FALLBACK_EXPIRES_IN_SECS);
            prop_assert_eq!(
                tokens.expires_at,
                now() + Duration::seconds(lifetime.clamp(0, MAX_EXPIRES_IN_SECS))
            );
        }

        /// The bytes of a token endpoint's answer, whatever they are, are read as the API reads
        /// them (JSON or nothing) without panicking.
        #[test]
        fn any_bytes_are_read_or_refused(
            provider in any::<Index>(),
            bytes in vec(any::<u8>(), 0..200),
        ) {
            let providers = providers();
            let answer = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
            prop_assert!(oauth::read_token_answer(provider.get(&providers), &answer, now()).is_err()
                || answer.is_object());
        }
    }

    #[test]
    fn a_lifetime_past_any_clock_is_capped() {
        let oauth = providers()
            .into_iter()
            .find(|o| o.quirks.is_empty())
            .unwrap();
        let cap = now() + Duration::seconds(MAX_EXPIRES_IN_SECS);
        for huge in [
            json!(i64::MAX),
            json!(10_000_000_000_000_000i64),
            json!("9223372036854775807"),
        ] {
            let answer = json!({ "access_token": "t", "expires_in": huge });
            assert_eq!(
                oauth::read_token_answer(&oauth, &answer, now())
                    .unwrap()
                    .expires_at,
                cap
            );
        }
        let answer = json!({ "access_token": "t", "expires_in": i64::MIN });
        assert_eq!(
            oauth::read_token_answer(&oauth, &answer, now())
                .unwrap()
                .expires_at,
            now()
        );
    }
}

mod webhook_signatures {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned())
    }

    /// Message ids as `message_id` writes them, and others without a dot: the signed content
    /// is `{id}.{timestamp}.{body}`, unambiguous only while the id holds no dot.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u128>().prop_map(|n| webhooks::message_id(uuid::Uuid::from_u128(n))),
            "[A-Za-z0-9_-]{1,32}",
        ]
    }

    fn timestamp() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            1_600_000_000..1_900_000_000i64,
            Just(i64::MIN),
            Just(i64::MAX)
        ]
    }

    proptest! {
        #![proptest_config(config(CASES))]

        #[test]
        fn arbitrary_headers_never_verify(
            header in prop_oneof![
                any_text(120),
                "(v1,[A-Za-z0-9+/]{43}= ?){1,3}",
                "v1,[A-Za-z0-9+/=]{0,60}",
            ],
            id in id(),
            timestamp in timestamp(),
            now in timestamp(),
            body in vec(any::<u8>(), 0..64),
        ) {
            prop_assert!(!webhooks::verify(&secret(), &id, timestamp, &body, &header, now));
        }

        /// A signature verifies within the tolerance and not beyond it, at any time at all.
        #[test]
        fn a_signature_verifies_only_within_the_tolerance(
            id in id(),
            timestamp in timestamp(),
            now in prop_oneof![
                timestamp(),
                -TOLERANCE_SECS - 2..TOLERANCE_SECS + 2,
            ],
            offset in any::<bool>(),
            body in vec(any::<u8>(), 0..64),
        ) {
            // Either an absolute `now`, or one a few seconds from the timestamp.
            let now = if offset { timestamp.saturating_add(now.clamp(-400, 400)) } else { now };
            let header = webhooks::sign(&secret(), &id, timestamp, &body).unwrap();
            let within =
                (i128::from(now) - i128::from(timestamp)).abs() <= i128::from(TOLERANCE_SECS);
            let verified = webhooks::verify(&secret(), &id, timestamp, &body, &header, now);
            prop_assert_eq!(verified, within);
        }

        /// Only the exact body, id and timestamp verify.
        #[test]
        fn a_signature_covers_the_body_id_and_timestamp(
            id in id(),
            other_id in id(),
            timestamp in 1_600_000_000..1_900_000_000i64,
            shift in -TOLERANCE_SECS..TOLERANCE_SECS,
            body in vec(any::<u8>(), 0..64),
            other_body in vec(any::<u8>(), 0..64),
        ) {
            let header = webhooks::sign(&secret(), &id, timestamp, &body).unwrap();
            let verify = |id: &str, ts: i64, body: &[u8]| {
                webhooks::verify(&secret(), id, ts, body, &header, timestamp)
            };
            prop_assert!(verify(&id, timestamp, &body));
            prop_assert_eq!(verify(&other_id, timestamp, &body), other_id == id);
            prop_assert_eq!(verify(&id, timestamp + shift, &body), shift == 0);
            prop_assert_eq!(verify(&id, timestamp, &other_body), other_body == body);
        }

        /// Any one character of a signature header changed is refused; a good signature among
        /// others verifies (secret rotation).
        #[test]
        fn a_changed_signature_is_refused(
            id in id(),
            body in vec(any::<u8>(), 0..32),
            at in any::<Index>(),
            to in any::<char>(),
            junk in "v1,[A-Za-z0-9+/]{43}=",
        ) {
            let time = 1_700_000_000;
            let header = webhooks::sign(&secret(), &id, time, &body).unwrap();
            let verify = |h: &str| webhooks::verify(&secret(), &id, time, &body, h, time);
            let rotated = format!("{junk} {header}");
            prop_assert!(verify(&rotated));
            let i = at.index(header.len());
            if header.as_bytes()[i] as char != to {
                let changed = format!("{}{to}{}", &header[..i], &header[i + 1..]);
                prop_assert!(!verify(&changed), "{changed}");
            }
        }

        /// A secret that is not `whsec_` + base64 is refused for signing and verifies nothing.
        #[test]
        fn arbitrary_secrets_never_panic(
            secret in prop_oneof![any_text(40), "whsec_[A-Za-z0-9+/=]{0,12}"],
        ) {
            let secret = SecretString::from(secret);
            match webhooks::sign(&secret, "msg_1", 1, b"") {
                Ok(header) => prop_assert!(webhooks::verify(&secret, "msg_1", 1, b"", &header, 1)),
                Err(_) => prop_assert!(!webhooks::verify(&secret, "msg_1", 1, b"", "v1,AAAA", 1)),
            }
        }
    }

    #[test]
    fn timestamps_at_the_ends_of_time_are_refused_without_overflow() {
        let header = webhooks::sign(&secret(), "msg_1", i64::MIN, b"{}").unwrap();
        assert!(!webhooks::verify(
            &secret(),
            "msg_1",
            i64::MIN,
            b"{}",
            &header,
            0
        ));
        assert!(!webhooks::verify(
            &secret(),
            "msg_1",
            i64::MIN,
            b"{}",
            &header,
            i64::MAX
        ));
        assert!(webhooks::verify(
            &secret(),
            "msg_1",
            i64::MIN,
            b"{}",
            &header,
            i64::MIN
        ));
    }
}
