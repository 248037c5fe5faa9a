import Foundation
import Testing

@testable import SwitchboardCore

/// Issue 12, item 13: the common-password blocklist and the scrypt defaults.
@Suite("Common passwords and scrypt defaults")
struct CommonPasswordsTests {
    @Test func theListIsShippedEmbeddedAndCaseInsensitive() throws {
        #expect(CommonPasswords.count > 3000)
        for common in ["password1", "Password1", "P@SSW0RD", "QwertyUIOP", "iloveyou", "123456789", "letmein123", "dragon2000"] {
            #expect(CommonPasswords.contains(common), "\(common)")
        }
        for fine in ["correct horse", "s3cret-pass", "long-enough", "drill-password", "bench-password-0", "vX9#kq2!mTz"] {
            #expect(!CommonPasswords.contains(fine), "\(fine)")
        }
        #expect(throws: SwitchboardError.self) { try AccountService.validateNewPassword("Sunshine123", limits: Limits()) }
        #expect(throws: Never.self) { try AccountService.validateNewPassword("vX9#kq2!mTz", limits: Limits()) }
    }

    @Test func embeddedListMatchesTheDataFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOfFile: root.path + "/data/common-passwords.txt", encoding: .utf8)
        #expect(
            CommonPasswordList.text == file.trimmingCharacters(in: .newlines),
            "data/common-passwords.txt changed: run scripts/gen-passwords --embed-only")
    }

    @Test func scryptDefaultsAreAnOWASPSetting() {
        // OWASP: N=2^17 r=8 p=1, or the equivalent N=2^15 r=8 p=3 (a quarter of the memory).
        let configuration = AuthConfiguration()
        #expect((configuration.scryptN, configuration.scryptR, configuration.scryptP) == (1 << 15, 8, 3))
        let hasher = PasswordHasher()
        #expect(hasher.hash("x").hasPrefix("scrypt$32768$8$3$"))
    }
}
