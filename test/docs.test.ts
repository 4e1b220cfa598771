/**
 * The guides in docs/ keep their promises: every ```ts block is type-checked against the sources,
 * the way a reader would paste it (with `import … from 'latchkey'`), and the guides and the README
 * stand on their own (they name no file outside the repository). A guide's blocks form one module,
 * in order, so a later block may use what an earlier one set up; a block marked ```ts fragment is
 * left out (kept rare: a fragment is a promise nobody checks). The compiler options are
 * tsconfig.examples.json's, whose `paths` resolve `latchkey` and its subpaths to src/.
 *
 * @module test/docs
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const docsDir = join(root, 'docs');
const guides = readdirSync(docsDir).filter((name) => name.endsWith('.md')).sort();

/**
 * The guide as a TypeScript module: the lines of its ```ts blocks where they stand, every other
 * line blank, so that a diagnostic's line is the guide's line.
 */
export function extractTypeScript(markdown: string): { code: string; blocks: number } {
  const lines = markdown.split('\n');
  const out: string[] = [];
  let inside: 'ts' | 'other' | null = null;
  let blocks = 0;
  for (const line of lines) {
    const fence = /^\s*```(.*)$/.exec(line);
    if (fence && inside === null) {
      inside = (fence[1] ?? '').trim() === 'ts' ? 'ts' : 'other';
      if (inside === 'ts') blocks++;
      out.push('');
    } else if (fence && (fence[1] ?? '').trim() === '') {
      inside = null;
      out.push('');
    } else {
      out.push(inside === 'ts' ? line : '');
    }
  }
  return { code: `${out.join('\n')}\nexport {};\n`, blocks };
}

test('docs/ has a guide per feature, each with type-checked TypeScript', () => {
  assert.ok(guides.length >= 10, `only ${guides.length} guides in docs/`);
  for (const guide of guides.filter((name) => name !== 'README.md')) {
    const { blocks } = extractTypeScript(readFileSync(join(docsDir, guide), 'utf8'));
    assert.ok(blocks > 0, `${guide} has no \`\`\`ts block`);
  }
});

test('every ```ts block of docs/*.md type-checks against the sources (strict)', () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.examples.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  });
  assert.ok(config);
  const virtual = new Map<string, string>();
  for (const guide of guides) {
    virtual.set(join(docsDir, `${guide}.ts`), extractTypeScript(readFileSync(join(docsDir, guide), 'utf8')).code);
  }
  const host = ts.createCompilerHost(config.options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, onError, create) => {
    const text = virtual.get(name);
    return text === undefined ? getSourceFile.call(host, name, language, onError, create) : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options: config.options, host });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.replace(/\.md\.ts$/, '.md').replace(root, '')}:${line + 1}: ${text}`;
  });
  assert.deepEqual(problems, []);
});

test('the README and the guides name no file outside the repository', () => {
  for (const file of ['README.md', ...guides.map((name) => `docs/${name}`), 'examples/README.md']) {
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch {
      continue;
    }
    // A name that is not part of a longer one (docs/migrating-from-Flask-Login's behaviour is ours).
    for (const outside of [/(?<![\w-])app-contract\.md/, /(?<![\w-])flask-login\.md/, /(?<![\w-])security\.md/, /\/work\//, /style-anchors\.md/]) {
      assert.doesNotMatch(text, outside, `${file} cites a file outside the repository`);
    }
  }
});
