//! A network cut between one worker and everything else: that worker runs in a network
//! namespace of its own (`ip netns`), joined to the host by a veth pair, and the harness cuts
//! the pair (`ip link set ... down`) and restores it.
//!
//! Why a namespace and not a firewall rule on loopback: a namespaced worker has no route to the
//! host but the veth, so a cut is total and silent — no RST, no "connection refused", packets
//! just stop, as when a switch port dies. Its open gRPC streams hang; the server still believes
//! in its polls and may hand it a task that never arrives, which only the workflow-task timeout
//! (10 s) and the activity's start-to-close timeout (30 s) give to another worker. When the link
//! comes back the worker's delayed results reach the server (refused: the task moved on) and its
//! delayed calls reach the provider (deduplicated by the idempotency key). That is the case this
//! fault exists to prove.
//!
//! Everything the worker needs (the Temporal server, the sandbox provider and sink, PostgreSQL)
//! keeps listening on loopback only: the harness forwards `HOST_IP:port` to `127.0.0.1:port` for
//! each of those ports, so the run's traffic never leaves the machine. The SQLite ledger is a
//! file and needs no network.
//!
//! Needs root (or CAP_NET_ADMIN) and the `ip` tool; where either is missing the run goes on
//! without this fault and says why.

use super::process::Spec;
use anyhow::{Context, bail};
use std::net::Ipv4Addr;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::task::JoinHandle;

/// A worker's own network namespace and the host's forwarders into it.
#[derive(Debug)]
pub struct Partition {
    namespace: String,
    host_link: String,
    host_ip: Ipv4Addr,
    forwarders: Vec<JoinHandle<()>>,
    cut: bool,
}

/// Runs `ip ARGS`, failing with its stderr.
async fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip").args(args).output().await.with_context(|| format!("running ip {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// How many /30 blocks 10.213.0.0/16 holds.
const BLOCKS: u32 = 16_384;

/// The /30 numbered `block`: the host end and the namespace end, inside 10.213.0.0/16.
fn addresses(block: u32) -> (Ipv4Addr, Ipv4Addr) {
    let first = (block % BLOCKS) * 4;
    let (third, fourth) = ((first / 256) as u8, (first % 256) as u8);
    (Ipv4Addr::new(10, 213, third, fourth + 1), Ipv4Addr::new(10, 213, third, fourth + 2))
}

/// The first /30 from run `tag`'s own (`tag % BLOCKS`) onwards that holds none of the `used`
/// addresses. Tags are pids, so two runs at once whose pids are equal modulo 16,384 would
/// otherwise share a subnet, and one's forwarders would answer the other's worker.
fn free_block(tag: u32, used: &[Ipv4Addr]) -> Option<u32> {
    (0..BLOCKS).map(|step| (tag % BLOCKS + step) % BLOCKS).find(|&block| {
        let (host, _) = addresses(block);
        let base = u32::from(host) - 1;
        !used.iter().any(|addr| (base..base + 4).contains(&u32::from(*addr)))
    })
}

/// IPv4 addresses in `listing` (`ip -4 -o addr show`: `... inet A.B.C.D/N ...` per line).
fn listed_addresses(listing: &str) -> Vec<Ipv4Addr> {
    listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// Tags in `listing` (`ip netns list`) of namespaces this harness makes, `punctual-chaos-TAG`,
/// whose harness is no longer `alive`: the tag is the harness's pid.
fn stale_tags(listing: &str, alive: impl Fn(u32) -> bool) -> Vec<u32> {
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.strip_prefix("punctual-chaos-")?.parse().ok())
        .filter(|&tag| !alive(tag))
        .collect()
}

/// Whether process `pid` is a `punctual` (a harness, possibly this one).
fn harness_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "punctual")
}

/// Removes the namespaces and veth pairs of earlier runs whose harness is gone (a SIGKILLed
/// `punctual chaos` never runs [`Partition`]'s `Drop`, and each leftover holds a /30 and an
/// interface); returns their names. Namespaces of a harness still running are left alone.
pub async fn remove_leftovers() -> Vec<String> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output().await else { return Vec::new() };
    let mut removed = Vec::new();
    for tag in stale_tags(&String::from_utf8_lossy(&out.stdout), harness_alive) {
        let namespace = format!("punctual-chaos-{tag}");
        if ip(&["netns", "del", &namespace]).await.is_ok() {
            let _ = ip(&["link", "del", &format!("pc{tag}h")]).await;
            removed.push(namespace);
        }
    }
    removed
}

