//! The `remedy` binary. See the library's top-level docs for the tour.

fn main() {
    std::process::exit(remedy::cli::main());
}
