//! `sigmat completions SHELL` and `sigmat man`: generated from the argument definitions, so
//! every subcommand and its flags appear.

use std::process::Command;

fn sigmat(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .output()
        .expect("sigmat runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
    )
}

#[test]
fn completions_know_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, text) = sigmat(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        for word in [
            "convert",
            "check",
            "eval",
            "inspect",
            "skip-unsupported",
            "pipeline",
        ] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    // The bash script is valid bash.
    let (_, bash) = sigmat(&["completions", "bash"]);
    let file = std::env::temp_dir().join(format!("sigmat-completion-{}.bash", std::process::id()));
    std::fs::write(&file, bash).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("bash runs");
    std::fs::remove_file(&file).unwrap();
    assert!(check.success());
    let (code, _) = sigmat(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
}

#[test]
fn the_man_page_has_a_section_per_subcommand_with_its_options() {
    let (code, page) = sigmat(&["man"]);
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie") || page.contains(".TH sigmat 1"),
        "{}",
        &page[..200]
    );
    for sub in ["CHECK", "INSPECT", "CONVERT", "LIST", "EVAL", "COMPLETIONS"] {
        assert!(
            page.contains(&format!(".SH \"SIGMAT {sub}\"")),
            "no section for {sub}"
        );
    }
    // roff escapes dashes: the convert options are there.
    assert!(page.contains("\\-\\-skip\\-unsupported"));
    assert!(page.contains("\\-\\-target"));
}
