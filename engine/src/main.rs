fn main() {
    let code = watchkeep::cli::run(std::env::args().collect());
    std::process::exit(code);
}
