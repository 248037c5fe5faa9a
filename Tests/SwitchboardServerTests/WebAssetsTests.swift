import Foundation
import SwitchboardCore
import Testing

@testable import SwitchboardServer

@Suite("The browser app, embedded and served")
struct WebAssetsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every file of web/, relative paths, sorted as scripts/gen-web sorts them (byte order).
    static func webFiles() throws -> [String] {
        let web = root.appendingPathComponent("web").path
        let enumerator = try #require(FileManager.default.enumerator(atPath: web))
        var files: [String] = []
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: web + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue, !(path.split(separator: "/").last?.hasPrefix(".") ?? true) { files.append(path) }
        }
        return files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    @Test func embeddedFilesMatchTheWebFolder() throws {
        let files = try Self.webFiles()
        #expect(WebAssets.all.map(\.path) == files.map { "/" + $0 }, "web/ changed: run scripts/gen-web")
        for asset in WebAssets.all {
            let data = try Data(contentsOf: Self.root.appendingPathComponent("web" + asset.path))
            let same = Array(asset.text.utf8) == Array(data)
            #expect(same, "web\(asset.path) changed: run scripts/gen-web")
            let digest = Base64.hex(Crypto.sha256(Array(data)))
            #expect(asset.etag == "\"" + digest.prefix(16) + "\"", "web\(asset.path): stale ETag, run scripts/gen-web")
        }
    }

    @Test func ifNoneMatchParsing() {
        let etag = "\"0123456789abcdef\""
        #expect(WebController.matches([etag], etag: etag))
        #expect(WebController.matches(["W/\(etag)"], etag: etag))
        #expect(WebController.matches(["\"other\", \(etag)"], etag: etag))
        #expect(WebController.matches(["*"], etag: etag))
        #expect(!WebController.matches(["\"other\""], etag: etag))
        #expect(!WebController.matches([], etag: etag))
    }

    @Test func servesTheAppWithETagsAndRevalidation() async throws {
        let node = try await TestNode.start()
        let index = try await node.request("GET", "/")
        #expect(index.status == 200)
        #expect(index.headers["content-type"] == "text/html; charset=utf-8")
        #expect(index.headers["cache-control"] == "no-cache")
        #expect(index.headers["content-security-policy"]?.contains("default-src 'self'") == true)
        #expect(index.text.contains("<script type=\"module\" src=\"/app.js\"></script>"))
        let etag = try #require(index.headers["etag"])
        #expect(etag.hasPrefix("\"") && etag.count == 18)

        let again = try await node.request("GET", "/", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.headers["etag"] == etag)

        let sdk = try await node.request("GET", "/sdk/switchboard.js")
        #expect(sdk.status == 200)
        #expect(sdk.headers["content-type"] == "text/javascript; charset=utf-8")
        #expect(sdk.text.contains("export class SwitchboardClient"))
        #expect(sdk.headers["etag"] != etag)
        let changed = try await node.request("GET", "/sdk/switchboard.js", headers: ["If-None-Match": etag])
        #expect(changed.status == 200, "another file's ETag does not match")

        let css = try await node.request("GET", "/style.css")
        #expect(css.headers["content-type"] == "text/css; charset=utf-8")
        #expect(try await node.request("GET", "/no-such-file.js").status == 404)
        await node.stop()
    }

    @Test func noWebServesNothing() async throws {
        var configuration = TestNode.configuration()
        configuration.web = false
        let node = try await TestNode.start(configuration)
        #expect(try await node.request("GET", "/").status == 404)
        #expect(try await node.request("GET", "/sdk/switchboard.js").status == 404)
        #expect(try await node.request("GET", "/health").status == 200)
        await node.stop()
    }
}
