export { ABI_VERSION, DEFAULT_ADDON_PATH, getBinding, loadBinding, classifyLoadError, type NativeBinding } from './binding.js';
export { NativeError, NativeLoadError, PacketOptionError, PacketParseError, RingError } from './errors.js';
export { ipToBytes, macToBytes, bytesToIp } from './address.js';
export * from './packet.js';
export * from './bench.js';
export * from './job.js';
export { RecordRing, TestProducer, type RecordBatch, type RecordRingOptions, type RingStats, type TestProducerOptions } from './ring.js';
export { RECORD_SIZE, RECORD_VERSION, RecordFlag, RecordKind, RecordOffset, decodeRecord, type DecodedRecord, type RecordKindName } from './record.js';
export type * from './probe-engine-types.js';
