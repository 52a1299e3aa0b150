//! Link settings that belong to the crate, not to one build command.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // A Mach-O library records its install name, and the linker's default is the absolute
    // path it was written to: a build-machine path every loader would try first, and one that
    // differs between two builds of the same source. @rpath is what delocate and dyld expect.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libskyutils.dylib");
    }
}
