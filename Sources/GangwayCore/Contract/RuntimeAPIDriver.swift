import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The AWS Lambda Runtime API loop (as in swift-aws-lambda-runtime): GET the next invocation,
/// run the handler, POST its response. `gangway serve --mode warm` speaks the same API to its workers.
struct RuntimeAPIDriver {
    let api: String
    let function: Function

    /// The largest event the driver reads: above Lambda's 6 MB synchronous payload and the local gateway's
    /// 6 MiB body limit (a binary body arrives base64-encoded, a third larger).
    static let maxPlatformEventBytes = 16 << 20

    func run() async -> Never {
        let base = "http://\(api)/2018-06-01/runtime"
        // The long poll for the next invocation has no total timeout; posting answers has a short one.
        // The event is read whole whatever its size (the platform caps it: 6 MB on Lambda), so that
        // `handle` can answer an event over GANGWAY_MAX_EVENT_BYTES with 413: a cap here would make the
        // read fail with no request id to answer, and the worker would exit (the caller gets a 502).
        let client = UpstreamClient(
            connectTimeout: .seconds(2), totalTimeout: nil,
            maxResponseBytes: max(function.configuration.maxEventBytes + 1, Self.maxPlatformEventBytes)
        )
        while true {
            let next: UpstreamResponse
            do {
                next = try client.send(UpstreamRequest(method: "GET", url: "\(base)/invocation/next"))
            } catch {
                // The runtime API is gone (the gateway stopped): a worker has nothing left to do.
                function.logger.notice("runtime API unreachable; exiting", metadata: ["error": .string(error.description)])
                exit(0)
            }
            guard next.status == 200, let id = next.headers["lambda-runtime-aws-request-id"], !id.isEmpty else {
                function.logger.error("runtime API gave no invocation", metadata: ["status": .stringConvertible(next.status)])
                exit(1)
            }
            let response = await function.handle(eventBytes: next.body, requestId: id)
            do {
                let body = try JSON.encode(response)
                _ = try client.send(
                    UpstreamRequest(
                        method: "POST", url: "\(base)/invocation/\(id)/response",
                        headers: [("content-type", "application/json")], body: Array(body)
                    )
                )
            } catch {
                let report = #"{"errorType":"Runtime.ResponseFailed","errorMessage":"could not deliver the response"}"#
                _ = try? client.send(
                    UpstreamRequest(
                        method: "POST", url: "\(base)/invocation/\(id)/error",
                        headers: [("content-type", "application/json")], body: Array(report.utf8)
                    )
                )
            }
        }
    }
}
