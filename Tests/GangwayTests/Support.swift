import Foundation
import GangwayAuth0
import Testing

/// Paths to the executables `swift build` made: the real gateway and the real functions.
enum Bin {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var debug: String { ProcessInfo.processInfo.environment["GANGWAY_BIN_DIR"] ?? packageRoot + "/.build/debug" }
    static var release: String { ProcessInfo.processInfo.environment["GANGWAY_RELEASE_BIN_DIR"] ?? packageRoot + "/.build/release" }
    static var gangway: String { debug + "/gangway" }
    static var routes: String { packageRoot + "/infra/routes.json" }
    /// How many functions infra/routes.json names (a warm gateway runs one worker each).
    static var functionCount: Int {
        let table = try? JSONDecoder().decode(RouteTable.self, from: Data(contentsOf: URL(fileURLWithPath: routes)))
        return table?.functions.count ?? 0
    }
}

/// A fresh directory per test, removed afterwards.
final class Scratch {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-test-" + UUID().uuidString).path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var store: String { "sqlite:\(path)/gangway.db" }
}

struct ProcessResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs an executable to completion with optional stdin. Stdin and stderr go through temporary files,
/// so no pipe can fill up and stall either side.
func runProcess(_ path: String, _ arguments: [String] = [], stdin: Data? = nil, environment: [String: String] = [:]) throws -> ProcessResult
{
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-proc-" + UUID().uuidString)
    let inPath = scratch.path + ".in"
    let errPath = scratch.path + ".err"
    FileManager.default.createFile(atPath: inPath, contents: stdin ?? Data())
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: inPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let output = Pipe()
    process.standardInput = FileHandle(forReadingAtPath: inPath)
    process.standardOutput = output
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let err = FileManager.default.contents(atPath: errPath) ?? Data()
    return ProcessResult(status: process.terminationStatus, stdout: out, stderr: String(decoding: err, as: UTF8.self))
}

/// `gangway …` with a store.
func gangway(_ arguments: [String]) throws -> ProcessResult {
    try runProcess(Bin.gangway, arguments)
}

struct InitResult: Decodable {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The CLI's JSON names, as `gangway init --json` prints them.
    struct Credentials: Decodable {
        var client_id: String
        var client_secret: String?
        var audience: String?
    }
    struct ConnectionRef: Decodable {
        var id: String
        var name: String
    }
    var created: Bool
    var tenant: String
    var issuer: String
    var app: Credentials
    var management: Credentials
    var connection: ConnectionRef
}

func initTenant(store: String, issuer: String, extra: [String] = []) throws -> InitResult {
    let result = try gangway(["init", "--store", store, "--issuer", issuer, "--json"] + extra)
    #expect(result.status == 0, "\(result.stderr)")
    return try JSONDecoder().decode(InitResult.self, from: result.stdout)
}

/// A loopback port nobody listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The real `gangway serve` process, on a free port, stopped when the value goes away.
final class GatewayProcess {
    private(set) var process = Process()
    private(set) var port = 0
    /// The gateway's stderr (its JSON log lines and its workers'), kept for assertions and diagnosis.
    private(set) var logPath = ""
    var logs: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var base: String { "http://127.0.0.1:\(port)" }

    /// `freePort()` can lose its port before the gateway binds it (every gateway in the parallel suite binds a
    /// dozen ephemeral Runtime API ports): on "Address already in use" it starts again on a new port, three times.
    /// `launcher`: a command the gateway runs under, e.g. `["/usr/bin/prlimit", "--nofile=256"]`.
    init(
        store: String, mode: String = "warm", routes: String = Bin.routes, functionsDir: String = Bin.debug, extra: [String] = [],
        launcher: [String] = []
    ) throws {
        for attempt in 1...3 {
            do {
                try start(store: store, mode: mode, routes: routes, functionsDir: functionsDir, extra: extra, launcher: launcher)
                return
            } catch {
                let log = logs
                try? FileManager.default.removeItem(atPath: logPath)
                guard attempt < 3, log.contains("Address already in use") else {
                    throw GatewayError(message: "\(error); gateway log: \(log.prefix(4000))")
                }
            }
        }
    }

    private func start(store: String, mode: String, routes: String, functionsDir: String, extra: [String], launcher: [String]) throws {
        process = Process()
        port = freePort()
        process.executableURL = URL(fileURLWithPath: launcher.first ?? Bin.gangway)
        process.arguments =
            launcher.dropFirst() + (launcher.isEmpty ? [] : [Bin.gangway])
            + [
                "serve", "--port", "\(port)", "--mode", mode, "--store", store, "--routes", routes,
                "--functions-dir", functionsDir, "--workers", "1",
            ] + extra
        let out = Pipe()
        process.standardOutput = out
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-gw-\(port)-\(UUID().uuidString).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        let reader = out.fileHandleForReading
        var seen = ""
        let deadline = Date().addingTimeInterval(30)
        while !seen.contains("listening on"), Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        guard seen.contains("listening on") else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            throw GatewayError(message: "gateway did not start: \(seen)")
        }
        Thread { while !reader.availableData.isEmpty {} }.start()
    }

    /// SIGTERM, and the gateway must be gone within 20 s (then SIGKILL, and the test has failed). Twenty, not
    /// ten: under the whole suite's parallel load (the 50-upload burst beside it) a clean stop once took longer.
    deinit {
        process.terminate()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("gateway did not stop on SIGTERM")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var isRunning: Bool { process.isRunning }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Duration = .seconds(15))
        throws -> UpstreamResponse
    {
        let client = UpstreamClient(connectTimeout: .seconds(2), totalTimeout: timeout, maxResponseBytes: 8 << 20)
        do {
            return try client.send(UpstreamRequest(method: method, url: base + path, headers: headers, body: body))
        } catch {
            throw GatewayError(message: "\(method) \(path): \(error); running: \(isRunning); gateway log tail:\n\(logs.suffix(3000))")
        }
    }

    func json(_ method: String, _ path: String, headers: [(String, String)] = []) throws -> (Int, [String: JSONValue]) {
        let response = try request(method, path, headers: headers)
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(response.body))
        return (response.status, value.objectValue ?? [:])
    }
}

struct GatewayError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
