import FoundationEssentials
import GangwayPlatform
import HTTPTypes
import Hummingbird
import NIOCore

/// HTTP ⇄ API Gateway payload format 2.0, as AWS's HTTP API does it.
enum EventTranslation {
    static func event(from request: Request, body: ByteBuffer, match: RouteTable.Match, sourceIp: String, requestId: String) -> GatewayEvent
    {
        var headers: [String: String] = [:]
        var cookies: [String] = []
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            if name == "cookie" {
                cookies.append(contentsOf: field.value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
                continue
            }
            headers[name] = headers[name].map { $0 + "," + field.value } ?? field.value
        }
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }

        let rawQuery = request.uri.query ?? ""
        var query: [String: String] = [:]
        for (key, value) in FormURLEncoding.decode(rawQuery) ?? [] {
            query[key] = query[key].map { $0 + "," + value } ?? value
        }

        let bytes = Array(buffer: body)
        let text = String(validating: bytes, as: UTF8.self)
        let host = headers["host"] ?? "localhost"
        var event = GatewayEvent(
            routeKey: match.route.routeKey, rawPath: request.uri.path, rawQueryString: rawQuery, headers: headers,
            queryStringParameters: query.isEmpty ? nil : query,
            pathParameters: match.parameters.isEmpty ? nil : match.parameters,
            requestContext: .init(
                domainName: host, requestId: requestId,
                http: .init(method: request.method.rawValue, path: request.uri.path, sourceIp: sourceIp, userAgent: headers["user-agent"]),
                routeKey: match.route.routeKey, timeEpoch: Int64(Date.now.timeIntervalSince1970 * 1000)
            ),
            body: bytes.isEmpty ? nil : (text ?? Data(bytes).base64EncodedString()),
            isBase64Encoded: !bytes.isEmpty && text == nil
        )
        event.cookies = cookies.isEmpty ? nil : cookies
        return event
    }

    static func httpResponse(_ response: GatewayResponse, requestId: String) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        headers[HTTPField.Name("apigw-requestid")!] = requestId
        for cookie in response.cookies ?? [] { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        let body: [UInt8] =
            response.isBase64Encoded ? Array(Data(base64Encoded: response.body) ?? Data()) : Array(response.body.utf8)
        let status = (100...599).contains(response.statusCode) ? response.statusCode : 502
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
