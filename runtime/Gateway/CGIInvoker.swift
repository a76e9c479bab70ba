import GangwayCore
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
        return await withTaskGroup(of: InvocationOutcome?.self) { group in
            group.addTask {
                do {
                    let result = try await run(
                        .path(FilePath(spec.executable)), environment: functions.environment(),
                        input: .array(event), output: .bytes(limit: Limits.maxResponseBytes),
                        error: .currentStandardError
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
}
