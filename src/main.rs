fn main() {
    std::process::exit(sigmat::cli::main());
}
