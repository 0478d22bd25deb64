import { readFileSync } from 'node:fs';
import { EXIT_CODES } from '../output/failure.js';
import { harness, type Harness } from './harness.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('errors, exit codes and usage', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.dispose());

  test('exit codes are distinct per error kind', () => {
    expect(EXIT_CODES).toEqual({ Internal: 1, InvalidArgument: 2, NotFound: 3, Conflict: 4, Unavailable: 5, NotImplemented: 6 });
  });

  test('--version prints the package version, and JSON under --json', async () => {
    expect(await h.run('--version')).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect((await h.run('--version', '--json')).json()).toEqual({ version });
  });

  test('--help lists every command and exits 0', async () => {
    const r = await h.run('--help');
    expect(r.code).toBe(0);
    for (const c of ['network', 'sandbox', 'connect', 'disconnect', 'run', 'doctor', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  test('an unknown option is a usage error: exit 2, SWY_ERR_USAGE, and a hint naming the command', async () => {
    const r = await h.run('network', 'ls', '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown option '--bogus'\nhint: See `switchyard network ls --help` for usage.\ncode: SWY_ERR_USAGE\n");
  });

  test('usage errors come out as JSON under --json', async () => {
    const r = await h.run('sandbox', 'create', '--json');
    expect(r.code).toBe(2);
    expect(r.json()).toEqual({ error: { code: 'SWY_ERR_USAGE', kind: 'InvalidArgument', message: "missing required argument 'name'", hint: 'See `switchyard sandbox create --help` for usage.' } });
  });

  test('a missing argument names it', async () => {
    const r = await h.run('connect', 'frontend');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: missing required argument 'sandbox'");
  });

  test('an unknown command is a usage error with a suggestion', async () => {
    const r = await h.run('netwrk');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'netwrk'");
    expect(r.stderr).toContain('network');
  });

  test('a command group without a subcommand shows its help and exits 2', async () => {
    const r = await h.run('network');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: switchyard network');
  });

  test('-o without key=value is refused with exit 2 and an example', async () => {
    const r = await h.run('network', 'create', 'n1', '-o', 'mtu');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: -o "mtu" is not in key=value form\nhint: Write -o key=value, e.g. -o mtu=1400.\ncode: SWY_ERR_INVALID_OPTION\n');
  });

  test('an option the driver does not know is refused by the driver', async () => {
    const r = await h.run('network', 'create', 'n1', '-o', 'colour=blue', '--json');
    expect(r.code).toBe(2);
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: 'The bridge driver has no option "colour"' });
  });

  test('a bad --subnet is refused, and an IPv6 one is pointed at --subnet6', async () => {
    const bad = await h.run('network', 'create', 'n1', '--subnet', '10.1.0.0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('code: SWY_ERR_INVALID_CIDR');
    const v6 = await h.run('network', 'create', 'n1', '--subnet', 'fd00::/64');
    expect(v6.stderr).toContain('(IPv6 goes in --subnet6)');
  });

  test('an unknown driver exits 3 (NotFound)', async () => {
    const r = await h.run('network', 'create', 'n1', '--driver', 'nosuch', '--json');
    expect(r.code).toBe(3);
    expect(r.json().error.code).toBe('SWY_ERR_DRIVER_NOT_FOUND');
  });

  test('inspecting an unknown network or sandbox exits 3', async () => {
    expect((await h.run('network', 'inspect', 'ghost')).code).toBe(3);
    const r = await h.run('sandbox', 'inspect', 'ghost');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: No sandbox named or with id "ghost"\nhint: List sandboxes with `switchyard sandbox ls`.\ncode: SWY_ERR_SANDBOX_NOT_FOUND\n');
  });

  test('publishing a port on a host without a firewall backend is SWY_ERR_FIREWALL_UNAVAILABLE (exit 5; run exits 125, as docker run) and leaves nothing', async () => {
    h.deps.firewall = () => undefined;
    const r = await h.run('run', '--net=default', '--port=80:8080', '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('code: SWY_ERR_FIREWALL_UNAVAILABLE');
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
    expect((await h.run('network', 'ls', '--json')).json().networks).toEqual([]);
  });

  test('an unexpected error exits 1 and says it is a bug', async () => {
    h.deps.createSwitchyard = async () => {
      throw new TypeError('boom');
    };
    const r = await h.run('network', 'ls', '--json');
    expect(r.code).toBe(1);
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_INTERNAL', kind: 'Internal', message: 'unexpected error: boom' });
  });

  test('a teardown failure exits 1 and lists each cause under the error', async () => {
    await h.run('network', 'create', 'frontend');
    h.fake.addPathNetns('/proc/4242/ns/net');
    await h.run('sandbox', 'create', 'adopted', '--netns', '/proc/4242/ns/net');
    await h.run('connect', 'frontend', 'adopted');
    h.fake.failAt((s) => s.op.op === 'link.del');
    const r = await h.run('sandbox', 'rm', 'adopted');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: remove sandbox adopted: 1 cleanup step\(s\) failed\n {2}cause: .*injected failure/);
    expect(r.stderr).toContain('code: SWY_ERR_TEARDOWN_FAILED');
  });
});
