export { ABI_VERSION, DEFAULT_ADDON_PATH, getBinding, loadBinding, classifyLoadError, type NativeBinding } from './binding.js';
export { NativeError, NativeLoadError, PacketOptionError, PacketParseError, RingError } from './errors.js';
export { ipToBytes, macToBytes, bytesToIp } from './address.js';
export * from './packet.js';
export * from './bench.js';
export * from './job.js';
