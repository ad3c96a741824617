//! Proxmox inventory and the reverse lookup that links a route to a node or VM when it is
//! added (GoDoxy's lookup during route validation).

use crate::error::{quote, Error, Result};
use crate::route::{check_name, Identity, ProxmoxLink};
use crate::text::CText;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// A Proxmox node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its IP, if known.
    pub ip: Option<IpAddr>,
}

/// A VM or container on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The node it runs on.
    pub node: String,
    /// Its VM id.
    pub vmid: i32,
    /// Its name.
    pub name: String,
    /// Its IPs.
    pub ips: Vec<IpAddr>,
}

/// Nodes and resources, in inventory order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The resources.
    pub resources: Vec<Resource>,
}

/// A JSON value for an error message: its text, cut after 64 characters, so a hostile
/// inventory cannot make the message large.
fn brief(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn name_field(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String> {
    match field(obj, key) {
        Some(Value::String(s)) if !s.is_empty() => {
            // As every other name: at most 255 bytes and no NUL byte (names are handed out as
            // C strings too).
            check_name(&format!("{at}: \"{key}\""), s, false)?;
            Ok(s.clone())
        }
        Some(Value::String(_)) => Err(Error::invalid(format!("{at}: \"{key}\" must not be empty"))),
        Some(v) => Err(Error::invalid(format!(
            "{at}: \"{key}\" must be a string, not {}",
            brief(v)
        ))),
        None => Err(Error::invalid(format!("{at}: \"{key}\" is missing"))),
    }
}

fn ip_value(v: &Value, at: &str) -> Result<IpAddr> {
    match v {
        Value::String(s) => s
            .parse()
            .map_err(|_| Error::invalid(format!("{at}: {} is not an IP address", quote(s)))),
        v => Err(Error::invalid(format!(
            "{at}: an IP must be a string, not {}",
            brief(v)
        ))),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a [Value]> {
    match field(obj, key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(Error::invalid(format!(
            "{at}\"{key}\" must be an array, not {}",
            brief(v)
        ))),
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| Error::invalid(format!("{at} must be an object, not {}", brief(v))))
}

impl Inventory {
    /// Parses the inventory JSON (see docs/BEHAVIOUR.md, "Proxmox linking"); unknown keys are
    /// ignored.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let root: Value = serde_json::from_slice(json)
            .map_err(|e| Error::invalid(format!("proxmox inventory is not valid JSON: {e}")))?;
        let root = object(&root, "proxmox inventory")?;
        let mut inv = Inventory::default();
        for (i, v) in array(root, "nodes", "proxmox inventory: ")?
            .iter()
            .enumerate()
        {
            let at = format!("proxmox inventory: nodes[{i}]");
            let obj = object(v, &at)?;
            let name = name_field(obj, "name", &at)?;
            let ip = field(obj, "ip")
                .map(|v| ip_value(v, &format!("{at}.ip")))
                .transpose()?;
            inv.nodes.push(Node { name, ip });
        }
        for (i, v) in array(root, "resources", "proxmox inventory: ")?
            .iter()
            .enumerate()
        {
            let at = format!("proxmox inventory: resources[{i}]");
            let obj = object(v, &at)?;
            let node = name_field(obj, "node", &at)?;
            let vmid = match field(obj, "vmid") {
                Some(Value::Number(n)) => n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "{at}: \"vmid\" {n} is not an integer from 0 to 2147483647"
                        ))
                    })?,
                Some(v) => {
                    return Err(Error::invalid(format!(
                        "{at}: \"vmid\" must be an integer, not {}",
                        brief(v)
                    )))
                }
                None => return Err(Error::invalid(format!("{at}: \"vmid\" is missing"))),
            };
            let name = name_field(obj, "name", &at)?;
            let ips = array(obj, "ips", &format!("{at}: "))?
                .iter()
                .enumerate()
                .map(|(j, v)| ip_value(v, &format!("{at}.ips[{j}]")))
                .collect::<Result<_>>()?;
            inv.resources.push(Resource {
                node,
                vmid,
                name,
                ips,
            });
        }
        Ok(inv)
    }

    /// Whether the inventory has nothing in it.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.resources.is_empty()
    }

    /// The link a route gets when it is added, or None to leave it as it is.
    ///
    /// An explicit link with vmid > 0 gets its vmname from the inventory. A route without a
    /// link and not from Docker is matched by upstream host and alias: nodes first, then
    /// resources, in inventory order; the first match wins.
    pub fn link_for(&self, ident: &Identity) -> Option<ProxmoxLink> {
        if let Some(link) = ident.proxmox() {
            if link.vmid == 0 {
                return None;
            }
            let res = self
                .resources
                .iter()
                .find(|r| r.node == link.node.as_str() && r.vmid == link.vmid)?;
            return Some(ProxmoxLink {
                node: link.node.clone(),
                vmid: link.vmid,
                vmname: CText::new(&res.name),
            });
        }
        if ident.is_docker() || self.is_empty() {
            return None;
        }
        let alias = ident.alias().as_str();
        let host = ident.upstream().host().as_str();
        let ip = ident
            .upstream()
            .host_ip()
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
        // A host that is an IP address matches by IP only, never by its text.
        let label = match ident.upstream().host_ip() {
            Some(_) => None,
            None => host.split('.').next().filter(|l| !l.is_empty()),
        };
        let name_matches = |name: &str| name == alias || label == Some(name);
        if let Some(node) = self
            .nodes
            .iter()
            .find(|n| name_matches(&n.name) || (ip.is_some() && n.ip == ip))
        {
            return Some(ProxmoxLink {
                node: CText::new(&node.name),
                vmid: 0,
                vmname: CText::empty(),
            });
        }
        let res = self
            .resources
            .iter()
            .find(|r| name_matches(&r.name) || ip.is_some_and(|ip| r.ips.contains(&ip)))?;
        Some(ProxmoxLink {
            node: CText::new(&res.node),
            vmid: res.vmid,
            vmname: CText::new(&res.name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{Kind, Route};

    const INV: &str = r#"{
        "nodes":[{"name":"pve1","ip":"10.0.0.2"},{"name":"pve2"}],
        "resources":[
            {"node":"pve1","vmid":100,"name":"web","ips":["10.0.0.50"],"extra":1},
            {"node":"pve2","vmid":101,"name":"db","ips":["10.0.0.51","127.0.0.1"]}
        ]}"#;

    fn link(alias: &str, url: &str) -> Option<ProxmoxLink> {
        let inv = Inventory::from_json(INV.as_bytes()).unwrap();
        let r = Route::new(Kind::Http, alias, url).unwrap();
        r.with_identity(|i| inv.link_for(i))
    }

    fn triple(l: Option<ProxmoxLink>) -> Option<(String, i32, String)> {
        l.map(|l| (l.node.to_string(), l.vmid, l.vmname.to_string()))
    }

    #[test]
    fn node_matches_by_first_label_ip_or_alias() {
        let want = Some(("pve1".into(), 0, String::new()));
        assert_eq!(triple(link("x", "http://pve1.lan:8006")), want);
        assert_eq!(triple(link("x", "http://10.0.0.2:8006")), want);
        assert_eq!(triple(link("pve1", "http://other:1")), want);
    }

    #[test]
    fn resource_matches_by_ip_label_or_alias() {
        let want = Some(("pve1".into(), 100, "web".into()));
        assert_eq!(triple(link("x", "http://10.0.0.50:80")), want);
        assert_eq!(triple(link("x", "http://web.internal:80")), want);
        assert_eq!(triple(link("web", "http://elsewhere:80")), want);
    }

    #[test]
    fn loopback_and_unspecified_ips_never_match() {
        assert_eq!(link("x", "http://127.0.0.1:80"), None);
        assert_eq!(link("x", "http://0.0.0.0:80"), None);
    }

    #[test]
    fn ip_host_does_not_match_by_text_label() {
        let inv = Inventory::from_json(br#"{"nodes":[{"name":"10"}]}"#).unwrap();
        let r = Route::new(Kind::Http, "x", "http://10.0.0.9:80").unwrap();
        assert_eq!(r.with_identity(|i| inv.link_for(i)), None);
    }

    #[test]
    fn names_compare_case_sensitively() {
        assert_eq!(link("x", "http://PVE1.lan:80"), None);
    }

    #[test]
    fn docker_routes_are_never_linked() {
        let inv = Inventory::from_json(INV.as_bytes()).unwrap();
        let r = Route::new(Kind::Http, "web", "http://10.0.0.50:80").unwrap();
        r.set_docker(true).unwrap();
        assert_eq!(r.with_identity(|i| inv.link_for(i)), None);
    }

    #[test]
    fn explicit_link_gets_vmname_by_node_and_vmid() {
        let inv = Inventory::from_json(INV.as_bytes()).unwrap();
        let r = Route::new(Kind::Http, "x", "http://h:80").unwrap();
        r.set_proxmox("pve2", 101).unwrap();
        assert_eq!(
            triple(r.with_identity(|i| inv.link_for(i))),
            Some(("pve2".into(), 101, "db".into()))
        );
        r.set_proxmox("pve1", 101).unwrap();
        assert_eq!(r.with_identity(|i| inv.link_for(i)), None);
    }

    #[test]
    fn bad_inventories_are_refused_with_a_message() {
        for (json, needle) in [
            ("[]", "must be an object"),
            ("{", "not valid JSON"),
            (
                r#"{"nodes":[{"ip":"1.2.3.4"}]}"#,
                "nodes[0]: \"name\" is missing",
            ),
            (r#"{"nodes":[{"name":""}]}"#, "must not be empty"),
            (r#"{"nodes":[{"name":"a","ip":"x"}]}"#, "\"x\" is not an IP"),
            (
                r#"{"resources":[{"node":"a","vmid":"1","name":"n"}]}"#,
                "must be an integer",
            ),
            (
                r#"{"resources":[{"node":"a","vmid":1.5,"name":"n"}]}"#,
                "not an integer",
            ),
            (
                r#"{"resources":[{"node":"a","name":"n"}]}"#,
                "\"vmid\" is missing",
            ),
            (
                r#"{"resources":[{"vmid":1,"name":"n"}]}"#,
                "\"node\" is missing",
            ),
            (r#"{"nodes":{}}"#, "must be an array"),
            (
                r#"{"nodes":[{"name":"pve\u0000evil"}]}"#,
                "nodes[0]: \"name\" \"pve\\0evil\" contains a NUL byte",
            ),
            (
                r#"{"resources":[{"node":"a","vmid":7,"name":"web\u0000x"}]}"#,
                "resources[0]: \"name\" \"web\\0x\" contains a NUL byte",
            ),
            (
                r#"{"resources":[{"node":"a\u0000","vmid":7,"name":"w"}]}"#,
                "resources[0]: \"node\"",
            ),
        ] {
            let e = Inventory::from_json(json.as_bytes()).unwrap_err();
            assert!(e.message().contains(needle), "{json}: {}", e.message());
        }
    }

    #[test]
    fn error_messages_stay_short_for_huge_values() {
        let huge = "x".repeat(1 << 20);
        for json in [
            format!(r#""{huge}""#),
            format!(r#"{{"nodes":[{{"name":"n","ip":["{huge}"]}}]}}"#),
            format!(r#"{{"nodes":[{{"name":"n","ip":"{huge}"}}]}}"#),
            format!(r#"{{"nodes":[{{"name":["{huge}"]}}]}}"#),
            format!(r#"{{"resources":[{{"node":"a","name":"b","vmid":["{huge}"]}}]}}"#),
            format!(r#"{{"nodes":"{huge}"}}"#),
        ] {
            let e = Inventory::from_json(json.as_bytes()).unwrap_err();
            assert!(
                e.message().len() < 300,
                "{} bytes: {}",
                e.message().len(),
                &e.message()[..300]
            );
        }
    }
}
