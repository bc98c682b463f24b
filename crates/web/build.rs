//! Compiles every file under `assets/` into the library: writes `$OUT_DIR/assets.rs`, a sorted
//! table of (path, include_bytes!, strong ETag from the content's SHA-256). Plain Rust, so the
//! binary builds without node; the vendored files are committed.
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("assets");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files)?;
    // Sorted by the URL path (not the file path) for the binary search in `asset`.
    let mut entries = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&root)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        entries.push((rel, path));
    }
    entries.sort();
    let mut code = String::from("static ASSETS: &[(&str, &[u8], &str)] = &[\n");
    for (rel, path) in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let digest = Sha256::digest(std::fs::read(path)?);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?}), \"\\\"{hex}\\\"\"),",
            path.display().to_string()
        )?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("assets.rs");
    std::fs::write(out, code)?;
    Ok(())
}
