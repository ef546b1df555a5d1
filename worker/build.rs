//! Link settings for the `punctual` binary.
//!
//! **Packed relative relocations** (`-z pack-relative-relocs`, `DT_RELR`). A position-independent
//! executable stores one 24-byte relocation for every pointer in its read-only data — vtables,
//! string tables, the SDK's generated protobuf descriptors — 86,000 of them, 2.0 MB, in
//! punctual's. The dynamic loader reads all of them at every start, so all 2.0 MB stay resident
//! for the worker's life and count in its RSS. `DT_RELR` stores the same relocations as bitmaps:
//! 30 KB. The binary stays position-independent (address-space randomisation is kept). Measured
//! in BENCHMARKS.md ("Relocations"): about 2 MB less RSS, the same CPU.
//!
//! The dynamic loader must know `DT_RELR`: glibc 2.36 or newer. A binary needs at run time at
//! least the glibc it was linked against anyway, so the flag is added only when the glibc this
//! build links against is 2.36 or newer, and only for a native x86_64 GNU/Linux build, whose
//! default linker (the toolchain's own `rust-lld`) knows the flag. `PUNCTUAL_RELR=0` turns it
//! off.
//!
//! **Function order** (`PUNCTUAL_SYMBOL_ORDER=<file>`, set by `make pgo` only): links the
//! functions that file lists first and together (lld's `--symbol-ordering-file`), so the code
//! that runs shares pages and the code that never runs is never mapped. The file comes from the
//! training profile (`scripts/pgo-symbol-order.py`, which says why); names it lists that this
//! build lacks are skipped without a warning, as a stale list only loses the gain.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PUNCTUAL_RELR");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let wanted = var("PUNCTUAL_RELR") != "0";
    let native_x86_64_gnu = var("TARGET") == "x86_64-unknown-linux-gnu" && var("HOST") == var("TARGET");
    if wanted && native_x86_64_gnu && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=punctual=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-env-changed=PUNCTUAL_SYMBOL_ORDER");
    let order = var("PUNCTUAL_SYMBOL_ORDER");
    if !order.is_empty() {
        assert!(native_x86_64_gnu, "PUNCTUAL_SYMBOL_ORDER needs rust-lld, the linker of a native x86_64 GNU/Linux build");
        assert!(std::path::Path::new(&order).is_file(), "PUNCTUAL_SYMBOL_ORDER={order}: no such file");
        println!("cargo:rerun-if-changed={order}");
        println!("cargo:rustc-link-arg-bin=punctual=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-link-arg-bin=punctual=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether the glibc of this machine (the one a native build links against) is at least
/// `major.minor`, as `getconf GNU_LIBC_VERSION` reports it ("glibc 2.36"). Anything else — no
/// getconf, musl, an unexpected answer — counts as no: the binary is then linked as before.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else { return false };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    out.status.success() && (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}
