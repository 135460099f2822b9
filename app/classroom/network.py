"""The addresses phones can reach this laptop at: IPv4 of the network interfaces, best first.

Phones often fail to resolve ``.local`` names, so the join URL carries an IP address. Docker and
VM bridges and link-local addresses are last: a phone never reaches them.
"""

import ipaddress
import socket

import psutil

VIRTUAL_PREFIXES = ("docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "utun", "tun", "tap")
ANY_ADDRESS = ("0.0.0.0", "::", "")


def lan_addresses() -> list[str]:
    """Non-loopback IPv4 addresses of this machine; physical interfaces first."""
    found: list[tuple[int, str]] = []
    for interface, addresses in psutil.net_if_addrs().items():
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(address.address)
            if ip.is_loopback or ip.is_unspecified:
                continue
            rank = 0 if ip.is_private else 1
            if ip.is_link_local:
                rank = 3
            elif interface.lower().startswith(VIRTUAL_PREFIXES):
                rank = 2
            found.append((rank, address.address))
    return [address for _, address in sorted(set(found))]


def join_addresses(bind_host: str, request_host: str | None) -> list[str]:
    """Addresses to offer on the wall for a server listening on `bind_host`.

    On 0.0.0.0 every LAN address; on one address only that one; on loopback only loopback, and
    the wall then says that phones cannot reach it.
    """
    addresses = lan_addresses() if bind_host in ANY_ADDRESS else [bind_host]
    if request_host and request_host not in addresses and _is_ip(request_host):
        addresses.append(request_host)
    return addresses or ["127.0.0.1"]


def reachable_from_lan(bind_host: str) -> bool:
    if bind_host in ANY_ADDRESS:
        return True
    return _is_ip(bind_host) and not ipaddress.ip_address(bind_host).is_loopback


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
