import { utimesSync as utimesRaw, writeFileSync } from 'node:fs';
import { Records } from '../records.js';
import { StateDocs } from './state-docs.js';

let docs: StateDocs;
let records: Records;

beforeEach(() => {
  docs = new StateDocs();
  records = new Records({ stateDir: docs.stateDir });
  docs.network('front', { dns: true, gateway4: '10.1.0.1', gateway6: 'fd01::1' });
  docs.network('back', { dns: true, gateway4: '10.2.0.1' });
  docs.network('quiet', { dns: false, gateway4: '10.3.0.1' });
  docs.sandbox('web', [{ network: 'front', ipv4: '10.1.0.2/24', ipv6: 'fd01::2/64', aliases: ['www', 'Portal'] }], 'webhost');
  docs.sandbox('api', [
    { network: 'front', ipv4: '10.1.0.3/24' },
    { network: 'back', ipv4: '10.2.0.3/24', aliases: ['backend'] },
  ]);
  docs.sandbox('db', [{ network: 'back', ipv4: '10.2.0.4/24' }]);
  docs.sandbox('lone', [{ network: 'quiet', ipv4: '10.3.0.2/24' }]);
  records.check();
});

afterEach(() => docs.cleanup());

const data = (r: ReturnType<Records['lookup']>) => (r.local ? r.answers.map((a) => `${a.type} ${a.type === 'A' || a.type === 'AAAA' || a.type === 'PTR' ? a.data : ''}`) : 'not local');

test('serves the networks with DNS, a gateway and an endpoint, with their gateway addresses', () => {
  docs.network('empty', { dns: true, gateway4: '10.4.0.1' });
  docs.network('nogw', { dns: true });
  docs.sandbox('x', [{ network: 'nogw', ipv4: '10.5.0.2/24' }]);
  records.check();
  expect(records.servedNetworks()).toEqual([
    { id: 'back-id', name: 'back', addresses: ['10.2.0.1'] },
    { id: 'front-id', name: 'front', addresses: ['10.1.0.1', 'fd01::1'] },
  ]);
});

test('answers a neighbour by name, host name and aliases, case-insensitively, trailing dot or not', () => {
  expect(data(records.lookup('10.1.0.3', 'web', 'A'))).toEqual(['A 10.1.0.2']);
  expect(data(records.lookup('10.1.0.3', 'WebHost.', 'A'))).toEqual(['A 10.1.0.2']);
  expect(data(records.lookup('10.1.0.3', 'www', 'A'))).toEqual(['A 10.1.0.2']);
  expect(data(records.lookup('10.1.0.3', 'portal.', 'AAAA'))).toEqual(['AAAA fd01::2']);
  expect(data(records.lookup('10.1.0.3', 'web', 'ANY'))).toEqual(['A 10.1.0.2', 'AAAA fd01::2']);
});

test('a local name asked for a type it has no record of is NODATA; an unknown name is not local', () => {
  expect(records.lookup('10.1.0.2', 'api', 'AAAA')).toEqual({ local: true, answers: [] });
  expect(records.lookup('10.1.0.2', 'api', 'MX')).toEqual({ local: true, answers: [] });
  expect(records.lookup('10.1.0.2', 'api', 'TXT')).toEqual({ local: true, answers: [] });
  expect(records.lookup('10.1.0.2', 'example.com', 'A')).toEqual({ local: false });
  expect(records.lookup('10.1.0.2', 'web.example.com', 'A')).toEqual({ local: false });
});

test('an asker sees the sandboxes of every network its sandbox shares with DNS, and no others', () => {
  // api is on front and back: it sees web (front), db (back) and the alias only its back endpoint has.
  expect(data(records.lookup('10.1.0.3', 'db', 'A'))).toEqual(['A 10.2.0.4']);
  expect(data(records.lookup('10.2.0.3', 'web', 'A'))).toEqual(['A 10.1.0.2']);
  expect(data(records.lookup('10.1.0.3', 'backend', 'A'))).toEqual(['A 10.2.0.3']);
  // Its own name answers with the addresses of both its endpoints.
  expect(data(records.lookup('10.1.0.3', 'api', 'A'))).toEqual(['A 10.1.0.3', 'A 10.2.0.3']);
  // web is on front only: db and back's alias are not local to it.
  expect(records.lookup('10.1.0.2', 'db', 'A')).toEqual({ local: false });
  expect(records.lookup('10.1.0.2', 'backend', 'A')).toEqual({ local: false });
  // db, on back only, does not see web; from IPv6, web sees api.
  expect(records.lookup('10.2.0.4', 'web', 'A')).toEqual({ local: false });
  expect(data(records.lookup('fd01:0::2', 'api', 'A'))).toEqual(['A 10.1.0.3']);
});

test('an asker that is no endpoint, or only on a network without DNS, gets no local names', () => {
  expect(records.lookup('192.0.2.9', 'web', 'A')).toEqual({ local: false });
  expect(records.lookup('10.3.0.2', 'web', 'A')).toEqual({ local: false });
  expect(records.lookup('10.1.0.3', 'lone', 'A')).toEqual({ local: false });
  expect(records.lookup('not an address', 'web', 'A')).toEqual({ local: false });
});

