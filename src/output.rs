//! Output files: the one atomic writer and the naming of per-rule files. Every subcommand
//! that writes a file goes through here, so nothing is ever seen half-written and no two
//! outputs of one run share a path.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind};

/// Writes `text` to `path` atomically: a temporary file in the same folder, then a rename, so
/// the file is never seen half-written. Creates missing parent folders.
///
/// # Errors
/// Any I/O failure, located at `path`; no partial file is left behind.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let io = |e: std::io::Error| {
        Error::new(ErrorKind::Io(e.to_string())).in_file(path.display().to_string())
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir
        .unwrap_or_else(|| Path::new("."))
        .join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// Writes a whole folder at once: every file of `files` (paths relative to `dir`, `/`
/// separated, no `..`) into a temporary folder beside `dir`, then renamed to `dir`, so `dir`
/// is never seen half-written. An existing `dir` is refused unless it is empty or `replace` is
/// set and it holds `marker` (a file an earlier run of the same command wrote: a folder of
/// something else is never replaced); a replaced folder is removed only after the new one is
/// in place.
///
/// # Errors
/// `dir` in the way ([`ErrorKind::Usage`] with a hint), a bad relative path, or any I/O
/// failure, located at `dir`; nothing is left behind but what was there before.
pub fn write_tree(
    dir: &Path,
    files: &[(String, String)],
    replace: bool,
    marker: &str,
) -> Result<(), Error> {
    let located = |k: ErrorKind| Error::new(k).in_file(dir.display().to_string());
    let io = |e: std::io::Error| located(ErrorKind::Io(e.to_string()));
    let existing = match std::fs::read_dir(dir) {
        Ok(mut rd) => Some(rd.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if existing == Some(true) && !(replace && dir.join(marker).is_file()) {
        let why = if replace {
            format!("the folder is not empty and holds no `{marker}` of an earlier run: refusing to replace it")
        } else {
            "the folder is not empty: refusing to overwrite it".to_string()
        };
        return Err(located(ErrorKind::Usage(why)).hint(if replace {
            "choose a new or empty folder".to_string()
        } else {
            "choose a new or empty folder, or pass --force to replace an earlier report".to_string()
        }));
    }
    for (rel, _) in files {
        let ok = !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !ok {
            return Err(located(ErrorKind::Io(format!(
                "bad file name in the output: {rel:?}"
            ))));
        }
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(parent).map_err(io)?;
    let tmp = parent.join(format!(".{name}.tmp.{}", std::process::id()));
    let old = parent.join(format!(".{name}.old.{}", std::process::id()));
    let written = (|| {
        std::fs::create_dir_all(&tmp)?;
        for (rel, text) in files {
            let p = tmp.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(&p, text)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io(e));
    }
    let swapped = match existing {
        Some(_) => std::fs::rename(dir, &old).and_then(|()| {
            std::fs::rename(&tmp, dir).inspect_err(|_| {
                let _ = std::fs::rename(&old, dir);
            })
        }),
        None => std::fs::rename(&tmp, dir),
    };
    if let Err(e) = swapped {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io(e));
    }
    if existing.is_some() {
        std::fs::remove_dir_all(&old).map_err(io)?;
    }
    Ok(())
}

/// `path`, or, when an earlier output of the run already took it, `path` with `_<first eight
/// hex digits of id>` added to the file stem (then `_2`, `_3`...; only the counter when the id
/// has no hex digit). Records the result in `used`.
pub fn unique_path(used: &mut HashSet<PathBuf>, path: &Path, id: &str) -> PathBuf {
    let mut p = path.to_path_buf();
    if used.contains(&p) {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let short: String = id.chars().filter(char::is_ascii_hexdigit).take(8).collect();
        let with = |suffix: &str| {
            let mut q = path.to_path_buf();
            q.set_file_name(format!("{stem}{suffix}"));
            if let Some(ext) = path.extension() {
                q.set_extension(ext);
            }
            q
        };
        let tag = |n: usize| match (short.is_empty(), n) {
            (false, 1) => format!("_{short}"),
            (false, n) => format!("_{short}_{n}"),
            (true, n) => format!("_{n}"),
        };
        let mut n = if short.is_empty() { 2 } else { 1 };
        p = with(&tag(n));
        while used.contains(&p) {
            n += 1;
            p = with(&tag(n));
        }
    }
    used.insert(p.clone());
    p
}

/// Whether `-o PATH` names a folder: an existing one, or a path ending with `/`.
#[must_use]
pub fn names_folder(path: &Path) -> bool {
    let s = path.as_os_str().to_string_lossy();
    path.is_dir() || s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR)
}

/// The per-rule output file of document `document` of rule file `file`, relative to the
/// output folder: the file's path below the input folder it was found in (`roots`, as given
/// on the command line), or its name when it was given itself, with extension `ext`; a
/// document after the first adds `-N` to the stem. Rules that share a file name in different
/// folders keep apart; [`unique_path`] settles what is left.
#[must_use]
pub fn rule_file(file: &Path, document: usize, roots: &[PathBuf], ext: &str) -> PathBuf {
    let rel = roots
        .iter()
        .filter(|r| r.is_dir())
        .find_map(|r| file.strip_prefix(r).ok())
        .filter(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
        .map_or_else(
            || PathBuf::from(file.file_name().unwrap_or(file.as_os_str())),
            Path::to_path_buf,
        );
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rule".into());
    let name = if document == 0 {
        format!("{stem}.{ext}")
    } else {
        format!("{stem}-{document}.{ext}")
    };
    rel.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_paths_add_the_id_then_a_counter() {
        let mut used = HashSet::new();
        let p = Path::new("linux/a.toml");
        assert_eq!(unique_path(&mut used, p, "x-1234abcd99"), p);
        assert_eq!(
            unique_path(&mut used, p, "x-1234abcd99"),
            Path::new("linux/a_1234abcd.toml")
        );
        assert_eq!(
            unique_path(&mut used, p, "x-1234abcd99"),
            Path::new("linux/a_1234abcd_2.toml")
        );
        let q = Path::new("b.eql");
        assert_eq!(unique_path(&mut used, q, ""), q);
        assert_eq!(unique_path(&mut used, q, ""), Path::new("b_2.eql"));
        assert_eq!(unique_path(&mut used, q, ""), Path::new("b_3.eql"));
    }

    #[test]
    fn rule_files_keep_the_folder_below_the_input_root() {
        let dir = std::env::temp_dir().join(format!("sigmat-output-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("x")).unwrap();
        let roots = [dir.clone()];
        assert_eq!(
            rule_file(&dir.join("x/a.yml"), 0, &roots, "eql"),
            Path::new("x/a.eql")
        );
        assert_eq!(
            rule_file(&dir.join("y/a.yml"), 2, &roots, "eql"),
            Path::new("y/a-2.eql")
        );
        // A file given itself: its name.
        assert_eq!(
            rule_file(Path::new("/elsewhere/b.yaml"), 0, &roots, "sql"),
            Path::new("b.sql")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
