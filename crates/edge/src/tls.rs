//! HTTPS and mutual TLS: the `[server.tls]` section, loading its PEM files into a rustls server
//! configuration, and binding verified client certificates to a tenant and a source.
//!
//! The crypto provider is ring, passed explicitly (not only the process default installed in
//! `main`), so that loading works wherever it is called from, tests and config validation included.

use crate::ConfigError;
use crate::error::{bail, config_error};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use waypost_api::client_cert::{ClientCert, ClientIdentity};
use waypost_domain::{SourceName, TenantId};
use waypost_store::Scope;

/// `[server.tls]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: PathBuf,
    /// PEM bundle of the CAs that sign client certificates; enables mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// Whether a client certificate is asked for; `optional` when `client_ca` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuth>,
    /// Client certificate names bound to a tenant and source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityBinding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// Asked for; a connection without one may still use an API key. One that is sent must
    /// verify against `client_ca`.
    Optional,
    /// A connection without a certificate from `client_ca` fails the handshake.
    Required,
}

/// `[[server.tls.identities]]`: one certificate name, by SAN DNS name or by subject common name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityBinding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    pub tenant: String,
    pub source: String,
    /// Defaults to `["ingest"]`: what a warehouse system needs and no more.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["ingest".into()]
}

impl TlsConfig {
    /// What is asked of clients: as set, else `optional` when a client CA is given.
    pub fn client_auth(&self) -> ClientAuth {
        match (self.client_auth, &self.client_ca) {
            (Some(a), _) => a,
            (None, Some(_)) => ClientAuth::Optional,
            (None, None) => ClientAuth::None,
        }
    }
}

/// What the server needs to speak TLS: the rustls configuration and the identity bindings.
pub struct TlsSetup {
    pub server: Arc<ServerConfig>,
    pub identities: Arc<Identities>,
}

/// Reads and checks every file and binding of the section; each error names its field.
pub fn load(cfg: &TlsConfig) -> Result<TlsSetup, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certs(&cfg.cert, "server.tls.cert")?;
    let key = read_key(&cfg.key)?;
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| config_error!("server.tls.key {}: unusable key: {e}", cfg.key.display()))?;
    // rustls checks this too, but its error would not say which files disagree.
    match CertifiedKey::new(chain.clone(), signing).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(e) => bail!(
            "server.tls.key {} does not belong to the first certificate of server.tls.cert {}: {e}",
            cfg.key.display(),
            cfg.cert.display()
        ),
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error!("server.tls: the ring provider supports no TLS version: {e}"))?;
    let auth = cfg.client_auth();
    let builder = match (auth, &cfg.client_ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => bail!(
            "server.tls.client_auth = {:?} needs server.tls.client_ca, the CA that signs client \
             certificates",
            format!("{auth:?}").to_ascii_lowercase()
        ),
        (_, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs(ca, "server.tls.client_ca")? {
                roots.add(c).map_err(|e| {
                    config_error!(
                        "server.tls.client_ca {}: not a usable CA: {e}",
                        ca.display()
                    )
                })?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let v = if auth == ClientAuth::Optional {
                v.allow_unauthenticated()
            } else {
                v
            };
            let v = v
                .build()
                .map_err(|e| config_error!("server.tls.client_ca {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(v)
        }
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .map_err(|e| config_error!("server.tls.cert/key: {e}"))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let identities = Identities::new(&cfg.identities)?;
    if !cfg.identities.is_empty() && cfg.client_ca.is_none() {
        bail!("server.tls.identities need server.tls.client_ca to verify client certificates");
    }
    Ok(TlsSetup {
        server: Arc::new(server),
        identities: Arc::new(identities),
    })
}

fn read_pem_file(path: &Path, field: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| config_error!("{field} {}: cannot read: {e}", path.display()))
}

fn read_certs(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read_pem_file(path, field)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error!("{field} {}: not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        bail!(
            "{field} {}: no CERTIFICATE block in the file",
            path.display()
        );
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = read_pem_file(path, "server.tls.key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        config_error!(
            "server.tls.key {}: no usable PEM private key: {e}",
            path.display()
        )
    })
}

/// The identity bindings, indexed by the certificate name they match.
#[derive(Debug, Default)]
pub struct Identities {
    /// SAN DNS names, lower case (DNS names are case-insensitive).
    by_dns: HashMap<String, ClientIdentity>,
    by_cn: HashMap<String, ClientIdentity>,
}

