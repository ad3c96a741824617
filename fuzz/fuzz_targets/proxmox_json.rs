//! Proxmox inventory JSON: `Inventory::from_json` on any bytes.
//!
//! Properties: no panic; on success every node and resource name (and a resource's node) is
//! non-empty and every vmid is >= 0; on failure the message is non-empty and shorter than
//! 1 KiB, whatever the size of the input (it ends up in `rr_last_error()` and in logs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use route_registry::proxmox::Inventory;

fuzz_target!(|data: &[u8]| {
    match Inventory::from_json(data) {
        Ok(inv) => {
            for n in &inv.nodes {
                assert!(!n.name.is_empty(), "node with an empty name");
            }
            for r in &inv.resources {
                assert!(!r.name.is_empty(), "resource with an empty name");
                assert!(
                    !r.node.is_empty(),
                    "resource {:?} with an empty node",
                    r.name
                );
                assert!(r.vmid >= 0, "resource {:?} with vmid {}", r.name, r.vmid);
            }
            assert_eq!(
                inv.is_empty(),
                inv.nodes.is_empty() && inv.resources.is_empty()
            );
        }
        Err(e) => {
            let msg = e.message();
            assert!(!msg.is_empty(), "empty error message");
            assert!(
                msg.len() < 1024,
                "error message of {} bytes for {} bytes of input: {}...",
                msg.len(),
                data.len(),
                msg.chars().take(200).collect::<String>()
            );
        }
    }
});
