import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bookFileName, safeComponent, skillDir } from './names.js';

test('safeComponent: separators and reserved characters go, the name stays recognisable', () => {
  assert.equal(safeComponent('Python: The Good Parts'), 'Python - The Good Parts');
  assert.equal(safeComponent('TCP/IP \\ Sockets | Pipes'), 'TCP-IP - Sockets - Pipes');
  assert.equal(safeComponent('What? *Really* <now> "quoted"'), "What Really now 'quoted'");
  assert.equal(safeComponent('C++'), 'C++');
  assert.equal(safeComponent('JavaScript'), 'JavaScript');
  assert.equal(safeComponent('10:30 train'), '10-30 train');
  assert.equal(safeComponent('Ünïcödé 日本語 🎉'), 'Ünïcödé 日本語 🎉');
});

test('safeComponent: no control characters, trailing dots or spaces, leading dots, reserved Windows names, empty names', () => {
  assert.equal(safeComponent('a\u0000b\nc\u001b[31m'), 'a b c [31m');
  assert.equal(safeComponent('Trailing...  '), 'Trailing');
  assert.equal(safeComponent('.NET Core'), '_NET Core');
  assert.equal(safeComponent('..'), '_');
  assert.equal(safeComponent('.staging'), '_staging');
  assert.equal(safeComponent('CON'), 'CON_');
  assert.equal(safeComponent('nul.txt'), 'nul.txt_');
  assert.equal(safeComponent('COM1'), 'COM1_');
  assert.equal(safeComponent('Console'), 'Console');
  assert.equal(safeComponent(''), '_');
  assert.equal(safeComponent('???'), '_');
});

test('safeComponent: bounded UTF-8 length, never splitting a character', () => {
  const long = '日本語'.repeat(100);
  const cut = safeComponent(long, 50);
  assert.ok(Buffer.byteLength(cut) <= 50);
  assert.equal(cut, '日本語'.repeat(100).slice(0, 16));
  assert.ok(!safeComponent('🎉'.repeat(30), 10).includes('\ufffd'));
  assert.equal(safeComponent('abc def. ghi', 8), 'abc def');
});

test('bookFileName: "<Title> - <Authors> (<id>).epub", kindle variant, et al. for long author lists', () => {
  const meta = { id: '9781492056355', title: 'Fluent Python: Clear, Concise, and Effective Programming', authors: ['Luciano Ramalho'] };
  assert.equal(bookFileName(meta, 'epub'), 'Fluent Python - Clear, Concise, and Effective Programming - Luciano Ramalho (9781492056355).epub');
  assert.equal(bookFileName(meta, 'kindle'), 'Fluent Python - Clear, Concise, and Effective Programming - Luciano Ramalho (9781492056355).kindle.epub');
  assert.equal(bookFileName({ ...meta, authors: [] }, 'epub'), 'Fluent Python - Clear, Concise, and Effective Programming (9781492056355).epub');
  const many = bookFileName(
    { ...meta, authors: ['Alexandra Longname', 'Bartholomew Longername', 'Cornelius Longestname', 'Desdemona Evenlongername', 'Eve'] },
    'epub',
  );
  assert.match(many, / - Alexandra Longname, Bartholomew Longername, Cornelius Longestname et al\. \(9781492056355\)\.epub$/);
  const huge = bookFileName({ id: '9781492056355', title: 'T'.repeat(400), authors: ['A'.repeat(300)] }, 'kindle');
  assert.ok(Buffer.byteLength(huge) <= 255, `${Buffer.byteLength(huge)} bytes`);
  assert.ok(huge.endsWith('(9781492056355).kindle.epub'));
  assert.equal(bookFileName({ id: '../../x', title: '../../etc/passwd', authors: ['/root'] }, 'epub'), '__-..-etc-passwd - -root (__-..-x).epub');
});

test('skillDir: the skill as the user typed it, made safe; Uncategorised when there is none', () => {
  assert.equal(skillDir('Python'), 'Python');
  assert.equal(skillDir('C++'), 'C++');
  assert.equal(skillDir('Machine Learning / AI'), 'Machine Learning - AI');
  assert.equal(skillDir(''), 'Uncategorised');
  assert.equal(skillDir(undefined), 'Uncategorised');
  assert.equal(skillDir('.staging'), '_staging');
});
