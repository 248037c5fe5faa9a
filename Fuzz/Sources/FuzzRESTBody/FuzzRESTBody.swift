import Foundation
import SwitchboardCore

@testable import SwitchboardServer

/// Decodes one body type, as `Request.decodeJSON` does after collecting the body.
private func decode<T: Decodable>(_ type: T.Type, _ data: Data) {
    do {
        _ = try JSONCoding.decode(type, from: data)
    } catch {
        _ = "\(error)"
    }
}

/// libFuzzer entry point: a REST request body into `JSONCoding.decode` with
/// the controllers' body types. The first byte picks the type (the route);
/// the rest is the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESTBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 22 {
    case 0: decode(AuthController.RegisterBody.self, body)
    case 1: decode(AuthController.LoginBody.self, body)
    case 2: decode(AuthController.RefreshBody.self, body)
    case 3: decode(ConversationController.CreateBody.self, body)
    case 4: decode(ConversationController.UpdateBody.self, body)
    case 5: decode(ConversationController.MembersBody.self, body)
    case 6: decode(ConversationController.RoleBody.self, body)
    case 7: decode(ConversationController.SendBody.self, body)
    case 8: decode(ConversationController.EditBody.self, body)
    case 9: decode(ConversationController.ReadBody.self, body)
    case 10: decode(UserController.ProfileBody.self, body)
    case 12: decode(AuthController.PasswordBody.self, body)
    case 13: decode(UserController.DeleteBody.self, body)
    case 14: decode(ServerController.CreateUserBody.self, body)
    case 15: decode(ServerController.CreateConversationBody.self, body)
    case 16: decode(ServerController.MembersBody.self, body)
    case 17: decode(ServerController.MessageBody.self, body)
    case 18: decode(ServerController.BanBody.self, body)
    case 19: decode(PostController.CreateBody.self, body)
    case 20: decode(PostController.UpdateBody.self, body)
    case 21: decode(PostController.CommentBody.self, body)
    default: decode([String: String].self, body)
    }
    return 0
}
