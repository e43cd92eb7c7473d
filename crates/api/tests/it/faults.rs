//! Providers that misbehave at the socket: garbage instead of HTTP, a 50 MB answer (declared,
//! or streamed without a length), an answer that never finishes, no answer at all. Each of the
//! three ways Plugboard reads a provider (an API-key check, a token exchange, Shopify's product
//! count) ends cleanly within the deadline, and reads no more than its cap: the misbehaving
//! server counts the bytes it managed to send before Plugboard hung up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::helpers::{
    Options, TestApp, json_body, problem, spawn_app_with, start_server, test_settings,
    with_shopify_app,
};

const SHOP: &str = "acme.myshopify.com";
/// What a misbehaving provider offers: more than 50 times Plugboard's 1 MB cap.
const HUGE: u64 = 50 * 1024 * 1024;
/// What Plugboard may have taken in, socket buffers included, before it hangs up.
const READ_AT_MOST: u64 = 16 * 1024 * 1024;
/// The tests' provider deadline (`Options::default().timeout`) and a margin for a busy machine.
const DEADLINE: Duration = Duration::from_secs(2 + 3);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Answers like the provider.
    None,
    /// Bytes that are not HTTP, then the connection closes.
    Garbage,
    /// `200` with a body that is not JSON.
    NotJson,
    /// `200` declaring a 50 MB body, and sending it.
    DeclaredHuge,
    /// `200`, chunked, streaming 50 MB with no length.
    StreamedHuge,
    /// `200` declaring a small body, then one byte every 250 ms, forever.
    NeverFinishes,
    /// Reads the request and never answers.
    Silent,
}

struct FaultyProvider {
    url: String,
    fault: Arc<Mutex<Fault>>,
    /// The most bytes one connection sent before the client hung up (or it finished).
    sent: Arc<AtomicU64>,
}

impl FaultyProvider {
    async fn start() -> FaultyProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fault = Arc::new(Mutex::new(Fault::None));
        let sent = Arc::new(AtomicU64::new(0));
        let (f, s) = (fault.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (fault, sent) = (*f.lock().await, s.clone());
                tokio::spawn(async move {
                    let total = serve(stream, fault).await;
                    sent.fetch_max(total, Ordering::SeqCst);
                });
            }
        });
        FaultyProvider { url, fault, sent }
    }

    async fn set(&self, fault: Fault) {
        *self.fault.lock().await = fault;
        self.sent.store(0, Ordering::SeqCst);
    }
}

/// Reads one request (head and body) and answers it as `fault` says; the bytes sent.
async fn serve(mut stream: TcpStream, fault: Fault) -> u64 {
    let Some(request) = read_request(&mut stream).await else {
        return 0;
    };
    let head = |length: &str| {
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}\r\n\r\n")
    };
    let mut sent = 0u64;
    let mut write = async |stream: &mut TcpStream, bytes: &[u8]| -> bool {
        let ok = stream.write_all(bytes).await.is_ok();
        if ok {
            sent += bytes.len() as u64;
        }
        ok
    };
    match fault {
        Fault::None => {
            let body = provider_answer(&request).to_string();
            let answer = format!("{}{body}", head(&format!("content-length: {}", body.len())));
            write(&mut stream, answer.as_bytes()).await;
        }
        Fault::Garbage => {
            write(
                &mut stream,
                b"\x00\xff\xfe\x16\x03 this is not HTTP\r\n\r\n",
            )
            .await;
        }
        Fault::NotJson => {
            let body = "<html>{\"access_token\": oops";
            let answer = format!("{}{body}", head(&format!("content-length: {}", body.len())));
            write(&mut stream, answer.as_bytes()).await;
        }
        Fault::DeclaredHuge | Fault::StreamedHuge => {
            let declared = fault == Fault::DeclaredHuge;
            let length = if declared {
                format!("content-length: {HUGE}")
            } else {
                "transfer-encoding: chunked".to_owned()
            };
            if write(&mut stream, head(&length).as_bytes()).await {
                let block = vec![b'['; 64 * 1024];
                let chunk = [format!("{:x}\r\n", block.len()).as_bytes(), &block, b"\r\n"].concat();
                let piece: &[u8] = if declared { &block } else { &chunk };
                for _ in 0..HUGE / block.len() as u64 {
                    if !write(&mut stream, piece).await {
                        break;
                    }
                }
            }
        }
        Fault::NeverFinishes => {
            if write(&mut stream, head("content-length: 1000").as_bytes()).await {
                while write(&mut stream, b" ").await {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        Fault::Silent => {
            // Holds the connection until the client gives up.
            let mut rest = [0u8; 64];
            let _ = stream.read(&mut rest).await;
        }
    }
    sent
}

/// The request's head and body, as text.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some(text);
            }
        }
    }
}

