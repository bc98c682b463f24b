//! `waypost users`: dashboard logins of a tenant, managed next to a running server through
//! the same store file (like `waypost keys`). Passwords come from standard input, never from
//! a flag: flags end up in shell history and in `ps`.

use anyhow::{Context, bail};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use waypost_api::auth::password::{check_new_password, hash_password};
use waypost_domain::TenantId;
use waypost_store::{OnExisting, Role, StoreError, normalize_email};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Reads everything of the tenant, changes nothing.
    Viewer,
    /// Reads, and acknowledges, assigns, snoozes and resolves alerts.
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum UsersCmd {
    /// Create a user; the password is the first line of standard input (10 characters or more).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// If the user exists: set the new role and password, enable it again and end its
        /// sessions (without this, an existing user is refused).
        #[arg(long)]
        reset: bool,
    },
    /// List a tenant's users (never their password hashes).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Disable a user: its sessions end at once and it can no longer log in.
    Disable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
}

/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// A plausible address: one `@` with something on each side, no spaces, at most 254 bytes.
pub fn check_email(email: &str) -> anyhow::Result<String> {
    let e = normalize_email(email);
    let ok = e.len() <= MAX_EMAIL
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !ok {
        bail!("email {email:?} is not an address like name@example.com");
    }
    Ok(e)
}

/// Creates (or resets) a user with this password.
pub fn put(
    data_dir: &Path,
    tenant: &str,
    email: &str,
    role: Role,
    password: &str,
    on_existing: OnExisting,
) -> anyhow::Result<()> {
    let tenant = TenantId::new(tenant).with_context(|| format!("tenant {tenant:?}"))?;
    let email = check_email(email)?;
    check_new_password(password)?;
    let hash = hash_password(password)?;
    let admin = crate::store::admin(data_dir)?;
    match admin.put_user(
        &tenant,
        &email,
        role,
        &hash,
        jiff::Timestamp::now(),
        on_existing,
    ) {
        Err(StoreError::Duplicate { .. }) => bail!(
            "user {email} already exists for tenant {tenant}; pass --reset to give it a new \
             password and role (its sessions then end)"
        ),
        other => other.map(|_| ()).context("storing the user"),
    }
}

/// The password: the first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (10 characters or more): ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!(
            "no password on standard input; send it as the first line, e.g. `printf '%s\\n' \"$PW\" | waypost users create ...`"
        );
    }
    Ok(password.to_owned())
}

pub fn run(data_dir: &Path, cmd: UsersCmd) -> anyhow::Result<()> {
    match cmd {
        UsersCmd::Create {
            tenant,
            email,
            role,
            reset,
        } => {
            let password = read_password()?;
            let on_existing = if reset {
                OnExisting::Reset
            } else {
                OnExisting::Refuse
            };
            let role = Role::from(role);
            put(data_dir, &tenant, &email, role, &password, on_existing)?;
            eprintln!(
                "{} {} ({}) for tenant {tenant}",
                if reset { "created or reset" } else { "created" },
                normalize_email(&email),
                role.as_str()
            );
        }
        UsersCmd::List { tenant } => {
            let tenant = TenantId::new(&tenant).with_context(|| format!("tenant {tenant:?}"))?;
            let admin = crate::store::admin(data_dir)?;
            for u in admin.list_users(&tenant)? {
                println!(
                    "{}\t{}\t{}{}",
                    u.email,
                    u.role.as_str(),
                    u.created_at,
                    match u.disabled_at {
                        Some(at) => format!("\tdisabled {at}"),
                        None => String::new(),
                    }
                );
            }
        }
        UsersCmd::Disable { tenant, email } => {
            let tenant = TenantId::new(&tenant).with_context(|| format!("tenant {tenant:?}"))?;
            let admin = crate::store::admin(data_dir)?;
            if !admin.disable_user(&tenant, &email, jiff::Timestamp::now())? {
                bail!("no enabled user {email:?} in tenant {tenant}");
            }
            eprintln!(
                "disabled {}; its sessions have ended",
                normalize_email(&email)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            check_email(" Ops@Demo.Example ").ok().as_deref(),
            Some("ops@demo.example")
        );
        for bad in [
            "",
            "ops",
            "@x",
            "ops@",
            "a b@x",
            "a@b@c",
            &format!("{}@x", "a".repeat(260)),
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
