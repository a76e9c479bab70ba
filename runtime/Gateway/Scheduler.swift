import FoundationEssentials
import GangwayPlatform
import Logging
import ServiceLifecycle

/// Plays EventBridge's schedules locally: invokes each function that has `scheduleSeconds` in the route table
/// (the jobs worker) on a timer, one invocation at a time per function, with the event the AWS schedule sends
/// (template.yaml gives the same one as the rule's input).
struct Scheduler: Service {
    let invoker: any FunctionInvoker
    /// Function name → interval (the route table's, or the gateway's override).
    let schedules: [String: Duration]
    let logger: Logger

    /// The event a scheduled invocation carries: an API Gateway 2.0 event with the route key `SCHEDULE <name>`.
    static func event(for function: String) -> [UInt8] {
        let event = GatewayEvent(
            routeKey: "SCHEDULE \(function)", rawPath: "/", rawQueryString: "", headers: [:], queryStringParameters: nil,
            pathParameters: nil,
            requestContext: .init(
                domainName: "localhost", requestId: "schedule-" + Random.identifier(length: 12),
                http: .init(method: "POST", path: "/", sourceIp: "127.0.0.1", userAgent: "gangway-scheduler")),
            body: nil, isBase64Encoded: false)
        return Array((try? JSON.encode(event)) ?? Data())
    }

    func run() async throws {
        // A service that returns ends the whole group: with nothing scheduled, wait for the shutdown instead.
        guard !schedules.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { await self.runSchedules() }
    }

    private func runSchedules() async {
        await withTaskGroup(of: Void.self) { group in
            for (function, interval) in schedules {
                group.addTask {
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        try? await Task.sleep(for: interval)
                        guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
                        let outcome = await invoker.invoke(function: function, event: Self.event(for: function))
                        switch outcome {
                        case .response: break
                        default:
                            logger.warning("scheduled invocation failed", metadata: ["function": "\(function)", "outcome": "\(outcome)"])
                        }
                    }
                }
            }
            await group.waitForAll()
        }
    }
}
