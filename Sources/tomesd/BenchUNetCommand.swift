/// `tomesd bench unet` (not implemented yet).
let benchUNetCommand = Subcommand(name: "bench unet", usage: "bench unet (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'bench unet' is not implemented yet")
}
