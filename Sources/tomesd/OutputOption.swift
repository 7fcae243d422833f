import TensorCore

/// Prepares the output file given by `option` (see ``OutputFile``), before any work: a refused path (not a regular
/// file, a symbolic link, the same file as one of `inputs` or `otherOutputs`, or a folder that cannot take it) is
/// a usage error naming the option and the paths.
func prepareOutput(_ path: String, option: String, inputs: [String], otherOutputs: [OutputFile] = []) throws -> OutputFile {
    do {
        return try OutputFile.prepare(path: path, inputs: inputs, otherOutputs: otherOutputs)
    } catch let error as OutputFileError where error.isRefusal {
        throw UsageError("option \(option): \(error)")
    }
}
