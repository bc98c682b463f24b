//! The `[edge]` and `[server.tls]` sections as the configuration loader reads them (file and
//! environment, strictly); what they mean is `waypost_edge`'s, tested there.

use crate::config::{CommonFlags, Config};
use rcgen::{CertificateParams, KeyPair};
use waypost_edge::tls::ClientAuth;

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
fn the_edge_section_is_read_strictly_from_file_and_environment() {
    figment::Jail::expect_with(|jail| {
        let flags = CommonFlags {
            config: Some("w.toml".into()),
            data_dir: None,
        };
        jail.create_file("w.toml", "[edge]\nidle_timeout_secs = 5\n")?;
        jail.set_env("WAYPOST_EDGE__MAX_CONNECTIONS", "100");
        let cfg = Config::load(&flags, None).map_err(|e| format!("{e:#}"))?;
        assert_eq!(cfg.edge.idle_timeout_secs, 5);
        assert_eq!(cfg.edge.max_connections, 100);
        assert_eq!(cfg.edge.body_read_timeout_secs, 30);
        jail.create_file("w.toml", "[edge]\nidle_timeout = 5\n")?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("idle_timeout"), "{e}");
        jail.create_file("w.toml", "[edge]\nmax_bodies_in_flight = 0\n")?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("edge.max_bodies_in_flight"), "{e}");
        jail.create_file("w.toml", "[limits]\nmax_tenant_body_bytes = 1024\n")?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("limits.max_tenant_body_bytes"), "{e}");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
fn the_tls_section_is_parsed_strictly() {
    figment::Jail::expect_with(|jail| {
        let flags = CommonFlags {
            config: Some("w.toml".into()),
            data_dir: None,
        };
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        jail.create_file("c.pem", &cert.pem())?;
        jail.create_file("k.pem", &key.serialize_pem())?;
        let base = "[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
        jail.create_file("w.toml", base)?;
        let cfg = Config::load(&flags, None).map_err(|e| format!("{e:#}"))?;
        let tls = cfg.server.tls.as_ref().unwrap();
        assert_eq!(tls.client_auth(), ClientAuth::None);
        assert!(
            Config::default().server.tls.is_none(),
            "plain HTTP by default"
        );

        jail.create_file("w.toml", &format!("{base}client_ca = \"c.pem\"\n"))?;
        let cfg = Config::load(&flags, None).map_err(|e| format!("{e:#}"))?;
        assert_eq!(
            cfg.server.tls.as_ref().unwrap().client_auth(),
            ClientAuth::Optional
        );

        jail.create_file("w.toml", &format!("{base}clientca = \"c.pem\"\n"))?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("clientca"), "{e}");
        jail.create_file(
            "w.toml",
            &format!("{base}client_ca = \"c.pem\"\nclient_auth = \"maybe\"\n"),
        )?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("maybe"), "{e}");
        jail.create_file(
            "w.toml",
            &format!(
                "{base}client_ca = \"c.pem\"\n[[server.tls.identities]]\n\
                 dns = \"a.example\"\ntenant = \"acme\"\nsource = \"wms\"\nrole = \"x\"\n"
            ),
        )?;
        let e = format!("{:#}", Config::load(&flags, None).unwrap_err());
        assert!(e.contains("role"), "{e}");
        Ok(())
    });
}
