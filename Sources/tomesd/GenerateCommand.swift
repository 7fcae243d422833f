/// `tomesd generate` (not implemented yet).
let generateCommand = Subcommand(name: "generate", usage: "generate (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'generate' is not implemented yet")
}
