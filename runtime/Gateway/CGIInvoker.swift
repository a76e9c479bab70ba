import Foundation
import GangwayPlatform
import Subprocess

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// `--mode cgi`: spawns the function's executable for every request, event on stdin, response on stdout.
/// This is exactly the contract in runtime/CONTRACT.md and what a cold Lambda start costs.
struct CGIInvoker: FunctionInvoker {
    let functions: FunctionDirectory

    func invoke(function: String, event: [UInt8]) async -> InvocationOutcome {
        guard let spec = functions.spec(function) else { return .crashed("unknown function \(function)") }
        // Out of descriptors swift-subprocess traps mid-spawn instead of throwing: refuse this one request instead.
        guard DescriptorLimit.roomToSpawn() else { return .noWorkerAvailable }
        return await withTaskGroup(of: InvocationOutcome?.self) { group in
            group.addTask {
                // The event goes in through an unlinked temporary file, not a pipe: a function that
                // exits without reading its stdin must cost nothing but its own 502.
                let input = Self.stagedFile()
                guard input >= 0, event.withUnsafeBytes({ write(input, $0.baseAddress, $0.count) }) == event.count,
                    lseek(input, 0, SEEK_SET) == 0
                else {
                    if input >= 0 { close(input) }
                    return .crashed("could not stage the event for \(function)")
                }
                do {
                    let result = try await run(
                        .path(FilePath(spec.executable)), environment: functions.environment(),
                        input: .fileDescriptor(FileDescriptor(rawValue: input), closeAfterSpawningProcess: true),
                        output: .bytes(limit: GatewayLimits.maxResponseBytes), error: .currentStandardError
                    )
                    guard case .exited(0) = result.terminationStatus else {
                        return .crashed("\(function) ended with \(result.terminationStatus)")
                    }
                    return .response(result.standardOutput)
                } catch is CancellationError {
                    return nil
                } catch {
                    return .crashed("\(function) could not run: \(error)")
                }
            }
            group.addTask {
                try? await Task.sleep(for: spec.timeout)
                return Task.isCancelled ? nil : .timedOut
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .timedOut
        }
    }

    func shutdown() async {}

    /// An open, already unlinked file in the temporary directory.
    static func stagedFile() -> Int32 {
        var template = Array("\(NSTemporaryDirectory())gangway-event-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
        return fd
    }
}
