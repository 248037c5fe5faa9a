import NIOCore
import NIOPosix

/// Ports for test servers on 127.0.0.1.
public enum LoopbackPort {
    /// A free loopback port below the kernel's ephemeral range (32768–60999 by
    /// default), so that no outgoing connection of a test running beside this
    /// one takes it between this check and the server's own bind. Servers
    /// started on it still retry on another port when they lose the race.
    public static func free() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: candidate).wait()
            {
                try? channel.close().wait()
                return candidate
            }
        }
        throw TestSupportError("no free loopback port in 20000–32000")
    }
}
