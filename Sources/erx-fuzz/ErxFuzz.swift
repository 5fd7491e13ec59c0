import ErxFuzzing
import Foundation

/// `erx-fuzz`. Built by `scripts/fuzz.sh` with `-sanitize=fuzzer,address -DFUZZING` it is libFuzzer with
/// the target named by `ERX_FUZZ_TARGET` (all other arguments are libFuzzer's). Built plainly it replays
/// files through a target: `erx-fuzz <target> <file or directory>...`. In both builds
/// `erx-fuzz --seeds ...` writes a seed corpus (see `writeSeeds`).
@main
struct ErxFuzz {
    static func main() {
        if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "--seeds" {
            writeSeeds(Array(CommandLine.arguments.dropFirst(2)))
        }
        #if FUZZING
        guard let name = ProcessInfo.processInfo.environment["ERX_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            fail("set ERX_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        selected = target
        target.prepare()
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        #else
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            fail("usage: erx-fuzz <\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))> <file or directory>...")
        }
        target.prepare()
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                target.run(Array(data))
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs replayed, no property violated")
        #endif
    }

    /// `--seeds <target> <directory> <max bytes> <source>...`: writes the target's seed corpus and exits.
    static func writeSeeds(_ arguments: [String]) -> Never {
        guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[0]), let maximumSize = Int(arguments[2]) else {
            fail("usage: erx-fuzz --seeds <target> <directory> <max bytes> <file or directory>...")
        }
        do {
            let count = try SeedCorpus.write(target, from: arguments.dropFirst(3).map { URL(fileURLWithPath: $0) },
                                             to: URL(fileURLWithPath: arguments[1]), maximumSize: maximumSize)
            print("\(target.rawValue): \(count) seeds")
            exit(0)
        } catch {
            fail("seeds: \(error)")
        }
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter { !$0.hasSuffix("/.") }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}

#if FUZZING
/// The target libFuzzer's callback runs; set once before the driver starts.
nonisolated(unsafe) var selected = FuzzTarget.json

/// libFuzzer's entry for one input.
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// libFuzzer's driver (in libclang_rt.fuzzer, linked by `-sanitize=fuzzer`): parses libFuzzer's flags
/// and runs the callback. Used instead of libFuzzer's own `main`, which SwiftPM's entry point replaces.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
