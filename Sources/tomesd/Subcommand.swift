import TensorCore

/// One `tomesd` command: its name, what it does, its options (declared once: the parser, the defaults and `--help`
/// all read them) and how to run it.
struct Subcommand {
    /// `generate`, or two words for the benchmarks (`bench gemm`).
    let name: String
    /// One line for `tomesd --help`.
    let summary: String
    /// A paragraph for `tomesd <command> --help`: what it reads and writes, and how the options go together.
    let details: String
    /// The command's own options; ``allOptions`` adds those every command takes.
    let options: [CommandOption]
    let run: (inout Arguments) throws -> Void

    init(name: String, summary: String, details: String, options: [CommandOption],
         run: @escaping (inout Arguments) throws -> Void) {
        self.name = name
        self.summary = summary
        self.details = details
        self.options = options
        self.run = run
    }

    /// The options every command takes, after its own.
    static let commonOptions: [CommandOption] = [
        .value("threads", "T", "worker threads, 1 to \(ThreadPool.maximumThreadCount) here (default: TOMESD_NUM_THREADS if "
            + "set, else one per CPU core)"),
    ]

    /// The command's options and the common ones, in help order.
    var allOptions: [CommandOption] { options + Self.commonOptions }
}
