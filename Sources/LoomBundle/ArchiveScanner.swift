import CZlib
import Foundation

/// The safety rules a bundle's archive must meet, checked on the raw bytes before any entry is
/// read: every offset and size in the central directory and the local headers inside the archive,
/// headers that agree, entries that do not overlap; regular files and folders only, stored or
/// deflated; no absolute paths, `..`, backslashes, drive letters, control characters; no duplicate,
/// case- or normalization-colliding names, and no file that another entry needs as a folder; caps
/// on entries, depth and name length. Sizes in headers are not trusted: the bytes really inflated
/// are counted against the caps, and a deflate stream must end within its entry's bytes.
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
        /// 0 (stored) or 8 (deflate).
        var method = 0
        /// Archive offset of the entry's data.
        var dataStart = 0
        var compressedSize = 0
        /// The uncompressed size its headers declare; inflating must give exactly this many bytes.
        var size = 0
    }

    /// Methods a bundle's entries may use.
    static let stored = 0, deflate = 8
    /// General-purpose flags a bundle's entries may have: the deflate options (bits 1, 2) and
    /// UTF-8 names (bit 11). Encryption (0, 6), data descriptors (3), patches (5) and masked
    /// headers (13) are refused.
    static let allowedFlags = 0x0806

    /// Reads the central directory of the ZIP in `data`, checks every header, offset and size
    /// against the archive, and every name and type.
    static func scan(_ data: Data, file: String, limits: ArchiveLimits) throws(BundleError) -> [Entry] {
        let result = data.withUnsafeBytes { raw -> Result<[Entry], BundleError> in
            do throws(BundleError) { return .success(try scan(raw, file: file, limits: limits)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func scan(_ b: UnsafeRawBufferPointer, file: String, limits: ArchiveLimits) throws(BundleError) -> [Entry] {
        func unsafe(_ m: String) -> BundleError { BundleError(.unsafeArchive, "\(file): \(m)") }
        let n = b.count
        // Callers check `o + 2 <= n` (or 4) before reading.
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard n >= 22 else { throw unsafe(n == 0 ? "the file is empty, not a ZIP archive" : "not a ZIP archive (too short: \(n) bytes)") }
        // The end-of-central-directory record: the last signature within 64 KiB + 22 of the end
        // whose comment ends exactly at the end of the file.
        var eocd = -1
        var o = n - 22
        let lowest = max(0, n - 22 - 65_535)
        while o >= lowest {
            if u32(o) == 0x0605_4b50 && o + 22 + u16(o + 20) == n { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw unsafe("not a ZIP archive, or a truncated one (no end of central directory record)") }
        if eocd >= 20 && u32(eocd - 20) == 0x0706_4b50 { throw unsafe("ZIP64 archives are not accepted; a bundle is small") }
        let disk = u16(eocd + 4), cdDisk = u16(eocd + 6), onDisk = u16(eocd + 8)
        let count = u16(eocd + 10), size = u32(eocd + 12), offset = u32(eocd + 16)
        guard count != 0xFFFF, onDisk != 0xFFFF, size != 0xFFFF_FFFF, offset != 0xFFFF_FFFF else {
            throw unsafe("ZIP64 archives are not accepted; a bundle is small")
        }
        guard disk == 0, cdDisk == 0 else { throw unsafe("a multi-disk (split) archive is not accepted") }
        guard onDisk == count else { throw unsafe("the end record's entry counts disagree (\(onDisk) and \(count))") }
        guard count > 0 else { throw unsafe("an empty archive; a bundle holds at least bundle.toml and bundle.sig") }
        guard count <= limits.maxEntries else { throw unsafe("\(count) entries; the limit is \(limits.maxEntries)") }
        guard offset + size == eocd else {
            throw unsafe("the central directory (\(size) bytes at offset \(offset)) does not end where the end record begins (offset \(eocd)); the archive is damaged or truncated")
        }
        let cdEnd = eocd

        /// Extra fields: a sequence of (id, length, data) that fills the space exactly; no ZIP64.
        func checkExtra(_ start: Int, _ length: Int, _ entry: String, _ header: String) throws(BundleError) {
            var q = start
            let end = start + length
            while q < end {
                guard q + 4 <= end, q + 4 + u16(q + 2) <= end else {
                    throw unsafe("entry \(entry) has a malformed extra field in its \(header) header")
                }
                if u16(q) == 0x0001 { throw unsafe("entry \(entry) has ZIP64 fields; ZIP64 archives are not accepted") }
                q += 4 + u16(q + 2)
            }
        }

        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var seen: [String: (name: String, isDirectory: Bool)] = [:]
        var spans: [(range: Range<Int>, name: String)] = []
        spans.reserveCapacity(count)
        var declared = 0
        var p = offset
        for i in 0..<count {
            guard p + 46 <= cdEnd, u32(p) == 0x0201_4b50 else {
                throw unsafe("a damaged central directory: entry \(i + 1) of \(count) has no header at offset \(p)")
            }
            let madeBy = u16(p + 4) >> 8
            let flags = u16(p + 8), method = u16(p + 10), crc = u32(p + 16)
            let compressed = u32(p + 20), uncompressed = u32(p + 24)
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            let startDisk = u16(p + 34), attributes = u32(p + 38), local = u32(p + 42)
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= cdEnd else {
                throw unsafe("a damaged central directory: the name, extra field or comment of entry \(i + 1) runs past its end")
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nameLength)])
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw unsafe("the name of entry \(i + 1) is not valid UTF-8")
            }
            var entry = try check(name: name, madeBy: madeBy, attributes: attributes, limits: limits, unsafe: unsafe)
            let shown = name.debugDescription
            // Names that are one file on disk: the same bytes, the same letters in another case,
            // or another Unicode normalization (String compares by canonical equivalence).
            let key = foldedKey(entry.isDirectory ? String(name.dropLast()) : name)
            if let other = seen[key] {
                let why = other.isDirectory != entry.isDirectory ? "is both a file and a folder"
                    : Array(other.name.utf8) == Array(name.utf8) ? "appears twice"
                    : other.name == name ? "appears twice, in two Unicode normalizations"
                    : "differ only in case"
                throw unsafe(why == "differ only in case" ? "entries \(other.name.debugDescription) and \(shown) differ only in case"
                             : "entry \(shown) \(why)")
            }
            seen[key] = (name, entry.isDirectory)
            try checkExtra(p + 46 + nameLength, extraLength, shown, "central")
            guard compressed != 0xFFFF_FFFF, uncompressed != 0xFFFF_FFFF, local != 0xFFFF_FFFF, startDisk != 0xFFFF else {
                throw unsafe("entry \(shown) has ZIP64 sizes; ZIP64 archives are not accepted")
            }
            guard startDisk == 0 else { throw unsafe("entry \(shown) is on another disk; split archives are not accepted") }
            if flags & 1 != 0 || flags & 0x40 != 0 { throw unsafe("entry \(shown) is encrypted") }
            if flags & 8 != 0 { throw unsafe("entry \(shown) uses a data descriptor (sizes after the data); a bundle's headers give every size") }
            guard flags & ~allowedFlags == 0 else {
                throw unsafe("entry \(shown) uses ZIP features a bundle does not (flags 0x\(String(flags, radix: 16)))")
            }
            guard method == stored || method == deflate else {
                throw unsafe("entry \(shown) is compressed with method \(method); a bundle's entries are stored (0) or deflated (8)")
            }
            if method == stored && compressed != uncompressed {
                throw unsafe("entry \(shown) is stored, but its sizes disagree (\(compressed) and \(uncompressed))")
            }
            if method == deflate && compressed == 0 { throw unsafe("entry \(shown) is deflated but has no compressed data") }
            if entry.isDirectory && (uncompressed != 0 || compressed > 2) { throw unsafe("folder entry \(shown) has content") }
            guard uncompressed <= limits.maxFileBytes else {
                throw unsafe("entry \(shown) declares that it inflates to \(uncompressed) bytes; the limit is \(limits.maxFileBytes)")
            }
            declared += uncompressed
            guard declared <= limits.maxTotalBytes else { throw unsafe("the archive declares that it inflates to more than \(limits.maxTotalBytes) bytes in all") }
            // The local header: inside the archive, before the central directory, and agreeing.
            guard local + 30 <= offset else {
                throw unsafe("the local header of entry \(shown) (offset \(local)) lies outside the archive's entries")
            }
            guard u32(local) == 0x0403_4b50 else { throw unsafe("there is no local header for entry \(shown) at offset \(local)") }
            let localFlags = u16(local + 6), localMethod = u16(local + 8), localCRC = u32(local + 14)
            let localCompressed = u32(local + 18), localUncompressed = u32(local + 22)
            let localName = u16(local + 26), localExtra = u16(local + 28)
            guard local + 30 + localName + localExtra <= offset else {
                throw unsafe("the local header of entry \(shown) runs past the archive's entries (name or extra field too long)")
            }
            guard localName == nameLength,
                  memcmp(b.baseAddress! + local + 30, b.baseAddress! + p + 46, nameLength) == 0 else {
                throw unsafe("the local header of entry \(shown) names another entry")
            }
            guard localFlags == flags, localMethod == method, localCRC == crc, localCompressed == compressed,
                  localUncompressed == uncompressed else {
                throw unsafe("the local header of entry \(shown) disagrees with the central directory (flags, method, sizes or CRC)")
            }
            try checkExtra(local + 30 + localName, localExtra, shown, "local")
            let dataStart = local + 30 + localName + localExtra
            guard dataStart + compressed <= offset else {
                throw unsafe("the data of entry \(shown) (\(compressed) bytes at offset \(dataStart)) runs past the archive's entries; the archive is truncated or damaged")
            }
            spans.append((local..<(dataStart + compressed), shown))
            entry.method = method
            entry.dataStart = dataStart
            entry.compressedSize = compressed
            entry.size = uncompressed
            entries.append(entry)
            p = next
        }
        guard p == cdEnd else {
            throw unsafe("the central directory holds more than the \(count) entries its end record counts")
        }
        // No two entries share bytes.
        spans.sort { $0.range.lowerBound < $1.range.lowerBound }
        for k in spans.indices.dropFirst() where spans[k].range.lowerBound < spans[k - 1].range.upperBound {
            throw unsafe("entries \(spans[k - 1].name) and \(spans[k].name) overlap in the archive")
        }
        // No entry inside a folder that is a file.
        for e in entries {
            var folder = e.isDirectory ? String(e.name.dropLast()) : e.name
            while let slash = folder.lastIndex(of: "/") {
                folder = String(folder[..<slash])
                if let other = seen[foldedKey(folder)], !other.isDirectory {
                    throw unsafe("entry \(other.name.debugDescription) is a file, but entry \(e.name.debugDescription) needs it to be a folder (a file-versus-folder clash)")
                }
            }
        }
        return entries
    }

    /// The key under which two names are the same file on a case-insensitive file system.
    /// Case-insensitive file systems fold more than ASCII; folding ASCII catches the collisions
    /// that matter for file names in skills, and lowercased() the rest.
    static func foldedKey(_ body: String) -> String {
        let utf8 = body.utf8
        return utf8.allSatisfy({ $0 < 0x80 })
            ? String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 32 : $0 }, as: UTF8.self)
            : body.lowercased()
    }

    /// Checks one path against the naming rules (for archive entries, and for paths in the index).
    /// Returns why it is refused, or nil.
    static func problem(path name: String, limits: ArchiveLimits) -> String? {
        let bytes = name.utf8
        let shown = name.debugDescription
        guard !bytes.isEmpty, bytes.count <= limits.maxNameLength else {
            return "entry name \(shown.prefix(80)) is empty or longer than \(limits.maxNameLength) bytes"
        }
        guard !bytes.contains(UInt8(ascii: "\\")) else { return "entry \(shown) has a backslash" }
        guard !bytes.contains(0) else { return "entry \(shown) has a NUL byte" }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return "entry \(shown) has a control character" }
        let first = bytes[bytes.startIndex]
        guard first != UInt8(ascii: "/") else { return "entry \(shown) is an absolute path" }
        if bytes.count >= 2, bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: ":"), (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") {
            return "entry \(shown) starts with a drive letter"
        }
        let isDirectory = bytes.last == UInt8(ascii: "/")
        let body = isDirectory ? Substring(name).utf8.dropLast() : Substring(name).utf8[...]
        var depth = 0
        for part in body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            depth += 1
            if part.isEmpty || part.elementsEqual([UInt8(ascii: ".")]) || part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                return "entry \(shown) has an empty, '.' or '..' path component"
            }
        }
        guard depth <= limits.maxDepth else { return "entry \(shown) is nested deeper than \(limits.maxDepth) folders" }
        return nil
    }

    static func check(name: String, madeBy: Int, attributes: Int, limits: ArchiveLimits,
                      unsafe: (String) -> BundleError) throws(BundleError) -> Entry {
        if let problem = problem(path: name, limits: limits) { throw unsafe(problem) }
        let isDirectory = name.utf8.last == UInt8(ascii: "/")
        // Unix file types live in the high 16 bits of the external attributes (Unix and macOS
        // hosts; other hosts leave them zero, and any type there is checked the same way).
        let type = (attributes >> 16) & 0o170000
        let expected = isDirectory ? 0o040000 : 0o100000
        if type != 0 && type != expected {
            let what = type == 0o120000 ? "a symbolic link" : type == 0o040000 ? "a folder without a trailing slash"
                : type == 0o100000 ? "a regular file with a folder's trailing slash"
                : "not a regular file or folder (type \(String(type, radix: 8)))"
            throw unsafe("entry \(name.debugDescription) is \(what)")
        }
        // MS-DOS attributes (low byte): a folder flag on a file, or a file without a trailing slash marked as folder.
        if madeBy == 0 && attributes & 0x10 != 0 && !isDirectory {
            throw unsafe("entry \(name.debugDescription) is a folder without a trailing slash")
        }
        return Entry(name: name, isDirectory: isDirectory)
    }

    /// Reads every file entry of a scanned archive, counting the bytes really produced against
    /// the caps: stored ones straight from the archive, deflated ones inflated here (zlib), never
    /// past their declared size and never past their own compressed bytes.
    static func extract(_ data: Data, entries: [Entry], file: String, limits: ArchiveLimits) throws(BundleError) -> [String: Data] {
        func unsafe(_ m: String) -> BundleError { BundleError(.unsafeArchive, "\(file): \(m)") }
        var out: [String: Data] = [:]
        var total = 0
        let ratioCap = max(data.count, 1) * limits.maxRatio
        func count(_ e: Entry, _ size: Int) throws(BundleError) {
            total += size
            if total > limits.maxTotalBytes { throw unsafe("the archive inflates past \(limits.maxTotalBytes) bytes") }
            if total > ratioCap { throw unsafe("the archive inflates more than \(limits.maxRatio) times its size (a zip bomb?)") }
        }
        for e in entries where !e.isDirectory {
            let content: Data
            if e.method == stored {
                content = data[(data.startIndex + e.dataStart)..<(data.startIndex + e.dataStart + e.size)]
                try count(e, e.size)
            } else {
                content = try inflate(data, e, limits: limits, unsafe: unsafe, count: count)
            }
            // CRC-32s are not checked: every file's SHA-256 is, against the signed index, so that
            // an altered file is an integrity error and an altered index a signature error.
            out[e.name] = content
        }
        return out
    }

    /// Inflates one raw deflate stream: the output never exceeds the declared size (itself under
    /// the per-file cap), and a stream that needs more input than the entry holds is an error,
    /// never a wait.
    private static func inflate(_ data: Data, _ e: Entry, limits: ArchiveLimits, unsafe: (String) -> BundleError,
                                count: (Entry, Int) throws(BundleError) -> Void) throws(BundleError) -> Data {
        let shown = e.name.debugDescription
        let result = data.withUnsafeBytes { raw -> Result<Data, BundleError> in
            var stream = z_stream()
            guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                return .failure(BundleError(.io, "cannot start inflating \(shown): zlib failed to initialise"))
            }
            defer { inflateEnd(&stream) }
            let input = raw.baseAddress!.advanced(by: e.dataStart).assumingMemoryBound(to: Bytef.self)
            stream.next_in = UnsafeMutablePointer(mutating: input)
            stream.avail_in = uInt(e.compressedSize)
            var content = Data()
            content.reserveCapacity(min(e.size, 1 << 20))
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let before = stream.avail_in
                let (rc, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    let rc = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (rc, out.count - Int(stream.avail_out))
                }
                if produced > 0 {
                    guard content.count + produced <= e.size else {
                        return .failure(unsafe(content.count + produced > limits.maxFileBytes
                            ? "entry \(shown) inflates past \(limits.maxFileBytes) bytes"
                            : "entry \(shown) inflates to more than the \(e.size) bytes its headers declare"))
                    }
                    content.append(contentsOf: buffer[0..<produced])
                    do throws(BundleError) { try count(e, produced) } catch { return .failure(error) }
                }
                switch rc {
                case Z_STREAM_END:
                    guard stream.avail_in == 0 else {
                        return .failure(unsafe("entry \(shown) has \(stream.avail_in) bytes after the end of its deflate stream"))
                    }
                    guard content.count == e.size else {
                        return .failure(unsafe("entry \(shown) inflates to \(content.count) bytes; its headers declare \(e.size)"))
                    }
                    return .success(content)
                case Z_OK where produced > 0 || stream.avail_in != before:
                    continue
                case Z_OK, Z_BUF_ERROR:
                    // No progress: the compressed bytes ran out before the stream's end.
                    return .failure(unsafe("entry \(shown) is a deflate stream that ends before it is complete (it promises more than its \(e.compressedSize) bytes hold)"))
                default:
                    return .failure(unsafe("entry \(shown) is not a valid deflate stream (zlib error \(rc))"))
                }
            }
        }
        return try result.get()
    }
}
