//! Boot-time ARP request for the gateway.
//!
//! QEMU's user-mode network (slirp) learns the guest's MAC address only from
//! packets the guest sends; until then, a forwarded host connection waits about
//! 2 s for slirp's own ARP to time out. One ARP request at boot fills slirp's
//! table (and its reply fills smoltcp's neighbour cache with the gateway).

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, Ipv4Address,
};

/// Ethernet header (14) + ARP for IPv4 over Ethernet (28).
pub const ARP_FRAME_LEN: usize = 42;

/// Builds a broadcast ARP request "who has `target`? tell `ip` (`mac`)".
pub fn arp_request(
    mac: EthernetAddress,
    ip: Ipv4Address,
    target: Ipv4Address,
) -> [u8; ARP_FRAME_LEN] {
    let mut frame = [0u8; ARP_FRAME_LEN];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.set_dst_addr(EthernetAddress::BROADCAST);
    eth.set_src_addr(mac);
    eth.set_ethertype(EthernetProtocol::Arp);
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_request_parses_back() {
        let mac = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let ip = Ipv4Address::new(10, 0, 2, 15);
        let gw = Ipv4Address::new(10, 0, 2, 2);
        let frame = arp_request(mac, ip, gw);
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(eth.src_addr(), mac);
        assert_eq!(eth.ethertype(), EthernetProtocol::Arp);
        let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
        assert_eq!(
            arp,
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: mac,
                source_protocol_addr: ip,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: gw,
            }
        );
    }
}
