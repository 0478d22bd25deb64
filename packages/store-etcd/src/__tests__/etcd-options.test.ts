import { expectCoded, caught } from '@switchyard/core/testing';
import { resolveEtcdOptions } from '../etcd-options.js';

// How a store's options are checked before any connection: every refusal coded, with a hint.
describe('etcd store options', () => {
  it('take an endpoint list, with defaults filled in', () => {
    expect(resolveEtcdOptions({ endpoints: 'http://10.0.0.1:2379, http://10.0.0.2:2379', hostName: 'h1' })).toMatchObject({
      endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      hostName: 'h1',
      prefix: '/switchyard/',
      maxAttempts: 50,
    });
  });

  it.each([
    ['no endpoint', { endpoints: ' ' }, 'No etcd endpoint'],
    ['another scheme', { endpoints: 'ftp://10.0.0.1' }, 'neither http nor https'],
    ['https without TLS settings', { endpoints: 'https://10.0.0.1:2379' }, 'no CA was given'],
    ['a client certificate without the CA (the CLI passes an empty one)', { endpoints: 'https://10.0.0.1:2379', tls: { ca: '', cert: 'c.pem', key: 'k.pem' } }, 'need the CA bundle'],
    ['a certificate without its key', { endpoints: 'https://10.0.0.1:2379', tls: { ca: 'ca.pem', cert: 'c.pem' } }, 'needs its key'],
    ['a host name with a space', { endpoints: 'http://10.0.0.1:2379', hostName: 'h 1' }, 'not a DNS name'],
  ])('refuse %s with SWY_ERR_INVALID_OPTION', async (_what, options, words) => {
    expectCoded(await caught(() => resolveEtcdOptions(options)), 'SWY_ERR_INVALID_OPTION', words);
  });
});
