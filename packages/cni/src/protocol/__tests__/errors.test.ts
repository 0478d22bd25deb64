import { CNI_ERROR_CODES, CniError, UNEXPECTED_ERROR_CODE } from '../errors.js';

describe('CNI_ERROR_CODES', () => {
  it('holds the well-known codes of SPEC.md 1.1.0', () => {
    expect(CNI_ERROR_CODES).toEqual({
      INCOMPATIBLE_VERSION: 1,
      UNSUPPORTED_FIELD: 2,
      UNKNOWN_CONTAINER: 3,
      INVALID_ENVIRONMENT: 4,
      IO_FAILURE: 5,
      DECODING_FAILURE: 6,
      INVALID_NETWORK_CONFIG: 7,
      TRY_AGAIN_LATER: 11,
      PLUGIN_NOT_AVAILABLE: 50,
      PLUGIN_NOT_AVAILABLE_LIMITED_CONNECTIVITY: 51,
    });
  });

  it('keeps the code for unexpected errors in the plugin range (100 and up)', () => {
    expect(UNEXPECTED_ERROR_CODE).toBe(100);
    expect(Object.values(CNI_ERROR_CODES)).not.toContain(UNEXPECTED_ERROR_CODE);
  });
});

describe('CniError', () => {
  it('is an Error carrying code, msg and details', () => {
    const error = new CniError(7, 'invalid network config', 'name is missing');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CniError');
    expect({ code: error.code, msg: error.msg, details: error.details }).toEqual({ code: 7, msg: 'invalid network config', details: 'name is missing' });
    expect(error.message).toBe('invalid network config: name is missing');
  });

  it('renders the spec error result with details', () => {
    expect(new CniError(11, 'try again later', 'lock busy').toJSON('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 11, msg: 'try again later', details: 'lock busy' });
  });

  it('leaves details out of the result when there are none', () => {
    const json = new CniError(3, 'container unknown').toJSON('0.4.0');
    expect(json).toEqual({ cniVersion: '0.4.0', code: 3, msg: 'container unknown' });
    expect(Object.keys(json)).toEqual(['cniVersion', 'code', 'msg']);
    expect(new CniError(3, 'container unknown').message).toBe('container unknown');
  });

  it('stringifies to the spec error result through toJSON(version)', () => {
    const text = JSON.stringify(new CniError(50, 'plugin not available', 'daemon down').toJSON('1.1.0'));
    expect(JSON.parse(text)).toEqual({ cniVersion: '1.1.0', code: 50, msg: 'plugin not available', details: 'daemon down' });
  });

  it.each([-1, 1.5, NaN, Infinity, 2 ** 53])('refuses %p as a code (the spec types it as a uint)', (code) => {
    expect(() => new CniError(code, 'x')).toThrow(RangeError);
  });

  it('accepts plugin-specific codes of 100 and up', () => {
    expect(new CniError(4242, 'plugin specific').toJSON('1.0.0').code).toBe(4242);
  });
});
