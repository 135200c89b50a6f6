fn main() {
    eprintln!("wirekit: the PC binary is not built yet (see the std adapter issue)");
    std::process::exit(2);
}
