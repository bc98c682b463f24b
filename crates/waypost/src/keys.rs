//! `waypost keys`: API keys, managed next to a running server through the same store file.

use anyhow::{Context, bail};
use waypost_domain::TenantId;
use waypost_store::Scope;

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// Create a key; prints the key alone on standard output, once. Only its hash is kept.
    Create {
        #[arg(long)]
        tenant: String,
        /// Comma-separated: ingest, read, operate (act on alerts), admin (implies every other).
        #[arg(long, default_value = "ingest,read")]
        scopes: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// List keys (never the secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by its id; running servers stop accepting it within 30 s.
    Revoke { id: String },
}

pub fn parse_scopes(s: &str) -> anyhow::Result<Vec<Scope>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match Scope::parse(part) {
            Some(sc) if !out.contains(&sc) => out.push(sc),
            Some(_) => {}
            None => bail!("unknown scope {part:?}; scopes are ingest, read, operate, admin"),
        }
    }
    if out.is_empty() {
        bail!("give at least one scope: ingest, read, operate, admin");
    }
    Ok(out)
}

/// Creates a key and returns its secret.
pub fn create(
    data_dir: &std::path::Path,
    tenant: &str,
    scopes: &[Scope],
    label: Option<&str>,
) -> anyhow::Result<String> {
    let tenant = TenantId::new(tenant).with_context(|| format!("tenant {tenant:?}"))?;
    let admin = crate::store::admin(data_dir)?;
    let key = waypost_api::auth::generate_key();
    admin.create_key(
        &key.id,
        &tenant,
        scopes,
        &key.hash,
        label,
        jiff::Timestamp::now(),
    )?;
    Ok(key.secret)
}

pub fn run(data_dir: &std::path::Path, cmd: KeysCmd) -> anyhow::Result<()> {
    match cmd {
        KeysCmd::Create {
            tenant,
            scopes,
            label,
        } => {
            let scopes = parse_scopes(&scopes)?;
            let secret = create(data_dir, &tenant, &scopes, label.as_deref())?;
            println!("{secret}");
        }
        KeysCmd::List { tenant } => {
            let admin = crate::store::admin(data_dir)?;
            let tenant = tenant.map(TenantId::new).transpose().context("tenant")?;
            for k in admin.list_keys(tenant.as_ref())? {
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    k.id,
                    k.tenant,
                    scopes.join(","),
                    k.created_at,
                    k.label.unwrap_or_default(),
                    if k.revoked { "\trevoked" } else { "" }
                );
            }
        }
        KeysCmd::Revoke { id } => {
            let admin = crate::store::admin(data_dir)?;
            if !admin.revoke_key(&id, jiff::Timestamp::now())? {
                bail!("no active key with id {id:?}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
