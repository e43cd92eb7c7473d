//! `{placeholder}` templates in the registry: URLs, headers and bodies of provider requests.

use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("`{0}` has no value")]
    Missing(String),
}

/// How a value is written into the text around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// As is: headers, and URL fields that are whole base URLs or hosts.
    Raw,
    /// Percent-encoded, for a value inside a URL path or query.
    Url,
    /// As the inside of a JSON string.
    Json,
}

/// One piece of a template: literal text, or a `{name}` placeholder. A brace that does not
/// open a `{name}` of letters, digits, `_` and `.` is literal, so JSON bodies need no escaping.
enum Piece<'t> {
    Text(&'t str),
    Placeholder(&'t str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut literal_from = 0;
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let name_len = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
                .count();
            let close = i + 1 + name_len;
            if name_len > 0 && bytes.get(close) == Some(&b'}') {
                if literal_from < i {
                    out.push(Piece::Text(&template[literal_from..i]));
                }
                out.push(Piece::Placeholder(&template[i + 1..close]));
                i = close + 1;
                literal_from = i;
                continue;
            }
        }
        i += 1;
    }
    if literal_from < template.len() {
        out.push(Piece::Text(&template[literal_from..]));
    }
    out
}

/// The names of every placeholder in a template, in order of first use.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut seen = BTreeSet::new();
    for piece in pieces(template) {
        if let Piece::Placeholder(name) = piece
            && seen.insert(name)
        {
            names.push(name);
        }
    }
    names
}

/// Fills a template. `value` answers each placeholder with its text and how to escape it.
pub fn render<'v>(
    template: &str,
    mut value: impl FnMut(&str) -> Option<(&'v str, Escape)>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        let name = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Placeholder(name) => name,
        };
        let (text, escape) = value(name).ok_or_else(|| TemplateError::Missing(name.to_owned()))?;
        match escape {
            Escape::Raw => out.push_str(text),
            Escape::Url => out.push_str(&url_escape(text)),
            Escape::Json => {
                let quoted = serde_json::Value::String(text.to_owned()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
        }
    }
    Ok(out)
}

/// Writes `value` for every `{name}` and leaves every other placeholder as it is.
pub fn fill(template: &str, name: &str, value: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(found) if found == name => out.push_str(value),
            Piece::Placeholder(other) => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
    }
    out
}

fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_once_each() {
        assert_eq!(
            placeholders("https://{shop}/a/{id}?x={id}"),
            vec!["shop", "id"]
        );
        assert_eq!(placeholders(r#"{"a":{"b":"{env.X}"}}"#), vec!["env.X"]);
        assert!(placeholders("https://{shop/a").is_empty());
    }

    #[test]
    fn escapes_by_context() {
        let got = render("{base}/v1/{id}?q={q}", |name| match name {
            "base" => Some(("https://x.example/api", Escape::Raw)),
            "id" => Some(("a/../b", Escape::Url)),
            "q" => Some(("a b", Escape::Url)),
            _ => None,
        })
        .unwrap();
        assert_eq!(got, "https://x.example/api/v1/a%2F..%2Fb?q=a%20b");
        let body = render(r#"{"k":"{v}"}"#, |_| Some(("a\"b", Escape::Json))).unwrap();
        assert_eq!(body, r#"{"k":"a\"b"}"#);
    }

    #[test]
    fn fill_writes_one_placeholder_and_keeps_the_rest() {
        assert_eq!(
            fill(
                "https://{shop}/admin/api/{api_version}/x?v={api_version}",
                "api_version",
                "2026-10"
            ),
            "https://{shop}/admin/api/2026-10/x?v=2026-10"
        );
        assert_eq!(
            fill(r#"{"q":"{ shop { name } }"}"#, "api_version", "1"),
            r#"{"q":"{ shop { name } }"}"#
        );
    }

    #[test]
    fn a_missing_value_is_named() {
        assert_eq!(
            render("{a}", |_| None),
            Err(TemplateError::Missing("a".into()))
        );
    }
}
