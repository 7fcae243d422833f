/// `tomesd unet` (not implemented yet).
let unetCommand = Subcommand(name: "unet", usage: "unet (not implemented yet)", flags: []) { arguments in
    try arguments.finish()
    throw UsageError("'unet' is not implemented yet")
}
