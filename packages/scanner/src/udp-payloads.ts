// UDP scan payloads: a service answers only a datagram it understands, and an
// answer is the only proof that a UDP port is open. Each payload below is
// built byte by byte from its protocol's specification (cited per payload),
// asks for nothing that changes state on the target, and is small. Ports
// without a payload get an empty datagram (a closed port still answers it with
// ICMP port unreachable).

const enc = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** DNS name in wire form (RFC 1035 §3.1): length-prefixed labels, then the root's zero. */
function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter(Boolean)) out.push(label.length, ...enc(label));
  out.push(0);
  return out;
}

/**
 * DNS (RFC 1035 §4.1): header ID 0x7066 ("pf"), flags 0x0100 (a standard query, RD set),
 * QDCOUNT 1, then the question: the root zone ("."), QTYPE NS (2), QCLASS IN (1). Every
 * resolver and authoritative server answers it (an answer, a referral or REFUSED).
 */
export function dnsQuery(): Uint8Array {
  return Uint8Array.from([...u16(0x7066), ...u16(0x0100), ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...dnsName('.'), ...u16(2), ...u16(1)]);
}

/**
 * NTP (RFC 5905 §7.3): a 48-byte client packet. First byte LI = 3 (clock not synchronised),
 * VN = 4, Mode = 3 (client): 0b11_100_011 = 0xe3; the rest zero (stratum, poll, precision,
 * root delay/dispersion, reference id and the four timestamps). A server answers mode 4.
 */
export function ntpRequest(): Uint8Array {
  const b = new Uint8Array(48);
  b[0] = 0xe3;
  return b;
}

/** BER TLV (X.690 §8.1) with a short-form length (all SNMP values here are < 128 bytes). */
function tlv(tag: number, content: number[]): number[] {
  if (content.length > 127) throw new RangeError('tlv: content longer than a short-form length');
  return [tag, content.length, ...content];
}

/**
 * SNMPv2c GetRequest (RFC 3416 §3, message per RFC 1901 §3): SEQUENCE { version INTEGER 1
 * (v2c), community OCTET STRING "public", GetRequest-PDU [0] { request-id 1, error-status 0,
 * error-index 0, variable-bindings { { sysDescr.0 = 1.3.6.1.2.1.1.1.0, NULL } } } }.
 * OID encoding (X.690 §8.19): 1.3 → 40·1 + 3 = 0x2b, then 6 1 2 1 1 1 0.
 */
export function snmpGetRequest(community = 'public'): Uint8Array {
  const oid = [0x2b, 6, 1, 2, 1, 1, 1, 0];
  const varbind = tlv(0x30, [...tlv(0x06, oid), ...tlv(0x05, [])]);
  const pdu = tlv(0xa0, [...tlv(0x02, [0, 0, 0, 1]), ...tlv(0x02, [0]), ...tlv(0x02, [0]), ...tlv(0x30, varbind)]);
  return Uint8Array.from(tlv(0x30, [...tlv(0x02, [1]), ...tlv(0x04, enc(community)), ...pdu]));
}

/**
 * NetBIOS name service NBSTAT query (RFC 1002 §4.2.18, "NODE STATUS REQUEST"): NAME_TRN_ID
 * 0x7066, flags 0 (query, no broadcast), QDCOUNT 1; QUESTION_NAME is "*" padded with NULs
 * to 16 bytes in first-level encoding (RFC 1001 §14.1: each half-byte + 'A', so '*' = 0x2a
 * → "CK", 0x00 → "AA"), a 32-byte label; QUESTION_TYPE NBSTAT (0x0021), CLASS IN (0x0001).
 */
export function netbiosNodeStatus(): Uint8Array {
  const encoded = netbiosEncodeName('*', 0);
  return Uint8Array.from([...u16(0x7066), ...u16(0), ...u16(1), ...u16(0), ...u16(0), ...u16(0), 32, ...encoded, 0, ...u16(0x0021), ...u16(0x0001)]);
}

/** NetBIOS first-level encoding (RFC 1001 §14.1) of a name padded to 16 bytes with `pad`: 32 bytes 'A'–'P'. */
export function netbiosEncodeName(name: string, pad = 0x20): number[] {
  const bytes = [...enc(name.slice(0, 16))];
  while (bytes.length < 16) bytes.push(pad);
  const out: number[] = [];
  for (const c of bytes) out.push(0x41 + (c >> 4), 0x41 + (c & 0xf));
  return out;
}

/**
 * SSDP M-SEARCH (UPnP Device Architecture 2.0 §1.3.2; the SSDP draft draft-cai-ssdp-v1-03
 * §4): an HTTP-over-UDP request, CRLF line ends, searching for everything (ssdp:all).
 */
export function ssdpMSearch(): Uint8Array {
  return Uint8Array.from(enc('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n'));
}

/**
 * mDNS / DNS-SD (RFC 6762 §5.4, RFC 6763 §9): a one-shot query sent to the host's port 5353
 * (not the group), ID 0x7066, for PTR records of the service-enumeration name
 * "_services._dns-sd._udp.local", QCLASS IN with the unicast-response bit (0x8001) so the
 * answer comes back to us, as RFC 6762 §5.5 allows.
 */
export function mdnsQuery(): Uint8Array {
  return Uint8Array.from([...u16(0x7066), ...u16(0), ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...dnsName('_services._dns-sd._udp.local'), ...u16(12), ...u16(0x8001)]);
}

