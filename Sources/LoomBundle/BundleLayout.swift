import Foundation
import CoreFoundation
import Glibc
import LoomCore

/// The names and the layout a bundle's index must have, checked once its signature verifies and
/// before anything is written or parsed from it. Names end up in paths (`.loom/ancestors/PUBLISHER`,
/// `.loom/installed/PUBLISHER--NAME`) and in the generated `node.toml` of an ancestor, so each is
/// a plain lowercase word; every file is a skill's file (`skills/SKILL/...`, for a skill the index
/// declares) or a key statement (`keys/FILE.toml`), listed once.
public enum BundleLayout: Sendable {
    /// Why `name` cannot be a bundle's name, or nil. A bundle name is a lowercase word of letters,
    /// digits and hyphens (starting with a letter, at most 64 characters) without `--`, which
    /// separates publisher and name in `.loom/installed/PUBLISHER--NAME`.
    public static func problem(bundleName name: String) -> String? {
        guard Names.isSimple(name) else {
            return "bundle name \(name.debugDescription) is refused: a bundle name is a lowercase word of letters, digits and hyphens starting with a letter, at most 64 characters (it names a folder and is written into a generated node.toml)"
        }
        guard !name.contains("--") else {
            return "bundle name \(name.debugDescription) is refused: it contains '--', which separates publisher and bundle in .loom/installed/PUBLISHER--NAME"
        }
        return nil
    }

    static func check(_ index: BundleIndex, file: String, limits: ArchiveLimits) throws(BundleError) {
        func bad(_ m: String) -> BundleError { BundleError(.manifest, "\(file): bundle.toml: \(m)") }
        if let problem = problem(bundleName: index.name) { throw bad(problem) }
        guard Names.isSimple(index.publisher) else {
            throw bad("publisher \(index.publisher.debugDescription) is refused: a node name is a lowercase word of letters, digits and hyphens starting with a letter, at most 64 characters (it names a folder)")
        }
        for p in index.publisherParents where !Names.isSimple(p) {
            throw bad("publisher_parents has \(p.debugDescription), which is not a node name")
        }
        var skills: Set<String> = []
        for s in index.skills {
            guard Names.isDotted(s.name) else {
                throw bad("skill name \(s.name.debugDescription) is refused: a skill name is lowercase words of letters, digits and hyphens separated by dots")
            }
            guard skills.insert(s.name).inserted else { throw bad("skill '\(s.name)' is listed twice") }
            guard s.path == "skills/" + s.name else {
                throw bad("skill '\(s.name)' has path \(s.path.debugDescription); a skill's folder in a bundle is skills/\(s.name)")
            }
            for n in s.lineage where !Names.isSimple(n) {
                throw bad("the lineage of skill '\(s.name)' has \(n.debugDescription), which is not a node name")
            }
        }
        var seen: [String: String] = [:]
        for f in index.files {
            if let problem = ArchiveScanner.problem(path: f.path, limits: limits) { throw bad("file path refused: \(problem)") }
            guard !f.path.hasSuffix("/") else { throw bad("file \(f.path.debugDescription) names a folder") }
            let key = ArchiveScanner.foldedKey(f.path)
            if let other = seen[key] {
                throw bad(other.utf8.elementsEqual(f.path.utf8) ? "file \(f.path.debugDescription) is listed twice"
                          : "files \(other.debugDescription) and \(f.path.debugDescription) are the same file on some file systems (case or Unicode normalization)")
            }
            seen[key] = f.path
            let parts = f.path.split(separator: "/", omittingEmptySubsequences: false)
            if parts.first == "keys" {
                guard parts.count == 2, parts[1].hasSuffix(".toml") else {
                    throw bad("\(f.path.debugDescription) is refused: keys/ holds only key statements, keys/NAME.toml")
                }
            } else if parts.first == "skills" {
                guard parts.count >= 3, skills.contains(String(parts[1])) else {
                    throw bad("\(f.path.debugDescription) is refused: it is not in the folder of a skill the index declares (skills/SKILL/...)")
                }
            } else {
                throw bad("\(f.path.debugDescription) is refused: a bundle holds only skills/SKILL/... and keys/*.toml besides bundle.toml and bundle.sig")
            }
        }
        // A file that is another's folder (skills/a and skills/a/b) cannot be installed.
        for f in index.files {
            var folder = Substring(f.path)
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                if let other = seen[ArchiveScanner.foldedKey(String(folder))] {
                    throw bad("\(other.debugDescription) is a file, but \(f.path.debugDescription) needs it to be a folder (a file-versus-folder clash)")
                }
            }
        }
        for s in index.skills where seen[ArchiveScanner.foldedKey(s.path + "/skill.toml")] == nil {
            throw bad("skill '\(s.name)' has no \(s.path)/skill.toml listed")
        }
    }
}

