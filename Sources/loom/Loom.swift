import ArgumentParser
import LoomCLI

/// The `loom` executable: everything is in LoomCLI.
@main
struct Loom {
    static func main() async {
        await LoomCommand.main()
    }
}
