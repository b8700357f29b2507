import Crypto
import Foundation
import Glibc
import Synchronization

/// Read-only access to the folders a node grants (`fs.read@1`).
///
/// Paths are `root/relative/path`, where `root` names a granted folder. A path may not be
/// absolute, may not contain `..`, a backslash or a NUL, and may not leave its root through a
/// symbolic link: every path is resolved with `realpath` and must stay under the root's own real
/// path. Listings skip `.git`, `.build*` and whatever the `.gitignore` files in the tree ignore.
public final class FileAccess: Sendable {
    public struct Limits: Sendable {
        /// The largest file `read` returns.
        public var maxFileBytes = 8 << 20
        /// The most entries one `list` returns.
        public var maxListEntries = 200_000
        /// The deepest folder `list` descends into.
        public var maxDepth = 64
        public init() {}
    }

    public struct Entry: Sendable, Equatable {
        public var path: String
        public var size: Int
    }

    /// Root name -> its real absolute path.
    public let roots: [String: String]
    public let limits: Limits
    /// Real path -> the file's stamp (device, inode, size, mtime) when hashed, and its SHA-256.
    private let hashes = Mutex<[String: (stamp: [Int], hex: String)]>([:])

    /// `roots` maps names to folders; each must exist. Throws ``FileAccessError`` naming a bad root.
    public init(roots: [String: String], limits: Limits = Limits()) throws(FileAccessError) {
        var real: [String: String] = [:]
        for (name, path) in roots {
            guard !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
                throw FileAccessError("'\(name)' is not a root name (one path component)")
            }
            guard let r = Self.realPath(path) else { throw FileAccessError("root '\(name)': \(path) does not exist or is unreadable") }
            var st = stat()
            guard statPath(r, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw FileAccessError("root '\(name)': \(path) is not a folder")
            }
            real[name] = r
        }
        self.roots = real
        self.limits = limits
    }

    static func realPath(_ path: String) -> String? {
        guard let p = Glibc.realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Checks `path` and returns its root's name, the real absolute path, and the path relative to
    /// the root.
    func resolve(_ path: String) throws(FileAccessError) -> (root: String, real: String, relative: String) {
        guard !path.isEmpty else { throw FileAccessError("an empty path; give root/relative/path") }
        guard !path.hasPrefix("/") else { throw FileAccessError("'\(path)': absolute paths are refused; give root/relative/path") }
        guard !path.contains("\\"), !path.contains("\u{0}") else {
            throw FileAccessError("'\(path)': backslashes and NUL bytes are refused in paths")
        }
        let parts = path.split(separator: "/").filter { $0 != "." }
        guard !parts.contains("..") else { throw FileAccessError("'\(path)': '..' is refused; paths stay under their root") }
        guard let first = parts.first, let rootPath = roots[String(first)] else {
            let names = roots.keys.sorted().joined(separator: ", ")
            throw FileAccessError("'\(path)': no root named '\(parts.first ?? "")' (granted: \(names.isEmpty ? "none" : names))")
        }
        let relative = parts.dropFirst().joined(separator: "/")
        let joined = relative.isEmpty ? rootPath : rootPath + "/" + relative
        guard let real = Self.realPath(joined) else { throw FileAccessError("'\(path)': no such file or folder") }
        guard real == rootPath || real.hasPrefix(rootPath == "/" ? "/" : rootPath + "/") else {
            throw FileAccessError("'\(path)': a symbolic link leads outside the root '\(first)'")
        }
        return (String(first), real, relative)
    }

    /// The bytes of a regular file, up to ``Limits/maxFileBytes``. The limit is enforced while
    /// reading, so a file that grows after `stat` is still refused.
    public func read(_ path: String) throws(FileAccessError) -> [UInt8] {
        let (_, real, _) = try resolve(path)
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileAccessError("'\(path)': cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw FileAccessError("'\(path)' is not a regular file") }
        let limit = limits.maxFileBytes
        guard Int(st.st_size) <= limit else {
            throw FileAccessError("'\(path)' is \(st.st_size) bytes; the limit is \(limit)")
        }
        var bytes = [UInt8](repeating: 0, count: min(Int(st.st_size), limit) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                guard bytes.count <= limit else { break }
                bytes.append(contentsOf: [UInt8](repeating: 0, count: min(bytes.count * 2, limit + 1) - bytes.count))
            }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileAccessError("'\(path)': read failed (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { throw FileAccessError("'\(path)' is over the limit of \(limit) bytes") }
        bytes.removeSubrange(count...)
        return bytes
    }

    public enum Kind: String, Sendable { case file, folder, other }

    /// Kind, size and modification time (seconds) of a path.
    public func status(_ path: String) throws(FileAccessError) -> (kind: Kind, size: Int, modified: Double) {
        let (_, real, _) = try resolve(path)
        var st = stat()
        guard statPath(real, &st) == 0 else { throw FileAccessError("'\(path)': cannot stat (\(String(cString: strerror(errno))))") }
        let kind: Kind = st.st_mode & S_IFMT == S_IFREG ? .file : st.st_mode & S_IFMT == S_IFDIR ? .folder : .other
        return (kind, Int(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    /// The SHA-256 of a file's content, in hex. Remembered per file while its size, modification
    /// time and inode stay the same.
    public func hash(_ path: String) throws(FileAccessError) -> String {
        let (_, real, _) = try resolve(path)
        var st = stat()
        guard statPath(real, &st) == 0 else { throw FileAccessError("'\(path)': cannot stat") }
        let stamp = [Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_ino)]
        if let known = hashes.withLock({ $0[real] }), known.stamp == stamp { return known.hex }
        let bytes = try read(path)
        let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        hashes.withLock { $0[real] = (stamp, hex) }
        return hex
    }

    /// Every regular file under `path` (a root or a folder in one), sorted by path, with its size.
    /// Skips `.git`, `.build*`, ignored files, and symbolic links to folders; a symbolic link to a
    /// file is listed only when it stays inside the root.
    public func list(_ path: String) throws(FileAccessError) -> [Entry] {
        let (root, real, relative) = try resolve(path)
        let rootPath = roots[root]!
        // The .gitignore files from the root down to the starting folder apply.
        var ignores: [(prefix: String, rules: GitIgnore)] = []
        var walked = ""
        for part in ([""] + relative.split(separator: "/").map(String.init)) {
            walked = walked.isEmpty ? part : walked + "/" + part
            if let rules = Self.gitignore(in: walked.isEmpty ? rootPath : rootPath + "/" + walked) {
                ignores.append((walked, rules))
            }
        }
        var out: [Entry] = []
        try walk(real: real, relative: relative, root: root, rootPath: rootPath, ignores: ignores, depth: 0, into: &out)
        out.sort { $0.path < $1.path }
        return out
    }

    private static func gitignore(in folder: String) -> GitIgnore? {
        guard let data = FileManager.default.contents(atPath: folder + "/.gitignore"),
              let text = String(data: data, encoding: .utf8) else { return nil }
        return GitIgnore(text: text)
    }

    private func ignored(_ relative: String, isDirectory: Bool, _ ignores: [(prefix: String, rules: GitIgnore)]) -> Bool {
        var result = false
        for (prefix, rules) in ignores {
            let sub: String
            if prefix.isEmpty { sub = relative }
            else if relative.hasPrefix(prefix + "/") { sub = String(relative.dropFirst(prefix.count + 1)) }
            else { continue }
            if let v = rules.verdict(sub, isDirectory: isDirectory) { result = v }
        }
        return result
    }

    private func walk(real: String, relative: String, root: String, rootPath: String,
                      ignores: [(prefix: String, rules: GitIgnore)], depth: Int, into out: inout [Entry]) throws(FileAccessError) {
        guard depth <= limits.maxDepth else {
            throw FileAccessError("'\(root)/\(relative)': folders nest deeper than \(limits.maxDepth) levels")
        }
        var ignores = ignores
        if depth > 0, let rules = Self.gitignore(in: real) { ignores.append((relative, rules)) }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: real) else { return }
        for name in names.sorted() {
            if name == ".git" || name.hasPrefix(".build") { continue }
            let childReal = real + "/" + name
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(childReal, &st) == 0 else { continue }
            var mode = st.st_mode & S_IFMT
            if mode == S_IFLNK {
                // Listed only when it resolves to a regular file inside the root.
                guard let target = Self.realPath(childReal), target.hasPrefix(rootPath + "/"),
                      statPath(target, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
                mode = S_IFREG
            }
            let isDirectory = mode == S_IFDIR
            guard isDirectory || mode == S_IFREG else { continue }
            if ignored(childRelative, isDirectory: isDirectory, ignores) { continue }
            if isDirectory {
                try walk(real: childReal, relative: childRelative, root: root, rootPath: rootPath,
                         ignores: ignores, depth: depth + 1, into: &out)
            } else {
                guard out.count < limits.maxListEntries else {
                    throw FileAccessError("'\(root)': more than \(limits.maxListEntries) files; list a smaller folder")
                }
                out.append(Entry(path: root + "/" + childRelative, size: Int(st.st_size)))
            }
        }
    }
}

/// A refused or failed file access: the message names the path and what to do.
public struct FileAccessError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `stat(2)` (the struct and the function share a name in Swift's view of Glibc).
private func statPath(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }
