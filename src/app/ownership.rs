//! Files and folders loadgate creates inside the GitHub workspace get the owner of the
//! workspace folder. The action's container runs as root, and the job's later steps run as the
//! runner's user, who must be able to write beside them (actions/runner#1282: a root-owned
//! `loadgate-results/` makes the next step's write fail with "permission denied").
//!
//! Invariants: only paths inside `GITHUB_WORKSPACE` are touched; ownership changes only to the
//! workspace's owner; symbolic links are never followed (`lchown`, `fchown` on the open file).
//! Not being root is not an error: a change of owner is then refused and skipped.

use std::io;
use std::path::{Path, PathBuf};

/// A user and group id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Owner {
    uid: u32,
    gid: u32,
}

impl Owner {
    /// The owner new files at `path` should get: the workspace folder's, when `path` is inside
    /// `GITHUB_WORKSPACE`; `None` otherwise (outside a workspace nothing changes).
    pub(super) fn for_path(path: &Path) -> Option<Owner> {
        let workspace = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty())?;
        Owner::in_workspace(Path::new(&workspace), path)
    }

    /// [`Owner::for_path`] with the workspace given.
    fn in_workspace(workspace: &Path, path: &Path) -> Option<Owner> {
        let path = std::path::absolute(path).ok()?;
        let workspace = std::path::absolute(workspace).ok()?;
        if !path.starts_with(&workspace) {
            return None;
        }
        owner_of(&workspace)
    }

    /// Gives the open file `file` (at `path`, for messages) this owner.
    pub(super) fn give_file(self, file: &std::fs::File, path: &Path) {
        self.apply(path, || self.fchown(file));
    }

    /// Creates `dir` and its missing parents; the ones created get this owner (or, with no
    /// owner, are simply created).
    pub(super) fn create_dirs(owner: Option<Owner>, dir: &Path) -> io::Result<()> {
        let missing = missing_ancestors(dir);
        std::fs::create_dir_all(dir)?;
        if let Some(owner) = owner {
            // Top-down: a parent gets its owner before its children.
            for created in missing.iter().rev() {
                owner.apply(created, || owner.lchown(created));
            }
        }
        Ok(())
    }

    /// Runs a change of owner; refused (not root) is fine, anything else is logged.
    fn apply(self, path: &Path, change: impl FnOnce() -> io::Result<()>) {
        match change() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
            Err(e) => tracing::warn!(
                "cannot give `{}` the workspace's owner ({}:{}): {e}",
                path.display(),
                self.uid,
                self.gid
            ),
        }
    }

    #[cfg(unix)]
    fn fchown(self, file: &std::fs::File) -> io::Result<()> {
        std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))
    }

    #[cfg(unix)]
    fn lchown(self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
    }

    #[cfg(not(unix))]
    fn fchown(self, _file: &std::fs::File) -> io::Result<()> {
        Ok(())
    }

    #[cfg(not(unix))]
    fn lchown(self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
fn owner_of(path: &Path) -> Option<Owner> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    Some(Owner {
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

#[cfg(not(unix))]
fn owner_of(_path: &Path) -> Option<Owner> {
    None
}

/// `dir` and those of its ancestors that do not exist yet, deepest first.
fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::MetadataExt as _;

    use super::*;

    #[test]
    fn only_paths_inside_the_workspace_get_its_owner() {
        let ws = tempfile::tempdir().expect("tempdir");
        let meta = std::fs::metadata(ws.path()).expect("metadata");
        let owner = Owner {
            uid: meta.uid(),
            gid: meta.gid(),
        };
        assert_eq!(
            Owner::in_workspace(ws.path(), &ws.path().join("a/b.json")),
            Some(owner)
        );
        assert_eq!(
            Owner::in_workspace(ws.path(), Path::new("/elsewhere/b")),
            None
        );
        let sibling = format!("{}-other/b.json", ws.path().display());
        assert_eq!(Owner::in_workspace(ws.path(), Path::new(&sibling)), None);
    }

    #[test]
    fn missing_ancestors_stop_at_the_first_existing_one() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = ws.path().join("a/b/c");
        assert_eq!(
            missing_ancestors(&dir),
            [dir.clone(), ws.path().join("a/b"), ws.path().join("a")]
        );
        Owner::create_dirs(None, &dir).expect("created");
        assert!(dir.is_dir());
        assert!(missing_ancestors(&dir).is_empty());
    }
}
