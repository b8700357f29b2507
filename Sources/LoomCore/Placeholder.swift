enum LoomCorePlaceholder {}