impl Identities {
    pub fn new(bindings: &[IdentityBinding]) -> Result<Identities, ConfigError> {
        let mut out = Identities::default();
        for (i, b) in bindings.iter().enumerate() {
            let at = format!("server.tls.identities[{i}]");
            let tenant = TenantId::new(b.tenant.as_str())
                .map_err(|e| config_error!("{at}.tenant {:?}: {e}", b.tenant))?;
            let source = SourceName::new(b.source.as_str())
                .map_err(|e| config_error!("{at}.source {:?}: {e}", b.source))?;
            let mut scopes = Vec::new();
            for s in &b.scopes {
                let scope = Scope::parse(s).ok_or_else(|| {
                    config_error!(
                        "{at}.scopes: unknown scope {s:?} (ingest, read, operate or admin)"
                    )
                })?;
                scopes.push(scope);
            }
            if scopes.is_empty() {
                bail!("{at}.scopes: a binding needs at least one scope");
            }
            let (map, name) = match (&b.dns, &b.common_name) {
                (Some(d), None) => (&mut out.by_dns, d.trim().to_ascii_lowercase()),
                (None, Some(cn)) => (&mut out.by_cn, cn.trim().to_string()),
                _ => bail!("{at}: give exactly one of dns or common_name"),
            };
            if name.is_empty() {
                bail!("{at}: the certificate name is empty");
            }
            let identity = ClientIdentity {
                tenant,
                source,
                scopes,
                name: name.clone(),
            };
            if map.insert(name.clone(), identity).is_some() {
                bail!("{at}: {name:?} is bound twice");
            }
        }
        Ok(out)
    }

    /// Maps a client certificate the verifier accepted to its binding. A certificate whose
    /// names match two different bindings is treated as unbound: guessing which tenant it
    /// speaks for would be worse than refusing it.
    pub fn resolve(&self, cert: &CertificateDer<'_>) -> ClientCert {
        let names = match PeerNames::parse(cert) {
            Ok(n) => n,
            Err(e) => {
                return ClientCert::Unbound {
                    subject: format!("unreadable certificate: {e}"),
                };
            }
        };
        let found: Vec<&ClientIdentity> = names
            .dns
            .iter()
            .filter_map(|d| self.by_dns.get(d))
            .chain(names.cn.as_ref().and_then(|cn| self.by_cn.get(cn)))
            .collect();
        let first = found.first().copied();
        match first {
            Some(id)
                if found
                    .iter()
                    .all(|o| o.tenant == id.tenant && o.source == id.source) =>
            {
                ClientCert::Bound(id.clone())
            }
            _ => ClientCert::Unbound {
                subject: names.describe(),
            },
        }
    }
}

/// The names a certificate claims, as its CA vouched for them.
#[derive(Debug)]
struct PeerNames {
    dns: Vec<String>,
    cn: Option<String>,
}

impl PeerNames {
    fn parse(cert: &CertificateDer<'_>) -> Result<PeerNames, String> {
        use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
        let (_, x) = X509Certificate::from_der(cert.as_ref()).map_err(|e| e.to_string())?;
        let mut dns = Vec::new();
        if let Ok(Some(san)) = x.subject_alternative_name() {
            for n in &san.value.general_names {
                if let GeneralName::DNSName(d) = n {
                    dns.push(d.to_ascii_lowercase());
                }
            }
        }
        let cn = x
            .subject()
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string);
        Ok(PeerNames { dns, cn })
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = self.cn.iter().map(|c| format!("CN={c}")).collect();
        parts.extend(self.dns.iter().map(|d| format!("DNS={d}")));
        if parts.is_empty() {
            "no names".into()
        } else {
            // Bounded: a certificate may carry many names; the first few identify it.
            parts.truncate(4);
            parts.join(", ")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};

    fn binding(dns: Option<&str>, cn: Option<&str>, tenant: &str, source: &str) -> IdentityBinding {
        IdentityBinding {
            dns: dns.map(Into::into),
            common_name: cn.map(Into::into),
            tenant: tenant.into(),
            source: source.into(),
            scopes: default_scopes(),
        }
    }