/**
 * ONC RPC (RFC 5531 §9) call to the portmapper (RFC 1833: program 100000, version 2),
 * procedure 0 (NULL: does nothing, always answered): xid 0x70660001, msg_type CALL (0),
 * rpcvers 2, prog, vers, proc, credentials and verifier AUTH_NONE (flavor 0, length 0).
 */
export function rpcPortmapNull(): Uint8Array {
  return Uint8Array.from([...u32(0x70660001), ...u32(0), ...u32(2), ...u32(100000), ...u32(2), ...u32(0), ...u32(0), ...u32(0), ...u32(0), ...u32(0)]);
}

/**
 * IKEv1 Main Mode, first message (RFC 2408 §3.1, §3.4–3.6; RFC 2409 §5, appendix A):
 * ISAKMP header (initiator cookie "portflow", responder cookie 0, next payload SA (1),
 * version 1.0 (0x10), exchange Identity Protection (2), flags 0, message id 0, length 80)
 * then an SA payload (DOI 1 IPsec, situation SIT_IDENTITY_ONLY) with one proposal
 * (#1, PROTO_ISAKMP, no SPI, one transform) with one transform (#1, KEY_IKE) offering
 * 3DES-CBC (5), SHA (2), pre-shared key (1), MODP group 2 and a lifetime of 28,800 s,
 * as basic (TV) attributes (RFC 2409 appendix A numbers). A responder answers with its
 * own SA or a NOTIFY (NO-PROPOSAL-CHOSEN): either proves the port open.
 */
export function ikeMainMode(): Uint8Array {
  const attr = (type: number, value: number) => [...u16(0x8000 | type), ...u16(value)];
  const attrs = [...attr(1, 5), ...attr(2, 2), ...attr(3, 1), ...attr(4, 2), ...attr(11, 1), ...attr(12, 28800)];
  const transform = [0, 0, ...u16(8 + attrs.length), 1, 1, 0, 0, ...attrs];
  const proposal = [0, 0, ...u16(8 + transform.length), 1, 1, 0, 1, ...transform];
  const sa = [0, 0, ...u16(12 + proposal.length), ...u32(1), ...u32(1), ...proposal];
  const header = [...enc('portflow'), ...new Array<number>(8).fill(0), 1, 0x10, 2, 0, ...u32(0), ...u32(28 + sa.length)];
  return Uint8Array.from([...header, ...sa]);
}

/**
 * SIP OPTIONS (RFC 3261 §11, the mandatory headers of §8.1.1: Via with the magic cookie
 * branch "z9hG4bK", Max-Forwards, To, From with a tag, Call-ID, CSeq; Content-Length 0).
 * Any SIP server answers OPTIONS (200, 4xx or 5xx).
 */
export function sipOptions(): Uint8Array {
  return Uint8Array.from(
    enc(
      'OPTIONS sip:portflow@invalid SIP/2.0\r\n' +
        'Via: SIP/2.0/UDP portflow.invalid;branch=z9hG4bK7066;rport\r\n' +
        'Max-Forwards: 70\r\n' +
        'To: <sip:portflow@invalid>\r\n' +
        'From: <sip:portflow@portflow.invalid>;tag=7066\r\n' +
        'Call-ID: 7066@portflow.invalid\r\n' +
        'CSeq: 1 OPTIONS\r\n' +
        'Accept: application/sdp\r\n' +
        'Content-Length: 0\r\n\r\n',
    ),
  );
}

/**
 * TFTP read request (RFC 1350 §5): opcode RRQ (1), filename, NUL, mode "octet", NUL. A server
 * answers with DATA or ERROR (file not found): both prove the port open; nothing is written.
 */
export function tftpReadRequest(): Uint8Array {
  return Uint8Array.from([...u16(1), ...enc('portflow.txt'), 0, ...enc('octet'), 0]);
}

/**
 * memcached over UDP (memcached protocol.txt, "UDP protocol"): the 8-byte frame header
 * (request id 0x7066, sequence 0, datagrams 1, reserved 0) then the text command
 * "version\r\n", answered with "VERSION x.y.z".
 */
export function memcachedVersion(): Uint8Array {
  return Uint8Array.from([...u16(0x7066), ...u16(0), ...u16(1), ...u16(0), ...enc('version\r\n')]);
}

/**
 * RADIUS Status-Server (RFC 5997 §2, RFC 2865 §3): code 12, identifier 0x70, length 38,
 * a 16-byte request authenticator, and the Message-Authenticator attribute (80) the RFC
 * requires, here zero (without the shared secret it cannot be right: a server that
 * drops it silently leaves the port open|filtered, as it is without a payload).
 */
export function radiusStatusServer(): Uint8Array {
  const authenticator = enc('portflow-radius!');
  return Uint8Array.from([12, 0x70, ...u16(38), ...authenticator, 80, 18, ...new Array<number>(16).fill(0)]);
}

/** The payload of every port that has one (both ports of a protocol that has two). */
export function defaultUdpPayloads(): Map<number, Uint8Array> {
  return new Map<number, Uint8Array>([
    [53, dnsQuery()],
    [69, tftpReadRequest()],
    [111, rpcPortmapNull()],
    [123, ntpRequest()],
    [137, netbiosNodeStatus()],
    [161, snmpGetRequest()],
    [500, ikeMainMode()],
    [1812, radiusStatusServer()],
    [1900, ssdpMSearch()],
    [5060, sipOptions()],
    [5353, mdnsQuery()],
    [11211, memcachedVersion()],
  ]);
}
