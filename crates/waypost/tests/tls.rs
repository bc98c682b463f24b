//! HTTPS and mutual TLS, black box: the real binary with a `[server.tls]` config, certificates
//! made at test time (a server CA, a client CA, a foreign CA), clients on rustls with ring.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::{BIN, Resp, at, create_key, ev, metric_in, plain_client};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert: Certificate,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca {
            issuer: Issuer::new(p, key),
            cert,
        }
    }

    fn sign(&self, cn: &str, sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = sans;
        p.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert, key }
    }

    fn client(&self, cn: &str, dns: Option<&str>) -> Leaf {
        let sans = dns
            .map(|d| vec![SanType::DnsName(d.try_into().unwrap())])
            .unwrap_or_default();
        self.sign(cn, sans, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

struct Leaf {
    cert: Certificate,
    key: KeyPair,
}

/// Every certificate of the tests, and the files the server reads.
struct Pki {
    server_ca: Ca,
    /// Bound by DNS name to acme / wms-east, scopes ingest + read.
    acme: Leaf,
    /// Bound by common name to globex / wms, scopes ingest + read.
    globex: Leaf,
    /// Signed by the client CA, bound to nothing.
    stranger: Leaf,
    /// Claims acme's name, but signed by a CA the server does not trust.
    forger: Leaf,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let server_ca = Ca::new("waypost test server CA");
        let client_ca = Ca::new("warehouse client CA");
        let foreign_ca = Ca::new("someone else's CA");
        let server = server_ca.sign(
            "localhost",
            vec![
                SanType::DnsName("localhost".try_into().unwrap()),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server.pem"), server.cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server.key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("clients-ca.pem"), client_ca.cert.pem()).unwrap();
        Pki {
            acme: client_ca.client("acme warehouse", Some("wms-east.acme.example")),
            globex: client_ca.client("globex-wms", None),
            stranger: client_ca.client("stranger", Some("stranger.example")),
            forger: foreign_ca.client("acme warehouse", Some("wms-east.acme.example")),
            server_ca,
            dir,
        }
    }

    /// A `[server.tls]` config with mutual TLS in the given mode.
    fn config(&self, client_auth: &str) -> PathBuf {
        let f = |name: &str| format!("{:?}", self.dir.path().join(name).display().to_string());
        let toml = format!(
            r#"
[server.tls]
cert = {cert}
key = {key}
client_ca = {ca}
client_auth = "{client_auth}"

[[server.tls.identities]]
dns = "wms-east.acme.example"
tenant = "acme"
source = "wms-east"
scopes = ["ingest", "read"]

[[server.tls.identities]]
common_name = "globex-wms"
tenant = "globex"
source = "wms"
scopes = ["ingest", "read"]
"#,
            cert = f("server.pem"),
            key = f("server.key"),
            ca = f("clients-ca.pem"),
        );
        let path = self.dir.path().join(format!("waypost-{client_auth}.toml"));
        std::fs::write(&path, toml).unwrap();
        path
    }

    /// An HTTPS client trusting the server CA, presenting `identity` if given.
    fn client(&self, identity: Option<&Leaf>) -> Https {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.server_ca.cert.der().clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let mut tls = match identity {
            Some(l) => {
                let chain: Vec<CertificateDer<'static>> = vec![l.cert.der().clone()];
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(l.key.serialize_der()));
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        tls.alpn_protocols = vec![b"h2".to_vec()];
        Https(TlsConnector::from(Arc::new(tls)))
    }
}

/// A minimal HTTP/2-over-TLS client: one connection per request, so every request is also a
/// fresh handshake with the client certificate under test.
struct Https(TlsConnector);

impl Https {
    /// A request with a raw body and extra headers (vendor webhooks).
    async fn send_raw(
        &self,
        addr: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Resp, String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = self
            .0
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(|e| format!("h2 handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("https://{addr}{path}"));
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body.to_vec()))).unwrap())
            .await
            .map_err(|e| format!("request: {e}"))?;
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        })
    }

    async fn send(
        &self,
        addr: &str,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Resp, String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let tls = self
            .0
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        if alpn.as_deref() != Some(b"h2".as_slice()) {
            return Err(format!("ALPN did not pick h2: {alpn:?}"));
        }
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(|e| format!("h2 handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(format!("https://{addr}{path}"));
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(serde_json::to_vec(v).unwrap()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = sender
            .send_request(req.body(body).unwrap())
            .await
            .map_err(|e| format!("request: {e}"))?;
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        })
    }
}

/// `waypost serve` with a config file, killed when dropped.
struct TlsServer {
    child: Child,
    addr: String,
    data: tempfile::TempDir,
    logs: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    /// Starts and waits until `/readyz` answers over HTTPS to `probe`.
    async fn start(config: &Path, probe: &Https) -> TlsServer {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("WAYPOST_LOG__FORMAT", "json")
            .env("WAYPOST_LOG", "info,waypost=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "listening"
                {
                    let _ = tx.send((
                        v["fields"]["addr"].as_str().unwrap_or("").to_string(),
                        v["fields"]["scheme"].as_str().unwrap_or("").to_string(),
                    ));
                }
                sink.lock().unwrap().push(line);
            }
        });
        let s = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((addr, scheme)) => {
                assert_eq!(scheme, "https");
                TlsServer {
                    child,
                    addr,
                    data,
                    logs,
                }
            }
            Err(e) => panic!("no address ({e}): {}", logs.lock().unwrap().join("\n")),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = probe
                .send(&s.addr, Method::GET, "/readyz", None, None)
                .await
                && r.status == 200
            {
                return s;
            }
            assert!(Instant::now() < deadline, "never ready:\n{}", s.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn key(&self, tenant: &str, scopes: &str) -> String {
        create_key(self.data.path(), tenant, scopes)
    }

    fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    async fn post(&self, c: &Https, key: Option<&str>, body: &Value) -> Resp {
        c.send(&self.addr, Method::POST, "/v1/events", key, Some(body))
            .await
            .unwrap()
    }

    async fn get(&self, c: &Https, key: Option<&str>, path: &str) -> Resp {
        c.send(&self.addr, Method::GET, path, key, None)
            .await
            .unwrap()
    }

    /// Polls the order with `key` until it exists.
    async fn wait_for_order(&self, c: &Https, key: Option<&str>, id: &str) -> Value {
        let deadline = Instant::now() + common::WAIT;
        loop {
            let r = self.get(c, key, &format!("/v1/orders/{id}")).await;
            if r.status == 200 {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "order {id}: {} {}",
                r.status,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn handshake_failures(&self, c: &Https) -> f64 {
        let r = self.get(c, None, "/metrics").await;
        metric_in(
            r.body.as_str().unwrap(),
            "waypost_tls_handshake_failures_total",
        )
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- waypost stderr ---\n{}", self.log_text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wms(source: &str, event_id: &str, order_id: &str) -> Value {
    let mut e = ev(event_id, order_id, "packed", &at(0));
    e["source"] = json!(source);
    e
}

#[tokio::test]
async fn https_with_a_bearer_key_and_plain_http_refused() {
    let pki = Pki::new();
    let anonymous = pki.client(None);
    let s = TlsServer::start(&pki.config("optional"), &anonymous).await;

    // Over HTTP/2: the client offers only h2 and fails unless ALPN picks it.
    assert_eq!(s.get(&anonymous, None, "/healthz").await.status, 200);

    let key = s.key("acme", "ingest,read");
    let r = s
        .post(&anonymous, Some(&key), &wms("ups", "e1", "SO-1"))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let order = s.wait_for_order(&anonymous, Some(&key), "SO-1").await;
    assert_eq!(order["order_id"], "SO-1");

    // No key and no certificate: the usual 401.
    s.get(&anonymous, None, "/v1/orders/SO-1")
        .await
        .assert_problem(401);

    let before = s.handshake_failures(&anonymous).await;
    let plain = plain_client();
    let r = plain.get(format!("http://{}/healthz", s.addr)).send().await;
    assert!(r.is_err(), "plain HTTP answered: {r:?}");
    let deadline = Instant::now() + common::WAIT;
    while s.handshake_failures(&anonymous).await <= before {
        assert!(Instant::now() < deadline, "handshake failure not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The accept loop goes on after a failed handshake, and is not held by a client that
    // connects and never starts its handshake.
    let _stalled = TcpStream::connect(&s.addr).await.unwrap();
    assert_eq!(s.get(&anonymous, None, "/healthz").await.status, 200);
}

#[tokio::test]
async fn sigterm_shuts_a_tls_server_down_cleanly() {
    let pki = Pki::new();
    let acme = pki.client(Some(&pki.acme));
    let mut s = TlsServer::start(&pki.config("required"), &acme).await;
    let r = s.post(&acme, None, &wms("wms-east", "e1", "SO-T")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // A connection stalled in its handshake must not hold the shutdown (for the 10 s of the
    // handshake timeout, or the 10 s shutdown bound).
    let _stalled = TcpStream::connect(&s.addr).await.unwrap();
    let term = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(8);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "still running:\n{}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}:\n{}", s.log_text());
}

#[tokio::test]
async fn bound_certificates_act_for_their_tenant_and_source_only() {
    let pki = Pki::new();
    let acme = pki.client(Some(&pki.acme));
    let globex = pki.client(Some(&pki.globex));
    let s = TlsServer::start(&pki.config("required"), &acme).await;
    let acme_key = s.key("acme", "read");
    let globex_key = s.key("globex", "ingest,read");

    // No key: the certificate is the credential.
    let r = s.post(&acme, None, &wms("wms-east", "e1", "SO-A")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let order = s.wait_for_order(&acme, Some(&acme_key), "SO-A").await;
    assert_eq!(order["status"], "packed", "{order}");
    // Its read scope works too, within its tenant.
    assert_eq!(s.get(&acme, None, "/v1/orders/SO-A").await.status, 200);

    // Another source's events: refused whole, naming the source.
    let r = s
        .post(
            &acme,
            None,
            &json!([wms("wms-east", "e2", "SO-B"), wms("ups", "e3", "SO-B")]),
        )
        .await;
    r.assert_problem(403);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("wms-east") && detail.contains("ups"),
        "{detail}"
    );
    assert_eq!(r.error_fields(), vec!["[1].source"]);
    s.get(&acme, Some(&acme_key), "/v1/orders/SO-B")
        .await
        .assert_problem(404);

    // Tenant isolation: globex's order is invisible to acme's certificate and the reverse.
    let r = s.post(&globex, None, &wms("wms", "g1", "SO-G")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_order(&globex, Some(&globex_key), "SO-G").await;
    s.get(&acme, None, "/v1/orders/SO-G")
        .await
        .assert_problem(404);
    s.get(&globex, None, "/v1/orders/SO-A")
        .await
        .assert_problem(404);

    // A key, when sent, wins over the certificate: globex's key on acme's connection.
    let r = s
        .post(&acme, Some(&globex_key), &wms("ups", "g2", "SO-G2"))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_order(&globex, Some(&globex_key), "SO-G2").await;
}

#[tokio::test]
async fn unbound_and_foreign_certificates_are_refused() {
    let pki = Pki::new();
    let acme = pki.client(Some(&pki.acme));
    let s = TlsServer::start(&pki.config("required"), &acme).await;
    let before = s.handshake_failures(&acme).await;

    // Verified by the CA, bound to nothing: authenticated, not authorized.
    let stranger = pki.client(Some(&pki.stranger));
    let r = s
        .post(&stranger, None, &wms("wms-east", "e1", "SO-X"))
        .await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("CN=stranger"),
        "{}",
        r.body
    );
    s.get(&stranger, None, "/v1/orders/SO-X")
        .await
        .assert_problem(403);

    // Acme's name, but not from the client CA: no handshake at all.
    let forger = pki.client(Some(&pki.forger));
    let r = forger
        .send(&s.addr, Method::GET, "/healthz", None, None)
        .await;
    assert!(r.is_err(), "a foreign certificate was accepted: {r:?}");
    // With client_auth = "required", no certificate is no handshake either.
    let r = pki
        .client(None)
        .send(&s.addr, Method::GET, "/healthz", None, None)
        .await;
    assert!(r.is_err(), "no certificate was accepted: {r:?}");

    let deadline = Instant::now() + common::WAIT;
    while s.handshake_failures(&acme).await < before + 2.0 {
        assert!(Instant::now() < deadline, "handshake failures not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Refused by the verifier, logged at debug with the peer's address.
    let logs = s.log_text();
    let refused: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "TLS handshake failed")
        .collect();
    for why in ["UnknownIssuer", "no certificates"] {
        let hit = refused
            .iter()
            .find(|v| v["fields"]["error"].as_str().unwrap_or("").contains(why))
            .unwrap_or_else(|| panic!("no handshake failure for {why}:\n{logs}"));
        assert!(
            hit["fields"]["peer"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
    }
    // The server still serves its good clients.
    assert_eq!(s.get(&acme, None, "/healthz").await.status, 200);
}

#[test]
fn bad_tls_config_fails_at_start_naming_the_field() {
    let pki = Pki::new();
    let config = pki.config("required");
    std::fs::remove_file(pki.dir.path().join("server.key")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.tls.key") && err.contains("server.key"),
        "{err}"
    );
}

/// The webhook signature checks of `tests/webhooks.rs`, over real TLS with a client-certificate
/// warehouse beside them: what a partner on the internet actually goes through.
#[tokio::test]
async fn signed_webhooks_over_tls() {
    use waypost_adapters::signature::{Scheme, Secret, sign};
    let pki = Pki::new();
    let mut config = std::fs::read_to_string(pki.config("optional")).unwrap();
    config.push_str(
        r#"
[[webhooks]]
tenant = "acme"
source = "easypost"
scheme = "easypost"
secrets = ["acme-new", "acme-old"]

[[webhooks]]
tenant = "globex"
source = "easypost"
scheme = "easypost"
secrets = ["globex-secret"]

[[webhooks]]
tenant = "acme"
source = "wms"
scheme = "standard-webhooks"
secrets = ["whsec_dGxzLXdlYmhvb2stc2VjcmV0"]
"#,
    );
    let path = pki.dir.path().join("webhooks.toml");
    std::fs::write(&path, config).unwrap();
    let anonymous = pki.client(None);
    let s = TlsServer::start(&path, &anonymous).await;
    let key = s.key("acme", "read");
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../adapters/corpus");
    let doc = std::fs::read(corpus.join("easypost/synthetic/01-usps-delivered.json")).unwrap();
    let other = std::fs::read(corpus.join("easypost/synthetic/02-ups-weather-delay.json")).unwrap();
    let easypost = |secret: &str, body: &[u8]| {
        sign(
            &Scheme::EasyPost,
            &Secret::from_config(secret).unwrap(),
            "",
            body,
            jiff::Timestamp::now(),
        )
        .unwrap()
    };
    let at = "/v1/webhooks/easypost?tenant=acme";
    let send = |h: Vec<(String, String)>, b: Vec<u8>, p: &'static str| {
        let c = &anonymous;
        let addr = s.addr.clone();
        async move { c.send_raw(&addr, p, &h, &b).await.unwrap() }
    };
    let r = send(easypost("acme-new", &doc), doc.clone(), at).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_order(&anonymous, Some(&key), "9400111899223197428490")
        .await;
    // The rotated-out secret still verifies while configured.
    let r = send(easypost("acme-old", &other), other.clone(), at).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let mut tampered = doc.clone();
    let i = tampered.iter().position(|b| *b == b'9').unwrap();
    tampered[i] = b'8';
    send(easypost("acme-new", &doc), tampered, at)
        .await
        .assert_problem(401);
    send(easypost("wrong", &doc), doc.clone(), at)
        .await
        .assert_problem(401);
    send(easypost("globex-secret", &doc), doc.clone(), at)
        .await
        .assert_problem(401);

    let wms_secret = Secret::from_config("whsec_dGxzLXdlYmhvb2stc2VjcmV0").unwrap();
    let wms_doc = std::fs::read(corpus.join("wms/01-single-shipped.json")).unwrap();
    let now = jiff::Timestamp::now();
    let signed = sign(
        &Scheme::StandardWebhooks,
        &wms_secret,
        "msg_tls_1",
        &wms_doc,
        now,
    )
    .unwrap();
    let wms_at = "/v1/webhooks/wms?tenant=acme";
    let r = send(signed.clone(), wms_doc.clone(), wms_at).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = send(signed, wms_doc.clone(), wms_at).await;
    assert_eq!(
        (r.status, r.body["replayed"].clone()),
        (200, json!(true)),
        "{}",
        r.body
    );
    let stale = sign(
        &Scheme::StandardWebhooks,
        &wms_secret,
        "msg_tls_2",
        &wms_doc,
        now - jiff::SignedDuration::from_mins(6),
    )
    .unwrap();
    send(stale, wms_doc.clone(), wms_at)
        .await
        .assert_problem(401);
    assert!(
        !s.log_text().contains("acme-new"),
        "a secret reached the log"
    );
}
