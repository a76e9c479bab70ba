import ArgumentParser
import Foundation
import GangwayAuth0

struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one function once with an event (stdin by default) and print its response.")

    @Argument(help: "The function, as named in infra/routes.json.") var function: String
    @Option(help: "A file holding the API Gateway v2 event.") var event: String?
    @Option(help: "Directory holding the function executables.") var functionsDir: String?
    @OptionGroup var store: StoreOptions

    func run() async throws {
        guard function.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw ValidationError("Bad function name.") }
        let input = try event.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } ?? FileHandle.standardInput.readDataToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (functionsDir ?? Paths.binDirectory) + "/" + function)
        var environment = ProcessInfo.processInfo.environment
        environment["GANGWAY_STORE"] = store.resolved
        environment["GANGWAY_SECRET_KEY"] = try store.secretKey()
        environment.removeValue(forKey: "AWS_LAMBDA_RUNTIME_API")
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        FileHandle.standardOutput.write(output)
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }
}
