import HTTPTypes
import Hummingbird
import Logging
import SwitchboardCore

/// Turns every error into the contract's JSON error body: never a stack
/// trace, never an HTML page.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as SwitchboardError {
            if error.code == .internalError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            return error.response()
        } catch let error as HTTPError {
            return Self.map(error).response()
        } catch let error as any HTTPResponseError {
            return SwitchboardError(code(for: error.status), error.status.reasonPhrase).response()
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return SwitchboardError(.internalError, "internal error").response()
        }
    }

    static func map(_ error: HTTPError) -> SwitchboardError {
        switch error.status {
        case .notFound: return .notFound("no such route")
        case .methodNotAllowed: return SwitchboardError(.invalidRequest, "method not allowed")
        case .contentTooLarge: return SwitchboardError(.tooLarge, "request body too large")
        case .unauthorized: return .unauthorized
        default:
            return SwitchboardError(
                error.status.code >= 500 ? .internalError : .invalidRequest, error.body ?? error.status.reasonPhrase)
        }
    }

    private func code(for status: HTTPResponse.Status) -> SwitchboardError.Code {
        switch status.code {
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 413: return .tooLarge
        case 429: return .rateLimited
        case 503: return .unavailable
        case 400..<500: return .invalidRequest
        default: return .internalError
        }
    }
}
