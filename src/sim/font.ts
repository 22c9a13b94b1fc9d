/**
 * A tiny but structurally valid TrueType font (one .notdef glyph, a rectangle) wrapped as WOFF 1.0,
 * so the CSS `@font-face` of every generated book points at a real font.
 */

function table(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

function checksum(data: Buffer): number {
  const padded = data.length % 4 ? Buffer.concat([data, Buffer.alloc(4 - (data.length % 4))]) : data;
  let sum = 0;
  for (let i = 0; i < padded.length; i += 4) sum = (sum + padded.readUInt32BE(i)) >>> 0;
  return sum;
}

function nameTable(family: string): Buffer {
  const names: [number, string][] = [
    [1, family],
    [2, 'Regular'],
    [3, `${family} Regular 1.0`],
    [4, `${family} Regular`],
    [5, 'Version 1.000'],
    [6, `${family.replace(/[^A-Za-z0-9]/g, '')}-Regular`],
  ];
  const strings = names.map(([, s]) => Buffer.from(s, 'utf16le').swap16());
  const head = Buffer.alloc(6 + 12 * names.length);
  head.writeUInt16BE(0, 0);
  head.writeUInt16BE(names.length, 2);
  head.writeUInt16BE(head.length, 4);
  let offset = 0;
  names.forEach(([id], i) => {
    const r = 6 + i * 12;
    head.writeUInt16BE(3, r);
    head.writeUInt16BE(1, r + 2);
    head.writeUInt16BE(0x409, r + 4);
    head.writeUInt16BE(id, r + 6);
    head.writeUInt16BE(strings[i]!.length, r + 8);
    head.writeUInt16BE(offset, r + 10);
    offset += strings[i]!.length;
  });
  return Buffer.concat([head, ...strings]);
}

function sfntTables(family: string): Map<string, Buffer> {
  const tables = new Map<string, Buffer>();
  // 2001-01-01 in seconds since 1904-01-01: fixed, so the bytes never change.
  const stamp = 3061152000;
  tables.set(
    'head',
    table(54, (b) => {
      b.writeUInt32BE(0x00010000, 0);
      b.writeUInt32BE(0x00010000, 4);
      b.writeUInt32BE(0, 8);
      b.writeUInt32BE(0x5f0f3cf5, 12);
      b.writeUInt16BE(0x000b, 16);
      b.writeUInt16BE(1000, 18);
      b.writeUInt32BE(0, 20);
      b.writeUInt32BE(stamp, 24);
      b.writeUInt32BE(0, 28);
      b.writeUInt32BE(stamp, 32);
      b.writeInt16BE(100, 36);
      b.writeInt16BE(0, 38);
      b.writeInt16BE(400, 40);
      b.writeInt16BE(700, 42);
      b.writeUInt16BE(0, 44);
      b.writeUInt16BE(8, 46);
      b.writeInt16BE(2, 48);
      b.writeInt16BE(0, 50);
      b.writeInt16BE(0, 52);
    }),
  );
  tables.set(
    'hhea',
    table(36, (b) => {
      b.writeUInt32BE(0x00010000, 0);
      b.writeInt16BE(800, 4);
      b.writeInt16BE(-200, 6);
      b.writeInt16BE(0, 8);
      b.writeUInt16BE(500, 10);
      b.writeInt16BE(100, 12);
      b.writeInt16BE(100, 14);
      b.writeInt16BE(400, 16);
      b.writeInt16BE(1, 18);
      b.writeUInt16BE(1, 34);
    }),
  );
  tables.set(
    'maxp',
    table(32, (b) => {
      b.writeUInt32BE(0x00010000, 0);
      b.writeUInt16BE(1, 4);
      b.writeUInt16BE(4, 6);
      b.writeUInt16BE(1, 8);
      b.writeUInt16BE(2, 14);
    }),
  );
  tables.set(
    'hmtx',
    table(4, (b) => {
      b.writeUInt16BE(500, 0);
      b.writeInt16BE(100, 2);
    }),
  );
  // One glyph: a closed rectangle of four on-curve points, padded to an even length.
  const glyf = table(36, (b) => {
    b.writeInt16BE(1, 0);
    b.writeInt16BE(100, 2);
    b.writeInt16BE(0, 4);
    b.writeInt16BE(400, 6);
    b.writeInt16BE(700, 8);
    b.writeUInt16BE(3, 10);
    b.writeUInt16BE(0, 12);
    b.fill(1, 14, 18);
    [100, 0, 300, 0].forEach((dx, i) => b.writeInt16BE(dx, 18 + i * 2));
    [0, 700, 0, -700].forEach((dy, i) => b.writeInt16BE(dy, 26 + i * 2));
  });
  tables.set('glyf', glyf);
  tables.set(
    'loca',
    table(4, (b) => {
      b.writeUInt16BE(0, 0);
      b.writeUInt16BE(glyf.length / 2, 2);
    }),
  );
  tables.set(
    'cmap',
    table(36, (b) => {
      b.writeUInt16BE(0, 0);
      b.writeUInt16BE(1, 2);
      b.writeUInt16BE(3, 4);
      b.writeUInt16BE(1, 6);
      b.writeUInt32BE(12, 8);
      b.writeUInt16BE(4, 12);
      b.writeUInt16BE(24, 14);
      b.writeUInt16BE(0, 16);
      b.writeUInt16BE(2, 18);
      b.writeUInt16BE(2, 20);
      b.writeUInt16BE(0, 22);
      b.writeUInt16BE(0, 24);
      b.writeUInt16BE(0xffff, 26);
      b.writeUInt16BE(0, 28);
      b.writeUInt16BE(0xffff, 30);
      b.writeUInt16BE(1, 32);
      b.writeUInt16BE(0, 34);
    }),
  );
  tables.set('name', nameTable(family));
  tables.set(
    'post',
    table(32, (b) => {
      b.writeUInt32BE(0x00030000, 0);
      b.writeInt16BE(-100, 8);
      b.writeInt16BE(50, 10);
    }),
  );
  tables.set(
    'OS/2',
    table(96, (b) => {
      b.writeUInt16BE(4, 0);
      b.writeInt16BE(500, 2);
      b.writeUInt16BE(400, 4);
      b.writeUInt16BE(5, 6);
      b.writeUInt16BE(0, 8);
      [650, 600, 0, 75, 650, 600, 0, 350, 50, 250].forEach((v, i) => b.writeInt16BE(v, 10 + i * 2));
      b.write('NONE', 58, 'latin1');
      b.writeUInt16BE(0x40, 62);
      b.writeUInt16BE(0xffff, 64);
      b.writeUInt16BE(0xffff, 66);
      b.writeInt16BE(800, 68);
      b.writeInt16BE(-200, 70);
      b.writeInt16BE(0, 72);
      b.writeUInt16BE(800, 74);
      b.writeUInt16BE(200, 76);
      b.writeUInt32BE(1, 78);
      b.writeInt16BE(500, 86);
      b.writeInt16BE(700, 88);
      b.writeUInt16BE(0, 90);
      b.writeUInt16BE(32, 92);
      b.writeUInt16BE(1, 94);
    }),
  );
  return tables;
}

const pad4 = (b: Buffer) => (b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b);

/** The font as a plain sfnt (TrueType) file. */
export function ttf(family: string): Buffer {
  const tables = sfntTables(family);
  const tags = [...tables.keys()].sort();
  const n = tags.length;
  const entrySelector = Math.floor(Math.log2(n));
  const searchRange = 2 ** entrySelector * 16;
  const header = Buffer.alloc(12 + 16 * n);
  header.writeUInt32BE(0x00010000, 0);
  header.writeUInt16BE(n, 4);
  header.writeUInt16BE(searchRange, 6);
  header.writeUInt16BE(entrySelector, 8);
  header.writeUInt16BE(n * 16 - searchRange, 10);
  let offset = header.length;
  const bodies: Buffer[] = [];
  tags.forEach((tag, i) => {
    const data = tables.get(tag)!;
    const r = 12 + i * 16;
    header.write(tag, r, 'latin1');
    header.writeUInt32BE(checksum(data), r + 4);
    header.writeUInt32BE(offset, r + 8);
    header.writeUInt32BE(data.length, r + 12);
    bodies.push(pad4(data));
    offset += pad4(data).length;
  });
  const font = Buffer.concat([header, ...bodies]);
  const headOffset = header.readUInt32BE(12 + tags.indexOf('head') * 16 + 8);
  font.writeUInt32BE((0xb1b0afba - checksum(font)) >>> 0, headOffset + 8);
  return font;
}

/** The same font wrapped as WOFF 1.0 (tables stored uncompressed, which the format allows). */
export function woff(family: string): Buffer {
  const sfnt = ttf(family);
  const n = sfnt.readUInt16BE(4);
  const header = Buffer.alloc(44 + 20 * n);
  const bodies: Buffer[] = [];
  let offset = header.length;
  for (let i = 0; i < n; i++) {
    const r = 12 + i * 16;
    const tag = sfnt.subarray(r, r + 4);
    const sum = sfnt.readUInt32BE(r + 4);
    const at = sfnt.readUInt32BE(r + 8);
    const len = sfnt.readUInt32BE(r + 12);
    const w = 44 + i * 20;
    tag.copy(header, w);
    header.writeUInt32BE(offset, w + 4);
    header.writeUInt32BE(len, w + 8);
    header.writeUInt32BE(len, w + 12);
    header.writeUInt32BE(sum, w + 16);
    const data = pad4(sfnt.subarray(at, at + len));
    bodies.push(data);
    offset += data.length;
  }
  header.write('wOFF', 0, 'latin1');
  header.writeUInt32BE(0x00010000, 4);
  header.writeUInt32BE(offset, 8);
  header.writeUInt16BE(n, 12);
  header.writeUInt32BE(sfnt.length, 16);
  header.writeUInt16BE(1, 20);
  return Buffer.concat([header, ...bodies]);
}
