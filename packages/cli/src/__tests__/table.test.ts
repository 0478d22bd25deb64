import { formatPairs, formatRows, formatTable } from '../output/table.js';

describe('table formatting', () => {
  test('columns are as wide as their widest cell, two spaces apart, without trailing spaces', () => {
    expect(
      formatTable(
        ['NAME', 'DRIVER', 'SUBNET'],
        [
          ['frontend', 'bridge', '10.88.0.0/24'],
          ['db', 'veth', '-'],
        ],
      ),
    ).toBe('NAME      DRIVER  SUBNET\nfrontend  bridge  10.88.0.0/24\ndb        veth    -\n');
  });

  test('check marks count as one column', () => {
    expect(
      formatRows(
        [
          ['✓', 'a', 'x'],
          ['✗', 'bbb', 'y'],
        ],
        '  ',
      ),
    ).toBe('  ✓  a    x\n  ✗  bbb  y\n');
  });

  test('pairs align their labels', () => {
    expect(
      formatPairs([
        ['id', '1'],
        ['driver', 'bridge'],
      ]),
    ).toBe('  id      1\n  driver  bridge\n');
  });
});