/// Plain words for what went wrong with a file.
enum FileErrors {
    static func describe(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "it does not exist"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a file stands where a folder is needed (a file-versus-folder clash)"
        case EISDIR: return "a folder stands where a file is needed (a file-versus-folder clash)"
        case EEXIST: return "something already exists there"
        case EROFS: return "the file system is read-only"
        case ENOSPC: return "no space left on the device"
        case EDQUOT: return "the disk quota is exhausted"
        default: return String(cString: strerror(code))
        }
    }

    /// A Foundation error in the same plain words (its POSIX cause when it has one), never a dump.
    static func describe(_ error: any Error) -> String {
        if let e = error as? BundleError { return e.message }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return describe(Int32(underlying.code))
        }
        if ns.domain == NSPOSIXErrorDomain { return describe(Int32(ns.code)) }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "it does not exist"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteFileExists: return "something already exists there"
        case .fileWriteVolumeReadOnly: return "the file system is read-only"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: return "not valid UTF-8"
        default: return ns.localizedDescription
        }
    }
}

/// Creating folders with messages that name the folder and the problem.
enum Folders {
    /// Creates `path` and its missing parents; returns the folders it created, outermost first.
    @discardableResult
    static func make(_ path: String) throws(BundleError) -> [String] {
        var created: [String] = []
        let absolute = path.hasPrefix("/")
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix = prefix.isEmpty ? (absolute ? "/" : "") + part : prefix + "/" + part
            if let kind = FileKind.at(prefix) {
                guard kind == .folder || kind == .link && Self.isFolder(prefix) else {
                    throw BundleError(.io, "cannot create the folder \(path): \(prefix) is "
                                      + (kind == .link ? "a symbolic link that does not lead to a folder" : "\(kind.words), not a folder (a file-versus-folder clash)"))
                }
                continue
            }
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw BundleError(.io, "cannot create the folder \(prefix): \(FileErrors.describe(errno))")
            }
            created.append(prefix)
        }
        return created
    }

    static func isFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// Removes folders `make` created, innermost first, if they are still empty.
    static func removeIfEmpty(_ created: [String]) {
        for folder in created.reversed() { rmdir(folder) }
    }
}

/// What is at a path (or behind a descriptor), for messages that say "a folder" or "a file".
enum FileKind: Equatable {
    case file, folder, link, other

    /// The kind at `path` (a link itself, not what it points to), or nil when nothing is there
    /// or it cannot be examined (`problem` then says why).
    static func at(_ path: String) -> FileKind? { examine(path).kind }

    static func examine(_ path: String) -> (kind: FileKind?, size: Int, problem: String) {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let kind: FileKind = switch attributes[.type] as? FileAttributeType {
            case .typeRegular?: .file
            case .typeDirectory?: .folder
            case .typeSymbolicLink?: .link
            default: .other
            }
            return (kind, (attributes[.size] as? Int) ?? 0, "")
        } catch {
            return (nil, 0, FileErrors.describe(error))
        }
    }

    var words: String {
        switch self {
        case .file: "a file"
        case .folder: "a folder"
        case .link: "a symbolic link"
        case .other: "not a regular file or folder"
        }
    }
}
