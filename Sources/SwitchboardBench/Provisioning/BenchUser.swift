import Foundation

/// A registered bench user and its tokens.
struct BenchUser: Sendable {
    var name: String
    var id: String
    var access: String
    var refresh: String

    /// The access token's `exp` (seconds).
    var expiry: Int? {
        let parts = access.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["exp"] as? NSNumber)?.intValue
    }

    init(name: String, id: String, access: String, refresh: String) {
        self.name = name
        self.id = id
        self.access = access
        self.refresh = refresh
    }

    /// From the answer to register, login or refresh.
    init?(name: String, reply: HTTPResult) {
        guard let json = reply.json, let user = json["user"] as? [String: Any], let id = user["id"] as? String,
            let access = json["accessToken"] as? String
        else { return nil }
        self.init(name: name, id: id, access: access, refresh: json["refreshToken"] as? String ?? "")
    }
}
