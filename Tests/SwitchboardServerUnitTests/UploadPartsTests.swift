import Testing

@testable import SwitchboardServer

/// The pure parts of uploads: byte ranges, image signatures, names and types from headers.
@Suite("Upload parts")
struct UploadPartsTests {
    @Test func byteRanges() {
        #expect(ByteRange.parse(nil, size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-9", size: 100) == .partial(0...9))
        #expect(ByteRange.parse("bytes=90-200", size: 100) == .partial(90...99))
        #expect(ByteRange.parse("bytes=95-", size: 100) == .partial(95...99))
        #expect(ByteRange.parse("bytes=-10", size: 100) == .partial(90...99))
        #expect(ByteRange.parse("bytes=-500", size: 100) == .partial(0...99))
        #expect(ByteRange.parse("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-1,5-6", size: 100) == .whole)
        #expect(ByteRange.parse("bytes=9-2", size: 100) == .whole)
        #expect(ByteRange.parse("items=0-1", size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
    }

    @Test func imageSignatures() {
        #expect(ImageSignature.detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == "image/png")
        #expect(ImageSignature.detect([0xFF, 0xD8, 0xFF, 0xE0]) == "image/jpeg")
        #expect(ImageSignature.detect(Array("GIF87a...".utf8)) == "image/gif")
        #expect(ImageSignature.detect(Array("RIFF\0\0\0\0WEBPVP8 ".utf8)) == "image/webp")
        #expect(ImageSignature.detect(Array("RIFF\0\0\0\0WAVEfmt ".utf8)) == nil)
        #expect(ImageSignature.detect(Array("<svg".utf8)) == nil)
        #expect(ImageSignature.detect([]) == nil)
    }

    @Test func namesAndTypesFromHeaders() {
        #expect(UploadController.fileName("../../etc/passwd") == "passwd")
        #expect(UploadController.fileName("C:\\temp\\a.txt") == "a.txt")
        #expect(UploadController.fileName("caf%C3%A9.png") == "café.png")
        #expect(UploadController.fileName("a\u{0}b\nc.txt") == "abc.txt")
        #expect(UploadController.fileName(nil) == "file")
        #expect(UploadController.fileName("..") == "file")
        #expect(UploadController.fileName(String(repeating: "x", count: 300)).utf8.count == 255)
        #expect(UploadController.mediaType("Image/PNG; charset=x") == "image/png")
        #expect(UploadController.mediaType("text/html") == "text/html")
        #expect(UploadController.mediaType("nonsense") == "application/octet-stream")
        #expect(UploadController.mediaType(nil) == "application/octet-stream")
        #expect(UploadController.contentDispositionName("café \"x\".txt") == "filename=\"caf_ _x_.txt\"; filename*=UTF-8''caf%C3%A9%20%22x%22.txt")
    }
}
