/** Every failure of this package is a TestnetError with a stable `code`. */
export type TestnetErrorCode =
  | 'ERR_TESTNET_SPEC'
  | 'ERR_TESTNET_OPTIONS'
  | 'ERR_TESTNET_UNKNOWN_LAB'
  | 'ERR_TESTNET_NOT_ROOT'
  | 'ERR_TESTNET_MISSING_TOOL'
  | 'ERR_TESTNET_COMMAND'
  | 'ERR_TESTNET_SERVER'
  | 'ERR_TESTNET_STATE'
  | 'ERR_TESTNET_ADDRESS';

export class TestnetError extends Error {
  readonly code: TestnetErrorCode;

  constructor(code: TestnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestnetError';
    this.code = code;
  }
}
