// Draws the app and tray icons (a parcel-like box) as PNG files, with no image library:
// `node resources/icons/generate.mjs` rewrites icon.png (256 px) and tray.png (32 px).
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) raw.set(pixel(x / size, y / size), y * (size * 4 + 1) + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
// A brown box with a lighter lid band and a dark tape stripe, on transparency.
function box(u, v) {
  const inBox = u > 0.12 && u < 0.88 && v > 0.18 && v < 0.88;
  if (!inBox) return [0, 0, 0, 0];
  const edge = u < 0.16 || u > 0.84 || v < 0.22 || v > 0.84;
  if (edge) return [92, 58, 30, 255];
  if (u > 0.45 && u < 0.55) return [60, 40, 25, 255];
  if (v < 0.4) return [214, 166, 110, 255];
  return [188, 136, 80, 255];
}
const dir = new URL('.', import.meta.url);
writeFileSync(new URL('icon.png', dir), png(256, box));
writeFileSync(new URL('tray.png', dir), png(32, box));
