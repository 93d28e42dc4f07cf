fn main() -> std::process::ExitCode {
    xconnector::main()
}
