/** Protocol constants (RFC 3768 §5, RFC 5798 §5). */

/** IANA protocol number of VRRP (RFC 5798 §5.1.1.4). */
export const IPPROTO_VRRP = 112;
/** IANA protocol number of the IP Authentication Header (RFC 2402): VRRPv2 `auth_type AH`. */
export const IPPROTO_AH = 51;
/** keepalived's sizeof(ipsec_ah_t): next header, payload length, reserved, SPI, sequence, 96-bit ICV. */
export const AH_HEADER_LENGTH = 24;
/** IPv6 next header of ICMPv6 (RFC 4443), which carries Neighbor Discovery (RFC 4861). */
export const IPPROTO_ICMPV6 = 58;
/** RFC 5798 §5.1.1.3: adverts are sent with TTL / Hop Limit 255 and MUST be checked for it. */
export const VRRP_TTL = 255;
/** DSCP CS6 (network control), as keepalived sends: TOS byte 0xc0. */
export const VRRP_TOS = 0xc0;
export const VRRP_MCAST_GROUP4 = '224.0.0.18';
export const VRRP_MCAST_GROUP6 = 'ff02::12';
/** RFC 5798 §5.2.2: the only type. */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** RFC 5798 §5.2.4: priority of the address owner. */
export const PRIORITY_OWNER = 255;
/** RFC 5798 §5.2.4: priority 0 = the master stops participating. */
export const PRIORITY_STOP = 0;
/** Fixed part of the VRRP header (both versions). */
export const VRRP_HEADER_LENGTH = 8;
/** RFC 3768 §5.3.10: authentication data, 8 octets (VRRPv2 only). */
export const VRRP_V2_AUTH_LENGTH = 8;
/** RFC 5798 §5.2.7: Max Adver Int is 12 bits of centiseconds. */
export const VRRP_V3_MAX_INTERVAL_CS = 0x0fff;

/** RFC 3768 §5.3.6 authentication types (VRRPv2). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
