//! The `sigmat` binary: see [`sigmat::cli`].

// mimalloc: the batch paths allocate many small IR nodes and strings; glibc's malloc/free were
// about 30% of a catalog conversion's profile. Built with `no_thp`: with transparent huge pages
// mimalloc's arenas fault in (and the kernel zeroes) 2 MiB at a time, which made loading the
// catalog peak at 85-100 MB instead of 57-66 MB and doubled its system time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(sigmat::cli::main());
}
