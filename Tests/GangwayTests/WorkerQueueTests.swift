import Foundation
import GangwayAuth0
import Testing

/// Waiting for a busy warm worker is not the function's time: a queued request gets the function's whole timeout
/// once a worker takes it, the wait itself has its own bound (503), and no healthy worker is killed for it.
@Suite("Worker queue", .serialized)
struct WorkerQueueTests {
    /// A function that sleeps for the milliseconds in its path, then answers with its pid.
    static let script = #"""
        #!/usr/bin/env python3
        import json, os, time, urllib.request

        api = os.environ["AWS_LAMBDA_RUNTIME_API"]
        base = "http://%s/2018-06-01/runtime/invocation/" % api
        credential = os.environ.get("GANGWAY_RUNTIME_API_CREDENTIAL")
        hdrs = {"Gangway-Runtime-Credential": credential} if credential else {}
        while True:
            with urllib.request.urlopen(urllib.request.Request(base + "next", headers=hdrs)) as r:
                rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                event = json.loads(r.read())
            time.sleep(int(event["pathParameters"]["ms"]) / 1000)
            answer = json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                                 "body": json.dumps({"pid": os.getpid()}), "isBase64Encoded": False}).encode()
            urllib.request.urlopen(urllib.request.Request(base + rid + "/response", data=answer, method="POST", headers=hdrs))
        """#

    /// A gateway with one warm worker of the sleeping function (timeoutSeconds 2).
    static func start(_ scratch: Scratch, extra: [String] = []) throws -> GatewayProcess {
        let functions = scratch.path + "/functions"
        try FileManager.default.createDirectory(atPath: functions, withIntermediateDirectories: true)
        try script.write(toFile: functions + "/sleeper", atomically: true, encoding: .utf8)
        chmod(functions + "/sleeper", 0o755)
        let routes = scratch.path + "/routes.json"
        try """
        {"functions": {"sleeper": {"timeoutSeconds": 2, "memoryMB": 128}},
         "routes": [{"method": "GET", "path": "/sleep/{ms}", "function": "sleeper"}]}
        """.write(toFile: routes, atomically: true, encoding: .utf8)
        return try GatewayProcess(store: scratch.store, mode: "warm", routes: routes, functionsDir: functions, extra: extra)
    }

    /// Sends the requests at once (a thread each, `stagger` apart) and returns status and body of each.
    static func concurrently(_ gateway: GatewayProcess, _ paths: [String], stagger: UInt32 = 200_000) -> [(Int, String)] {
        let results = Locked<[Int: (Int, String)]>([:])
        let done = DispatchGroup()
        let base = gateway.base
        for (index, path) in paths.enumerated() {
            done.enter()
            Thread {
                let client = UpstreamClient(connectTimeout: .seconds(2), totalTimeout: .seconds(15), maxResponseBytes: 1 << 20)
                let answer = (try? client.send(UpstreamRequest(method: "GET", url: base + path)))
                    .map { ($0.status, String(decoding: $0.body, as: UTF8.self)) }
                results.withLock { $0[index] = answer ?? (0, "") }
                done.leave()
            }.start()
            usleep(stagger)
        }
        done.wait()
        return results.withLock { all in paths.indices.map { all[$0]! } }
    }

    @Test("a request queued behind a long invocation gets the function's whole timeout; nobody is killed")
    func queuedRequestKeepsItsTimeout() throws {
        let scratch = Scratch()
        let gateway = try Self.start(scratch)
        let pid = try gateway.json("GET", "/sleep/0").1["pid"]?.intValue
        // Each takes 1.5 s of a 2 s timeout; the second waits 1.3 s for the worker first.
        let answers = Self.concurrently(gateway, ["/sleep/1500", "/sleep/1500"])
        #expect(answers.map(\.0) == [200, 200], "\(answers)")
        #expect(try gateway.json("GET", "/sleep/0").1["pid"]?.intValue == pid, "the worker was not replaced")
        #expect(!gateway.logs.contains("overran its timeout"))
    }

    @Test("a request that waits longer than --queue-timeout for a worker gets 503 JSON; nobody is killed")
    func queueTimeoutAnswers503() throws {
        let scratch = Scratch()
        // The second request waits ~1.2 s behind the first (1.5 s of work, sent 0.3 s earlier): over the 1 s bound.
        // Bounds are loose on purpose: a loaded CI machine is slow to start a thread or a Python loop.
        let gateway = try Self.start(scratch, extra: ["--queue-timeout", "1"])
        let pid = try gateway.json("GET", "/sleep/0").1["pid"]?.intValue
        let started = Date()
        let answers = Self.concurrently(gateway, ["/sleep/1500", "/sleep/10"], stagger: 300_000)
        #expect(answers[0].0 == 200, "\(answers)")
        #expect(answers[1].0 == 503 && answers[1].1.contains("temporarily_unavailable"), "\(answers)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try gateway.json("GET", "/sleep/0").1["pid"]?.intValue == pid, "the worker was not replaced")
        #expect(!gateway.logs.contains("overran its timeout"))
    }
}
