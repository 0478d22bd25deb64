import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { MemoryFirewall } from '../../testing/memory-firewall.js';
import { fixtureDriver } from '../../controller/__tests__/fixture-driver.js';
import { hostPortDocId, type HostPortDoc } from '../host-ports.js';
import type { PortBinding } from '../../model/types.js';

const tcp = (hostPort: number, more: Partial<PortBinding> = {}): PortBinding => ({ protocol: 'tcp', containerPort: 80, hostPort, ...more });

describe('host port reservations', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([fixtureDriver()], { firewall: new MemoryFirewall(), hostPortRange: [50000, 50002] });
    await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.70.0.0/24' }], ipv6: [{ subnet: 'fd00:70::/64' }] } });
    for (const name of ['a', 'b', 'c', 'd']) await sy.controller.createSandbox({ name });
  });
  afterEach(() => sy.dispose());
  /** Every host-port entry in the store, as `endpoint port`. */
  const held = async () => (await sy.store.list<Partial<HostPortDoc>>('meta')).flatMap((d) => (d.held ?? []).map((h) => `${h.endpoint} ${h.hostPort}`)).sort();
  const ports = async (s: string) => (await sy.controller.inspectSandbox(s)).endpoints.flatMap((e) => e.portBindings.map((b) => `${b.hostIp ?? '*'}:${b.hostPort}/${b.protocol}`));

  it('refuses a taken host port naming the holder, and a wildcard and a specific address of one family overlap; other families and protocols do not', async () => {
    await sy.controller.connect('n', 'a', { portBindings: [tcp(8080, { hostIp: '10.1.1.1' })] });
    await expect(sy.controller.connect('n', 'b', { portBindings: [tcp(8080)] })).rejects.toMatchObject({ code: 'SWY_ERR_PORT_CONFLICT', message: expect.stringContaining('sandbox "a" (endpoint a.n)') });
    await expect(sy.controller.connect('n', 'b', { portBindings: [tcp(8080, { hostIp: '10.1.1.1' })] })).rejects.toMatchObject({ code: 'SWY_ERR_PORT_CONFLICT' });
    expect(await ports('b')).toEqual([]);
    await sy.controller.connect('n', 'b', { portBindings: [tcp(8080, { hostIp: 'fd00::1' }), tcp(8080, { hostIp: '10.1.1.2' }), { ...tcp(8080, { hostIp: '10.1.1.1' }), protocol: 'udp' }] });
    expect(await ports('b')).toEqual(['fd00::1:8080/tcp', '10.1.1.2:8080/tcp', '10.1.1.1:8080/udp']);
  });

  it('picks the lowest free port of the range for host port 0, and says so when the range is used up', async () => {
    await sy.controller.connect('n', 'a', { portBindings: [tcp(50001)] });
    await sy.controller.connect('n', 'b', { portBindings: [tcp(0), tcp(0)] });
    expect(await ports('b')).toEqual(['*:50000/tcp', '*:50002/tcp']);
    await expect(sy.controller.connect('n', 'c', { portBindings: [tcp(0)] })).rejects.toMatchObject({ code: 'SWY_ERR_PORT_RANGE_EXHAUSTED' });
    await sy.controller.connect('n', 'c', { portBindings: [{ ...tcp(0), protocol: 'udp' }] });
    expect(await ports('c')).toEqual(['*:50000/udp']);
  });

  it('gives ports back on disconnect, on sandbox removal and when the connect fails', async () => {
    await sy.controller.connect('n', 'a', { portBindings: [tcp(8080)] });
    await sy.controller.connect('n', 'b', { portBindings: [tcp(8081)] });
    await sy.controller.disconnect('n', 'a');
    await sy.controller.deleteSandbox('b');
    expect(await held()).toEqual([]);
    // A connect that fails after reserving (a bad address) keeps nothing.
    await expect(sy.controller.connect('n', 'c', { portBindings: [tcp(8080)], ipv4: '10.99.0.5' })).rejects.toMatchObject({ code: expect.stringMatching(/^SWY_ERR_/) });
    expect(await held()).toEqual([]);
    await sy.controller.connect('n', 'c', { portBindings: [tcp(8080), tcp(8081)] });
    expect(await held()).toEqual(['c.n 8080', 'c.n 8081']);
  });

  it('drops a reservation its holder never committed (a crash between the two writes), and gc rebuilds the documents from the records', async () => {
    await sy.controller.connect('n', 'a', { portBindings: [tcp(8080)] });
    const ghost = { sandbox: 'ghost', endpoint: 'ghost.n', protocol: 'tcp' as const, hostPort: 9090 };
    await sy.store.transaction(async (tx) => {
      await tx.put<HostPortDoc>('meta', hostPortDocId('tcp', 9090), { held: [ghost] });
      await tx.put<HostPortDoc>('meta', hostPortDocId('tcp', 50000), { held: [{ ...ghost, hostPort: 50000 }] });
      // And a document that lost the entry of a committed holder.
      await tx.delete('meta', hostPortDocId('tcp', 8080));
    });
    await sy.controller.connect('n', 'b', { portBindings: [tcp(9090)] });
    expect(await ports('b')).toEqual(['*:9090/tcp']);
    expect(await held()).toEqual(['b.n 9090', 'ghost.n 50000']);
    await sy.controller.gc();
    expect(await held()).toEqual(['a.n 8080', 'b.n 9090']);
  });

  it('reads the reservation document of its port block to reserve, not every sandbox record', async () => {
    await sy.controller.connect('n', 'a', { portBindings: [tcp(8080)] });
    const lists: string[] = [];
    const store = sy.store;
    const real = store.transaction.bind(store);
    store.transaction = (body, scope) =>
      real(
        (tx) =>
          body({
            ...tx,
            list: (c) => {
              lists.push(c);
              return tx.list(c);
            },
          }),
        scope,
      );
    try {
      await sy.controller.connect('n', 'b', { portBindings: [tcp(8081)] });
    } finally {
      store.transaction = real;
    }
    expect(lists).not.toContain('sandboxes');
  });
});

