import Foundation

/// The safety rules a bundle's archive must meet, checked on the ZIP central directory before any
/// entry is read: regular files and folders only; no absolute paths, `..`, backslashes, drive
/// letters or NUL; no duplicate or case-colliding names; caps on entries, depth and name length.
/// Sizes in headers are not trusted: the reader counts the bytes it really inflates against the
/// caps (see ``BundleReader``).
public struct ArchiveLimits: Sendable {
    public var maxEntries = 10_000
    public var maxDepth = 16
    public var maxNameLength = 255
    public var maxTotalBytes = 64 << 20
    public var maxFileBytes = 16 << 20
    /// The most uncompressed bytes per byte of archive.
    public var maxRatio = 100
    public var maxArchiveBytes = 64 << 20
    public init() {}
}

struct ArchiveScanner {
    struct Entry {
        var name: String
        var isDirectory: Bool
        /// Stored without compression: its bytes are `data[dataStart..<dataStart + size]`.
        var stored = false
        var dataStart = 0
        var size = 0
    }

    /// Reads the central directory of the ZIP in `data` and checks every name and type.
    static func scan(_ data: Data, file: String, limits: ArchiveLimits) throws(BundleError) -> [Entry] {
        func unsafe(_ m: String) -> BundleError { BundleError(.unsafeArchive, "\(file): \(m)") }
        guard data.count >= 22 else { throw unsafe("not a ZIP archive (too short)") }
        // The end-of-central-directory record: the last signature within 64 KiB + 22 of the end.
        // Only the tail is copied into an array (Data's subscript is slow); it holds the central
        // directory of any archive that passes the checks below.
        let tailStart = max(0, data.count - 22 - 65_535)
        var bytes = [UInt8](data[(data.startIndex + tailStart)...])
        var base = tailStart   // archive offset of bytes[0]
        func u16(_ o: Int) -> Int { Int(bytes[o - base]) | Int(bytes[o - base + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        var eocd = -1
        var o = data.count - 22
        while o >= tailStart {
            if u32(o) == 0x0605_4b50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw unsafe("not a ZIP archive (no end of central directory)") }
        let count = u16(eocd + 10), size = u32(eocd + 12), offset = u32(eocd + 16)
        guard count != 0xFFFF, size != 0xFFFF_FFFF, offset != 0xFFFF_FFFF else {
            throw unsafe("ZIP64 archives are not accepted; a bundle is small")
        }
        guard count <= limits.maxEntries else { throw unsafe("\(count) entries; the limit is \(limits.maxEntries)") }
        guard offset + size <= eocd else { throw unsafe("the central directory lies outside the archive") }
        if offset < base {
            bytes = [UInt8](data[(data.startIndex + offset)...])
            base = offset
        }
        // Local headers (for stored entries) are read from the archive directly.
        func local16(_ o: Int) -> Int { Int(data[data.startIndex + o]) | Int(data[data.startIndex + o + 1]) << 8 }
        func local32(_ o: Int) -> Int { local16(o) | local16(o + 2) << 16 }
        var entries: [Entry] = []
        var seen: [String: String] = [:]
        var p = offset
        for _ in 0..<count {
            guard p + 46 <= eocd, u32(p) == 0x0201_4b50 else { throw unsafe("a damaged central directory") }
            let madeBy = u16(p + 4) >> 8
            let nameLength = u16(p + 28), extra = u16(p + 30), comment = u16(p + 32)
            let attributes = u32(p + 38)
            let method = u16(p + 10), compressed = u32(p + 20), uncompressed = u32(p + 24), local = u32(p + 42)
            guard p + 46 + nameLength <= eocd else { throw unsafe("a damaged central directory") }
            let nameBytes = bytes[(p + 46 - base)..<(p + 46 - base + nameLength)]
            p += 46 + nameLength + extra + comment
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw unsafe("an entry name is not UTF-8") }
            var entry = try check(name: name, madeBy: madeBy, attributes: attributes, seen: &seen, limits: limits, unsafe: unsafe)
            // A stored entry is read straight from the archive, after checking that its local
            // header agrees and that its bytes lie inside the archive.
            if method == 0 && compressed == uncompressed && local + 30 <= eocd && local32(local) == 0x0403_4b50
                && local16(local + 26) == nameLength {
                let start = local + 30 + nameLength + local16(local + 28)
                if start + compressed <= offset {
                    entry.stored = true
                    entry.dataStart = start
                    entry.size = compressed
                }
            }
            entries.append(entry)
        }
        guard entries.count == count else { throw unsafe("a damaged central directory") }
        return entries
    }

    static func check(name: String, madeBy: Int, attributes: Int, seen: inout [String: String], limits: ArchiveLimits,
                      unsafe: (String) -> BundleError) throws(BundleError) -> Entry {
        let bytes = name.utf8
        func shown() -> String { name.debugDescription }
        guard !bytes.isEmpty, bytes.count <= limits.maxNameLength else {
            throw unsafe("entry name \(shown().prefix(80)) is empty or longer than \(limits.maxNameLength) bytes")
        }
        guard !bytes.contains(UInt8(ascii: "\\")) else { throw unsafe("entry \(shown()) has a backslash") }
        guard !bytes.contains(0) else { throw unsafe("entry \(shown()) has a NUL byte") }
        let first = bytes[bytes.startIndex]
        guard first != UInt8(ascii: "/") else { throw unsafe("entry \(shown()) is an absolute path") }
        if bytes.count >= 2, bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: ":"), (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") {
            throw unsafe("entry \(shown()) starts with a drive letter")
        }
        let isDirectory = bytes.last == UInt8(ascii: "/")
        let body = isDirectory ? Substring(name).utf8.dropLast() : Substring(name).utf8[...]
        var depth = 0
        for part in body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            depth += 1
            if part.isEmpty || part.elementsEqual([UInt8(ascii: ".")]) || part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw unsafe("entry \(shown()) has an empty, '.' or '..' path component")
            }
        }
        guard depth <= limits.maxDepth else { throw unsafe("entry \(shown()) is nested deeper than \(limits.maxDepth) folders") }
        // Unix file types live in the high 16 bits of the external attributes.
        if madeBy == 3 {
            let type = (attributes >> 16) & 0o170000
            let expected = isDirectory ? 0o040000 : 0o100000
            if type != 0 && type != expected {
                let what = type == 0o120000 ? "a symbolic link" : type == 0o040000 ? "a folder without a trailing slash"
                    : "not a regular file or folder (type \(String(type, radix: 8)))"
                throw unsafe("entry \(shown()) is \(what)")
            }
        }
        // Case-insensitive file systems fold more than ASCII; folding ASCII catches the collisions
        // that matter for file names in skills, and lowercased() the rest.
        let key = body.allSatisfy({ $0 < 0x80 })
            ? String(decoding: body.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 32 : $0 }, as: UTF8.self)
            : String(decoding: body, as: UTF8.self).lowercased()
        if let other = seen[key] {
            throw unsafe(other == name ? "entry \(shown()) appears twice" : "entries \(other.debugDescription) and \(shown()) differ only in case")
        }
        seen[key] = name
        return Entry(name: name, isDirectory: isDirectory)
    }
}
