/// `tomesd merge` (not implemented yet).
let mergeCommand = Subcommand(name: "merge", usage: "merge (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'merge' is not implemented yet")
}
