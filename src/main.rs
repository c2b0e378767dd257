//! The `hls-ladder` command; everything it does lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    hls_ladder_server::cli::main()
}
