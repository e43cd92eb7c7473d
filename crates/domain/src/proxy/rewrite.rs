//! Keeping stored secrets out of a proxied answer, chunk by chunk.
//!
//! A link to the provider's own API base (Meta's `paging.next`) becomes the same request
//! through Plugboard, with the credential's query parameter taken out; any other occurrence of
//! a secret's value is replaced by `[redacted]`. The answer is streamed, so the rewriter keeps
//! back the last few bytes of a chunk when they could begin a match that the next chunk ends.

/// What stands in for a secret's value.
pub const REDACTED: &str = "[redacted]";

/// A streaming find-and-replace over a provider's answer.
pub struct Rewriter {
    /// (pattern, replacement), longest pattern first: a link with its token beats the token.
    patterns: Vec<(Vec<u8>, Vec<u8>)>,
    /// Bytes that begin some pattern, to skip the rest quickly.
    starts: [bool; 256],
    longest: usize,
    /// The end of the last chunk, held back because it may begin a match.
    carry: Vec<u8>,
}

/// A secret's value as it can appear in an answer: as it is, URL-escaped, with JSON's `\/`.
fn forms(secret: &str) -> Vec<String> {
    let mut all = vec![secret.to_owned(), super::url_escaped(secret)];
    if secret.contains('/') {
        all.push(secret.replace('/', "\\/"));
    }
    all.sort();
    all.dedup();
    all
}

impl Rewriter {
    pub fn new(
        bases: &[String],
        proxy_base: &str,
        credential_params: &[String],
        secrets: &[String],
    ) -> Rewriter {
        let mut patterns: Vec<(String, String)> = Vec::new();
        let proxy_base = proxy_base.trim_end_matches('/');
        for base in bases.iter().filter(|b| !b.is_empty()) {
            let escaped_base = base.replace('/', "\\/");
            let escaped_proxy = proxy_base.replace('/', "\\/");
            patterns.push((format!("{base}/"), format!("{proxy_base}/")));
            patterns.push((format!("{base}?"), format!("{proxy_base}/?")));
            patterns.push((format!("{escaped_base}\\/"), format!("{escaped_proxy}\\/")));
            patterns.push((format!("{escaped_base}?"), format!("{escaped_proxy}\\/?")));
        }
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            for form in forms(secret) {
                for param in credential_params {
                    patterns.push((format!("?{param}={form}&"), "?".to_owned()));
                    patterns.push((format!("&{param}={form}"), String::new()));
                    patterns.push((format!("?{param}={form}"), String::new()));
                }
                patterns.push((form, REDACTED.to_owned()));
            }
        }
        patterns.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        patterns.dedup_by(|a, b| a.0 == b.0);
        let mut starts = [false; 256];
        for (pattern, _) in &patterns {
            if let Some(first) = pattern.as_bytes().first() {
                starts[usize::from(*first)] = true;
            }
        }
        Rewriter {
            longest: patterns.first().map_or(0, |(p, _)| p.len()),
            patterns: patterns
                .into_iter()
                .map(|(p, r)| (p.into_bytes(), r.into_bytes()))
                .collect(),
            starts,
            carry: Vec::new(),
        }
    }

    /// Rewrites one chunk; what may begin a match is held back for the next.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut buffer = std::mem::take(&mut self.carry);
        buffer.extend_from_slice(chunk);
        let (out, used) = self.run(&buffer, false);
        self.carry = buffer[used..].to_vec();
        out
    }

    /// The end of the answer: whatever was held back, rewritten.
    pub fn finish(&mut self) -> Vec<u8> {
        let buffer = std::mem::take(&mut self.carry);
        self.run(&buffer, true).0
    }

    /// Rewrites a whole text (a header value).
    pub fn whole(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.run(text.as_bytes(), true).0).into_owned()
    }

    fn run(&self, buffer: &[u8], last: bool) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(buffer.len());
        let mut i = 0;
        'scan: while i < buffer.len() {
            if !self.starts[usize::from(buffer[i])] {
                out.push(buffer[i]);
                i += 1;
                continue;
            }
            let rest = &buffer[i..];
            // A longer pattern the next chunk may complete wins over a shorter one matching
            // now (`?access_token=…&` over `?access_token=…`), so wait for it.
            if !last
                && rest.len() < self.longest
                && self
                    .patterns
                    .iter()
                    .any(|(p, _)| p.len() > rest.len() && p.starts_with(rest))
            {
                return (out, i);
            }
            for (pattern, replacement) in &self.patterns {
                if rest.starts_with(pattern) {
                    out.extend_from_slice(replacement);
                    i += pattern.len();
                    continue 'scan;
                }
            }
            out.push(buffer[i]);
            i += 1;
        }
        (out, i)
    }
}
