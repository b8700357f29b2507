import CMemoryIndex
import GRDB

/// The words of memories as the index sees them: SQLite's own `unicode61` tokenizer (found through
/// the connection's FTS5, see `words.c`) splits and folds them: letters and digits of any script,
/// case folded, diacritics removed. One instance serves a series of texts on one connection (a
/// recall, a consolidation, a migration) and is not shared between threads.
final class MemoryWords {
    let pointer: OpaquePointer

    init(_ db: Database) throws {
        var words: OpaquePointer?
        let rc = loom_words_open(db.sqliteConnection, &words)
        guard rc == SQLITE_OK, let words else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc),
                                message: "the memory index's tokenizer (FTS5 unicode61) is not available in this SQLite")
        }
        pointer = words
    }

    deinit { loom_words_close(pointer) }

    /// The words of `text` as `<key>_<word>` separated by single spaces; with an empty key, the
    /// bare words.
    func scoped(_ text: String, key: String) throws -> String {
        var text = text, key = key
        var out: UnsafeMutablePointer<CChar>?
        var length = 0
        let rc = text.withUTF8 { t in
            key.withUTF8 { k in
                loom_words_scoped(pointer, Self.chars(t.baseAddress), Int32(t.count), Self.chars(k.baseAddress), Int32(k.count),
                                  &out, &length)
            }
        }
        defer { loom_memory_free(out) }
        guard rc == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "the memory index's tokenizer failed on a text of \(text.utf8.count) bytes")
        }
        guard let out else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: out, count: length), as: UTF8.self)
    }

    /// The words of `text`. Split at the spaces between them byte by byte: a word may end in a
    /// character that Swift would join with the space into one grapheme.
    func words(_ text: String) throws -> [String] {
        try scoped(text, key: "").utf8.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
    }

    static func chars(_ p: UnsafePointer<UInt8>?) -> UnsafePointer<CChar>? {
        p.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
    }
}
