import SwitchboardServer

/// Ports for test servers on 127.0.0.1.
public enum LoopbackPort {
    /// A free loopback port below the kernel's ephemeral range, picked as the
    /// embedded Redis picks its own (`EmbeddedRedis.freePort`). Servers started
    /// on it still retry on another port when they lose the race for it.
    public static func free() throws -> Int { try EmbeddedRedis.freePort() }
}
