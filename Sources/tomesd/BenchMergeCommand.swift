/// `tomesd bench merge` (not implemented yet).
let benchMergeCommand = Subcommand(name: "bench merge", usage: "bench merge (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'bench merge' is not implemented yet")
}