impl Partition {
    /// Creates namespace `punctual-chaos-TAG`, its veth pair and addresses, and forwards each of
    /// `ports` from the host end to loopback. An error says why the machine cannot do it.
    pub async fn create(tag: u32, ports: &[u16]) -> anyhow::Result<Self> {
        let namespace = format!("punctual-chaos-{tag}");
        let (host_link, ns_link) = (format!("pc{tag}h"), format!("pc{tag}n"));
        let listing =
            Command::new("ip").args(["-4", "-o", "addr", "show"]).output().await.context("running ip -4 -o addr show")?;
        let used = listed_addresses(&String::from_utf8_lossy(&listing.stdout));
        let block = free_block(tag, &used).context("no free /30 left in 10.213.0.0/16")?;
        let (host_ip, ns_ip) = addresses(block);
        // A leftover of a killed run with the same tag would make `add` fail.
        let _ = ip(&["netns", "del", &namespace]).await;
        let _ = ip(&["link", "del", &host_link]).await;
        ip(&["netns", "add", &namespace]).await?;
        let mut partition = Self { namespace, host_link, host_ip, forwarders: Vec::new(), cut: false };
        // From here on, dropping `partition` removes what was made.
        let ns = partition.namespace.clone();
        let host_cidr = format!("{host_ip}/30");
        let ns_cidr = format!("{ns_ip}/30");
        ip(&["link", "add", &partition.host_link, "type", "veth", "peer", "name", &ns_link]).await?;
        ip(&["link", "set", &ns_link, "netns", &ns]).await?;
        ip(&["addr", "add", &host_cidr, "dev", &partition.host_link]).await?;
        ip(&["link", "set", &partition.host_link, "up"]).await?;
        ip(&["-n", &ns, "addr", "add", &ns_cidr, "dev", &ns_link]).await?;
        ip(&["-n", &ns, "link", "set", &ns_link, "up"]).await?;
        ip(&["-n", &ns, "link", "set", "lo", "up"]).await?;
        for &port in ports {
            let listener =
                TcpListener::bind((host_ip, port)).await.with_context(|| format!("forwarding {host_ip}:{port} to loopback"))?;
            partition.forwarders.push(tokio::spawn(forward(listener, port)));
        }
        Ok(partition)
    }

    /// `address` (`127.0.0.1:PORT`, or a URL holding it) as the namespaced worker must dial it.
    pub fn translate(&self, address: &str) -> String {
        address.replace("127.0.0.1:", &format!("{}:", self.host_ip))
    }

    /// `spec` run inside the namespace (`ip netns exec` execs it, so the pid is the program's).
    pub fn wrap(&self, spec: Spec) -> Spec {
        let mut args = vec!["netns".to_owned(), "exec".to_owned(), self.namespace.clone(), spec.program.display().to_string()];
        args.extend(spec.args);
        let env = spec.env.into_iter().map(|(k, v)| (k, self.translate(&v))).collect();
        Spec { program: "ip".into(), args, env }
    }

    /// Whether the link is cut now.
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// Cuts the link: from now on nothing crosses, in either direction.
    pub async fn cut(&mut self) -> anyhow::Result<()> {
        ip(&["link", "set", &self.host_link, "down"]).await?;
        self.cut = true;
        Ok(())
    }

    /// Restores the link; connections that were open resume where TCP left them.
    pub async fn restore(&mut self) -> anyhow::Result<()> {
        ip(&["link", "set", &self.host_link, "up"]).await?;
        self.cut = false;
        Ok(())
    }

    /// The namespace's name (in the timeline).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl Drop for Partition {
    /// Removes the namespace (which takes its veth end, and so the pair, with it).
    fn drop(&mut self) {
        for forwarder in &self.forwarders {
            forwarder.abort();
        }
        let _ = std::process::Command::new("ip").args(["netns", "del", &self.namespace]).output();
        let _ = std::process::Command::new("ip").args(["link", "del", &self.host_link]).output();
    }
}

/// Accepts connections on `listener` and pipes each to `127.0.0.1:port`.
async fn forward(listener: TcpListener, port: u16) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            // Out of descriptors, say: wait instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(async move {
            // Upstream down (the server stopped): the worker sees its connection closed, as it
            // would dialling the server directly.
            if let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", port)).await {
                let _ = upstream.set_nodelay(true);
                let _ = inbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_block_is_a_slash_30_of_its_own() {
        assert_eq!(addresses(0), (Ipv4Addr::new(10, 213, 0, 1), Ipv4Addr::new(10, 213, 0, 2)));
        assert_eq!(addresses(65), (Ipv4Addr::new(10, 213, 1, 5), Ipv4Addr::new(10, 213, 1, 6)));
        assert_eq!(addresses(16_383).0, Ipv4Addr::new(10, 213, 255, 253));
        assert_ne!(addresses(1), addresses(2));
    }

    #[test]
    fn a_run_whose_subnet_is_taken_moves_to_the_next_free_one() {
        let listing = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                       7: pc41h    inet 10.213.0.165/30 scope global pc41h\\       valid_lft forever\n\
                       9: eth0    inet6 fe80::1/64 scope link\n";
        let used = listed_addresses(listing);
        assert_eq!(used, [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(10, 213, 0, 165)]);
        // Block 41 is 10.213.0.164/30, in use: pid 41 and pid 41 + 16,384 both move on.
        assert_eq!(free_block(41, &used), Some(42));
        assert_eq!(free_block(41 + 16_384, &used), Some(42));
        assert_eq!(free_block(40, &used), Some(40));
        // The search wraps around past the last block.
        let last = addresses(BLOCKS - 1).0;
        assert_eq!(free_block(BLOCKS - 1, &[last]), Some(0));
    }

    #[test]
    fn only_namespaces_of_harnesses_that_are_gone_are_stale() {
        let listing = "punctual-chaos-41 (id: 3)\npunctual-chaos-42\nsomeone-else-7 (id: 1)\npunctual-chaos-x\n";
        assert_eq!(stale_tags(listing, |pid| pid == 42), [41]);
        assert_eq!(stale_tags(listing, |_| true), Vec::<u32>::new());
        assert_eq!(stale_tags("", |_| false), Vec::<u32>::new());
    }
}