test('a sandbox asking from its address on a network without DNS sees the names of its networks with DNS', () => {
  docs.sandbox('both', [
    { network: 'quiet', ipv4: '10.3.0.7/24' },
    { network: 'back', ipv4: '10.2.0.7/24' },
  ]);
  records.check();
  expect(data(records.lookup('10.3.0.7', 'db', 'A'))).toEqual(['A 10.2.0.4']);
  // Its address on the network without DNS is not a name's answer nor a PTR target.
  expect(data(records.lookup('10.2.0.4', 'both', 'A'))).toEqual(['A 10.2.0.7']);
  expect(records.lookup('10.2.0.4', '7.0.3.10.in-addr.arpa', 'PTR')).toEqual({ local: false });
});

test('PTR names the sandbox of an address on a shared network; other addresses are not local', () => {
  expect(data(records.lookup('10.1.0.3', '2.0.1.10.in-addr.arpa', 'PTR'))).toEqual(['PTR web']);
  const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.ip6.arpa.';
  expect(data(records.lookup('10.1.0.3', v6, 'PTR'))).toEqual(['PTR web']);
  expect(records.lookup('10.1.0.3', '2.0.1.10.in-addr.arpa', 'A')).toEqual({ local: true, answers: [] });
  expect(records.lookup('10.1.0.2', '4.0.2.10.in-addr.arpa', 'PTR')).toEqual({ local: false });
  expect(records.lookup('10.1.0.3', '1.0.1.10.in-addr.arpa', 'PTR')).toEqual({ local: false });
  expect(records.lookup('10.1.0.3', '300.0.1.10.in-addr.arpa', 'PTR')).toEqual({ local: false });
});

test('answers carry TTL 0 and the name as asked', () => {
  const r = records.lookup('10.1.0.3', 'WEB', 'A');
  expect(r).toEqual({ local: true, answers: [{ type: 'A', name: 'WEB', ttl: 0, data: '10.1.0.2' }] });
});

test('a sandbox written after the last check resolves at the next check, without anything else', () => {
  expect(records.lookup('10.1.0.3', 'cache', 'A')).toEqual({ local: false });
  docs.sandbox('cache', [{ network: 'front', ipv4: '10.1.0.9/24' }]);
  expect(records.check()).toBe(true);
  expect(data(records.lookup('10.1.0.3', 'cache', 'A'))).toEqual(['A 10.1.0.9']);
});

test('two changes in quick succession are both picked up, each at the check right after it', () => {
  for (let i = 0; i < 20; i++) {
    docs.sandbox('web', [{ network: 'front', ipv4: `10.1.0.${100 + i}/24`, aliases: [`round${i}`] }]);
    records.check();
    expect(data(records.lookup('10.1.0.3', 'web', 'A'))).toEqual([`A 10.1.0.${100 + i}`]);
    expect(data(records.lookup('10.1.0.3', `round${i}`, 'A'))).toEqual([`A 10.1.0.${100 + i}`]);
  }
});

test('removals are picked up: a disconnected sandbox and a network that lost its last endpoint', () => {
  docs.remove('sandboxes', 'db');
  docs.sandbox('api', [{ network: 'front', ipv4: '10.1.0.3/24' }]);
  records.check();
  expect(records.servedNetworks().map((n) => n.name)).toEqual(['front']);
  expect(records.lookup('10.1.0.3', 'db', 'A')).toEqual({ local: false });
  docs.network('front', { dns: false, gateway4: '10.1.0.1' });
  records.check();
  expect(records.servedNetworks()).toEqual([]);
  expect(records.lookup('10.1.0.3', 'web', 'A')).toEqual({ local: false });
});

test('with nothing changed and the directories settled, a check reads no document', () => {
  const settled = new Date(Date.now() - 60_000);
  for (const dir of ['networks', 'sandboxes']) utimes(`${docs.stateDir}/${dir}`, settled);
  records.check();
  expect(records.check()).toBe(false);
  // A document rewritten in place leaves its directory as it was: the check does not look at it (the store
  // always renames a new document over the old one, which changes the directory).
  writeFileSync(`${docs.stateDir}/sandboxes/db.json`, '{ not json');
  expect(records.check()).toBe(false);
  expect(data(records.lookup('10.2.0.3', 'db', 'A'))).toEqual(['A 10.2.0.4']);
  // While the directory's last change is recent, each check lists it again and finds the in-place change.
  utimes(`${docs.stateDir}/sandboxes`, new Date());
  expect(records.check()).toBe(true);
  expect(records.lookup('10.2.0.3', 'db', 'A')).toEqual({ local: false });
});

test('hidden temp files, other files and bad documents are skipped', () => {
  writeFileSync(`${docs.stateDir}/sandboxes/.half.json.1.ab.tmp`, '{');
  writeFileSync(`${docs.stateDir}/sandboxes/notes.txt`, 'x');
  const bad: string[] = [];
  const r = new Records({ stateDir: docs.stateDir, onBadDocument: (p) => bad.push(p) });
  writeFileSync(`${docs.stateDir}/sandboxes/broken.json`, '{');
  r.check();
  expect(bad).toEqual([`${docs.stateDir}/sandboxes/broken.json`]);
  expect(data(r.lookup('10.1.0.3', 'web', 'A'))).toEqual(['A 10.1.0.2']);
});

test('a state dir without collections serves nothing', () => {
  const empty = new StateDocs();
  const r = new Records({ stateDir: empty.stateDir });
  expect(r.check()).toBe(false);
  expect(r.servedNetworks()).toEqual([]);
  empty.cleanup();
});

function utimes(path: string, at: Date): void {
  utimesRaw(path, at, at);
}
