import Foundation
import GangwayAuth0
import Testing

/// The stdin/stdout contract of runtime/CONTRACT.md, exercised on the real `well-known` executable.
@Suite("Function contract")
struct FunctionContractTests {
    static func event(path: String, host: String = "127.0.0.1:4100", body: String? = nil) -> Data {
        let event = GatewayEvent(
            routeKey: "GET \(path)", rawPath: path, rawQueryString: "", headers: ["host": host],
            queryStringParameters: nil, pathParameters: nil,
            requestContext: .init(
                domainName: host, requestId: "req-1", http: .init(method: "GET", path: path, sourceIp: "127.0.0.1", userAgent: "test")),
            body: body, isBase64Encoded: false
        )
        return try! JSONEncoder().encode(event)
    }

    static func invoke(_ stdin: Data, store: String, environment: [String: String] = [:]) throws -> (ProcessResult, GatewayResponse) {
        let result = try runProcess(
            Bin.debug + "/well-known", stdin: stdin, environment: ["GANGWAY_STORE": store].merging(environment) { _, new in new })
        #expect(result.status == 0, "a function exits 0 whatever it answers")
        let lines = result.text.split(separator: "\n")
        #expect(lines.count == 1, "stdout holds exactly one response")
        return (result, try JSONDecoder().decode(GatewayResponse.self, from: Data((lines.first ?? "").utf8)))
    }

    static func body(_ response: GatewayResponse) -> [String: JSONValue] {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body.utf8)))?.objectValue ?? [:]
    }

    @Test("a valid event gets the JWKS; logs are JSON lines on stderr")
    func validEvent() throws {
        let scratch = Scratch()
        _ = try initTenant(store: scratch.store, issuer: "http://127.0.0.1:4100/")
        let (result, response) = try Self.invoke(Self.event(path: "/.well-known/jwks.json"), store: scratch.store)
        #expect(response.statusCode == 200)
        #expect(Self.body(response)["keys"]?.arrayValue?.count == 1)
        let logLines = result.stderr.split(separator: "\n")
        #expect(!logLines.isEmpty)
        for line in logLines {
            #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)))?.objectValue != nil, "not a JSON line: \(line)")
        }
    }

    @Test(
        "malformed events get a 400 in Auth0's shape", arguments: ["", "not json", "{\"version\":\"2.0\"}", "[1,2,3]", "\u{0}\u{1}\u{2}"])
    func malformedEvent(input: String) throws {
        let scratch = Scratch()
        _ = try initTenant(store: scratch.store, issuer: "http://127.0.0.1:4100/")
        let before = try gangway(["store", "list", "--store", scratch.store, "--prefix", ""]).text
        let (_, response) = try Self.invoke(Data(input.utf8), store: scratch.store)
        #expect(response.statusCode == 400)
        #expect(Self.body(response)["error"] == "invalid_request")
        #expect(Self.body(response)["error_description"]?.stringValue?.isEmpty == false)
        let after = try gangway(["store", "list", "--store", scratch.store, "--prefix", ""]).text
        #expect(before == after, "nothing is written to the store")
    }

    @Test("an event over the size limit gets 413")
    func oversizedEvent() throws {
        let scratch = Scratch()
        let big = String(repeating: "x", count: 2 * 1024 * 1024)
        let (_, response) = try Self.invoke(Self.event(path: "/.well-known/jwks.json", body: big), store: scratch.store)
        #expect(response.statusCode == 413 && Self.body(response)["error"] == "request_too_large")
    }

    @Test("an unknown host gets 404 unknown_tenant")
    func unknownHost() throws {
        let scratch = Scratch()
        _ = try initTenant(store: scratch.store, issuer: "http://127.0.0.1:4100/")
        let (_, response) = try Self.invoke(Self.event(path: "/.well-known/jwks.json", host: "elsewhere:1"), store: scratch.store)
        #expect(response.statusCode == 404 && Self.body(response)["error"] == "unknown_tenant")
    }

    @Test("our own failure is a 500 with the request id, and the log does not leak the store's password")
    func internalErrorCarriesRequestId() throws {
        let (result, response) = try Self.invoke(
            Self.event(path: "/.well-known/jwks.json"), store: "postgres://gangway:hunter2secret@127.0.0.1:1/none"
        )
        #expect(response.statusCode == 500)
        #expect(Self.body(response)["error"] == "server_error")
        #expect(Self.body(response)["error_description"]?.stringValue?.contains("req-1") == true)
        #expect(!result.stderr.contains("hunter2secret") && !response.body.contains("hunter2secret"))
    }

    @Test("release builds of every function link neither Foundation nor ICU nor a shared Swift runtime")
    func functionsLinkStatically() throws {
        let routes = try RouteTable.load(path: Bin.routes)
        for name in routes.functions.keys {
            let binary = Bin.release + "/" + name
            #expect(FileManager.default.fileExists(atPath: binary), "build it: swift build -c release --product \(name)")
            let ldd = try runProcess("/usr/bin/ldd", [binary])
            #expect(ldd.status == 0)
            for forbidden in ["libFoundation.so", "libFoundationEssentials.so", "libicu", "libswiftCore.so", "lib_FoundationICU"] {
                #expect(!ldd.text.contains(forbidden), "\(name) links \(forbidden)")
            }
        }
    }

    @Test("functions and the core import FoundationEssentials, never Foundation")
    func noFullFoundation() throws {
        for dir in ["functions", "Sources/GangwayPlatform", "Sources/GangwayAuth0"] {
            let files =
                FileManager.default.enumerator(atPath: Bin.packageRoot + "/" + dir)?.compactMap { $0 as? String }.filter {
                    $0.hasSuffix(".swift")
                } ?? []
            #expect(!files.isEmpty)
            for file in files {
                let text = try String(contentsOfFile: Bin.packageRoot + "/" + dir + "/" + file, encoding: .utf8)
                let imports = text.split(separator: "\n").filter {
                    $0.hasPrefix("import Foundation") && !$0.hasPrefix("import FoundationEssentials")
                }
                #expect(imports.isEmpty, "\(dir)/\(file) imports full Foundation")
            }
        }
    }
}
