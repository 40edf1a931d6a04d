//! The `sigmat` binary: see [`sigmat::cli`].

// mimalloc: the batch paths allocate many small IR nodes and strings; glibc's malloc/free were
// about 30% of a catalog conversion's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(sigmat::cli::main());
}