describe('named ports', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([fixtureDriver()], { firewall: new MemoryFirewall() });
    await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.71.0.0/24' }] } });
  });
  afterEach(() => sy.dispose());

  it('publishes a declared port by name, with its port and protocol, keeping the name', async () => {
    const s = await sy.controller.createSandbox({
      name: 'web',
      ports: [
        { name: 'http', port: 80, protocol: 'tcp' },
        { name: 'dns', port: 53, protocol: 'udp' },
      ],
    });
    expect(s.ports).toEqual([
      { name: 'http', port: 80, protocol: 'tcp' },
      { name: 'dns', port: 53, protocol: 'udp' },
    ]);
    const ep = await sy.controller.connect('n', 'web', {
      portBindings: [
        { name: 'dns', hostPort: 5353, hostIp: '10.1.1.1' },
        { protocol: 'tcp', containerPort: 81, hostPort: 8081 },
      ],
    });
    expect(ep.portBindings).toEqual([
      { name: 'dns', protocol: 'udp', containerPort: 53, hostPort: 5353, hostIp: '10.1.1.1' },
      { protocol: 'tcp', containerPort: 81, hostPort: 8081 },
    ]);
  });

  it('refuses a name the sandbox did not declare, listing those it did, and changes nothing', async () => {
    await sy.controller.createSandbox({ name: 'web', ports: [{ name: 'http', port: 80, protocol: 'tcp' }] });
    const before = { kernel: sy.fake.snapshot(), sandbox: await sy.controller.inspectSandbox('web') };
    const err = await sy.controller.connect('n', 'web', { portBindings: [{ name: 'https', hostPort: 8443 }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: expect.stringContaining('"https"'), hint: expect.stringContaining('http') });
    expect({ kernel: sy.fake.snapshot(), sandbox: await sy.controller.inspectSandbox('web') }).toEqual(before);
    expect(await sy.store.list('meta')).toEqual([]);
  });

  it.each([
    [[{ name: 'Http', port: 80, protocol: 'tcp' }]],
    [[{ name: 'http', port: 0, protocol: 'tcp' }]],
    [[{ name: 'http', port: 80, protocol: 'icmp' }]],
    [
      [
        { name: 'http', port: 80, protocol: 'tcp' },
        { name: 'http', port: 81, protocol: 'tcp' },
      ],
    ],
    ['http=80'],
  ])('refuses bad declarations %j before creating anything', async (ports) => {
    const kernel = sy.fake.snapshot();
    await expect(sy.controller.createSandbox({ name: 'bad', ports: ports as never })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    expect(await sy.controller.listSandboxes()).toEqual([]);
    expect(sy.fake.snapshot()).toEqual(kernel);
  });
});
