import Foundation
import GangwayAuth0
import Testing

/// A function that crashes, hangs, prints garbage or reports an error must cost one request a 502/504,
/// never the gateway. The misbehaving function is a small Python program speaking both drivers.
@Suite("Misbehaving functions", .serialized)
struct MisbehavingFunctionTests {
    static let script = #"""
        #!/usr/bin/env python3
        import json, os, sys, time, urllib.request

        def answer(what):
            if what == "crash":
                os._exit(3)
            if what == "hang":
                time.sleep(60)
            if what == "garbage":
                return b"this is not a response"
            return json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                               "body": json.dumps({"pid": os.getpid()}), "isBase64Encoded": False}).encode()

        api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if not api:
            event = json.loads(sys.stdin.read())
            sys.stdout.buffer.write(answer(event["pathParameters"]["what"]))
            sys.exit(0)
        base = "http://%s/2018-06-01/runtime/invocation/" % api
        # The local gateway admits only the worker it spawned: it hands each one a credential to present.
        credential = os.environ.get("GANGWAY_RUNTIME_API_CREDENTIAL")
        hdrs = {"Gangway-Runtime-Credential": credential} if credential else {}
        while True:
            with urllib.request.urlopen(urllib.request.Request(base + "next", headers=hdrs)) as r:
                rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                event = json.loads(r.read())
            what = event["pathParameters"]["what"]
            if what == "error":
                urllib.request.urlopen(urllib.request.Request(base + rid + "/error", data=b'{"errorType":"Boom"}', method="POST", headers=hdrs))
                continue
            urllib.request.urlopen(urllib.request.Request(base + rid + "/response", data=answer(what), method="POST", headers=hdrs))
        """#

    /// A route table and functions directory with the real well-known function and the misbehaving one.
    static func setUp(_ scratch: Scratch) throws -> (routes: String, functions: String) {
        let functions = scratch.path + "/functions"
        try FileManager.default.createDirectory(atPath: functions, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: functions + "/well-known", withDestinationPath: Bin.debug + "/well-known")
        try script.write(toFile: functions + "/misbehaving", atomically: true, encoding: .utf8)
        chmod(functions + "/misbehaving", 0o755)
        let routes = scratch.path + "/routes.json"
        let table = """
            {"functions": {"well-known": {"timeoutSeconds": 5, "memoryMB": 128}, "misbehaving": {"timeoutSeconds": 2, "memoryMB": 128}},
             "routes": [{"method": "GET", "path": "/.well-known/jwks.json", "function": "well-known"},
                        {"method": "GET", "path": "/misbehave/{what}", "function": "misbehaving"}]}
            """
        try table.write(toFile: routes, atomically: true, encoding: .utf8)
        return (routes, functions)
    }

    @Test("crash, garbage and timeout become 502/502/504 JSON; the gateway keeps serving", arguments: ["cgi", "warm"])
    func failuresAreContained(mode: String) throws {
        let scratch = Scratch()
        let (routes, functions) = try Self.setUp(scratch)
        let gateway = try GatewayProcess(store: scratch.store, mode: mode, routes: routes, functionsDir: functions)

        let ok = try gateway.json("GET", "/misbehave/ok")
        #expect(ok.0 == 200)

        let crash = try gateway.json("GET", "/misbehave/crash")
        #expect(crash.0 == 502 && crash.1["error"] == "bad_gateway")
        #expect(crash.1["error_description"]?.stringValue?.contains("request id") == true)

        let garbage = try gateway.json("GET", "/misbehave/garbage")
        #expect(garbage.0 == 502 && garbage.1["error"] == "bad_gateway")

        let started = Date()
        let hang = try gateway.json("GET", "/misbehave/hang")
        #expect(hang.0 == 504 && hang.1["error"] == "gateway_timeout")
        #expect(Date().timeIntervalSince(started) < 4, "cut at the function's 2 s timeout")

        // The gateway and the other functions are unharmed; the misbehaving function serves again.
        #expect(gateway.isRunning)
        #expect(try gateway.json("GET", "/.well-known/jwks.json").0 == 200)
        let again = try gateway.json("GET", "/misbehave/ok")
        #expect(again.0 == 200)
    }

    @Test("warm: a worker that crashed or overran is replaced by a new process")
    func warmWorkersAreReplaced() throws {
        let scratch = Scratch()
        let (routes, functions) = try Self.setUp(scratch)
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm", routes: routes, functionsDir: functions)

        let first = try gateway.json("GET", "/misbehave/ok").1["pid"]?.intValue
        #expect(try gateway.json("GET", "/misbehave/ok").1["pid"]?.intValue == first, "warm: the same worker answers again")
        _ = try gateway.json("GET", "/misbehave/crash")
        let second = try gateway.json("GET", "/misbehave/ok").1["pid"]?.intValue
        #expect(second != nil && second != first)
        _ = try gateway.json("GET", "/misbehave/hang")
        let third = try gateway.json("GET", "/misbehave/ok").1["pid"]?.intValue
        #expect(third != nil && third != second)
        #expect(kill(pid_t(second!), 0) != 0, "the worker that overran was killed")
    }

    @Test("warm: an error the function reports through the Runtime API is a 502")
    func runtimeAPIErrorIs502() throws {
        let scratch = Scratch()
        let (routes, functions) = try Self.setUp(scratch)
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm", routes: routes, functionsDir: functions)
        let error = try gateway.json("GET", "/misbehave/error")
        #expect(error.0 == 502 && error.1["error"] == "bad_gateway")
        #expect(try gateway.json("GET", "/misbehave/ok").0 == 200)
    }
}
