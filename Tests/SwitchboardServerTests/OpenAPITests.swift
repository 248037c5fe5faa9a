import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore
import Testing

@testable import SwitchboardServer

/// docs/openapi.yaml is the REST contract: the embedded copy must be fresh and
/// name exactly the routes the router has. No Redis needed (scripts/check-openapi runs these).
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The embedded JSON as an object.
    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
    }

    @Test func embeddedDocumentMatchesTheYAML() throws {
        let source = try Data(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"))
        #expect(
            Base64.hex(Crypto.sha256(Array(source))) == OpenAPIDocument.sourceSHA256,
            "docs/openapi.yaml changed: run scripts/gen-openapi")
        let document = try Self.document()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1.") == true)
    }

    /// Method and path of every operation the document describes, as `GET /api/v1/users/{id}`.
    static func documentedRoutes() throws -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        var routes = Set<String>()
        for (path, item) in paths {
            for key in item.keys where methods.contains(key) { routes.insert("\(key.uppercased()) \(path)") }
        }
        return routes
    }

    @Test func everyRouteOfTheRouterIsDocumentedAndNothingElse() throws {
        // Building the router connects to nothing: no Redis needed.
        var configuration = SwitchboardConfiguration()
        configuration.redisURL = "redis://127.0.0.1:1"
        configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
        let node = try SwitchboardNode(configuration: configuration)
        // The web app's static files (WebController, covered by WebAssetsTests) are not part of the REST API.
        let webFiles = Set(WebController().entries.keys.map { "GET \($0)" })
        let registered = Set(node.buildRouter().routes.map { "\($0.method.rawValue) \($0.path)" }).subtracting(webFiles)
        let documented = try Self.documentedRoutes()
        #expect(registered.count > 20)
        #expect(registered.subtracting(documented).sorted() == [], "routes missing from docs/openapi.yaml")
        #expect(documented.subtracting(registered).sorted() == [], "documented routes the router does not have")
    }

    @Test func ifNoneMatchComparesWeakly() {
        let etag = #""abc""#
        #expect(OpenAPIController.matches(#""abc""#, etag: etag))
        #expect(OpenAPIController.matches(#"W/"abc", "x""#, etag: etag))
        #expect(OpenAPIController.matches(#""x", "abc""#, etag: etag))
        #expect(OpenAPIController.matches("*", etag: etag))
        #expect(!OpenAPIController.matches(#""abd""#, etag: etag))
    }
}

/// `GET /api/v1/openapi.json` on a running node.
@Suite("OpenAPI route")
struct OpenAPIRouteTests {

    @Test func theNodeServesTheDocumentWithAnETag() async throws {
        let node = try await TestNode.start()
        let first = try await node.request("GET", "/api/v1/openapi.json")
        #expect(first.status == 200)
        #expect(first.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(first.text == OpenAPIDocument.json)
        let etag = try #require(first.headers["etag"])
        #expect(etag.hasPrefix("\"") && etag.count == 34)
        let again = try await node.request("GET", "/api/v1/openapi.json", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        await node.stop()
    }
}
