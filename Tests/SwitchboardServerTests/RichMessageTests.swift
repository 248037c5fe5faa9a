import Foundation
import NIOCore
import RedisClient
import SwitchboardCore
import SwitchboardServer
import Testing

extension TestNode {
    /// Uploads raw bytes; answers the result (201 with `{file}` when stored).
    func upload(_ bytes: [UInt8], type: String, name: String, as account: Account) async throws -> HTTPResult {
        try await request(
            "POST", "/api/v1/uploads", rawBody: Data(bytes), token: account.accessToken,
            headers: ["Content-Type": type, "X-Filename": name])
    }

    /// Uploads and answers the file's id (expects 201).
    func uploadID(_ bytes: [UInt8], type: String, name: String = "f.bin", as account: Account) async throws -> String {
        let result = try await upload(bytes, type: type, name: name, as: account)
        #expect(result.status == 201, "upload: \(result.text)")
        return (result.json["file"] as? [String: Any])?["id"] as? String ?? ""
    }

    /// Sends a message over REST with any fields.
    func sendMessage(_ conv: String, _ body: [String: Any], as account: Account) async throws -> HTTPResult {
        try await request("POST", "/api/v1/conversations/\(conv)/messages", json: body, token: account.accessToken)
    }

    /// The newest messages of a conversation, oldest first.
    func history(_ conv: String, as account: Account) async throws -> [[String: Any]] {
        let result = try await request("GET", "/api/v1/conversations/\(conv)/messages?limit=50", token: account.accessToken)
        #expect(result.status == 200, "history: \(result.text)")
        return result.json["messages"] as? [[String: Any]] ?? []
    }
}

