import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A keep-alive HTTP/1.1 connection to one endpoint, for provisioning
/// (JSON in, JSON out; no TLS).
final class HTTPConnection: Sendable {
    let channel: any Channel
    let collector: HTTPCollector
    let endpoint: Endpoint

    private init(channel: any Channel, collector: HTTPCollector, endpoint: Endpoint) {
        self.channel = channel
        self.collector = collector
        self.endpoint = endpoint
    }

    static func connect(_ endpoint: Endpoint, group: any EventLoopGroup) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPCollector())
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        let collector = try await channel.pipeline.handler(type: HTTPCollector.self).get()
        return HTTPConnection(channel: channel, collector: collector, endpoint: endpoint)
    }

    /// Sends `json` (if any) with a bearer `token` (if any) and waits for the whole response.
    func request(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, token: String? = nil) async throws -> HTTPResult {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        let promise = channel.eventLoop.makePromise(of: HTTPResult.self)
        let buffer = body.map { ByteBuffer(bytes: $0) }
        let collector = self.collector
        channel.eventLoop.execute { collector.send(head, body: buffer, promise: promise) }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}
