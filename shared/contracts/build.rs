//! Compiles proto/ into Rust at build time with protox, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../../proto";
    let file = "clearline/events/v1/case_events.proto";
    println!("cargo:rerun-if-changed={proto_root}");
    let descriptors = protox::compile([file], [proto_root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
