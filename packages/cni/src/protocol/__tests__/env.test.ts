import { CNI_COMMANDS, containerIdProblem, ifnameProblem, parseCniArgs, parseCniPath, parseEnvironment, REQUIRED_ENVIRONMENT, type CniCommand } from '../env.js';
import { expectCniError, envFor } from './helpers.js';

describe('parseEnvironment', () => {
  it('reads every variable of an ADD', () => {
    expect(parseEnvironment(envFor('ADD'))).toEqual({
      command: 'ADD',
      containerId: 'c0ffee-01',
      netns: '/run/netns/test',
      ifname: 'eth0',
      args: { K8S_POD_NAME: 'web-0', IgnoreUnknown: '1' },
      path: ['/opt/cni/bin', '/usr/libexec/cni'],
    });
  });

  it('requires per command what SPEC.md 1.1 requires (CNI_PATH only for GC)', () => {
    expect(REQUIRED_ENVIRONMENT).toEqual({
      ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
      CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
      DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
      STATUS: [],
      GC: ['CNI_PATH'],
      VERSION: [],
    });
  });

  const requirements = CNI_COMMANDS.flatMap((command) => REQUIRED_ENVIRONMENT[command].map((name) => [command, name] as [CniCommand, string]));

  it.each(requirements)('refuses %s without %s (code 4, naming it)', (command, name) => {
    expect(expectCniError(() => parseEnvironment(envFor(command, { [name]: undefined })), 4).msg).toBe(`missing environment variables: ${name}`);
  });

  it.each(requirements)('counts an empty %s %s as missing', (command, name) => {
    expect(expectCniError(() => parseEnvironment(envFor(command, { [name]: '' })), 4).msg).toContain(name);
  });

  it('names every missing variable at once', () => {
    const error = expectCniError(() => parseEnvironment({ CNI_COMMAND: 'ADD' }), 4);
    expect(error.msg).toBe('missing environment variables: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME');
  });

  it('lets DEL run without CNI_NETNS (the namespace may be gone) and without CNI_PATH', () => {
    const env = parseEnvironment(envFor('DEL', { CNI_NETNS: undefined, CNI_PATH: undefined }));
    expect(env).toEqual({ command: 'DEL', containerId: 'c0ffee-01', ifname: 'eth0', args: { K8S_POD_NAME: 'web-0', IgnoreUnknown: '1' }, path: [] });
    expect('netns' in env).toBe(false);
  });

  it('treats an empty CNI_NETNS on DEL as absent', () => {
    expect(parseEnvironment(envFor('DEL', { CNI_NETNS: '' })).netns).toBeUndefined();
  });

  it('needs nothing but CNI_COMMAND for VERSION', () => {
    expect(parseEnvironment({ CNI_COMMAND: 'VERSION' })).toEqual({ command: 'VERSION', args: {}, path: [] });
  });

  it.each(['STATUS', 'GC'] as const)('reads only CNI_PATH for %s, ignoring stray attachment variables even when invalid', (command) => {
    const env = parseEnvironment({ CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin', CNI_CONTAINERID: '-bad', CNI_IFNAME: 'a/b', CNI_ARGS: 'novalue', CNI_NETNS: '/x' });
    expect(env).toEqual({ command, args: {}, path: ['/opt/cni/bin'] });
  });

  it('refuses a missing CNI_COMMAND (code 4, naming it)', () => {
    expect(expectCniError(() => parseEnvironment({}), 4).msg).toBe('missing environment variables: CNI_COMMAND');
  });

  it.each(['add', 'FOO', 'ADD ', 'DELETE', 'version'])('refuses the command %p as unknown (code 4)', (command) => {
    expect(expectCniError(() => parseEnvironment(envFor(command)), 4, 'unknown CNI_COMMAND').details).toContain(JSON.stringify(command));
  });

  it('names every invalid variable at once', () => {
    const error = expectCniError(() => parseEnvironment(envFor('ADD', { CNI_CONTAINERID: '_x', CNI_IFNAME: 'a:b', CNI_ARGS: 'oops' })), 4);
    expect(error.msg).toBe('invalid environment variables: CNI_CONTAINERID, CNI_IFNAME, CNI_ARGS');
    expect(error.details).toMatch(/^CNI_CONTAINERID .*; CNI_IFNAME .*; CNI_ARGS .*oops/);
  });

  it.each(['-abc', '_abc', '.abc', 'a b', 'a/b', 'a:b', 'é1', 'a\nb'])('refuses the container id %p (code 4)', (id) => {
    expect(expectCniError(() => parseEnvironment(envFor('CHECK', { CNI_CONTAINERID: id })), 4).msg).toBe('invalid environment variables: CNI_CONTAINERID');
  });

  it('validates the interface name on DEL too', () => {
    expect(expectCniError(() => parseEnvironment(envFor('DEL', { CNI_IFNAME: '..' })), 4).msg).toBe('invalid environment variables: CNI_IFNAME');
  });
});

describe('containerIdProblem', () => {
  it.each(['a', '0', 'c0ffee', 'A_b.c-d', '3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755', 'pod.ns_1-x'])('accepts %p', (id) => {
    expect(containerIdProblem(id)).toBeUndefined();
  });

  it.each(['', '-a', '_a', '.a', 'a b', 'a+b', 'a/b', 'é', 'a\0'])('refuses %p', (id) => {
    expect(containerIdProblem(id)).toEqual(expect.any(String));
  });
});

describe('ifnameProblem', () => {
  it.each(['eth0', 'net1', 'a', 'a'.repeat(15), 'eth0.100', 'é', '名', '...', '-x', 'eth\u0085'])('accepts %p as Linux does', (name) => {
    expect(ifnameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['a'.repeat(16), '16 bytes'],
    ['é'.repeat(8), '16 bytes of 8 characters'],
    ['.', 'dot'],
    ['..', 'dot dot'],
    ['a/b', 'slash'],
    ['a:b', 'colon'],
    ['a b', 'space'],
    ['a\tb', 'tab'],
    ['a\nb', 'newline'],
    ['a\vb', 'vertical tab'],
    ['a\fb', 'form feed'],
    ['a\rb', 'carriage return'],
    ['à', 'a UTF-8 byte 0xA0, a space to the kernel'],
    ['a\u00a0', 'no-break space'],
    ['a\0b', 'NUL'],
  ])('refuses %p (%s)', (name) => {
    expect(ifnameProblem(name)).toEqual(expect.any(String));
  });
});

describe('CNI_ARGS', () => {
  it.each([
    ['FOO=BAR;ABC=123', { FOO: 'BAR', ABC: '123' }],
    ['', {}],
    ['A=', { A: '' }],
    ['A=b=c', { A: 'b=c' }],
    ['A=1;', { A: '1' }],
    [';A=1;;B=2', { A: '1', B: '2' }],
    ['A=1;A=2', { A: '2' }],
    ['K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;IgnoreUnknown=1', { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', IgnoreUnknown: '1' }],
  ])('reads %p', (text, expected) => {
    expect(parseCniArgs(text)).toEqual(expected);
  });

  it('keeps a __proto__ key as data', () => {
    const args = parseCniArgs('__proto__=x;constructor=y');
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    expect(Object.keys(args)).toEqual(['__proto__', 'constructor']);
    expect(args.constructor).toBe('y');
  });

  it.each(['FOO', 'A=1;B', '=x', 'A=1;=2'])('refuses %p (code 4, naming CNI_ARGS)', (text) => {
    expect(expectCniError(() => parseCniArgs(text), 4).msg).toBe('invalid environment variables: CNI_ARGS');
    expect(expectCniError(() => parseEnvironment(envFor('ADD', { CNI_ARGS: text })), 4).msg).toBe('invalid environment variables: CNI_ARGS');
  });

  it('is {} when unset', () => {
    expect(parseEnvironment(envFor('ADD', { CNI_ARGS: undefined })).args).toEqual({});
  });
});

describe('CNI_PATH', () => {
  it('splits on ":" and drops empty entries', () => {
    expect(parseCniPath('/opt/cni/bin::/usr/lib/cni:')).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    expect(parseCniPath(':')).toEqual([]);
    expect(parseCniPath('')).toEqual([]);
    expect(parseEnvironment({ CNI_COMMAND: 'GC', CNI_PATH: ':/a:' }).path).toEqual(['/a']);
  });
});
