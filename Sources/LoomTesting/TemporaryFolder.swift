public import Foundation
import SystemPackage

/// A folder under the system's temporary directory for one test, filled from relative paths, and
/// removed with everything in it when the last reference goes away.
///
/// Every test target builds its fixtures on this one type (nodes, skills, bundles, trees to audit):
///
/// ```swift
/// let folder = try TemporaryFolder(["n/node.toml": "name = \"n\"\n"])
/// try folder.write("n/agents/a/agent.lua", "function on_task(t) return t end\n")
/// let node = folder.path("n")
/// ```
public final class TemporaryFolder: Sendable {
    /// The folder's absolute path.
    public let root: String

    /// Creates an empty folder named `<prefix>-<UUID>`. (A folder that cannot be created makes the
    /// first write fail, naming the path.)
    public init(prefix: String = "loom-test") {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Creates the folder and writes `files` (relative path → text).
    public convenience init(_ files: [String: String], prefix: String = "loom-test") throws {
        self.init(prefix: prefix)
        try write(files)
    }

    /// Writes each relative path's text, creating the folders it needs.
    public func write(_ files: [String: String]) throws {
        for (relative, text) in files { try write(relative, text) }
    }

    /// Writes `text` (UTF-8) at `relative`, creating the folders it needs.
    public func write(_ relative: String, _ text: String) throws {
        try write(relative, bytes: Array(text.utf8))
    }

    /// Writes raw bytes at `relative` (for files that are not valid UTF-8 on purpose).
    public func write(_ relative: String, bytes: [UInt8]) throws {
        let full = path(relative)
        let parent = FilePath(full).removingLastComponent().string
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: full])
        }
    }

    /// The absolute path of `relative` inside the folder (the folder itself for "").
    public func path(_ relative: String = "") -> String {
        relative.isEmpty ? root : FilePath(root).appending(relative).string
    }

    /// The folder as a file URL.
    public var url: URL { URL(fileURLWithPath: root, isDirectory: true) }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}
