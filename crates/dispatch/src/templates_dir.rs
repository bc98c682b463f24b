//! `notify.templates`: a folder of template overrides, read once at start.

use std::path::{Path, PathBuf};
use waypost_notify::{TemplateError, TemplateKey, Templates};

/// A templates folder that cannot be used; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TemplatesError {
    #[error("notify.templates: reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("notify.templates: {}: {source}", path.display())]
    Name {
        path: PathBuf,
        source: TemplateError,
    },
    #[error("notify.templates: {0}")]
    Compile(TemplateError),
}

/// Every `<scope>/<trigger>.<part>` file under `dir`, compiled and trial-rendered: a bad
/// template stops the start with its file named, not the first message that uses it.
pub fn load_templates(dir: &Path) -> Result<Templates, TemplatesError> {
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TemplatesError::Read { path, source }
    };
    let mut files = Vec::new();
    for scope in std::fs::read_dir(dir).map_err(read(dir))? {
        let scope = scope.map_err(read(dir))?;
        if !scope.file_type().map_err(read(&scope.path()))?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(scope.path()).map_err(read(&scope.path()))? {
            let file = file.map_err(read(&scope.path()))?;
            let path = file.path();
            let rel = format!(
                "{}/{}",
                scope.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            let key = TemplateKey::from_path(&rel).map_err(|source| TemplatesError::Name {
                path: path.clone(),
                source,
            })?;
            let source = std::fs::read_to_string(&path).map_err(read(&path))?;
            files.push((key, source));
        }
    }
    Templates::load(files).map_err(TemplatesError::Compile)
}