/// What the real provider would answer, by request.
fn provider_answer(request: &str) -> Value {
    if request.contains("/admin/oauth/access_token") {
        json!({"access_token": "shpat_fault_test", "scope": "read_products,read_orders"})
    } else if request.contains("shop { name id }") {
        json!({"data": {"shop": {"name": "Acme Store", "id": "gid://shopify/Shop/1001"}}})
    } else if request.contains("productsCount") {
        json!({"data": {"productsCount": {"count": 7, "precision": "EXACT"}}})
    } else {
        json!({"data": []})
    }
}

const FAULTS: [Fault; 6] = [
    Fault::Garbage,
    Fault::NotJson,
    Fault::DeclaredHuge,
    Fault::StreamedHuge,
    Fault::NeverFinishes,
    Fault::Silent,
];

async fn app_with(provider: &FaultyProvider) -> TestApp {
    spawn_app_with(Options {
        provider_base_urls: Some(format!("openai={0},shopify={0}", provider.url)),
        ..with_shopify_app()
    })
    .await
}

/// Runs `call` under each fault: it must end within the deadline, and the provider must have
/// sent no more than Plugboard's cap allows.
async fn under_each_fault<F, Fut>(provider: &FaultyProvider, mut call: F)
where
    F: FnMut(Fault) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for fault in FAULTS {
        provider.set(fault).await;
        let started = Instant::now();
        call(fault).await;
        let took = started.elapsed();
        assert!(took < DEADLINE, "{fault:?}: took {took:?}");
        // The server task records its count when its connection ends.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = provider.sent.load(Ordering::SeqCst);
        assert!(
            sent < READ_AT_MOST,
            "{fault:?}: the provider sent {sent} bytes"
        );
    }
}

