// libFuzzer target for the safetensors reader (and, on every input it accepts, the writer).
//
// Not part of the SwiftPM package: Scripts/fuzz-safetensors.sh compiles it together with Sources/TensorCore and
// Sources/CKernels using `-sanitize=fuzzer,address`. Each input becomes a file (in /dev/shm when there is one):
// - an input starting with '{' is a header and its data, separated by the first NUL byte; the harness writes the
//   8-byte length prefix, so mutations of the JSON keep a consistent file and reach the header validation;
// - any other input is written as it is (exercising the length prefix and everything else).
// The file is opened with SafeTensorsFile and every tensor read as floats or integers. An input that opens must
// also survive a round trip: written back with SafeTensors.write and read again, it gives the same metadata,
// shapes and bits. Errors are the expected outcome for most inputs; a crash, a hang, a sanitizer report or a
// round-trip mismatch is a bug.
//
// A custom mutator helps libFuzzer's own: one mutation in four replaces a run of ASCII digits (a shape entry, an
// offset, a header length written as text) with an edge value — powers of two near the limits of Int and UInt64,
// 0, -1 — which byte-level mutations almost never produce, and which are what overflow checks are about.
import Foundation

private let scratchFolder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
private let inputURL = URL(fileURLWithPath: scratchFolder).appendingPathComponent("safetensors-fuzz-\(getpid()).safetensors")
private let roundTripURL = URL(fileURLWithPath: scratchFolder).appendingPathComponent("safetensors-fuzz-\(getpid())-copy.safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func safeTensorsFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard FileManager.default.createFile(atPath: inputURL.path, contents: fileContents(UnsafeBufferPointer(start: data, count: size))) else {
        fatalError("fuzz harness: cannot write \(inputURL.path)")
    }
    guard let file = try? SafeTensorsFile(contentsOf: inputURL) else { return 0 }
    var entries: [String: SafeTensors.Entry] = [:]
    for name in file.tensorNames {
        if let tensor = try? file.tensor(name) {
            entries[name] = .float32(tensor)
        } else if let values = try? file.integers(name) {
            entries[name] = .int64(shape: file.descriptors[name]!.shape, values: values)
        }
    }
    checkRoundTrip(entries, metadata: file.metadata)
    return 0
}

/// The file an input stands for (see the top of this file).
private func fileContents(_ input: UnsafeBufferPointer<UInt8>) -> Data {
    guard input.first == UInt8(ascii: "{") else { return Data(input) }
    let split = input.firstIndex(of: 0) ?? input.count
    var file = Data()
    withUnsafeBytes(of: UInt64(split).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: input[..<split])
    if split < input.count { file.append(contentsOf: input[(split + 1)...]) }
    return file
}

/// Writes `entries` and reads them back, trapping (a fuzzer finding) on any difference.
private func checkRoundTrip(_ entries: [String: SafeTensors.Entry], metadata: [String: String]) {
    do {
        try SafeTensors.write(entries: entries, to: roundTripURL, metadata: metadata)
        let copy = try SafeTensorsFile(contentsOf: roundTripURL)
        precondition(copy.metadata == metadata, "round trip changed the metadata")
        precondition(copy.tensorNames == entries.keys.sorted(), "round trip changed the tensor names")
        for (name, entry) in entries {
            switch entry {
            case .float32(let tensor):
                let again = try copy.tensor(name)
                precondition(again.shape == tensor.shape && again.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern),
                             "round trip changed float tensor '\(name)'")
            case let .int64(shape, values):
                let (againShape, againValues) = (try copy.descriptor(name).shape, try copy.integers(name))
                precondition(againShape == shape && againValues == values, "round trip changed integer tensor '\(name)'")
            }
        }
    } catch {
        fatalError("round trip of an accepted file failed: \(error)")
    }
}

/// Numbers at the edges of what the header arithmetic must survive.
private let edgeNumbers = ["0", "1", "2", "3", "-1", "255", "65535", "2147483647", "2147483648", "4294967296",
                           "9007199254740993", "288230376151711744", "2305843009213693952", "4611686018427387904",
                           "9223372036854775807", "9223372036854775808", "18446744073709551615", "1e400", "0.5"]

@_silgen_name("LLVMFuzzerMutate")
private func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

@_cdecl("LLVMFuzzerCustomMutator")
public func safeTensorsFuzzMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    var random = SystemRandomNumberGenerator()
    let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
    var runs: [Range<Int>] = []
    var index = 0
    while index < size {
        guard digits.contains(data[index]) else { index += 1; continue }
        let start = index
        while index < size && digits.contains(data[index]) { index += 1 }
        runs.append(start..<index)
    }
    guard seed % 4 == 0, let run = runs.randomElement(using: &random), let number = edgeNumbers.randomElement(using: &random) else {
        return libFuzzerMutate(data, size, maxSize)
    }
    let replacement = Array(number.utf8)
    let newSize = size - run.count + replacement.count
    guard newSize <= maxSize else { return libFuzzerMutate(data, size, maxSize) }
    (data + run.lowerBound + replacement.count).update(from: data + run.upperBound, count: size - run.upperBound)
    (data + run.lowerBound).update(from: replacement, count: replacement.count)
    return newSize
}
