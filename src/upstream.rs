//! TEMPORARY STUB — replaced by the net/url port.
#![allow(missing_docs)]
use crate::error::{quote, Error, Result};
use crate::text::CText;
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream { scheme: CText, host: CText, port: CText, host_port: CText, url: CText }
impl Upstream {
    pub fn empty() -> Self { Self::default() }
    pub fn parse(input: &str) -> Result<Self> {
        let (scheme, rest) = input.split_once("://").ok_or_else(|| Error::invalid(format!("invalid upstream URL {}", quote(input))))?;
        let hp = rest.split('/').next().unwrap_or("");
        let (h, p) = hp.rsplit_once(':').unwrap_or((hp, ""));
        Ok(Upstream { scheme: scheme.to_ascii_lowercase().into(), host: h.into(), port: p.into(), host_port: hp.into(), url: input.into() })
    }
    pub fn parse_for_proxy(input: &str) -> Result<Self> {
        let u = Self::parse(input)?;
        if u.host.is_empty() { return Err(Error::invalid(format!("upstream URL {} has no host", quote(input)))); }
        Ok(u)
    }
    pub fn scheme(&self) -> &CText { &self.scheme }
    pub fn host(&self) -> &CText { &self.host }
    pub fn port(&self) -> &CText { &self.port }
    pub fn host_port(&self) -> &CText { &self.host_port }
    pub fn url(&self) -> &CText { &self.url }
    pub fn host_ip(&self) -> Option<std::net::IpAddr> { self.host.parse().ok() }
    pub fn heap_bytes(&self) -> usize { self.scheme.heap_bytes()+self.host.heap_bytes()+self.port.heap_bytes()+self.host_port.heap_bytes()+self.url.heap_bytes() }
}