#[tokio::test]
async fn a_faulty_provider_leaves_an_api_key_connection_in_error_within_the_deadline() {
    let provider = FaultyProvider::start().await;
    let app = app_with(&provider).await;
    let (owner, org) = app.owner_with_org().await;
    let path = format!("/api/v1/orgs/{org}/integrations/openai");
    json_body(
        app.patch(
            &path,
            &owner.token,
            json!({"credentials": {"api_key": "sk-fault-0000000000001"}}),
        )
        .await,
        200,
    )
    .await;

    under_each_fault(&provider, |fault| {
        let (app, org, path, token) = (&app, &org, &path, &owner.token);
        async move {
            let tested = json_body(
                app.post(&format!("{path}/test"), token, json!({})).await,
                200,
            )
            .await;
            let connection = app.integration(token, org, "openai").await;
            // OpenAI's check reads only the status: a 200 with any body is an accepted key.
            if fault == Fault::NotJson {
                assert_eq!(connection["status"], "connected", "{fault:?}: {tested}");
                return;
            }
            assert_eq!(tested["ok"], false, "{fault:?}: {tested}");
            assert_eq!(connection["status"], "error", "{fault:?}: {connection}");
            let code = connection["last_error"]["code"]
                .as_str()
                .unwrap()
                .to_owned();
            let expected = match fault {
                Fault::DeclaredHuge | Fault::StreamedHuge => "provider_answer_too_large",
                Fault::NeverFinishes | Fault::Silent => "provider_timeout",
                _ => "provider_unreachable",
            };
            assert_eq!(code, expected, "{fault:?}: {connection}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_faulty_token_endpoint_ends_the_oauth_flow_with_an_error_within_the_deadline() {
    let provider = FaultyProvider::start().await;
    let app = app_with(&provider).await;
    let (owner, org) = app.owner_with_org().await;

    under_each_fault(&provider, |fault| {
        let (app, org, token) = (&app, &org, &owner.token);
        async move {
            let callback = app.shopify_callback(token, org, SHOP).await;
            assert_eq!(callback.status(), 303, "{fault:?}");
            let location = callback.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.contains("result=error"), "{fault:?}: {location}");
            let shopify = app.integration(token, org, "shopify").await;
            assert_ne!(shopify["status"], "connected", "{fault:?}: {shopify}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_faulty_store_answers_the_product_count_with_a_503_within_the_deadline() {
    let provider = FaultyProvider::start().await;
    let app = app_with(&provider).await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "shopify", "shpat_fault_count", &[("shop", SHOP)])
        .await;
    let step = format!("/api/v1/orgs/{org}/onboarding/steps/import_products");
    let import_now = || {
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"choice": "now"}}),
        )
    };
    provider.set(Fault::None).await;
    json_body(import_now().await, 200).await;

    under_each_fault(&provider, |fault| {
        let import_now = &import_now;
        async move {
            let refused = problem(import_now().await, 503).await;
            assert_eq!(
                refused["code"], "provider_unavailable",
                "{fault:?}: {refused}"
            );
        }
    })
    .await;
}

/// A small file system of its own for one test's SQLite database, unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Needs the right to mount (root, as on the test machines).
    fn mount(size: &str) -> SmallDisk {
        let path = std::env::temp_dir().join(format!("plugboard-disk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(mounted.success(), "mounting a {size} tmpfs needs root");
        SmallDisk { path }
    }

    /// Takes every byte still free; the filler's path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[tokio::test]
async fn a_full_disk_under_sqlite_is_a_503_and_the_database_stays_whole() {
    let disk = SmallDisk::mount("8m");
    let database = disk.path.join("plugboard.sqlite");
    let url = format!("sqlite://{}?mode=rwc", database.display());
    let base = start_server(test_settings(&url, String::new(), Options::default()))
        .await
        .expect("starts on the small disk");
    let client = reqwest::Client::new();
    let signup = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": "full@example.com", "password": "correct horse battery", "name": "Full"}))
        .send()
        .await
        .unwrap();
    let token = json_body(signup, 201).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |name: String| {
        client
            .post(format!("{base}/api/v1/orgs"))
            .bearer_auth(&token)
            .json(&json!({ "name": name }))
            .send()
    };
    json_body(create("Before".to_owned()).await.unwrap(), 201).await;

    // With the disk full, writes go on until the database needs a page it cannot have; from
    // then on each is a 503 naming the cause, never a 500.
    let filler = disk.fill();
    let mut created = 1;
    let refused = loop {
        let answer = create(format!("Brand {created}")).await.unwrap();
        if answer.status() == 201 {
            created += 1;
            assert!(created < 2000, "the disk never filled");
            continue;
        }
        break problem(answer, 503).await;
    };
    assert_eq!(refused["code"], "database_full", "{refused}");
    let listed = |token: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let answer = client
                .get(format!("{base}/api/v1/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            json_body(answer, 200).await["memberships"].clone()
        }
    };
    // Reads still work, and show exactly what was written.
    let orgs = listed(token.clone()).await;
    assert_eq!(orgs.as_array().map(Vec::len), Some(created), "{orgs}");

    // Space freed: writes work again, and the file is whole.
    std::fs::remove_file(filler).unwrap();
    json_body(create("After".to_owned()).await.unwrap(), 201).await;
    let orgs = listed(token.clone()).await;
    assert_eq!(orgs.as_array().map(Vec::len), Some(created + 1), "{orgs}");
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let check = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        check.try_get::<String>("", "integrity_check").unwrap(),
        "ok"
    );
}
