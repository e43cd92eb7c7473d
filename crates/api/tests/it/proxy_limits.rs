//! The proxy's answer limits against a provider that streams: an answer far larger than
//! memory passes in constant memory when the cap allows it, is cut at the default cap, and an
//! answer that never ends stops at the timeout.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Options, TestApp, spawn_app_with};
use crate::proxy::{META_TOKEN, proxy};

const MB: u64 = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// A provider on loopback that answers every request with a chunked body of `total` bytes
/// made on the fly (never held whole), or one that never ends.
async fn streaming_provider(total: Option<u64>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                // `/small` is a 1 MB answer, to warm up with.
                let total = if head.windows(6).any(|w| w == b"/small") {
                    Some(MB)
                } else {
                    total
                };
                let piece = vec![b'x'; CHUNK];
                let frame = [format!("{CHUNK:x}\r\n").as_bytes(), &piece, b"\r\n"].concat();
                let start = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(start).await.is_err() {
                    return;
                }
                let mut sent = 0u64;
                while total.is_none_or(|total| sent < total) {
                    if socket.write_all(&frame).await.is_err() {
                        return;
                    }
                    sent += CHUNK as u64;
                    if total.is_none() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    port
}

async fn app_against(
    port: u16,
    configure: fn(&mut api::config::Settings),
) -> (TestApp, String, String) {
    let app = spawn_app_with(Options {
        provider_base_urls: Some(format!("meta_ads=http://127.0.0.1:{port}")),
        configure,
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    (app, owner.token, org)
}

/// This process's resident memory (the server runs in it).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Reads an answer to its end, counting bytes: (bytes, whether it ended cleanly, peak RSS).
async fn drain(response: reqwest::Response) -> (u64, bool, u64) {
    let mut body = response.bytes_stream();
    let (mut bytes, mut peak) = (0u64, rss());
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => bytes += chunk.len() as u64,
            Err(_) => return (bytes, false, peak.max(rss())),
        }
        if bytes % (8 * MB) < CHUNK as u64 {
            peak = peak.max(rss());
        }
    }
    (bytes, true, peak.max(rss()))
}

#[tokio::test]
async fn proxy_a_200_mb_answer_streams_through_in_constant_memory_under_a_raised_cap() {
    let port = streaming_provider(Some(200 * MB)).await;
    let (app, token, org) = app_against(port, |s| {
        s.proxy.max_answer = 256 * MB;
        s.proxy.timeout = Duration::from_secs(120);
    })
    .await;
    // Warm up, so the baseline holds the pools and buffers every call has.
    let warm_up = app.url(&proxy(&org, "meta_ads", "small"));
    let response = app
        .client
        .get(&warm_up)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(drain(response).await.0, MB);
    let url = app.url(&proxy(&org, "meta_ads", "act_1/insights"));
    let before = rss();
    let response = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["plugboard-proxied"], "true");
    let (bytes, whole, peak) = drain(response).await;
    assert!(whole, "the answer broke off after {bytes} bytes");
    assert_eq!(bytes, 200 * MB);
    let grew = peak.saturating_sub(before);
    assert!(grew < 16 * MB, "RSS grew by {} MB", grew / MB);
}

#[tokio::test]
async fn proxy_a_60_mb_chunked_answer_is_cut_at_the_default_cap() {
    let port = streaming_provider(Some(60 * MB)).await;
    let (app, token, org) = app_against(port, |_| {}).await;
    let url = app.url(&proxy(&org, "meta_ads", "act_1/insights"));
    let response = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "undeclared: the status went before the size was known"
    );
    let (bytes, whole, _) = drain(response).await;
    assert!(!whole, "a cut answer must not look complete");
    assert!(bytes <= 50 * MB, "{bytes} bytes passed the 50 MB cap");
    assert!(bytes >= 40 * MB, "cut too early, at {bytes} bytes");
}

#[tokio::test]
async fn proxy_a_never_ending_answer_ends_by_the_timeout() {
    let port = streaming_provider(None).await;
    let (app, token, org) = app_against(port, |s| s.proxy.timeout = Duration::from_secs(2)).await;
    let url = app.url(&proxy(&org, "meta_ads", "act_1/insights"));
    let started = Instant::now();
    let response = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (bytes, whole, _) = drain(response).await;
    let took = started.elapsed();
    assert!(!whole, "an endless answer cannot end cleanly");
    assert!(bytes > 0, "the answer streamed before it was cut");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
}
