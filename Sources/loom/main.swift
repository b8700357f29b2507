import ArgumentParser
import LoomCLI

LoomCommand.main()
