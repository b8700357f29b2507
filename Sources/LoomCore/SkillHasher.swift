import Foundation
import Crypto

/// The content hash of a skill folder, recorded in loom.lock.
///
/// SHA-256 over every regular file under the folder (hidden files included), in order of their
/// relative paths (bytewise): for each, the path, a zero byte, the size in decimal, a zero byte,
/// and the contents. Written `sha256:<hex>`.
public enum SkillHasher: Sendable {
    /// The hash of every regular file under `directory`, as `sha256:` and 64 lowercase hex digits.
    /// Reads every file in full: linear in the folder's size.
    /// - Throws: the error of reading a file that is listed but cannot be read.
    public static func hash(directory: String) throws -> String {
        let root = URL(fileURLWithPath: directory)
        var files: [(String, URL)] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
                files.append((relative, url))
            }
        }
        files.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        var hasher = SHA256()
        for (relative, url) in files {
            let data = try Data(contentsOf: url)
            hasher.update(data: Data(relative.utf8) + Data([0]) + Data(String(data.count).utf8) + Data([0]))
            hasher.update(data: data)
        }
        return "sha256:" + hasher.finalize().map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
