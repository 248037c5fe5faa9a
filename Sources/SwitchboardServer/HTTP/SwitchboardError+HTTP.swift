import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

extension SwitchboardError.Code {
    /// The HTTP status of an error code (only here, at the edge).
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidRequest, .unknownOp: return .badRequest
        case .unauthorized, .tokenExpired: return .unauthorized
        case .forbidden, .notMember, .banned: return .forbidden
        case .notFound: return .notFound
        case .conflict, .usernameTaken: return .conflict
        case .tooLarge: return .contentTooLarge
        case .rateLimited: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        default: return .internalServerError
        }
    }
}

extension SwitchboardError: ResponseGenerator, HTTPResponseError {
    public var status: HTTPResponse.Status { code.httpStatus }

    /// `{"error": {"code": ..., "message": ...}}` with the fitting status.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    /// The error object as JSON bytes.
    var jsonBody: [UInt8] {
        let object = ["error": ["code": code.rawValue, "message": message]]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}