    fn client_cert(cn: &str, dns: &[&str]) -> CertificateDer<'static> {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = Issuer::new(ca, ca_key);
        let mut p =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        p.signed_by(&key, &issuer).unwrap().der().clone()
    }

    #[test]
    fn resolves_by_dns_then_common_name() {
        let ids = Identities::new(&[
            binding(Some("WMS-East.acme.example"), None, "acme", "wms-east"),
            binding(None, Some("wms-west"), "acme", "wms-west"),
        ])
        .unwrap();
        match ids.resolve(&client_cert("x", &["wms-east.acme.example"])) {
            ClientCert::Bound(id) => {
                assert_eq!(id.tenant.as_str(), "acme");
                assert_eq!(id.source.as_str(), "wms-east");
                assert_eq!(id.scopes, vec![Scope::Ingest]);
            }
            other => panic!("{other:?}"),
        }
        match ids.resolve(&client_cert("wms-west", &[])) {
            ClientCert::Bound(id) => assert_eq!(id.source.as_str(), "wms-west"),
            other => panic!("{other:?}"),
        }
        match ids.resolve(&client_cert("stranger", &["other.example"])) {
            ClientCert::Unbound { subject } => {
                assert_eq!(subject, "CN=stranger, DNS=other.example")
            }
            other => panic!("{other:?}"),
        }
        // Two names bound to different sources: refuse rather than pick one.
        assert!(matches!(
            ids.resolve(&client_cert("wms-west", &["wms-east.acme.example"])),
            ClientCert::Unbound { .. }
        ));
    }

    #[test]
    fn bindings_are_validated_with_their_field() {
        let err = |b: IdentityBinding| format!("{:#}", Identities::new(&[b]).unwrap_err());
        let e = err(binding(Some("a"), None, "Acme!", "wms"));
        assert!(e.contains("server.tls.identities[0].tenant"), "{e}");
        let e = err(binding(Some("a"), None, "acme", "WMS EAST"));
        assert!(e.contains("server.tls.identities[0].source"), "{e}");
        let e = err(binding(Some("a"), Some("b"), "acme", "wms"));
        assert!(e.contains("exactly one of dns or common_name"), "{e}");
        let mut b = binding(None, Some("b"), "acme", "wms");
        b.scopes = vec!["write".into()];
        assert!(err(b).contains("unknown scope \"write\""));
        let e = format!(
            "{:#}",
            Identities::new(&[
                binding(Some("a.example"), None, "acme", "wms"),
                binding(Some("A.example"), None, "other", "wms"),
            ])
            .unwrap_err()
        );
        assert!(
            e.contains("identities[1]") && e.contains("bound twice"),
            "{e}"
        );
    }

    #[test]
    fn load_names_the_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            p
        };
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_path = w("cert.pem", &cert.pem());
        let key_path = w("key.pem", &key.serialize_pem());
        let other_key = w("other.pem", &KeyPair::generate().unwrap().serialize_pem());
        let cfg = |cert: &Path, key: &Path| TlsConfig {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            client_ca: None,
            client_auth: None,
            identities: Vec::new(),
        };
        let setup = load(&cfg(&cert_path, &key_path)).unwrap();
        assert_eq!(setup.server.alpn_protocols[0], b"h2");

        let e = format!(
            "{:#}",
            load(&cfg(&dir.path().join("nope.pem"), &key_path))
                .err()
                .unwrap()
        );
        assert!(
            e.contains("server.tls.cert") && e.contains("nope.pem"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            load(&cfg(&w("junk.pem", "hello"), &key_path))
                .err()
                .unwrap()
        );
        assert!(e.contains("no CERTIFICATE block"), "{e}");
        let e = format!("{:#}", load(&cfg(&cert_path, &cert_path)).err().unwrap());
        assert!(e.contains("server.tls.key"), "{e}");
        let e = format!("{:#}", load(&cfg(&cert_path, &other_key)).err().unwrap());
        assert!(e.contains("does not belong"), "{e}");

        let mut c = cfg(&cert_path, &key_path);
        c.client_auth = Some(ClientAuth::Required);
        let e = format!("{:#}", load(&c).err().unwrap());
        assert!(e.contains("needs server.tls.client_ca"), "{e}");
        c.client_ca = Some(cert_path.clone());
        c.identities = vec![binding(Some("wms.example"), None, "acme", "wms")];
        assert!(load(&c).is_ok());
    }
}
