export { formatIpv6, ipv4ToUint32 } from './address.js';
