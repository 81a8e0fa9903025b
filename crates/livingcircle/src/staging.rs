//! A command's output set, replaced as a whole.
//!
//! Every file of a run is written into a hidden folder inside the output directory
//! (`.livingcircle-<command>.staging-<pid>`). Only when all are written are they
//! moved into place (a rename each, on the same file system), then the files the
//! previous run of the same command listed in its manifest
//! (`.livingcircle-<command>.files`) and did not write this time are removed, and the
//! new list is written. A run that fails, or is interrupted, removes its folder and
//! leaves the previous outputs as they were: never new layers beside old ones, never
//! a previous run's `isochrones.geojson` or `report.html` beside a run that did not
//! write them.

use std::path::{Path, PathBuf};

use livingcircle_export::Error;

/// An I/O error on `path`.
fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// An I/O error on `path` while doing `what` (`cannot move into place: …`).
fn io_doing(path: &Path, what: &str, e: std::io::Error) -> Error {
    io(path, std::io::Error::new(e.kind(), format!("{what}: {e}")))
}

/// Staging folders made by this process so far: each gets its own number, so that
/// two writes running at once in one process (a library's callers) never share one.
static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Another problem with `path`.
fn other(path: &Path, msg: &str) -> Error {
    io(path, std::io::Error::other(msg.to_owned()))
}

/// Where one command writes its outputs until they are complete.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    command: &'static str,
    committed: bool,
}

impl Staging {
    /// Makes the hidden folder in `out` (created if needed) for `command`'s outputs.
    pub fn new(out: &Path, command: &'static str) -> Result<Self, Error> {
        std::fs::create_dir_all(out)
            .map_err(|e| io_doing(out, "cannot create output directory", e))?;
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = out.join(format!(
            ".livingcircle-{command}.staging-{}-{n}",
            std::process::id()
        ));
        // A folder left by a killed run with the same process id (never one of this
        // process: its number is new).
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io_doing(&dir, "cannot remove", e))?;
        }
        std::fs::create_dir(&dir)
            .map_err(|e| io_doing(&dir, "cannot create output directory", e))?;
        Ok(Staging {
            out: out.to_owned(),
            dir,
            command,
            committed: false,
        })
    }

    /// The folder to write into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn manifest(&self) -> PathBuf {
        self.out
            .join(format!(".livingcircle-{}.files", self.command))
    }

    /// Moves every written file into the output directory, removes what the previous
    /// run of the command wrote and this one did not, and records the new set.
    /// Returns the files' names.
    pub fn commit(mut self) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&self.dir).map_err(|e| io_doing(&self.dir, "cannot list", e))?
        {
            let entry = entry.map_err(|e| io_doing(&self.dir, "cannot list", e))?;
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            // A temporary file would mean a writer did not finish; none should be left.
            if name.starts_with('.') {
                return Err(other(&entry.path(), "an unfinished temporary file"));
            }
            names.push(name);
        }
        names.sort();
        let previous: Vec<String> = match std::fs::read_to_string(self.manifest()) {
            Ok(text) => text.lines().map(str::to_owned).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_doing(&self.manifest(), "cannot read", e)),
        };
        // Everything that could stop the moves is checked before the first one, so
        // that a refused set leaves the previous outputs whole.
        for name in &names {
            let to = self.out.join(name);
            if std::fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir()) {
                return Err(other(
                    &to,
                    "is a directory; cannot replace it with the new output",
                ));
            }
        }
        for name in &names {
            let (from, to) = (self.dir.join(name), self.out.join(name));
            std::fs::rename(&from, &to).map_err(|e| io_doing(&to, "cannot move into place", e))?;
        }
        for name in previous.iter().filter(|p| !names.contains(p)) {
            // Only plain file names that this tool wrote: never a path.
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                continue;
            }
            let stale = self.out.join(name);
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_doing(&stale, "cannot remove a stale output", e)),
            }
        }
        livingcircle_export::write_atomic(&self.manifest(), |f| {
            use std::io::Write;
            for name in &names {
                writeln!(f, "{name}")?;
            }
            Ok(())
        })?;
        std::fs::remove_dir(&self.dir).map_err(|e| io_doing(&self.dir, "cannot remove", e))?;
        self.committed = true;
        Ok(names)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the run has already failed with its own error.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `msg` with every path inside a staging folder named as the file it becomes:
/// `o/.livingcircle-analyze.staging-14275/residences.geojson` reads
/// `o/residences.geojson` (what the user asked for, and where the file would be).
pub fn public_paths(msg: &str) -> String {
    const HEAD: &str = ".livingcircle-";
    const MID: &str = ".staging-";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(HEAD) {
        let after = &rest[i + HEAD.len()..];
        // `<command>.staging-<pid>` then a path separator.
        let cmd_len = after
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(after.len());
        let tail = &after[cmd_len..];
        let skip = tail.strip_prefix(MID).and_then(|t| {
            // `<pid>-<n>` (or `<pid>` alone, as older runs named it).
            let num = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let mut digits = num(t);
            if digits > 0 && t[digits..].starts_with('-') {
                let more = num(&t[digits + 1..]);
                if more > 0 {
                    digits += 1 + more;
                }
            }
            let sep = t[digits..]
                .chars()
                .next()
                .filter(|&c| std::path::is_separator(c))?;
            (cmd_len > 0 && digits > 0)
                .then_some(HEAD.len() + cmd_len + MID.len() + digits + sep.len_utf8())
        });
        match skip {
            Some(n) => {
                out.push_str(&rest[..i]);
                rest = &rest[i + n..];
            }
            None => {
                out.push_str(&rest[..i + HEAD.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::public_paths;

    #[test]
    fn staging_folders_are_left_out_of_messages() {
        assert_eq!(
            public_paths(
                "o/.livingcircle-analyze.staging-14275/residences.geojson: No space left on device"
            ),
            "o/residences.geojson: No space left on device"
        );
        assert_eq!(
            public_paths(
                "a/.livingcircle-site.staging-1-0/sites.gpkg and b/.livingcircle-graph.staging-22/x"
            ),
            "a/sites.gpkg and b/x"
        );
        assert_eq!(
            public_paths("o/.livingcircle-analyze.staging-7-12/gaps.fgb: full"),
            "o/gaps.fgb: full"
        );
        // Not a staging folder: as it is.
        for m in [
            "o/.livingcircle-analyze.files: cannot read",
            "o/.livingcircle-analyze.staging-/x",
            "o/.livingcircle-.staging-12/x",
            "o/.livingcircle-analyze.staging-12",
            "o/.livingcircle-analyze.staging-12-",
            "o/.livingcircle-analyze.staging-12-3",
            ".livingcircle-",
            "plain",
        ] {
            assert_eq!(public_paths(m), m);
        }
    }
}
