//! The `sigmat` binary: see [`sigmat::cli`].

// mimalloc: the batch paths allocate many small IR nodes and strings; glibc's malloc/free were
// about 30% of a catalog conversion's profile. Built with `no_thp`: with transparent huge pages
// mimalloc's arenas fault in (and the kernel zeroes) 2 MiB at a time, which made loading the
// catalog peak at 85-100 MB instead of 57-66 MB and doubled its system time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mi_option_e` enum in `mimalloc.h`, v3; the crate
/// names no constant for it): how long freed memory is kept before it goes back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay `sigmat eval` runs with, in milliseconds.
///
/// `eval` streams: every batch of records, its parsed events and its results are freed once
/// written, by other threads than the ones that allocated them. mimalloc v3 keeps freed pages
/// for a second by default (1000 ms) before purging them, so on a long input the Windows
/// catalog peaked at 80-91 MB; purged at once it peaks at 53-54 MB, for a little more system
/// time. The other subcommands are short batch runs and keep the default. `MIMALLOC_PURGE_DELAY`
/// in the environment still decides when it is set.
const EVAL_PURGE_DELAY_MS: std::ffi::c_long = 0;

fn main() {
    if std::env::args_os().nth(1).is_some_and(|a| a == "eval")
        && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none()
    {
        // SAFETY: a plain option setter, called before any other thread exists.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, EVAL_PURGE_DELAY_MS);
        }
    }
    std::process::exit(sigmat::cli::main());
}

#[cfg(test)]
mod tests {
    /// The option number is the purge delay's: its default is mimalloc v3's 1000 ms, and
    /// setting it reads back.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: option getters and setters of the linked mimalloc.
        #[allow(unsafe_code)]
        unsafe {
            assert_eq!(
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                1000
            );
            libmimalloc_sys::mi_option_set(super::MI_OPTION_PURGE_DELAY, 7);
            assert_eq!(
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                7
            );
        }
    }
}