@Suite("Attachments, replies and shared posts across nodes", .serialized)
struct RichMessageTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 92)

    static func pair(maxBytes: Int = 1000) async throws -> (TestNode, TestNode, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-uploads-\(RandomID.make(length: 8))")
        let (a, b) = try await TestNode.pair {
            $0.uploads.maxBytes = maxBytes
            $0.uploads.directory = directory.path
            $0.uploads.perMinute = 1000
            $0.posts.postsPerMinute = 1000
        }
        return (a, b, directory)
    }

    @Test func uploadLimitsAndTypeChecks() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let stored = try await a.upload(Self.png, type: "image/png", name: "../../etc/cat.png", as: alice)
        #expect(stored.status == 201)
        let file = stored.json["file"] as? [String: Any] ?? [:]
        let id = file["id"] as? String ?? ""
        #expect(file["name"] as? String == "cat.png")
        #expect(file["type"] as? String == "image/png")
        #expect(file["size"] as? Int == 100)
        #expect(file["url"] as? String == "/api/v1/files/\(id)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(id).path))
        // The other node serves it (one shared directory), inline, as the image it is.
        let fetched = try await b.request("GET", "/api/v1/files/\(id)", token: alice.accessToken)
        #expect(fetched.status == 200)
        #expect(Array(fetched.body) == Self.png)
        #expect(fetched.headers["content-type"] == "image/png")
        #expect(fetched.headers["content-disposition"]?.hasPrefix("inline") == true)
        #expect(fetched.headers["x-content-type-options"] == "nosniff")

        // Over the limit: 413 too_large (declared length), and nothing stored.
        let big = try await a.upload(Array(repeating: 1, count: 1001), type: "application/pdf", name: "big.pdf", as: alice)
        #expect(big.status == 413)
        #expect(big.errorCode == "too_large")
        // A chunked body that never ends is refused as soon as it passes the limit.
        let raw = try await RawConnection.connect(b)
        try await raw.send(
            "POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(alice.accessToken)\r\n"
                + "Content-Type: application/pdf\r\nX-Filename: endless.pdf\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<3 { try await raw.send("258\r\n" + String(repeating: "x", count: 600) + "\r\n") }
        #expect(await raw.responseStatusLine()?.contains("413") == true)
        await raw.close()
        // A declared image whose bytes are not that image is refused.
        let fake = try await a.upload(Array("<html><script>alert(1)</script></html>".utf8), type: "image/png", name: "x.png", as: alice)
        #expect(fake.status == 400)
        #expect(fake.errorCode == "invalid_request")
        let gif = try await a.upload(Array("GIF89a".utf8) + [1, 2, 3], type: "image/jpeg", name: "x.jpg", as: alice)
        #expect(gif.errorCode == "invalid_request")
        // Anything else is stored as declared but served as a download, never as HTML.
        let html = try await a.uploadID(Array("<html><script>alert(1)</script></html>".utf8), type: "text/html", name: "page.html", as: alice)
        let page = try await b.request("GET", "/api/v1/files/\(html)", token: alice.accessToken)
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "application/octet-stream")
        #expect(page.headers["content-disposition"]?.hasPrefix("attachment; filename=\"page.html\"") == true)
        #expect(page.headers["x-content-type-options"] == "nosniff")
        // Only the finished uploads are on disk (no parts left behind).
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "tmp" }.sorted()
        #expect(names == [id, html].sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("tmp").path).isEmpty)
        // Without a token: 401.
        #expect(try await a.request("POST", "/api/v1/uploads", rawBody: Data(Self.png)).status == 401)
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func rangesETagsAndAccess() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        let bytes = Array(0..<200).map { UInt8($0) }
        let id = try await a.uploadID(bytes, type: "application/octet-stream", name: "data.bin", as: alice)
        let path = "/api/v1/files/\(id)"
        // Not attached anywhere yet: only the uploader may fetch it.
        #expect(try await b.request("GET", path, token: bob.accessToken).status == 404)
        #expect(try await b.request("GET", "/api/v1/files/f_nosuchfileatall0000000", token: alice.accessToken).status == 404)

        let whole = try await b.request("GET", path, token: alice.accessToken)
        #expect(whole.status == 200)
        #expect(whole.headers["accept-ranges"] == "bytes")
        let etag = whole.headers["etag"] ?? ""
        #expect(etag == "\"\(id)\"")
        let part = try await a.request("GET", path, token: alice.accessToken, headers: ["Range": "bytes=10-19"])
        #expect(part.status == 206)
        #expect(Array(part.body) == Array(bytes[10...19]))
        #expect(part.headers["content-range"] == "bytes 10-19/200")
        let tail = try await a.request("GET", path, token: alice.accessToken, headers: ["Range": "bytes=-5"])
        #expect(tail.status == 206)
        #expect(Array(tail.body) == Array(bytes[195...]))
        let past = try await a.request("GET", path, token: alice.accessToken, headers: ["Range": "bytes=500-"])
        #expect(past.status == 416)
        #expect(past.headers["content-range"] == "bytes */200")
        let cached = try await b.request("GET", path, token: alice.accessToken, headers: ["If-None-Match": etag])
        #expect(cached.status == 304)
        #expect(cached.body.isEmpty)

        // Sent in a direct conversation: bob (a member, on the other node) may fetch it; carol may not.
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let sent = try await a.sendMessage(conv, ["attachments": [id]], as: alice)
        #expect(sent.status == 201, "send: \(sent.text)")
        let message = sent.json["message"] as? [String: Any] ?? [:]
        #expect(message["kind"] as? String == "file")
        #expect(message["text"] as? String == "")
        let attachments = message["attachments"] as? [[String: Any]] ?? []
        #expect(attachments.count == 1)
        #expect(attachments.first?["id"] as? String == id)
        #expect(attachments.first?["name"] as? String == "data.bin")
        #expect(attachments.first?["size"] as? Int == 200)
        #expect(attachments.first?["url"] as? String == path)
        #expect(try await b.request("GET", path, token: bob.accessToken).status == 200)
        #expect(try await b.request("GET", path, token: carol.accessToken).status == 404)
        // History shows the attachment.
        let history = try await b.history(conv, as: bob)
        #expect((history.last?["attachments"] as? [[String: Any]])?.first?["id"] as? String == id)
        // An attached upload no longer expires.
        let ttl = try await a.switchboard.redis.send("TTL", a.switchboard.keys.file(id)).int
        #expect(ttl == -1)

        // Someone else's upload, an unknown one, too many: clear errors, nothing sent.
        let group = try await b.create(["kind": "group", "name": "g", "members": [alice.id, carol.id]], as: carol)["id"] as! String
        #expect(try await b.sendMessage(group, ["attachments": [id]], as: carol).errorCode == "forbidden")
        #expect(try await b.sendMessage(group, ["attachments": ["f_nosuchfileatall0000000"]], as: carol).errorCode == "not_found")
        let many = Array(repeating: id, count: 11)
        #expect(try await a.sendMessage(group, ["attachments": many], as: alice).errorCode == "invalid_request")
        #expect(try await a.sendMessage(group, ["text": ""], as: alice).errorCode == "invalid_request")
        #expect(try await b.history(group, as: carol).isEmpty)
        // Over the WebSocket: images only make an `image` message, seen live on the other node.
        let png = try await a.uploadID(Self.png, type: "image/png", name: "p.png", as: alice)
        let carolLive = try await LiveClient.authenticated(a, carol)
        let aliceLive = try await LiveClient.authenticated(b, alice)
        let reply = try await aliceLive.command(["op": "send", "conv": group, "text": "look", "attachments": [png]])
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        #expect((reply["message"] as? [String: Any])?["kind"] as? String == "image")
        let event = try await carolLive.event("message")
        let live = event["message"] as? [String: Any] ?? [:]
        #expect(live["kind"] as? String == "image")
        #expect((live["attachments"] as? [[String: Any]])?.first?["type"] as? String == "image/png")
        #expect(try await a.request("GET", "/api/v1/files/\(png)", token: carol.accessToken).status == 200)
        let refused = try await aliceLive.command(["op": "send", "conv": group, "attachments": ["f_nosuchfileatall0000000"]])
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "not_found")
        await carolLive.close()
        await aliceLive.close()
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func unattachedUploadsExpireAndTheSweepRemovesTheirBytes() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let kept = try await a.uploadID(Self.png, type: "image/png", as: alice)
        let dropped = try await a.uploadID(Self.png, type: "image/png", as: alice)
        let ttl = try await a.switchboard.redis.send("TTL", a.switchboard.keys.file(dropped)).int ?? 0
        #expect(ttl > 86_000 && ttl <= 86_400)
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        #expect(try await a.sendMessage(conv, ["attachments": [kept]], as: alice).status == 201)
        // A day passes for the metadata (the key expires); the sweep sees files older than its cutoff.
        _ = try await a.switchboard.redis.send("DEL", a.switchboard.keys.file(dropped))
        let soon = Int(Date().timeIntervalSince1970) + 60  // every file counts as old enough
        #expect(try await b.node.sweepExpiredUploads(storedBefore: soon) == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(dropped).path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(kept).path))
        #expect(try await b.request("GET", "/api/v1/files/\(kept)", token: bob.accessToken).status == 200)
        #expect(try await b.request("GET", "/api/v1/files/\(dropped)", token: alice.accessToken).status == 404)
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func repliesQuoteCountAndPage() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let long = "a" + String(repeating: "é", count: 150)  // 301 bytes: the cut falls inside an "é"
        let original = try await a.sendMessage(conv, ["text": long], as: alice).json["message"] as? [String: Any] ?? [:]
        let originalID = original["id"] as! String
        let bobLive = try await LiveClient.authenticated(b, bob)
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let first = try await bobLive.command(["op": "send", "conv": conv, "text": "yes", "replyTo": originalID])
        #expect(first["ok"] as? Bool == true, "\(first)")
        let quote = (first["message"] as? [String: Any])?["replyTo"] as? [String: Any] ?? [:]
        #expect(quote["id"] as? String == originalID)
        #expect(quote["from"] as? String == alice.id)
        #expect(quote["text"] as? String == "a" + String(repeating: "é", count: 99))  // 199 bytes, valid UTF-8
        // Alice, on the other node, receives the reply with its quote.
        let event = try await aliceLive.event("message")
        #expect(((event["message"] as? [String: Any])?["replyTo"] as? [String: Any])?["id"] as? String == originalID)
        var replyIDs = [(first["message"] as? [String: Any])?["id"] as? String ?? ""]
        for text in ["two", "three"] {
            let sent = try await a.sendMessage(conv, ["text": text, "replyTo": originalID], as: alice)
            #expect(sent.status == 201)
            replyIDs.append((sent.json["message"] as? [String: Any])?["id"] as? String ?? "")
        }
        // History: the count on the original.
        let history = try await b.history(conv, as: bob)
        #expect(history.first?["replies"] as? Int == 3)
        #expect(history.last?["replies"] == nil)
        // The replies, paged like history (oldest first within a page, `before` the oldest seen).
        let repliesPath = "/api/v1/conversations/\(conv)/messages/\(originalID)/replies"
        let newest = try await a.request("GET", repliesPath + "?limit=2", token: alice.accessToken).json
        #expect((newest["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(replyIDs[1...]))
        #expect(newest["more"] as? Bool == true)
        let older = try await b.request("GET", repliesPath + "?limit=2&before=\(replyIDs[1])", token: bob.accessToken).json
        #expect((older["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [replyIDs[0]])
        #expect(older["more"] as? Bool == false)
        let after = try await b.request("GET", repliesPath + "?after=\(replyIDs[0])", token: bob.accessToken).json
        #expect((after["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(replyIDs[1...]))
        let outsider = try await a.register()
        #expect(try await a.request("GET", repliesPath, token: outsider.accessToken).status == 403)

        // The original is edited, then deleted: the quotes say so.
        #expect(
            try await a.request("PATCH", "/api/v1/conversations/\(conv)/messages/\(originalID)", json: ["text": "changed"], token: alice.accessToken)
                .status == 200)
        var quoted = try await b.history(conv, as: bob).last?["replyTo"] as? [String: Any] ?? [:]
        #expect(quoted["edited"] as? Bool == true)
        #expect(quoted["text"] as? String == "a" + String(repeating: "é", count: 99))
        #expect(try await a.request("DELETE", "/api/v1/conversations/\(conv)/messages/\(originalID)", token: alice.accessToken).status == 200)
        quoted = try await b.history(conv, as: bob).last?["replyTo"] as? [String: Any] ?? [:]
        #expect(quoted["deleted"] as? Bool == true)
        #expect(quoted["text"] as? String == "")
        // Replying to a deleted message, or to one of another conversation: not_found.
        #expect(try await b.sendMessage(conv, ["text": "late", "replyTo": originalID], as: bob).errorCode == "not_found")
        let other = try await a.create(["kind": "group", "name": "other", "members": [bob.id]], as: alice)["id"] as! String
        #expect(try await b.sendMessage(other, ["text": "x", "replyTo": replyIDs[0]], as: bob).errorCode == "not_found")
        await bobLive.close()
        await aliceLive.close()
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func resumeAfterAReplyWhileAway() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let original = try await b.sendMessage(conv, ["text": "question"], as: bob).json["message"] as? [String: Any] ?? [:]
        let originalID = original["id"] as! String
        // Bob is away; alice answers on the other node.
        #expect(try await a.sendMessage(conv, ["text": "answer", "replyTo": originalID], as: alice).status == 201)
        let bobLive = try await LiveClient.authenticated(b, bob)
        let reply = try await bobLive.command(["op": "resume", "positions": [conv: 0]])
        #expect((reply["recovered"] as? [String: Any])?[conv] as? Int == 2)
        let messages = bobLive.received { $0["ev"] as? String == "message" }.compactMap { $0["message"] as? [String: Any] }
        #expect(messages.first?["replies"] as? Int == 1)
        #expect((messages.last?["replyTo"] as? [String: Any])?["text"] as? String == "question")
        await bobLive.close()
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func sharedPostSnapshotSharesAndDeletion() async throws {
        let (a, b, directory) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let text = String(repeating: "p", count: 499) + "é" + "tail"  // the snapshot keeps 499 bytes
        let post = try await a.createPost(text, as: alice)
        let postID = post["id"] as! String
        let conv = try await b.create(["kind": "direct", "with": alice.id], as: bob)["id"] as! String
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let bobLive = try await LiveClient.authenticated(b, bob)
        // The share-to-chat contract: `send {conv, post}` with no text.
        let sent = try await bobLive.command(["op": "send", "conv": conv, "post": postID])
        #expect(sent["ok"] as? Bool == true, "\(sent)")
        let message = sent["message"] as? [String: Any] ?? [:]
        #expect(message["kind"] as? String == "post")
        let snapshot = message["post"] as? [String: Any] ?? [:]
        #expect(snapshot["id"] as? String == postID)
        #expect(snapshot["author"] as? String == alice.id)
        #expect(snapshot["text"] as? String == String(repeating: "p", count: 499))
        #expect(snapshot["createdAt"] as? Int == post["createdAt"] as? Int)
        let event = try await aliceLive.event("message")
        #expect(((event["message"] as? [String: Any])?["post"] as? [String: Any])?["id"] as? String == postID)
        // REST with text: the count goes up again.
        #expect(try await a.sendMessage(conv, ["text": "see this", "post": postID], as: alice).status == 201)
        let counted = try await b.request("GET", "/api/v1/posts/\(postID)", token: bob.accessToken).json["post"] as? [String: Any]
        #expect(counted?["shares"] as? Int == 2)
        // Deleted: the chat shows it deleted; it can no longer be shared.
        #expect(try await a.request("DELETE", "/api/v1/posts/\(postID)", token: alice.accessToken).status == 204)
        let history = try await b.history(conv, as: bob)
        for entry in history {
            let shown = entry["post"] as? [String: Any] ?? [:]
            #expect(shown["deleted"] as? Bool == true)
            #expect(shown["text"] as? String == "")
        }
        #expect(try await b.sendMessage(conv, ["post": postID], as: bob).errorCode == "not_found")
        #expect(try await b.sendMessage(conv, ["post": "p_nosuchpost"], as: bob).errorCode == "not_found")
        await aliceLive.close()
        await bobLive.close()
        await a.stop()
        await b.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
