/// `tomesd bench gemm` (not implemented yet).
let benchGEMMCommand = Subcommand(name: "bench gemm", usage: "bench gemm (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'bench gemm' is not implemented yet")
}
