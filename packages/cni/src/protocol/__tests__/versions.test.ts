import { CNI_COMMANDS, type CniCommand } from '../env.js';
import { CNI_ERROR_CODES } from '../errors.js';
import { assertCommandAllowed, assertSupportedVersion, compareVersions, isSupportedVersion, NEWEST_VERSION, newestVersion, parseVersion, SUPPORTED_VERSIONS, type CniVersion } from '../versions.js';
import { expectCniError } from './helpers.js';

describe('versions', () => {
  it('speaks 0.3.1, 0.4.0, 1.0.0 and 1.1.0, newest 1.1.0', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(NEWEST_VERSION).toBe('1.1.0');
    expect(newestVersion(SUPPORTED_VERSIONS)).toBe('1.1.0');
    expect(newestVersion(['1.0.0', '0.3.1', '0.4.0'])).toBe('1.0.0');
  });

  it('compares versions numerically, part by part', () => {
    expect(['1.1.0', '0.3.1', '1.0.0', '0.4.0', '0.10.0', '0.9.9'].sort(compareVersions)).toEqual(['0.3.1', '0.4.0', '0.9.9', '0.10.0', '1.0.0', '1.1.0']);
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(compareVersions('0.3.1', '0.4.0')).toBeLessThan(0);
  });

  it.each(['1.0', '1', 'v1.0.0', '01.0.0', '1.00.0', '1.0.0-rc1', ' 1.0.0', '1.0.0\n', '', '1.0.x'])('does not read %p as a version', (text) => {
    expect(parseVersion(text)).toBeUndefined();
    expect(() => compareVersions(text, '1.0.0')).toThrow(RangeError);
  });

  it('tells supported versions from others', () => {
    expect(isSupportedVersion('1.0.0')).toBe(true);
    expect(isSupportedVersion('0.3.0')).toBe(false);
    expect(isSupportedVersion(1)).toBe(false);
    expect(isSupportedVersion('1.1.0', ['0.4.0', '1.0.0'])).toBe(false);
  });
});

describe('assertSupportedVersion', () => {
  it.each(SUPPORTED_VERSIONS)('accepts %s', (version) => {
    expect(assertSupportedVersion(version)).toBe(version);
  });

  it('reports a missing cniVersion as an invalid network config (7)', () => {
    expect(expectCniError(() => assertSupportedVersion(undefined), 7, 'invalid network config').details).toMatch(/missing/);
  });

  it.each([null, 1.1, true, ['1.0.0'], { v: '1.0.0' }])('reports a cniVersion of type %p as an invalid network config (7)', (value) => {
    expect(expectCniError(() => assertSupportedVersion(value), 7, 'invalid network config').details).toMatch(/must be a string/);
  });

  it.each(['abc', '1.0', 'v1.1.0', ''])('reports the malformed cniVersion %p as an invalid network config (7)', (value) => {
    expectCniError(() => assertSupportedVersion(value), 7, 'invalid network config');
  });

  it.each(['0.1.0', '0.2.0', '0.3.0', '1.2.0', '2.0.0'])('reports the well-formed but unsupported %s as incompatible (1), listing the supported ones', (value) => {
    const error = expectCniError(() => assertSupportedVersion(value), CNI_ERROR_CODES.INCOMPATIBLE_VERSION, 'incompatible CNI versions');
    expect(error.details).toBe(`config is "${value}", plugin supports 0.3.1, 0.4.0, 1.0.0, 1.1.0`);
  });

  it('checks against the plugin list when given one', () => {
    expect(expectCniError(() => assertSupportedVersion('0.3.1', ['1.0.0', '1.1.0']), 1).details).toMatch(/plugin supports 1\.0\.0, 1\.1\.0$/);
  });
});

describe('assertCommandAllowed', () => {
  const refused: [CniCommand, CniVersion][] = [
    ['CHECK', '0.3.1'],
    ['STATUS', '0.3.1'],
    ['STATUS', '0.4.0'],
    ['STATUS', '1.0.0'],
    ['GC', '0.3.1'],
    ['GC', '0.4.0'],
    ['GC', '1.0.0'],
  ];
  const allowed: [CniCommand, CniVersion][] = [
    ['CHECK', '0.4.0'],
    ['CHECK', '1.0.0'],
    ['CHECK', '1.1.0'],
    ['STATUS', '1.1.0'],
    ['GC', '1.1.0'],
  ];

  it.each(refused)('refuses %s with cniVersion %s as incompatible (1)', (command, version) => {
    const error = expectCniError(() => assertCommandAllowed(command, version), 1, `config version does not allow ${command}`);
    expect(error.details).toContain(version);
  });

  it.each(allowed)('allows %s with cniVersion %s', (command, version) => {
    expect(() => assertCommandAllowed(command, version)).not.toThrow();
  });

  it('allows ADD, DEL and VERSION in every supported version', () => {
    for (const command of CNI_COMMANDS.filter((c) => ['ADD', 'DEL', 'VERSION'].includes(c))) {
      for (const version of SUPPORTED_VERSIONS) expect(() => assertCommandAllowed(command, version)).not.toThrow();
    }
  });
});
